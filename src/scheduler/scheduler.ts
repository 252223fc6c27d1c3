// The running scheduler: informers feed the cache (ClusterState) and the queue; one pod at a time
// is decided by the pure framework, assumed on its node at once (so the next decision already
// counts it), then bound through pods/binding in the background. Refusals become FailedScheduling
// events and a PodScheduled=False condition; preemption evicts victims and nominates a node.

import { setMaxListeners } from 'node:events';
import type { Client, KubeObject, ResourceRef } from '../client/types.ts';
import { isConflict, isNotFound } from '../client/types.ts';
import { Informer } from '../client/informer.ts';
import { logger } from '../util/log.ts';
import { ClusterState, type WorkloadKind } from './cluster-state.ts';
import { FitError, scheduleOne } from './framework.ts';
import type { Node, PersistentVolume, PersistentVolumeClaim, Pod, PodCondition, PriorityClass, StorageClass } from './k8s.ts';
import { defaultPlugins } from './plugins/index.ts';
import { volumeDecisions } from './plugins/volume-binding.ts';
import { preempt } from './preemption.ts';
import { SchedulingQueue, type QueueOptions, type QueuedPod } from './queue.ts';
import { DEFAULT_SCHEDULER_NAME, newPodInfo, podKey, type CycleContext, type PodInfo } from './types.ts';

const log = logger('scheduler');

const core = (resource: string, namespaced = true): ResourceRef => ({ group: '', version: 'v1', resource, namespaced });
export const refs = {
  pods: core('pods'),
  nodes: core('nodes', false),
  events: core('events'),
  pvcs: core('persistentvolumeclaims'),
  pvs: core('persistentvolumes', false),
  namespaces: core('namespaces', false),
  services: core('services'),
  replicationControllers: core('replicationcontrollers'),
  storageClasses: { group: 'storage.k8s.io', version: 'v1', resource: 'storageclasses', namespaced: false },
  priorityClasses: { group: 'scheduling.k8s.io', version: 'v1', resource: 'priorityclasses', namespaced: false },
  replicaSets: { group: 'apps', version: 'v1', resource: 'replicasets', namespaced: true },
  statefulSets: { group: 'apps', version: 'v1', resource: 'statefulsets', namespaced: true },
} satisfies Record<string, ResourceRef>;

export interface SchedulerOptions {
  schedulerName?: string;
  queue?: QueueOptions;
  random?: () => number;
  /** How long to wait for optional informers (volumes, workloads, priority classes) to sync. */
  optionalSyncTimeoutMs?: number;
  /** Bindings in flight at once (default 32). */
  maxBindsInFlight?: number;
}

const asObj = <T>(o: KubeObject) => o as unknown as T;
const isTerminal = (p: Pod) => p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed';

export class Scheduler {
  readonly state = new ClusterState();
  readonly queue: SchedulingQueue;
  private readonly name: string;
  private readonly random: () => number;
  private readonly cursor = { next: 0 };
  private readonly informers: Record<string, Informer> = {};
  private readonly assumed = new Set<string>();
  private readonly events: EventRecorder;
  private inFlight = new Set<Promise<void>>();
  /** Pods seen with scheduling gates, so the SchedulingGated condition is written once. */
  private readonly gated = new Set<string>();

  constructor(
    private readonly client: Client,
    private readonly opts: SchedulerOptions = {},
  ) {
    this.name = opts.schedulerName ?? DEFAULT_SCHEDULER_NAME;
    this.queue = new SchedulingQueue(opts.queue);
    this.random = opts.random ?? Math.random;
    this.events = new EventRecorder(client, this.name);
  }

  /** Starts informers and the loop; resolves once the caches synced and the loop runs. */
  async start(signal: AbortSignal): Promise<void> {
    const inf = <T extends KubeObject>(key: string, ref: ResourceRef) => {
      const i = new Informer<T>(this.client, ref);
      this.informers[key] = i as unknown as Informer;
      return i;
    };
    const priorityClasses = inf('priorityClasses', refs.priorityClasses);
    const pods = inf('pods', refs.pods);
    const nodes = inf('nodes', refs.nodes);
    nodes.addHandlers({
      onAdd: (n) => this.onNode(asObj<Node>(n), undefined),
      onUpdate: (o, n) => this.onNode(asObj<Node>(n), asObj<Node>(o)),
      onDelete: (n) => this.state.deleteNode(n.metadata.name ?? ''),
    });
    pods.addHandlers({
      onAdd: (p) => this.onPod(asObj<Pod>(p)),
      onUpdate: (o, p) => this.onPod(asObj<Pod>(p), asObj<Pod>(o)),
      onDelete: (p) => this.onPodDeleted(asObj<Pod>(p)),
    });
    const moved = () => this.queue.moveAllToActiveOrBackoff();
    inf('pvcs', refs.pvcs).addHandlers({
      onAdd: (c) => (this.state.setPVC(asObj<PersistentVolumeClaim>(c)), moved()),
      onUpdate: (_o, c) => (this.state.setPVC(asObj<PersistentVolumeClaim>(c)), moved()),
      onDelete: (c) => this.state.deletePVC(asObj<PersistentVolumeClaim>(c)),
    });
    inf('pvs', refs.pvs).addHandlers({
      onAdd: (v) => (this.state.setPV(asObj<PersistentVolume>(v)), moved()),
      onUpdate: (_o, v) => (this.state.setPV(asObj<PersistentVolume>(v)), moved()),
      onDelete: (v) => this.state.deletePV(asObj<PersistentVolume>(v)),
    });
    inf('storageClasses', refs.storageClasses).addHandlers({
      onAdd: (c) => (this.state.setStorageClass(asObj<StorageClass>(c)), moved()),
      onUpdate: (_o, c) => this.state.setStorageClass(asObj<StorageClass>(c)),
      onDelete: (c) => this.state.deleteStorageClass(asObj<StorageClass>(c)),
    });
    inf('namespaces', refs.namespaces).addHandlers({
      onAdd: (n) => this.state.setNamespace(n.metadata.name ?? '', n.metadata.labels),
      onUpdate: (_o, n) => (this.state.setNamespace(n.metadata.name ?? '', n.metadata.labels), moved()),
      onDelete: (n) => this.state.deleteNamespace(n.metadata.name ?? ''),
    });
    const workload = (key: string, ref: ResourceRef, kind: WorkloadKind) =>
      inf(key, ref).addHandlers({
        onAdd: (o) => this.state.setWorkload(kind, o as never),
        onUpdate: (_o, o) => this.state.setWorkload(kind, o as never),
        onDelete: (o) => this.state.deleteWorkload(kind, o as never),
      });
    workload('services', refs.services, 'Service');
    workload('replicationControllers', refs.replicationControllers, 'ReplicationController');
    workload('replicaSets', refs.replicaSets, 'ReplicaSet');
    workload('statefulSets', refs.statefulSets, 'StatefulSet');

    // A dozen informers and their watches all listen on the one signal.
    setMaxListeners(100, signal);
    for (const i of Object.values(this.informers)) void i.run(signal);
    signal.addEventListener('abort', () => this.queue.close(), { once: true });

    // Pods and nodes are required; the rest may be served later (a kind not registered yet must
    // not keep the scheduler from starting), so their sync is waited for a bounded time.
    await Promise.all([pods.waitForSync(signal), nodes.waitForSync(signal)]);
    const optional = Object.entries(this.informers).filter(([k]) => k !== 'pods' && k !== 'nodes');
    const deadline = new Promise<void>((r) => setTimeout(r, this.opts.optionalSyncTimeoutMs ?? 3000).unref());
    await Promise.race([Promise.all(optional.map(([, i]) => i.waitForSync(signal).catch(() => undefined))), deadline]);
    for (const [k, i] of optional) if (!i.hasSynced()) log.warn('informer not synced; continuing without it', { resource: k });
    // Pods added before priority classes synced get their priority recomputed now.
    for (const p of pods.list()) this.onPod(asObj<Pod>(p));
    void priorityClasses;
    void this.loop(signal);
  }

  // --- informer handlers

  private priorityOf(pod: Pod): number {
    if (pod.spec?.priority !== undefined) return pod.spec.priority;
    // The Priority admission plugin normally fills spec.priority; resolve it here when it did not.
    const classes = this.informers.priorityClasses;
    const name = pod.spec?.priorityClassName;
    if (classes && name) {
      const pc = classes.get(name) as unknown as PriorityClass | undefined;
      if (pc) return pc.value;
    }
    if (classes && !name) {
      const def = classes.list((c) => (c as unknown as PriorityClass).globalDefault === true)[0] as unknown as PriorityClass | undefined;
      if (def) return def.value;
    }
    return 0;
  }

  podInfo(pod: Pod): PodInfo {
    return newPodInfo(pod, this.priorityOf(pod));
  }

  private responsible(pod: Pod): boolean {
    return (pod.spec?.schedulerName ?? DEFAULT_SCHEDULER_NAME) === this.name;
  }

  private onNode(node: Node, old: Node | undefined): void {
    this.state.setNode(node);
    // Status heartbeats change nothing a plugin reads; only wake pending pods on real changes.
    const relevant = (n: Node | undefined) =>
      JSON.stringify([n?.metadata?.labels, n?.spec?.taints, n?.spec?.unschedulable, n?.status?.allocatable, n?.status?.images?.length]);
    if (!old || relevant(old) !== relevant(node)) this.queue.moveAllToActiveOrBackoff();
  }

  private onPod(pod: Pod, old?: Pod): void {
    const key = podKey(pod);
    if (pod.spec?.nodeName) {
      this.queue.delete(key);
      this.state.clearNomination(key);
      this.assumed.delete(key);
      if (isTerminal(pod)) {
        if (this.state.removePod(key)) this.queue.moveAllToActiveOrBackoff();
        return;
      }
      this.state.addPod(this.podInfo(pod), pod.spec.nodeName);
      // Labels of running pods feed affinity and spreading; a change may unblock someone.
      if (old && JSON.stringify(old.metadata?.labels) !== JSON.stringify(pod.metadata?.labels)) this.queue.moveAllToActiveOrBackoff();
      return;
    }
    if (!this.responsible(pod) || pod.metadata?.deletionTimestamp || isTerminal(pod)) {
      this.queue.delete(key);
      return;
    }
    if ((pod.spec?.schedulingGates ?? []).length > 0) {
      this.queue.delete(key);
      if (!this.gated.has(key)) {
        this.gated.add(key);
        void this.setCondition(pod, { type: 'PodScheduled', status: 'False', reason: 'SchedulingGated', message: 'Scheduling is blocked due to non-empty scheduling gates' });
      }
      return;
    }
    this.gated.delete(key);
    if (this.assumed.has(key)) return; // its binding is in flight
    // Our own status writes (condition, nominated node) must not send the pod round again.
    const shape = (p: Pod) => JSON.stringify([p.spec, p.metadata?.labels, p.metadata?.annotations]);
    if (old && this.queue.has(key) && shape(old) === shape(pod)) this.queue.refresh(this.podInfo(pod));
    else this.queue.update(this.podInfo(pod));
  }

  private onPodDeleted(pod: Pod): void {
    const key = podKey(pod);
    this.queue.delete(key);
    this.gated.delete(key);
    this.state.clearNomination(key);
    if (this.state.removePod(key)) this.queue.moveAllToActiveOrBackoff();
    this.assumed.delete(key);
  }

  // --- the loop

  private async loop(signal: AbortSignal): Promise<void> {
    const maxInFlight = this.opts.maxBindsInFlight ?? 32;
    while (!signal.aborted) {
      const qp = await this.queue.pop();
      if (!qp) break;
      try {
        this.scheduleCycle(qp);
      } catch (e) {
        log.error('scheduling cycle failed', { pod: `${qp.info.namespace}/${qp.info.name}`, error: e });
        this.queue.addBackoff(qp);
      }
      if (this.inFlight.size >= maxInFlight) await Promise.race(this.inFlight);
      // Let informer events in between decisions, so the cache stays current.
      await new Promise<void>((r) => setImmediate(r));
    }
  }

  /** Resolves when every binding started so far has finished (tests). */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all(this.inFlight);
  }

  private scheduleCycle(qp: QueuedPod): void {
    const info = qp.info;
    const current = this.informers.pods?.get(info.name, info.namespace) as unknown as Pod | undefined;
    if (!current || current.spec?.nodeName || current.metadata?.deletionTimestamp || podKey(current) !== info.key) {
      this.queue.delete(info.key);
      return;
    }
    const result = scheduleOne(info, this.state, { random: this.random, cursor: this.cursor });
    if ('node' in result) {
      const node = result.node;
      // Assume: the pod counts on the node from now on, before the binding is even sent.
      this.state.addPod(info, node);
      this.assumed.add(info.key);
      this.state.clearNomination(info.key);
      this.queue.done(info.key);
      this.track(this.bind(qp, node, result.ctx));
      return;
    }
    const fit = result.fitError;
    if (fit.numAllNodes > 0) {
      const pre = preempt(info, this.state, fit, defaultPlugins);
      fit.postFilterMsg = pre.message;
      if (pre.candidate) {
        this.state.nominate(info, pre.candidate.node);
        this.track(this.evict(info, pre.candidate.node, pre.candidate.victims));
      }
      this.track(this.reportFailure(current, fit, pre.candidate?.node));
    } else {
      this.track(this.reportFailure(current, fit, undefined));
    }
    this.queue.addUnschedulable(qp);
  }

  private track(p: Promise<void>): void {
    const t = p.catch((e) => log.debug('background step failed', { error: e })).finally(() => this.inFlight.delete(t));
    this.inFlight.add(t);
  }

  private async bind(qp: QueuedPod, node: string, ctx: CycleContext): Promise<void> {
    const { name, namespace } = qp.info;
    try {
      await this.bindVolumes(ctx, node);
      await this.client.createSubresource(refs.pods, name, 'binding', { apiVersion: 'v1', kind: 'Binding', metadata: { name, namespace }, target: { apiVersion: 'v1', kind: 'Node', name: node } }, namespace);
      this.events.record(qp.info.pod, 'Normal', 'Scheduled', `Successfully assigned ${namespace}/${name} to ${node}`);
    } catch (e) {
      // Forget the assumption; the informer tells the truth from here.
      this.assumed.delete(qp.info.key);
      if (this.state.nodeOf(qp.info.key) === node && !this.informerHasBinding(qp.info)) this.state.removePod(qp.info.key);
      if (isNotFound(e)) {
        this.queue.delete(qp.info.key);
        return;
      }
      log.info('binding failed; retrying after backoff', { pod: `${namespace}/${name}`, node, error: e, conflict: isConflict(e) });
      this.events.record(qp.info.pod, 'Warning', 'FailedScheduling', `Binding rejected: ${(e as Error).message}`);
      // The pod left the queue when it was assumed; put it back in backoff.
      this.queue.add(qp.info);
    }
  }

  private informerHasBinding(info: PodInfo): boolean {
    const p = this.informers.pods?.get(info.name, info.namespace) as unknown as Pod | undefined;
    return Boolean(p?.spec?.nodeName);
  }

  /** PreBind for WaitForFirstConsumer claims: pick the PV, or ask for provisioning on the node. */
  private async bindVolumes(ctx: CycleContext, node: string): Promise<void> {
    for (const d of volumeDecisions(ctx, node)) {
      const ns = d.claim.metadata?.namespace ?? ctx.pod.namespace;
      const claimName = d.claim.metadata?.name ?? '';
      if (d.pv) {
        await this.client.patch(refs.pvs, d.pv.metadata?.name ?? '', 'merge', {
          metadata: { annotations: { 'pv.kubernetes.io/bound-by-controller': 'yes' } },
          spec: { claimRef: { kind: 'PersistentVolumeClaim', apiVersion: 'v1', namespace: ns, name: claimName, uid: d.claim.metadata?.uid } },
        });
      } else {
        await this.client.patch(refs.pvcs, claimName, 'merge', { metadata: { annotations: { 'volume.kubernetes.io/selected-node': node } } }, { namespace: ns });
      }
    }
  }

  private async evict(preemptor: PodInfo, node: string, victims: PodInfo[]): Promise<void> {
    const current = this.informers.pods?.get(preemptor.name, preemptor.namespace) as unknown as Pod | undefined;
    if (current) await this.patchStatus(current, { nominatedNodeName: node });
    await Promise.all(
      victims.map(async (v) => {
        await this.setCondition(v.pod, { type: 'DisruptionTarget', status: 'True', reason: 'PreemptionByScheduler', message: `${this.name}: preempting to accommodate a higher priority pod` }).catch(() => undefined);
        try {
          await this.client.delete(refs.pods, v.name, { namespace: v.namespace });
        } catch (e) {
          if (!isNotFound(e)) throw e;
        }
        this.events.record(v.pod, 'Normal', 'Preempted', `Preempted by pod ${preemptor.pod.metadata?.uid ?? ''} on node ${node}`);
      }),
    );
  }

  private async reportFailure(pod: Pod, fit: FitError, nominated: string | undefined): Promise<void> {
    const message = fit.message;
    log.debug('pod unschedulable', { pod: `${pod.metadata?.namespace}/${pod.metadata?.name}`, message });
    this.events.record(pod, 'Warning', 'FailedScheduling', message);
    await this.setCondition(pod, { type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message }, nominated);
  }

  /** Writes one condition (and the nominated node) with a merge patch on pods/status, if changed. */
  private async setCondition(pod: Pod, cond: PodCondition, nominated?: string): Promise<void> {
    const conds = pod.status?.conditions ?? [];
    const old = conds.find((c) => c.type === cond.type);
    const sameNomination = nominated === undefined || pod.status?.nominatedNodeName === nominated;
    if (old && old.status === cond.status && old.reason === cond.reason && old.message === cond.message && sameNomination) return;
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const next: PodCondition = { ...cond, lastProbeTime: null as unknown as string, lastTransitionTime: old && old.status === cond.status ? old.lastTransitionTime : now };
    const status: Record<string, unknown> = { conditions: [...conds.filter((c) => c.type !== cond.type), next] };
    if (nominated !== undefined) status.nominatedNodeName = nominated;
    await this.patchStatus(pod, status);
  }

  private async patchStatus(pod: Pod, status: Record<string, unknown>): Promise<void> {
    try {
      await this.client.patch(refs.pods, pod.metadata?.name ?? '', 'merge', { status }, { namespace: pod.metadata?.namespace, subresource: 'status' });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
}

/**
 * core/v1 Events with upstream's aggregation in its simplest form: the same reason and message for
 * the same object bumps count and lastTimestamp of the event already written.
 */
export class EventRecorder {
  private readonly seen = new Map<string, { name: string; namespace: string; count: number }>();

  constructor(
    private readonly client: Client,
    private readonly component = DEFAULT_SCHEDULER_NAME,
  ) {}

  record(pod: Pod, type: 'Normal' | 'Warning', reason: string, message: string): void {
    void this.write(pod, type, reason, message).catch((e) => log.debug('event not recorded', { reason, error: e }));
  }

  private async write(pod: Pod, type: string, reason: string, message: string): Promise<void> {
    const namespace = pod.metadata?.namespace ?? 'default';
    const key = `${pod.metadata?.uid ?? namespace + '/' + pod.metadata?.name}\0${reason}\0${message}`;
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const prev = this.seen.get(key);
    if (prev) {
      prev.count++;
      try {
        await this.client.patch(refs.events, prev.name, 'merge', { count: prev.count, lastTimestamp: now }, { namespace: prev.namespace });
        return;
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
    const name = `${pod.metadata?.name}.${(BigInt(Date.now()) * 1_000_000n + BigInt(Math.floor(Math.random() * 1e6))).toString(16)}`;
    const ev = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace },
      involvedObject: { apiVersion: 'v1', kind: 'Pod', namespace, name: pod.metadata?.name, uid: pod.metadata?.uid, resourceVersion: pod.metadata?.resourceVersion },
      reason,
      message,
      type,
      source: { component: this.component },
      reportingComponent: this.component,
      reportingInstance: this.component,
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
    };
    if (this.seen.size > 10_000) this.seen.clear();
    this.seen.set(key, { name, namespace, count: 1 });
    await this.client.create(refs.events, ev as unknown as KubeObject);
  }
}
