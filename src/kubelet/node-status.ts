// The Node object of this kubelet: registration, status (capacity, conditions, addresses, node
// info, images) and the kube-node-lease heartbeat the node lifecycle controller watches.
import { rfc3339, rfc3339Micro } from '../api/meta.ts';
import { isConflict, isNotFound, type Client, type KubeObject, type ResourceRef } from '../client/types.ts';
import type { EventRecorder } from '../controller/events.ts';
import type { ImageInfo, NodeRuntime } from '../runtime/types.ts';
import { logger } from '../util/log.ts';
import { gitVersion } from '../version.ts';
import type { HostFacts } from './host.ts';
import type { Lease, Node, NodeCondition, NodeStatus } from './k8s.ts';

const log = logger('kubelet/node');

export const nodesRef: ResourceRef = { group: '', version: 'v1', resource: 'nodes', namespaced: false };
export const leasesRef: ResourceRef = { group: 'coordination.k8s.io', version: 'v1', resource: 'leases', namespaced: true };
export const NODE_LEASE_NAMESPACE = 'kube-node-lease';
export const LEASE_DURATION_SECONDS = 40;

/** Upstream's default hard eviction thresholds, which allocatable subtracts. */
const EVICTION_MEMORY_BYTES = 100 * 2 ** 20;
const EVICTION_DISK_FRACTION = 0.1;
/** Upstream reports at most this many images, largest first. */
const MAX_IMAGES_IN_STATUS = 50;

export interface NodeIdentity {
  nodeName: string;
  podCIDR: string;
  kubeletPort: number;
  /** The server's own node carries the control-plane role label (as k3s does), without a taint. */
  controlPlane: boolean;
  labels?: Record<string, string>;
  maxPods: number;
}

export interface NodeFacts {
  host: HostFacts;
  runtimeVersion: string;
  images: ImageInfo[];
}

const ki = (bytes: number) => `${Math.max(0, Math.floor(bytes / 1024))}Ki`;

export function nodeLabels(id: NodeIdentity, host: HostFacts): Record<string, string> {
  return {
    'beta.kubernetes.io/arch': host.architecture,
    'beta.kubernetes.io/os': host.operatingSystem,
    'kubernetes.io/arch': host.architecture,
    'kubernetes.io/hostname': id.nodeName,
    'kubernetes.io/os': host.operatingSystem,
    ...(id.controlPlane ? { 'node-role.kubernetes.io/control-plane': 'true', 'node-role.kubernetes.io/master': 'true' } : {}),
    ...id.labels,
  };
}

interface ConditionFacts {
  type: string;
  bad: boolean;
  goodReason: string;
  goodMessage: string;
  badReason: string;
  badMessage: string;
}

function condition(prev: NodeCondition[] | undefined, f: ConditionFacts, now: string, readyType = false): NodeCondition {
  // Ready is "True" when fine; the pressure conditions are "False" when fine.
  const status = readyType ? (f.bad ? 'False' : 'True') : f.bad ? 'True' : 'False';
  const old = prev?.find((c) => c.type === f.type);
  return {
    type: f.type,
    status,
    lastHeartbeatTime: now,
    lastTransitionTime: old && old.status === status && old.lastTransitionTime ? old.lastTransitionTime : now,
    reason: f.bad ? f.badReason : f.goodReason,
    message: f.bad ? f.badMessage : f.goodMessage,
  };
}

/** The status this node reports, keeping condition transition times from `prev`. */
export function buildNodeStatus(id: NodeIdentity, facts: NodeFacts, prev: NodeStatus | undefined, nowMs: number): NodeStatus {
  const { host } = facts;
  const now = rfc3339(nowMs);
  const memoryPressure = host.memoryAvailableBytes < EVICTION_MEMORY_BYTES;
  const diskPressure = host.diskBytes > 0 && host.diskAvailableBytes < host.diskBytes * EVICTION_DISK_FRACTION;
  const capacity = {
    cpu: String(host.cpuCores),
    'ephemeral-storage': ki(host.diskBytes),
    'hugepages-1Gi': '0',
    'hugepages-2Mi': '0',
    memory: ki(host.memoryBytes),
    pods: String(id.maxPods),
  };
  const allocatable = {
    ...capacity,
    'ephemeral-storage': String(Math.floor(host.diskBytes * (1 - EVICTION_DISK_FRACTION))),
    memory: ki(host.memoryBytes - EVICTION_MEMORY_BYTES),
  };
  const prevConditions = prev?.conditions;
  const conditions: NodeCondition[] = [
    condition(prevConditions, {
      type: 'MemoryPressure',
      bad: memoryPressure,
      goodReason: 'KubeletHasSufficientMemory',
      goodMessage: 'kubelet has sufficient memory available',
      badReason: 'KubeletHasInsufficientMemory',
      badMessage: 'kubelet has insufficient memory available',
    }, now),
    condition(prevConditions, {
      type: 'DiskPressure',
      bad: diskPressure,
      goodReason: 'KubeletHasNoDiskPressure',
      goodMessage: 'kubelet has no disk pressure',
      badReason: 'KubeletHasDiskPressure',
      badMessage: 'kubelet has disk pressure',
    }, now),
    condition(prevConditions, {
      type: 'PIDPressure',
      bad: false,
      goodReason: 'KubeletHasSufficientPID',
      goodMessage: 'kubelet has sufficient PID available',
      badReason: 'KubeletHasInsufficientPID',
      badMessage: 'kubelet has insufficient PID available',
    }, now),
    condition(prevConditions, {
      type: 'Ready',
      bad: false,
      goodReason: 'KubeletReady',
      goodMessage: 'kubelet is posting ready status',
      badReason: 'KubeletNotReady',
      badMessage: 'container runtime is down',
    }, now, true),
  ];
  const images = [...facts.images]
    .sort((a, b) => b.sizeBytes - a.sizeBytes)
    .slice(0, MAX_IMAGES_IN_STATUS)
    .map((i) => ({ names: [...i.repoDigests, ...i.repoTags].filter((n) => n && n !== '<none>:<none>' && n !== '<none>@<none>'), sizeBytes: i.sizeBytes }))
    .filter((i) => i.names.length > 0);
  return {
    capacity,
    allocatable,
    conditions,
    addresses: [
      { type: 'InternalIP', address: host.internalIP },
      { type: 'Hostname', address: id.nodeName },
    ],
    daemonEndpoints: { kubeletEndpoint: { Port: id.kubeletPort } },
    nodeInfo: {
      machineID: host.machineID,
      systemUUID: host.systemUUID,
      bootID: host.bootID,
      kernelVersion: host.kernelVersion,
      osImage: host.osImage,
      containerRuntimeVersion: facts.runtimeVersion,
      kubeletVersion: gitVersion,
      kubeProxyVersion: gitVersion,
      operatingSystem: host.operatingSystem,
      architecture: host.architecture,
    },
    images,
  };
}

/** Status without the heartbeat times: what "changed" means for deciding to write. */
function comparable(status: NodeStatus | undefined): string {
  if (!status) return '';
  const conditions = (status.conditions ?? []).map((c) => ({ ...c, lastHeartbeatTime: undefined }));
  return JSON.stringify({ ...status, conditions });
}

export interface NodeStatusManagerOptions {
  client: Client;
  runtime: NodeRuntime;
  identity: NodeIdentity;
  readHost: () => Promise<HostFacts>;
  recorder?: EventRecorder;
  now?: () => number;
  /** How often status is computed and written when changed (upstream nodeStatusUpdateFrequency 10 s). */
  statusIntervalMs?: number;
  /** Longest time between status writes even without changes (upstream nodeStatusReportFrequency 5 min; we use 1 min). */
  statusReportMs?: number;
  leaseIntervalMs?: number;
}

export class NodeStatusManager {
  private node: Node | undefined;
  private lastWritten = '';
  private lastWriteAt = 0;
  private facts: NodeFacts | undefined;
  private readonly now: () => number;

  constructor(private readonly opts: NodeStatusManagerOptions) {
    this.now = opts.now ?? Date.now;
  }

  get internalIP(): string {
    return this.facts?.host.internalIP ?? '127.0.0.1';
  }

  /** Node allocatable, for env resourceFieldRef defaults (limits default to the node's allocatable). */
  get allocatable(): Record<string, string> {
    return (this.node?.status?.allocatable as Record<string, string> | undefined) ?? {};
  }

  private async gatherFacts(): Promise<NodeFacts> {
    const [host, version, images] = await Promise.all([this.opts.readHost(), this.opts.runtime.version(), this.opts.runtime.listImages().catch(() => [])]);
    this.facts = { host, runtimeVersion: `${version.runtimeName}://${version.runtimeVersion}`, images };
    return this.facts;
  }

  /** Creates the Node (or brings an existing one's labels, CIDR and status up to date) and the Lease. */
  async register(): Promise<Node> {
    const { client, identity } = this.opts;
    const facts = await this.gatherFacts();
    const labels = nodeLabels(identity, facts.host);
    let node: Node;
    try {
      const existing = await client.get<KubeObject>(nodesRef, identity.nodeName);
      const next = structuredClone(existing) as unknown as Node;
      next.metadata = { ...next.metadata, labels: { ...next.metadata?.labels, ...labels } };
      // podCIDR is set once (upstream refuses to change it); keep whatever the node already has.
      next.spec = { ...next.spec, podCIDR: next.spec?.podCIDR ?? identity.podCIDR, podCIDRs: next.spec?.podCIDRs ?? [identity.podCIDR] };
      node = (await client.update(nodesRef, next as unknown as KubeObject)) as unknown as Node;
    } catch (err) {
      if (!isNotFound(err)) throw err;
      const fresh: Node = {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: { name: identity.nodeName, labels, annotations: { 'node.alpha.kubernetes.io/ttl': '0', 'volumes.kubernetes.io/controller-managed-attach-detach': 'true' } },
        spec: { podCIDR: identity.podCIDR, podCIDRs: [identity.podCIDR] },
      };
      node = (await client.create(nodesRef, fresh as unknown as KubeObject)) as unknown as Node;
      this.opts.recorder?.event(this.eventTarget(node), 'Normal', 'Starting', 'Starting kubelet.');
    }
    this.node = node;
    await this.writeStatus(true);
    await this.renewLease();
    return this.node;
  }

  private eventTarget(node: Node): KubeObject {
    // Upstream's node events name the node with uid = node name, in the default namespace.
    return { apiVersion: 'v1', kind: 'Node', metadata: { name: node.metadata?.name ?? this.opts.identity.nodeName, uid: this.opts.identity.nodeName, namespace: '' } };
  }

  /** Recomputes status; writes it when it changed or the report interval passed (or when forced). */
  async writeStatus(force = false): Promise<void> {
    const { client, identity } = this.opts;
    const facts = await this.gatherFacts();
    for (let attempt = 0; attempt < 3; attempt++) {
      const base = this.node ?? ((await client.get<KubeObject>(nodesRef, identity.nodeName)) as unknown as Node);
      const status = buildNodeStatus(identity, facts, base.status, this.now());
      const key = comparable(status);
      const due = this.now() - this.lastWriteAt >= (this.opts.statusReportMs ?? 60_000);
      if (!force && !due && key === this.lastWritten && key === comparable(base.status)) return;
      const wasReady = base.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
      const next = { ...structuredClone(base), status } as Node;
      try {
        this.node = (await client.update(nodesRef, next as unknown as KubeObject, { subresource: 'status' })) as unknown as Node;
        this.lastWritten = key;
        this.lastWriteAt = this.now();
        if (!wasReady) this.opts.recorder?.event(this.eventTarget(this.node), 'Normal', 'NodeReady', `Node ${identity.nodeName} status is now: NodeReady`);
        return;
      } catch (err) {
        if (!isConflict(err) && !isNotFound(err)) throw err;
        if (isNotFound(err)) {
          // Someone deleted our Node: register again, as upstream's kubelet does.
          this.node = undefined;
          await this.register();
          return;
        }
        this.node = (await client.get<KubeObject>(nodesRef, identity.nodeName)) as unknown as Node;
      }
    }
  }

  async renewLease(): Promise<void> {
    const { client, identity } = this.opts;
    const name = identity.nodeName;
    const now = rfc3339Micro(this.now());
    const owner = this.node?.metadata?.uid
      ? [{ apiVersion: 'v1', kind: 'Node', name, uid: this.node.metadata.uid }]
      : undefined;
    let lease: Lease | undefined;
    try {
      lease = (await client.get<KubeObject>(leasesRef, name, NODE_LEASE_NAMESPACE)) as unknown as Lease;
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    if (!lease) {
      const fresh: Lease = {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name, namespace: NODE_LEASE_NAMESPACE, ...(owner ? { ownerReferences: owner } : {}) },
        spec: { holderIdentity: name, leaseDurationSeconds: LEASE_DURATION_SECONDS, renewTime: now },
      };
      await client.create(leasesRef, fresh as unknown as KubeObject);
      return;
    }
    const next = structuredClone(lease);
    next.spec = { ...next.spec, holderIdentity: name, leaseDurationSeconds: LEASE_DURATION_SECONDS, renewTime: now };
    if (owner) next.metadata = { ...next.metadata, ownerReferences: owner };
    await client.update(leasesRef, next as unknown as KubeObject);
  }

  /** Heartbeats until the signal aborts; errors are logged and retried on the next tick. */
  run(signal: AbortSignal): void {
    const every = (ms: number, what: string, fn: () => Promise<void>) => {
      const timer = setInterval(() => {
        fn().catch((err: unknown) => {
          if (!signal.aborted) log.warn(`${what} failed`, { node: this.opts.identity.nodeName, error: err });
        });
      }, ms);
      timer.unref?.();
      signal.addEventListener('abort', () => clearInterval(timer), { once: true });
    };
    every(this.opts.leaseIntervalMs ?? 10_000, 'lease renewal', () => this.renewLease());
    every(this.opts.statusIntervalMs ?? 10_000, 'node status update', () => this.writeStatus());
  }
}
