/**
 * What one ProxmoxMachine reconcile works with: the object (a working copy and the last stored
 * version), its Machine, Cluster and ProxmoxCluster, the backend, and the controller's shared
 * state. `save()` writes the changes at once, for the steps that must record intent before
 * they act on Proxmox.
 * @module
 */
import type { KObject } from "../../lib/kobject.ts";
import type { Logger } from "../../lib/log.ts";
import type { ProxmoxBackend } from "../../providers/proxmox/types.ts";
import type { Client } from "../../runtime/client.ts";
import type { EventRecorder } from "../../runtime/recorder.ts";
import { patchObject } from "../../runtime/patch-helper.ts";
import { CONTROL_PLANE_LABEL } from "../core/contract.ts";
import type { ProxmoxBackendResolver } from "./backend-resolver.ts";
import type { Owner } from "./ownership.ts";
import type { Backoff, CloneQueue, KeyedMutex, TaskPolls } from "./retry.ts";
import type { ProxmoxClusterSpec, ProxmoxClusterStatus, ProxmoxMachineSpec, ProxmoxMachineStatus } from "./types.ts";
import type { VmidReservations } from "./vmid.ts";
import { cloneData } from "../../lib/clone.ts";

export interface ProxmoxControllerOptions {
  resolver: ProxmoxBackendResolver;
  /** How often a running PVE task is polled (ms). */
  taskPollMs?: number;
  /** CAPMOX's requeue while waiting for something outside (ms). */
  requeueMs?: number;
  /** First wait after a failed task; doubles per failure up to `retryMaxMs`. */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** Clones running at once per storage. */
  clonesPerStorage?: number;
  /** Parallel reconciles per controller. */
  concurrency?: number;
}

export interface Timings {
  taskPollMs: number;
  requeueMs: number;
}

/** State shared by all reconciles of the ProxmoxMachine controller. */
export interface MachineShared {
  client: Client;
  recorder: EventRecorder;
  resolver: ProxmoxBackendResolver;
  timings: Timings;
  backoff: Backoff;
  cloneQueue: CloneQueue;
  reservations: VmidReservations;
  /** One placement decision per ProxmoxCluster at a time. */
  clusterLocks: KeyedMutex;
  /** When to poll each running task again. */
  taskPolls: TaskPolls;
  /** Reconciles a machine soon (a clone slot it waits for came free); set by the controller. */
  wake?: (namespace: string, name: string) => void;
}

export class MachineScope {
  before: KObject;
  pm: KObject;
  /** This reconcile saw the machine's clone task end successfully. */
  cloneTaskSucceeded = false;

  constructor(
    readonly shared: MachineShared,
    current: KObject,
    readonly machine: KObject,
    readonly cluster: KObject,
    readonly pc: KObject,
    readonly backend: ProxmoxBackend,
    readonly log: Logger,
  ) {
    this.before = current;
    this.pm = cloneData(current);
  }

  get client(): Client {
    return this.shared.client;
  }

  get spec(): ProxmoxMachineSpec {
    return (this.pm.spec ??= {}) as ProxmoxMachineSpec;
  }

  get status(): ProxmoxMachineStatus {
    return (this.pm.status ??= {}) as ProxmoxMachineStatus;
  }

  get pcSpec(): ProxmoxClusterSpec {
    return (this.pc.spec ?? {}) as ProxmoxClusterSpec;
  }

  get pcStatus(): ProxmoxClusterStatus {
    return (this.pc.status ?? {}) as ProxmoxClusterStatus;
  }

  get name(): string {
    return this.pm.metadata.name!;
  }

  get namespace(): string {
    return this.pm.metadata.namespace!;
  }

  get uid(): string {
    return this.pm.metadata.uid!;
  }

  get owner(): Owner {
    return { namespace: this.namespace, name: this.name, uid: this.uid };
  }

  get clusterName(): string {
    return this.cluster.metadata.name!;
  }

  isControlPlane(): boolean {
    return CONTROL_PLANE_LABEL in (this.machine.metadata.labels ?? {});
  }

  annotation(key: string): string | undefined {
    return this.pm.metadata.annotations?.[key];
  }

  setAnnotation(key: string, value: string | undefined): void {
    const a = (this.pm.metadata.annotations ??= {});
    if (value === undefined) delete a[key];
    else a[key] = value;
  }

  /** Writes what changed so far (spec and metadata, then status) and continues from the stored object. */
  async save(): Promise<void> {
    const { object } = await patchObject(this.client, this.before, this.pm);
    this.before = object;
    this.pm = cloneData(object);
  }
}

/** A step's outcome: go on to the next step, or stop this reconcile and come back later. */
export type Step = { requeueAfter: number } | undefined;
