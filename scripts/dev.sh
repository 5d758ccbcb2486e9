#!/usr/bin/env bash
# Runs the appliance for development with its data in ./.capx-dev/ and prints the kubectl line.
# Lab mode: a simulated Proxmox cluster (pve1-pve3, templates 9000/9001) stands in for the host.
# CAPX_DEV_LISTEN overrides the address (default 127.0.0.1:6443), CAPX_DEV_PVE_LISTEN the lab PVE
# API's (default 127.0.0.1:8006).
source "$(dirname "$0")/lib/ensure-bun.sh"
DATA="$ROOT/.capx-dev"
LISTEN="${CAPX_DEV_LISTEN:-127.0.0.1:6443}"
PVE_LISTEN="${CAPX_DEV_PVE_LISTEN:-127.0.0.1:8006}"
cat >&2 <<MSG

  capx-appliance (dev) — data in .capx-dev/, API on https://$LISTEN
  In another terminal, a Talos cluster on the simulated Proxmox (about a minute):

    export KUBECONFIG=$DATA/admin.kubeconfig
    kubectl apply -f examples/talos-single.yaml
    kubectl wait --for=condition=Available cluster/demo --timeout=5m
    ./scripts/capx.sh describe cluster demo
    ./scripts/capx.sh kubeconfig demo > demo.kubeconfig
    kubectl --kubeconfig demo.kubeconfig get nodes
    kubectl scale machinedeployment demo-workers --replicas=3
    kubectl delete cluster demo

  examples/talos-ha.yaml: 3 control planes behind a VIP, 3 workers, a MachineHealthCheck.

  Lab mode: a simulated Proxmox VE cluster answers at https://$PVE_LISTEN/api2/json
  (token in .capx-dev/lab/pve-token, CA in .capx-dev/lab/pve-root-ca.pem).

  (no kubectl? any Kubernetes client works with that kubeconfig; Ctrl-C stops the appliance)

MSG
export BUN_CONFIG_MAX_HTTP_REQUESTS="${BUN_CONFIG_MAX_HTTP_REQUESTS:-65535}"
exec "$BUN" src/main.ts serve --data-dir "$DATA" --listen "$LISTEN" --lab --lab-pve-listen "$PVE_LISTEN" --config "${CAPX_DEV_CONFIG:-/dev/null}" "$@"
