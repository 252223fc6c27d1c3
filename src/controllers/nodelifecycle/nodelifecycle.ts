// Node lifecycle: watches node heartbeats (the kube-node-lease Lease and the Ready condition's
// lastHeartbeatTime). A node not heard from for the grace period (40 s) gets its conditions set to
// Unknown (NodeStatusUnknown) and the node.kubernetes.io/unreachable NoSchedule+NoExecute taints; a
// Ready=False node gets not-ready taints; a cordoned node the unschedulable taint. Pods on nodes
// with NoExecute taints are deleted once their tolerationSeconds run out (taint-based eviction).
// Time comes from an injectable clock; heartbeats are timed when *we* observe them change, so clock
// skew between a remote agent and the server does not matter (as upstream).
import { setTimeout as delay } from 'node:timers/promises';
import { isNotFound, type Client, type KubeObject, type ResourceRef } from '../../client/types.ts';
import type { SharedInformers } from '../../client/shared-informers.ts';
import type { Informer } from '../../client/informer.ts';
import type { EventRecorder } from '../../controller/events.ts';
import { rfc3339 } from '../../api/meta.ts';
import { logger } from '../../util/log.ts';
import { evictionDelaySeconds, TAINT_NOT_READY, TAINT_UNREACHABLE, TAINT_UNSCHEDULABLE, type Taint, type Toleration } from './taints.ts';

const log = logger('controller/nodelifecycle');

export const nodesRef: ResourceRef = { group: '', version: 'v1', resource: 'nodes', namespaced: false };
export const leasesRef: ResourceRef = { group: 'coordination.k8s.io', version: 'v1', resource: 'leases', namespaced: true };
export const podsRef: ResourceRef = { group: '', version: 'v1', resource: 'pods', namespaced: true };
export const NODE_LEASE_NAMESPACE = 'kube-node-lease';

interface NodeCondition {
  type: string;
  status: string;
  lastHeartbeatTime?: string;
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
}

export interface NodeLifecycleOptions {
  client: Client;
  informers: SharedInformers;
  recorder?: EventRecorder;
  now?: () => number;
  /** Silence after which a node is Unknown (upstream --node-monitor-grace-period; 40 s). */
  gracePeriodMs?: number;
  /** How often nodes are checked (upstream --node-monitor-period; 5 s). */
  monitorPeriodMs?: number;
  /** tolerationSeconds assumed for pods with no not-ready/unreachable toleration (300). */
  defaultTolerationSeconds?: number;
}

const MANAGED_TAINTS = new Set([TAINT_NOT_READY, TAINT_UNREACHABLE, TAINT_UNSCHEDULABLE]);
const CONDITIONS_SET_UNKNOWN = ['Ready', 'MemoryPressure', 'DiskPressure', 'PIDPressure'];

export class NodeLifecycleController {
  readonly name = 'nodelifecycle';
  private readonly nodes: Informer;
  private readonly leases: Informer;
  private readonly pods: Informer;
  private readonly heartbeats = new Map<string, { lease: string | undefined; status: string | undefined; observedAt: number }>();
  private readonly now: () => number;

  constructor(private readonly opts: NodeLifecycleOptions) {
    this.now = opts.now ?? Date.now;
    this.nodes = opts.informers.informerFor(nodesRef);
    this.leases = opts.informers.informerFor(leasesRef, { namespace: NODE_LEASE_NAMESPACE });
    this.pods = opts.informers.informerFor(podsRef);
  }

  async run(signal: AbortSignal): Promise<void> {
    await Promise.all([this.nodes.waitForSync(signal), this.leases.waitForSync(signal), this.pods.waitForSync(signal)]);
    const period = this.opts.monitorPeriodMs ?? 5000;
    while (!signal.aborted) {
      try {
        await this.monitorOnce();
      } catch (e) {
        if (!signal.aborted) log.warn('node monitor pass failed', { error: e });
      }
      // timers/promises removes its abort listener when the timer fires: no listener pile-up.
      await delay(period, undefined, { signal }).catch(() => undefined);
    }
  }

  /** One pass over every node: heartbeat check, conditions, taints, evictions. */
  async monitorOnce(): Promise<void> {
    const now = this.now();
    const names = new Set<string>();
    for (const node of this.nodes.list()) {
      const name = node.metadata.name!;
      names.add(name);
      try {
        let current = await this.checkHeartbeat(node, now);
        current = await this.syncTaints(current, now);
        await this.evictPods(current, now);
      } catch (e) {
        if (!isNotFound(e)) log.warn('node check failed', { node: name, error: e });
      }
    }
    for (const n of this.heartbeats.keys()) if (!names.has(n)) this.heartbeats.delete(n);
  }

  private async checkHeartbeat(node: KubeObject, now: number): Promise<KubeObject> {
    const name = node.metadata.name!;
    const lease = this.leases.get(name, NODE_LEASE_NAMESPACE);
    const leaseRenew = (lease?.spec as { renewTime?: string } | undefined)?.renewTime;
    const conditions = ((node.status as { conditions?: NodeCondition[] } | undefined)?.conditions ?? []) as NodeCondition[];
    const ready = conditions.find((c) => c.type === 'Ready');
    const seen = this.heartbeats.get(name);
    if (!seen || seen.lease !== leaseRenew || seen.status !== ready?.lastHeartbeatTime) {
      this.heartbeats.set(name, { lease: leaseRenew, status: ready?.lastHeartbeatTime, observedAt: now });
      return node;
    }
    if (now - seen.observedAt <= (this.opts.gracePeriodMs ?? 40_000)) return node;
    if (ready?.status === 'Unknown') return node;

    const stamp = rfc3339(now);
    const next: NodeCondition[] = conditions.map((c) =>
      CONDITIONS_SET_UNKNOWN.includes(c.type) && c.status !== 'Unknown'
        ? { ...c, status: 'Unknown', reason: 'NodeStatusUnknown', message: 'Kubelet stopped posting node status.', lastTransitionTime: stamp }
        : c,
    );
    if (!ready) next.push({ type: 'Ready', status: 'Unknown', reason: 'NodeStatusNeverUpdated', message: 'Kubelet never posted node status.', lastHeartbeatTime: node.metadata.creationTimestamp!, lastTransitionTime: stamp });
    const updated = structuredClone(node);
    updated.status = { ...((updated.status as object | undefined) ?? {}), conditions: next };
    const written = await this.opts.client.update(nodesRef, updated, { subresource: 'status' });
    this.opts.recorder?.event(written, 'Normal', 'NodeNotReady', `Node ${name} status is now: NodeNotReady`);
    log.info('node stopped posting status', { node: name });
    return written;
  }

  private async syncTaints(node: KubeObject, now: number): Promise<KubeObject> {
    const spec = (node.spec ?? {}) as { taints?: Taint[]; unschedulable?: boolean };
    const ready = ((node.status as { conditions?: NodeCondition[] } | undefined)?.conditions ?? []).find((c) => c.type === 'Ready');
    const want: Taint[] = [];
    // A node that never reported is not tainted for readiness until the grace period says so.
    if (ready?.status === 'False') want.push({ key: TAINT_NOT_READY, effect: 'NoSchedule' }, { key: TAINT_NOT_READY, effect: 'NoExecute' });
    if (ready?.status === 'Unknown') want.push({ key: TAINT_UNREACHABLE, effect: 'NoSchedule' }, { key: TAINT_UNREACHABLE, effect: 'NoExecute' });
    if (spec.unschedulable) want.push({ key: TAINT_UNSCHEDULABLE, effect: 'NoSchedule' });
    const existing = spec.taints ?? [];
    const managed = existing.filter((t) => MANAGED_TAINTS.has(t.key));
    const same = (a: Taint, b: Taint) => a.key === b.key && a.effect === b.effect;
    const wantWithTimes = want.map((w) => {
      const old = managed.find((m) => same(m, w));
      if (old) return old;
      return w.effect === 'NoExecute' ? { ...w, timeAdded: rfc3339(now) } : w;
    });
    if (managed.length === wantWithTimes.length && managed.every((m) => wantWithTimes.some((w) => same(m, w)))) return node;
    const updated = structuredClone(node);
    const taints = [...existing.filter((t) => !MANAGED_TAINTS.has(t.key)), ...wantWithTimes];
    updated.spec = { ...spec, taints: taints.length ? taints : undefined };
    return this.opts.client.update(nodesRef, updated);
  }

  private async evictPods(node: KubeObject, now: number): Promise<void> {
    const name = node.metadata.name!;
    const noExecute = (((node.spec as { taints?: Taint[] } | undefined)?.taints ?? []) as Taint[]).filter((t) => t.effect === 'NoExecute');
    if (noExecute.length === 0) return;
    const defaultSeconds = this.opts.defaultTolerationSeconds ?? 300;
    for (const pod of this.pods.list((p) => (p.spec as { nodeName?: string } | undefined)?.nodeName === name)) {
      if (pod.metadata.deletionTimestamp) continue;
      const phase = (pod.status as { phase?: string } | undefined)?.phase;
      if (phase === 'Succeeded' || phase === 'Failed') continue;
      const tolerations = ((pod.spec as { tolerations?: Toleration[] }).tolerations ?? []) as Toleration[];
      let evictAt = Infinity;
      for (const taint of noExecute) {
        const seconds = evictionDelaySeconds(taint, tolerations, defaultSeconds);
        const since = taint.timeAdded ? Date.parse(taint.timeAdded) : now;
        evictAt = Math.min(evictAt, since + seconds * 1000);
      }
      if (evictAt > now) continue;
      await this.evict(pod);
    }
  }

  private async evict(pod: KubeObject): Promise<void> {
    const ns = pod.metadata.namespace!;
    const name = pod.metadata.name!;
    this.opts.recorder?.event(pod, 'Normal', 'TaintManagerEviction', `Marking for deletion Pod ${ns}/${name}`);
    try {
      await this.addDisruptionCondition(pod, 'DeletionByTaintManager', 'Taint manager: deleting due to NoExecute taint');
      await this.opts.client.delete(podsRef, name, { namespace: ns, preconditions: { uid: pod.metadata.uid! } });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }

  private async addDisruptionCondition(pod: KubeObject, reason: string, message: string): Promise<void> {
    const status = (pod.status ?? {}) as { conditions?: NodeCondition[] };
    const conditions = (status.conditions ?? []).filter((c) => c.type !== 'DisruptionTarget');
    conditions.push({ type: 'DisruptionTarget', status: 'True', reason, message, lastTransitionTime: rfc3339(this.now()) });
    await this.opts.client.patch(podsRef, pod.metadata.name!, 'merge', { status: { conditions } }, { namespace: pod.metadata.namespace!, subresource: 'status' });
  }
}
