/**
 * CABPK's cloud-config bootstrap data, rendered as upstream's Go templates render it
 * (`bootstrap/kubeadm/pkg/cloudinit/*.go`): the `## template: jinja` + `#cloud-config` header,
 * `write_files` (certificates, then the user's files, then the kubeadm configuration and the
 * /run/cluster-api placeholder), `bootcmd`, `runcmd` (preKubeadmCommands, the kubeadm command
 * followed by the bootstrap-success sentinel, postKubeadmCommands), `ntp`, `users`, `disk_setup`,
 * `fs_setup` and `mounts` — byte for byte the same layout (indentation, quoting, trailing spaces).
 * @module
 */

export const SENTINEL_FILE = "/run/cluster-api/bootstrap-success.complete";
export const SENTINEL_COMMAND = `echo success > ${SENTINEL_FILE}`;
export const CLOUD_CONFIG_HEADER = "## template: jinja\n#cloud-config\n";
const PLACEHOLDER_CONTENT =
  "This placeholder file is used to create the /run/cluster-api sub directory in a way that is compatible with both Linux and Windows (mkdir -p /run/cluster-api does not work with Windows)";

export interface CloudInitFile {
  path: string;
  content: string;
  owner?: string;
  permissions?: string;
  encoding?: string;
  append?: boolean;
}

export interface CloudInitUser {
  name: string;
  passwd?: string;
  gecos?: string;
  groups?: string;
  homeDir?: string;
  inactive?: boolean;
  lockPassword?: boolean;
  shell?: string;
  primaryGroup?: string;
  sudo?: string;
  sshAuthorizedKeys?: string[];
}

export interface NTP {
  enabled?: boolean;
  servers?: string[];
}

export interface DiskSetup {
  partitions?: { device: string; layout?: boolean; diskLayout?: { percentage: number; partitionType?: string }[]; overwrite?: boolean; tableType?: string }[];
  filesystems?: { device: string; filesystem: string; label?: string; partition?: string; overwrite?: boolean; replaceFS?: string; extraOpts?: string[] }[];
}

export interface BaseInput {
  /** Files after the certificates (spec.files resolved, the discovery kubeconfig). */
  additionalFiles?: CloudInitFile[];
  bootCommands?: string[];
  preKubeadmCommands?: string[];
  postKubeadmCommands?: string[];
  users?: CloudInitUser[];
  ntp?: NTP;
  diskSetup?: DiskSetup;
  mounts?: string[][];
  /** spec.verbosity, if set. */
  verbosity?: number;
}

export interface InitInput extends BaseInput {
  certificateFiles: CloudInitFile[];
  clusterConfiguration: string;
  initConfiguration: string;
}

export interface JoinControlPlaneInput extends BaseInput {
  certificateFiles: CloudInitFile[];
  joinConfiguration: string;
}

export interface NodeInput extends BaseInput {
  joinConfiguration: string;
}

/** Go's strconv.Quote (`printf "%q"`). */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === "\\") out += "\\\\";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\t") out += "\\t";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\x07") out += "\\a";
    else if (ch === "\b") out += "\\b";
    else if (ch === "\f") out += "\\f";
    else if (ch === "\v") out += "\\v";
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, "0")}`;
    else out += ch;
  }
  return out + '"';
}

/** The templates' `Indent`: every line (also the one after a final newline) prefixed. */
export function indent(n: number, s: string): string {
  const pad = " ".repeat(n);
  return pad + s.split("\n").join(`\n${pad}`);
}

function verbosityFlag(v: number | undefined): string {
  return v === undefined ? "" : `--v ${v}`;
}

function files(list: CloudInitFile[]): string {
  let out = "write_files:";
  for (const f of list) {
    out += `\n-   path: ${f.path}\n    `;
    if (f.encoding) out += `encoding: "${f.encoding}"\n    `;
    if (f.owner) out += `owner: ${f.owner}\n    `;
    if (f.permissions) out += `permissions: '${f.permissions}'\n    `;
    if (f.append) out += `append: true\n    `;
    out += `content: |\n${indent(6, f.content)}`;
  }
  return out;
}

function bootCommands(list: string[] | undefined): string {
  if (!list?.length) return "";
  return "\nbootcmd:" + list.map((c) => `\n  - ${goQuote(c)}`).join("");
}

function commands(list: string[] | undefined): string {
  return (list ?? []).map((c) => `\n  - ${goQuote(c)}`).join("");
}

function ntp(n: NTP | undefined): string {
  if (!n) return "";
  let out = "\nntp:\n  ";
  if (n.enabled !== undefined) out += `enabled: ${n.enabled}\n  `;
  out += "servers:" + (n.servers ?? []).map((s) => `\n    - ${s}`).join("");
  return out;
}

function users(list: CloudInitUser[] | undefined): string {
  if (!list?.length) return "";
  let out = "\nusers:";
  for (const u of list) {
    out += `\n  - name: ${u.name}`;
    if (u.passwd) out += `\n    passwd: ${u.passwd}`;
    if (u.gecos) out += `\n    gecos: ${u.gecos}`;
    if (u.groups) out += `\n    groups: ${u.groups}`;
    if (u.homeDir) out += `\n    homedir: ${u.homeDir}`;
    if (u.inactive !== undefined) out += `\n    inactive: ${u.inactive}`;
    if (u.lockPassword !== undefined) out += `\n    lock_passwd: ${u.lockPassword}`;
    if (u.shell) out += `\n    shell: ${u.shell}`;
    if (u.primaryGroup) out += `\n    primary_group: ${u.primaryGroup}`;
    if (u.sudo) out += `\n    sudo: ${u.sudo}`;
    if (u.sshAuthorizedKeys?.length) out += "\n    ssh_authorized_keys:" + u.sshAuthorizedKeys.map((k) => `\n      - ${k}`).join("");
  }
  return out;
}

const PARTITION_TYPES: Record<string, string> = { Linux: "83", LinuxSwap: "82", LinuxRAID: "fd", LVM: "8e", Fat32: "0c", NTFS: "07", LinuxExtended: "85" };

function diskSetup(d: DiskSetup | undefined): string {
  if (!d) return "";
  let out = "\ndisk_setup:";
  for (const p of d.partitions ?? []) {
    out += `\n  ${p.device}:`;
    if (p.tableType) out += `\n    table_type: ${p.tableType}`;
    if (p.diskLayout?.length) {
      out += "\n    layout:";
      for (const l of p.diskLayout) out += l.partitionType ? `\n      - [${l.percentage}, ${PARTITION_TYPES[l.partitionType] ?? l.partitionType}]` : `\n      - ${l.percentage}`;
    } else {
      out += `\n    layout: ${p.layout ?? false}`;
    }
    if (p.overwrite !== undefined) out += `\n    overwrite: ${p.overwrite}`;
  }
  return out;
}

function fsSetup(d: DiskSetup | undefined): string {
  if (!d) return "";
  let out = "\nfs_setup:";
  for (const f of d.filesystems ?? []) {
    out += `\n  - label: ${f.label ?? ""}\n    filesystem: ${f.filesystem}\n    device: ${f.device}`;
    if (f.partition) out += `\n    partition: ${f.partition}`;
    if (f.overwrite !== undefined) out += `\n    overwrite: ${f.overwrite}`;
    if (f.replaceFS) out += `\n    replace_fs: ${f.replaceFS}`;
    if (f.extraOpts?.length) out += "\n    extra_opts:" + f.extraOpts.map((o) => `\n      - ${o}`).join("");
  }
  return out;
}

function mounts(list: string[][] | undefined): string {
  if (!list?.length) return "";
  return "\nmounts:" + list.map((m) => "\n  - " + m.map((x) => `- ${x}\n    `).join("")).join("");
}

function placeholder(): string {
  return `-   path: /run/cluster-api/placeholder\n    owner: root:root\n    permissions: '0640'\n    content: "${PLACEHOLDER_CONTENT}"`;
}

function tail(input: BaseInput, kubeadmCommand: string): string {
  return (
    bootCommands(input.bootCommands) +
    "\nruncmd:" +
    commands(input.preKubeadmCommands) +
    `\n  - ${kubeadmCommand}` +
    commands(input.postKubeadmCommands) +
    ntp(input.ntp) +
    users(input.users) +
    diskSetup(input.diskSetup) +
    fsSetup(input.diskSetup) +
    mounts(input.mounts) +
    "\n"
  );
}

function joinCommand(verbosity: number | undefined): string {
  return `kubeadm join --config /run/kubeadm/kubeadm-join-config.yaml ${verbosityFlag(verbosity)} && ${SENTINEL_COMMAND}`;
}

/** The first control plane: `kubeadm init` with /run/kubeadm/kubeadm.yaml (ClusterConfiguration + InitConfiguration). */
export function initControlPlaneCloudConfig(input: InitInput): string {
  return (
    `${CLOUD_CONFIG_HEADER}\n` +
    files([...input.certificateFiles, ...(input.additionalFiles ?? [])]) +
    "\n-   path: /run/kubeadm/kubeadm.yaml\n    owner: root:root\n    permissions: '0640'\n    content: |\n      ---\n" +
    indent(6, input.clusterConfiguration) +
    "\n      ---\n" +
    indent(6, input.initConfiguration) +
    "\n" +
    placeholder() +
    tail(input, `'kubeadm init --config /run/kubeadm/kubeadm.yaml ${verbosityFlag(input.verbosity)} && ${SENTINEL_COMMAND}'`)
  );
}

/** A further control plane: the cluster certificates and `kubeadm join` with its JoinConfiguration. */
export function joinControlPlaneCloudConfig(input: JoinControlPlaneInput): string {
  return (
    `${CLOUD_CONFIG_HEADER}\n` +
    files([...input.certificateFiles, ...(input.additionalFiles ?? [])]) +
    "\n-   path: /run/kubeadm/kubeadm-join-config.yaml\n    owner: root:root\n    permissions: '0640'\n    content: |\n" +
    indent(6, input.joinConfiguration) +
    "\n" +
    placeholder() +
    tail(input, joinCommand(input.verbosity))
  );
}

/** A worker: `kubeadm join` with its JoinConfiguration (no certificates). */
export function nodeCloudConfig(input: NodeInput): string {
  return (
    `${CLOUD_CONFIG_HEADER}\n` +
    files(input.additionalFiles ?? []) +
    "\n-   path: /run/kubeadm/kubeadm-join-config.yaml\n    owner: root:root\n    permissions: '0640'\n    content: |\n      ---\n" +
    indent(6, input.joinConfiguration) +
    "\n" +
    placeholder() +
    tail(input, joinCommand(input.verbosity))
  );
}
