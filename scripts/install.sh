#!/usr/bin/env bash
# Installs capx-appliance on a Proxmox VE host (Debian): the binary, the systemd unit, a
# documented config.yaml, the state directory and the admin.kubeconfig link, then enables and
# starts the service. Idempotent; needs no Bun. `--help` lists the options.
set -euo pipefail

PROG="capx-appliance"
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

BIN=/usr/local/bin/capx-appliance
UNIT=/etc/systemd/system/capx-appliance.service
CONF_DIR=/etc/capx-appliance
CONF="$CONF_DIR/config.yaml"
STATE=/var/lib/capx-appliance
LINK="$CONF_DIR/admin.kubeconfig"
LINK_TARGET="$STATE/admin.kubeconfig"
SERVICE=capx-appliance

usage() {
  cat <<EOF
Usage: sudo ./scripts/install.sh [--binary FILE] [--root DIR]
       sudo ./scripts/install.sh --uninstall [--purge] [--root DIR]

Installs capx-appliance on this Proxmox VE host:
  $BIN  the binary (default: dist/capx-appliance from ./scripts/build.sh)
  $UNIT
  $CONF  documented defaults, commented out (never overwritten)
  $STATE  the state directory (mode 0700)
  $LINK -> $LINK_TARGET
then runs \`systemctl daemon-reload\` and \`systemctl enable --now $SERVICE\`.
Running it again replaces the binary and the unit when they differ and changes nothing else.

Options:
  --binary FILE  install FILE instead of dist/capx-appliance
  --root DIR     install under DIR instead of /; no systemctl call is made (it prints them)
  --uninstall    stop and disable the service, remove the binary, the unit and the link;
                 the state directory and the config stay
  --purge        with --uninstall: also remove $STATE and $CONF_DIR
  -h, --help     show this help
EOF
}

fail() { # usage errors exit 2, the rest 1
  echo "$PROG: $2" >&2
  exit "$1"
}

root_dir="" root_set=0 binary="$REPO/dist/capx-appliance" uninstall=0 purge=0
while [ $# -gt 0 ]; do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --uninstall) uninstall=1 ;;
    --purge) purge=1 ;;
    --root | --binary)
      [ $# -ge 2 ] && [ -n "$2" ] || fail 2 "$1 needs a value (see --help)"
      if [ "$1" = --root ]; then root_dir="$2" root_set=1; else binary="$2"; fi
      shift ;;
    --root=*) root_dir="${1#--root=}" root_set=1; [ -n "$root_dir" ] || fail 2 "--root needs a value (see --help)" ;;
    --binary=*) binary="${1#--binary=}"; [ -n "$binary" ] || fail 2 "--binary needs a value (see --help)" ;;
    *) fail 2 "unknown option '$1' (see --help)" ;;
  esac
  shift
done
[ "$purge" = 0 ] || [ "$uninstall" = 1 ] || fail 2 "--purge only goes with --uninstall"

if [ "$root_set" = 1 ]; then
  mkdir -p "$root_dir" || fail 1 "cannot create --root $root_dir"
  P="$(cd "$root_dir" && pwd)"
  [ "$P" != / ] || P=""
else
  P=""
  [ "$(id -u)" = 0 ] || fail 1 "must run as root (sudo), or with --root DIR to install under DIR"
fi

changes=0
say() { echo "$PROG: $*"; }
changed() { changes=$((changes + 1)); say "$*"; }

# systemd manages this host when systemctl exists and systemd is running (sd_booted's test).
have_systemd() { command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; }

# systemctl only for the real root and when systemd runs here; otherwise print the command.
systemctl_run() {
  if [ "$root_set" = 1 ]; then
    say "would run: systemctl $*"
  elif have_systemd; then
    say "running: systemctl $*"
    systemctl "$@"
  else
    say "systemd is not running here; skipped: systemctl $*"
  fi
}

# Copies SRC to DST with MODE unless DST already has that content and mode (a rename, so a
# running binary is replaced safely). Sets `replaced` when an existing file was updated.
replaced=0
install_file() {
  local src="$1" dst="$P$2" mode="$3"
  if [ -f "$dst" ] && cmp -s "$src" "$dst" && [ "$(stat -c %a "$dst")" = "${mode#0}" ]; then
    say "unchanged $2"
    return 0
  fi
  local verb=installed
  if [ -e "$dst" ]; then verb=updated replaced=1; fi
  mkdir -p "$(dirname "$dst")"
  cp "$src" "$dst.new.$$"
  chmod "$mode" "$dst.new.$$"
  mv -f "$dst.new.$$" "$dst"
  changed "$verb $2"
}

remove_path() {
  local path="$P$1"
  if [ -e "$path" ] || [ -L "$path" ]; then
    rm -rf "$path"
    changed "removed $1"
  else
    say "absent $1"
  fi
}

do_install() {
  [ -f "$binary" ] || fail 1 "no binary at $binary: run ./scripts/build.sh first, or pass --binary FILE"
  [ -f "$REPO/systemd/capx-appliance.service" ] && [ -f "$REPO/systemd/config.yaml" ] ||
    fail 1 "systemd/capx-appliance.service or systemd/config.yaml missing beside this script"

  install_file "$binary" "$BIN" 0755
  local before=$changes
  install_file "$REPO/systemd/capx-appliance.service" "$UNIT" 0644
  local unit_changed=$((changes - before))
  local restart=$replaced

  if [ -d "$P$CONF_DIR" ]; then
    say "unchanged $CONF_DIR"
  else
    mkdir -p "$P$CONF_DIR"
    chmod 0755 "$P$CONF_DIR"
    changed "created $CONF_DIR"
  fi
  # 0600: the file may hold bearer tokens and a PVE API token once edited.
  if [ -e "$P$CONF" ]; then
    say "kept $CONF (exists; never overwritten)"
  else
    install_file "$REPO/systemd/config.yaml" "$CONF" 0600
  fi

  if [ ! -d "$P$STATE" ]; then
    mkdir -p "$P$STATE"
    chmod 0700 "$P$STATE"
    changed "created $STATE (mode 0700)"
  elif [ "$(stat -c %a "$P$STATE")" != 700 ]; then
    chmod 0700 "$P$STATE"
    changed "set mode 0700 on $STATE"
  else
    say "unchanged $STATE"
  fi

  if [ -L "$P$LINK" ] && [ "$(readlink "$P$LINK")" = "$LINK_TARGET" ]; then
    say "unchanged $LINK -> $LINK_TARGET"
  elif [ -e "$P$LINK" ] && [ ! -L "$P$LINK" ]; then
    say "kept $LINK (not a link; remove it to get the link to $LINK_TARGET)"
  else
    ln -sfn "$LINK_TARGET" "$P$LINK"
    changed "linked $LINK -> $LINK_TARGET"
  fi

  local was_active=0
  if [ "$root_set" = 0 ] && have_systemd && systemctl is-active --quiet "$SERVICE"; then
    was_active=1
  fi
  if [ "$unit_changed" != 0 ]; then systemctl_run daemon-reload; fi
  systemctl_run enable --now "$SERVICE"
  # enable --now leaves a running service alone: restart it onto the replaced binary or unit.
  if [ "$restart" = 1 ] && { [ "$was_active" = 1 ] || [ "$root_set" = 1 ]; }; then
    systemctl_run try-restart "$SERVICE"
  fi

  if [ "$changes" = 0 ]; then
    say "nothing changed: already installed"
  else
    say "done: $changes change(s). Check it: systemctl status $SERVICE; kubectl --kubeconfig $LINK get ns"
  fi
}

do_uninstall() {
  local had_unit=0
  if [ -e "$P$UNIT" ]; then
    had_unit=1
    systemctl_run disable --now "$SERVICE"
  fi
  remove_path "$BIN"
  remove_path "$UNIT"
  if [ "$had_unit" = 1 ]; then systemctl_run daemon-reload; fi
  if [ -L "$P$LINK" ]; then
    rm -f "$P$LINK"
    changed "removed $LINK"
  else
    say "absent $LINK"
  fi
  if [ "$purge" = 1 ]; then
    remove_path "$STATE"
    remove_path "$CONF_DIR"
  else
    [ ! -e "$P$STATE" ] || say "kept $STATE (the state: --purge removes it)"
    [ ! -e "$P$CONF" ] || say "kept $CONF (--purge removes it)"
  fi
  if [ "$changes" = 0 ]; then say "nothing changed: not installed"; else say "done: $changes change(s)"; fi
}

if [ "$uninstall" = 1 ]; then do_uninstall; else do_install; fi
