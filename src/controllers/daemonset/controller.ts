// DaemonSet controller: one pod per eligible node, pinned there by node affinity and bound by the
// scheduler; pods leave nodes that stop qualifying; RollingUpdate (maxUnavailable or maxSurge) or
// OnDelete; ControllerRevisions for `kubectl rollout history/undo daemonset`; the status numbers
// `kubectl rollout status daemonset` waits on.
import type { DaemonSet, DaemonSetStatus } from 'kubernetes-types/apps/v1.js';
import type { PodTemplateSpec } from 'kubernetes-types/core/v1.js';
import { selectorFromObject, type LabelSelector, type LabelSelectorObject } from '../../api/labels.ts';
import type { Informer } from '../../client/informer.ts';
import { isNotFound, type KubeObject, type ObjectMeta } from '../../client/types.ts';
import type { EventRecorder } from '../../controller/events.ts';
import type { Request } from '../../controller/runner.ts';
import { WorkloadController, type ControllerDeps } from '../replicaset/deps.ts';
import { Expectations } from '../replicaset/expectations.ts';
import { controllerRefOf, isPodAvailable, isPodReady, msUntilAvailable, nsKey, ownerRefTo, podFromTemplate, refs, resolveIntOrPercent, slowStartBatch, type PodObject } from '../replicaset/podutil.ts';
import { ensureRevision, pruneRevisions, REVISION_LABEL, type ControllerRevisionObj } from '../statefulset/history.ts';
import { revisionTemplate } from './revision.ts';
import { daemonTolerations, pinToNode, placementOn, targetNodeOf, type NodeObject } from './eligibility.ts';

export type DaemonSetObj = KubeObject & Omit<DaemonSet, 'metadata'> & { metadata: ObjectMeta };

export const TEMPLATE_GENERATION_LABEL = 'pod-template-generation';
const TEMPLATE_GENERATION_ANNOTATION = 'deprecated.daemonset.template.generation';
/** Upstream's burstReplicas for DaemonSets: the most creates or deletes one sync asks for. */
const BURST = 250;
// A pod the kubelet keeps failing (rejected for resources, ports...) is deleted and recreated with
// a growing pause per node, so the controller and kubelet do not fight in a hot loop.
const FAILED_BACKOFF_INITIAL_MS = 1000;
const FAILED_BACKOFF_MAX_MS = 15 * 60_000;

type NodePods = Map<string, PodObject[]>;

/** Scheduled pods first, then oldest, then by name: the pod that counts for a node in status. */
function byCreation(a: PodObject, b: PodObject): number {
  const sa = a.spec?.nodeName ? 0 : 1;
  const sb = b.spec?.nodeName ? 0 : 1;
  if (sa !== sb) return sa - sb;
  const ca = Date.parse(a.metadata.creationTimestamp ?? '') || 0;
  const cb = Date.parse(b.metadata.creationTimestamp ?? '') || 0;
  if (ca !== cb) return ca - cb;
  return (a.metadata.name ?? '') < (b.metadata.name ?? '') ? -1 : 1;
}

const hashOf = (p: PodObject) => p.metadata.labels?.[REVISION_LABEL];

export class DaemonSetController extends WorkloadController {
  readonly name = 'daemonset-controller';
  // Creates and deletes asked for in one pass are tracked apart, since one pass may do both.
  readonly expectedCreates: Expectations;
  readonly expectedDeletes: Expectations;
  private readonly failedBackoff = new Map<string, { delayMs: number; until: number }>();
  private readonly sets: Informer<DaemonSetObj>;
  private readonly pods: Informer<PodObject>;
  private readonly nodes: Informer<NodeObject>;
  private readonly revisions: Informer<ControllerRevisionObj>;
  private readonly events: EventRecorder;

  constructor(deps: ControllerDeps) {
    super(deps);
    this.expectedCreates = new Expectations(deps.clock);
    this.expectedDeletes = new Expectations(deps.clock);
    this.events = deps.recorder('daemonset-controller');
    this.sets = deps.informers.informerFor<DaemonSetObj>(refs.daemonsets);
    this.pods = deps.informers.informerFor<PodObject>(refs.pods);
    this.nodes = deps.informers.informerFor<NodeObject>(refs.nodes);
    this.revisions = deps.informers.informerFor<ControllerRevisionObj>(refs.controllerrevisions);
    const enqueueSet = (s: KubeObject) => this.enqueue({ namespace: s.metadata.namespace, name: s.metadata.name ?? '' });
    this.sets.addHandlers({
      onAdd: enqueueSet,
      onUpdate: (_o, n) => enqueueSet(n),
      onDelete: (s) => {
        const key = nsKey(s.metadata.namespace, s.metadata.name);
        this.expectedCreates.forget(key);
        this.expectedDeletes.forget(key);
        for (const k of this.failedBackoff.keys()) if (k.startsWith(`${s.metadata.uid}/`)) this.failedBackoff.delete(k);
      },
    });
    this.pods.addHandlers({
      onAdd: (p) => {
        const owner = this.ownerName(p);
        if (!owner) return this.enqueueMatching(p);
        const key = nsKey(p.metadata.namespace, owner);
        this.expectedCreates.creationObserved(key);
        if (p.metadata.deletionTimestamp) this.expectedDeletes.deletionObserved(key, p.metadata.uid);
        this.enqueue({ namespace: p.metadata.namespace, name: owner });
      },
      onUpdate: (old, p) => {
        const owner = this.ownerName(p);
        const oldOwner = this.ownerName(old);
        if (oldOwner && oldOwner !== owner) this.enqueue({ namespace: old.metadata.namespace, name: oldOwner });
        if (!owner) return this.enqueueMatching(p);
        // A pod given a deletionTimestamp is as good as gone for counting purposes.
        if (p.metadata.deletionTimestamp) this.expectedDeletes.deletionObserved(nsKey(p.metadata.namespace, owner), p.metadata.uid);
        this.enqueue({ namespace: p.metadata.namespace, name: owner });
      },
      onDelete: (p) => {
        const owner = this.ownerName(p);
        if (!owner) return;
        this.expectedDeletes.deletionObserved(nsKey(p.metadata.namespace, owner), p.metadata.uid);
        this.enqueue({ namespace: p.metadata.namespace, name: owner });
      },
    });
    // Any DaemonSet may start or stop wanting a node when the node's labels or taints change;
    // heartbeats (status only) change neither and are ignored.
    const enqueueAll = () => {
      for (const s of this.sets.list()) enqueueSet(s);
    };
    this.nodes.addHandlers({
      onAdd: enqueueAll,
      onUpdate: (o, n) => {
        if (JSON.stringify(o.metadata.labels ?? {}) !== JSON.stringify(n.metadata.labels ?? {}) || JSON.stringify(o.spec ?? {}) !== JSON.stringify(n.spec ?? {})) enqueueAll();
      },
      onDelete: enqueueAll,
    });
  }

  private ownerName(p: PodObject): string | undefined {
    const ref = controllerRefOf(p);
    return ref?.kind === 'DaemonSet' && ref.apiVersion.startsWith('apps/') ? ref.name : undefined;
  }

  private enqueueMatching(p: PodObject): void {
    if (p.metadata.deletionTimestamp) return;
    for (const ds of this.sets.list((s) => s.metadata.namespace === p.metadata.namespace)) {
      if (this.selectorOf(ds)?.matches(p.metadata.labels)) this.enqueue({ namespace: ds.metadata.namespace, name: ds.metadata.name ?? '' });
    }
  }

  /** The selector, or undefined for an empty one (which would select every pod: refused). */
  private selectorOf(ds: DaemonSetObj): LabelSelector | undefined {
    const sel = ds.spec?.selector as LabelSelectorObject | undefined;
    if (!sel || (Object.keys(sel.matchLabels ?? {}).length === 0 && (sel.matchExpressions ?? []).length === 0)) return undefined;
    return selectorFromObject(sel);
  }

  private satisfied(key: string): boolean {
    return this.expectedCreates.satisfied(key) && this.expectedDeletes.satisfied(key);
  }

  async sync(req: Request): Promise<{ requeueAfterMs?: number } | void> {
    const key = nsKey(req.namespace, req.name);
    const cached = this.sets.get(req.name, req.namespace);
    if (!cached) {
      this.expectedCreates.forget(key);
      this.expectedDeletes.forget(key);
      return;
    }
    // Pods go with the DaemonSet through the garbage collector; nothing to manage meanwhile.
    if (cached.metadata.deletionTimestamp) return;
    const ds = structuredClone(cached);
    const selector = this.selectorOf(ds);
    if (!selector) {
      this.events.event(ds, 'Warning', 'SelectingAll', 'This daemon set is selecting all pods. A non-empty selector is required.');
      return;
    }

    const owned = this.revisions.list((r) => r.metadata.namespace === ds.metadata.namespace && controllerRefOf(r)?.uid === ds.metadata.uid);
    let current: ControllerRevisionObj;
    let revisions: ControllerRevisionObj[];
    try {
      ({ revision: current, all: revisions } = await ensureRevision(this.deps.client, ds, 'DaemonSet', revisionTemplate(ds.spec?.template), owned, ds.status?.collisionCount));
    } catch (e) {
      if (!/hash collision/.test((e as Error).message)) throw e;
      // Another revision already has our name: count the collision, which changes the next hash.
      await this.patchStatus(ds, { collisionCount: (ds.status?.collisionCount ?? 0) + 1 });
      return { requeueAfterMs: 10 };
    }
    const hash = current.metadata.labels?.[REVISION_LABEL] ?? '';

    const pods = await this.claimPods(ds, selector);
    const nodes = this.nodes.list();
    const byNode = groupByNode(pods);

    let requeueMs: number | undefined;
    let error: unknown;
    if (this.satisfied(key)) {
      try {
        const managed = await this.manage(key, ds, nodes, byNode, hash);
        requeueMs = managed.requeueAfterMs;
        // The rollout acts only on a settled picture: after this pass's creates and deletes have
        // been observed, never on top of them.
        if (!managed.acted && (ds.spec?.updateStrategy?.type ?? 'RollingUpdate') === 'RollingUpdate') await this.rollingUpdate(key, ds, nodes, byNode, hash);
      } catch (e) {
        error = e;
      }
    }
    const statusRequeue = await this.updateStatus(ds, nodes, byNode, hash);
    await this.cleanupHistory(ds, revisions, current, pods);
    if (error !== undefined) throw error;
    const wait = [requeueMs, statusRequeue].filter((x): x is number => x !== undefined);
    return wait.length ? { requeueAfterMs: Math.min(...wait) } : undefined;
  }

  // --- which pods are ours

  /** Owned pods, adopting orphans that match the selector and releasing owned ones that stopped matching. */
  private async claimPods(ds: DaemonSetObj, selector: LabelSelector): Promise<PodObject[]> {
    const owned: PodObject[] = [];
    for (const pod of this.pods.list((p) => p.metadata.namespace === ds.metadata.namespace)) {
      const ref = controllerRefOf(pod);
      const matches = selector.matches(pod.metadata.labels);
      if (ref) {
        if (ref.uid !== ds.metadata.uid) continue;
        if (matches) owned.push(pod);
        else await this.setOwnerRefs(pod, (pod.metadata.ownerReferences ?? []).filter((r) => r.uid !== ds.metadata.uid));
        continue;
      }
      if (!matches || pod.metadata.deletionTimestamp) continue;
      const adopted = await this.setOwnerRefs(pod, [...(pod.metadata.ownerReferences ?? []), ownerRefTo(ds, 'apps/v1', 'DaemonSet')]);
      if (adopted) owned.push(adopted);
    }
    return owned;
  }

  // The resourceVersion we read makes this a compare-and-swap: a pod changed meanwhile (say,
  // adopted by someone else) answers 409 and is left alone.
  private async setOwnerRefs(pod: PodObject, ownerReferences: ObjectMeta['ownerReferences']): Promise<PodObject | undefined> {
    try {
      return await this.deps.client.patch<PodObject>(refs.pods, pod.metadata.name ?? '', 'merge', { metadata: { resourceVersion: pod.metadata.resourceVersion, ownerReferences: ownerReferences?.length ? ownerReferences : null } }, { namespace: pod.metadata.namespace });
    } catch (e) {
      if (isNotFound(e) || (e as { code?: number }).code === 409) return undefined;
      throw e;
    }
  }

  // --- one pod per eligible node

  private async manage(key: string, ds: DaemonSetObj, nodes: NodeObject[], byNode: NodePods, hash: string): Promise<{ acted: boolean; requeueAfterMs?: number }> {
    const tplSpec = ds.spec?.template?.spec;
    const surge = allowsSurge(ds);
    const now = this.deps.clock.now();
    const createOn: string[] = [];
    const toDelete: PodObject[] = [];
    let requeueAfterMs: number | undefined;
    for (const node of nodes) {
      const nodeName = node.metadata.name ?? '';
      const here = byNode.get(nodeName) ?? [];
      const { shouldRun, shouldContinueRunning } = placementOn(node, tplSpec);
      if (shouldRun && here.length === 0) {
        createOn.push(nodeName);
      } else if (shouldContinueRunning) {
        const running: PodObject[] = [];
        for (const pod of here) {
          if (pod.metadata.deletionTimestamp) continue;
          if (pod.status?.phase === 'Failed') {
            const wait = this.failedPodBackoff(ds, nodeName, now);
            if (wait !== undefined) {
              requeueAfterMs = Math.min(requeueAfterMs ?? wait, wait);
              continue;
            }
            this.events.event(ds, 'Warning', 'FailedDaemonPod', `Found failed daemon pod ${pod.metadata.namespace}/${pod.metadata.name} on node ${nodeName}, will try to kill it`);
            toDelete.push(pod);
          } else if (pod.status?.phase === 'Succeeded') {
            toDelete.push(pod);
          } else running.push(pod);
        }
        toDelete.push(...this.extraPods(ds, running, hash, now, surge));
      } else if (!shouldContinueRunning) {
        toDelete.push(...here.filter((p) => !p.metadata.deletionTimestamp));
      }
    }
    // A pod still waiting for the scheduler whose node has gone can never be bound.
    const nodeNames = new Set(nodes.map((n) => n.metadata.name ?? ''));
    for (const [nodeName, here] of byNode) {
      if (!nodeNames.has(nodeName)) toDelete.push(...here.filter((p) => !p.spec?.nodeName && !p.metadata.deletionTimestamp));
    }
    await this.syncNodes(key, ds, createOn, toDelete, hash);
    return { acted: createOn.length + toDelete.length > 0, ...(requeueAfterMs !== undefined ? { requeueAfterMs } : {}) };
  }

  /**
   * Running pods beyond the one a node should have. Without surge the oldest stays. With surge an
   * old and a new pod may share a node only while the new one is not yet available and the old
   * one still serves; otherwise the old one goes.
   */
  private extraPods(ds: DaemonSetObj, running: PodObject[], hash: string, now: number, surge: boolean): PodObject[] {
    if (running.length <= 1) return [];
    const sorted = [...running].sort(byCreation);
    if (!surge) return sorted.slice(1);
    const extra: PodObject[] = [];
    let oldestNew: PodObject | undefined;
    let oldestOld: PodObject | undefined;
    for (const pod of sorted) {
      if (hashOf(pod) === hash && !oldestNew) oldestNew = pod;
      else if (hashOf(pod) !== hash && !oldestOld) oldestOld = pod;
      else extra.push(pod);
    }
    if (oldestNew && oldestOld && (!isPodReady(oldestOld) || isPodAvailable(oldestNew, ds.spec?.minReadySeconds ?? 0, now))) extra.push(oldestOld);
    return extra;
  }

  /** Milliseconds left in this node's back-off, or undefined after starting the next one. */
  private failedPodBackoff(ds: DaemonSetObj, nodeName: string, now: number): number | undefined {
    const k = `${ds.metadata.uid}/${nodeName}`;
    const b = this.failedBackoff.get(k);
    if (b && now < b.until) return b.until - now;
    // A long quiet spell resets the back-off, as for crash loops.
    const delayMs = b && now - b.until < 2 * FAILED_BACKOFF_MAX_MS ? Math.min(b.delayMs * 2, FAILED_BACKOFF_MAX_MS) : FAILED_BACKOFF_INITIAL_MS;
    this.failedBackoff.set(k, { delayMs, until: now + delayMs });
    return undefined;
  }

  /** Creates a pod for each node in `createOn` and deletes `toDelete`, with expectations set first. */
  private async syncNodes(key: string, ds: DaemonSetObj, createOn: string[], toDelete: PodObject[], hash: string): Promise<void> {
    const creates = createOn.slice(0, BURST);
    const deletes = toDelete.slice(0, BURST);
    this.expectedCreates.expectCreations(key, creates.length);
    this.expectedDeletes.expectDeletions(key, deletes.map((p) => p.metadata.uid ?? ''));
    const errors: unknown[] = [];

    if (creates.length) {
      const template = this.podTemplate(ds, hash);
      const ownerRef = ownerRefTo(ds, 'apps/v1', 'DaemonSet');
      let next = 0;
      const res = await slowStartBatch(creates.length, 1, async () => {
        const nodeName = creates[next++] ?? '';
        const pod = podFromTemplate(template, ds, ownerRef);
        pod.spec = { ...pod.spec!, affinity: pinToNode(pod.spec?.affinity, nodeName) };
        try {
          const created = await this.deps.client.create(refs.pods, pod);
          this.events.event(ds, 'Normal', 'SuccessfulCreate', `Created pod: ${created.metadata.name}`);
        } catch (e) {
          this.expectedCreates.lowerCreations(key);
          this.events.event(ds, 'Warning', 'FailedCreate', `Error creating: ${(e as Error).message}`);
          throw e;
        }
      });
      // Creates never attempted after a failing batch will never be observed either.
      this.expectedCreates.lowerCreations(key, creates.length - res.attempted);
      if (res.error !== undefined) errors.push(res.error);
    }

    const results = await Promise.allSettled(
      deletes.map(async (pod) => {
        try {
          await this.deps.client.delete(refs.pods, pod.metadata.name ?? '', { namespace: pod.metadata.namespace, preconditions: { uid: pod.metadata.uid } });
          this.events.event(ds, 'Normal', 'SuccessfulDelete', `Deleted pod: ${pod.metadata.name}`);
        } catch (e) {
          this.expectedDeletes.deletionObserved(key, pod.metadata.uid);
          if (isNotFound(e) || (e as { code?: number }).code === 409) return;
          this.events.event(ds, 'Warning', 'FailedDelete', `Error deleting: ${(e as Error).message}`);
          throw e;
        }
      }),
    );
    for (const r of results) if (r.status === 'rejected') errors.push(r.reason);
    if (errors.length) throw errors[0];
  }

  /** The DaemonSet's template as every new daemon pod gets it: revision labels and daemon tolerations. */
  private podTemplate(ds: DaemonSetObj, hash: string): PodTemplateSpec {
    const t = structuredClone(ds.spec?.template ?? {});
    t.metadata = { ...(t.metadata ?? {}), labels: { ...(t.metadata?.labels ?? {}), [REVISION_LABEL]: hash, [TEMPLATE_GENERATION_LABEL]: templateGeneration(ds) } };
    t.spec = { ...(t.spec ?? { containers: [] }), tolerations: daemonTolerations(t.spec) };
    return t;
  }

  // --- rolling update

  private async rollingUpdate(key: string, ds: DaemonSetObj, nodes: NodeObject[], byNode: NodePods, hash: string): Promise<void> {
    const tplSpec = ds.spec?.template?.spec;
    const minReady = ds.spec?.minReadySeconds ?? 0;
    const now = this.deps.clock.now();
    const available = (p: PodObject) => isPodAvailable(p, minReady, now);
    // Nodes that want a pod but have none count too: they are unavailable.
    const wanted = new Set(nodes.filter((n) => placementOn(n, tplSpec).shouldRun).map((n) => n.metadata.name ?? ''));
    const consider = new Map<string, PodObject[]>(byNode);
    for (const n of wanted) if (!consider.has(n)) consider.set(n, []);
    const desired = wanted.size;
    const ru = ds.spec?.updateStrategy?.rollingUpdate;
    let maxUnavailable = resolveIntOrPercent(ru?.maxUnavailable, desired, true, 1);
    const maxSurge = resolveIntOrPercent(ru?.maxSurge, desired, true, 0);
    // An impossible 0/0 configuration falls back to replacing one node at a time.
    if (maxUnavailable <= 0 && maxSurge <= 0) maxUnavailable = 1;

    const states = [...consider].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([nodeName, here]) => ({ nodeName, ...splitOldNew(here, hash) }));

    if (maxSurge <= 0) {
      // Count what is unavailable already, then spend what is left of the budget on old pods.
      let unavailable = 0;
      for (const s of states) {
        if (!s.ok || (s.newPod && s.oldPod) || (!s.newPod && !s.oldPod)) unavailable++;
        else if (s.newPod && !available(s.newPod)) unavailable++;
      }
      const mustReplace: PodObject[] = [];
      const candidates: PodObject[] = [];
      for (const s of states) {
        if (!s.ok || s.newPod || !s.oldPod) continue;
        // An old pod that is down costs nothing to replace.
        if (!available(s.oldPod)) mustReplace.push(s.oldPod);
        else candidates.push(s.oldPod);
      }
      const budget = Math.max(0, Math.min(maxUnavailable - unavailable - mustReplace.length, candidates.length));
      // Old unavailable pods are unavailable already, so they count against the budget too.
      await this.syncNodes(key, ds, [], [...mustReplace, ...candidates.slice(0, budget)], hash);
      return;
    }

    // Surge: start the new pod next to the old one, delete the old one once the new is available.
    let surged = 0;
    let availableCount = 0;
    for (const s of states) {
      if (!s.ok) {
        surged++;
        continue;
      }
      if (s.oldPod ? available(s.oldPod) : s.newPod && available(s.newPod)) availableCount++;
      if (s.oldPod && s.newPod && !available(s.newPod)) surged++;
    }
    const oldToDelete: PodObject[] = [];
    const notWantedOld: PodObject[] = [];
    const mustSurge: string[] = [];
    const candidates: string[] = [];
    for (const s of states) {
      if (!s.ok || !s.oldPod) continue;
      if (s.newPod) {
        if (available(s.newPod)) oldToDelete.push(s.oldPod);
        continue;
      }
      if (!available(s.oldPod)) {
        if (wanted.has(s.nodeName)) mustSurge.push(s.nodeName);
        else notWantedOld.push(s.oldPod);
      } else candidates.push(s.nodeName);
    }
    // With surge the owner expects full availability: pods on nodes that no longer want one go
    // only as far as the available count exceeds what is desired.
    const deletable = Math.min(availableCount - desired, notWantedOld.length);
    if (deletable > 0) oldToDelete.push(...notWantedOld.slice(0, deletable));
    const budget = Math.max(0, Math.min(maxSurge - surged, candidates.length));
    await this.syncNodes(key, ds, [...mustSurge, ...candidates.slice(0, budget)], oldToDelete, hash);
  }

  // --- status and history

  private async updateStatus(ds: DaemonSetObj, nodes: NodeObject[], byNode: NodePods, hash: string): Promise<number | undefined> {
    const tplSpec = ds.spec?.template?.spec;
    const minReady = ds.spec?.minReadySeconds ?? 0;
    const now = this.deps.clock.now();
    let desired = 0;
    let current = 0;
    let misscheduled = 0;
    let ready = 0;
    let available = 0;
    let updated = 0;
    let nextAvailable: number | undefined;
    for (const node of nodes) {
      const here = byNode.get(node.metadata.name ?? '') ?? [];
      if (!placementOn(node, tplSpec).shouldRun) {
        if (here.length) misscheduled++;
        continue;
      }
      desired++;
      const pod = [...here].sort(byCreation)[0];
      if (!pod) continue;
      current++;
      if (isPodReady(pod)) {
        ready++;
        if (isPodAvailable(pod, minReady, now)) available++;
        const wait = msUntilAvailable(pod, minReady, now);
        if (wait !== undefined) nextAvailable = Math.min(nextAvailable ?? wait, wait);
      }
      if (hashOf(pod) === hash) updated++;
    }
    const status: DaemonSetStatus = {
      observedGeneration: ds.metadata.generation ?? 0,
      desiredNumberScheduled: desired,
      currentNumberScheduled: current,
      numberMisscheduled: misscheduled,
      numberReady: ready,
      numberAvailable: available,
      numberUnavailable: desired - available,
      updatedNumberScheduled: updated,
    };
    const old = (ds.status ?? {}) as Record<string, unknown>;
    if (Object.entries(status).some(([k, v]) => (old[k] ?? 0) !== v)) await this.patchStatus(ds, status);
    return nextAvailable !== undefined ? nextAvailable + 10 : undefined;
  }

  // A merge patch, not a PUT: status is recomputed from the caches every pass, so the last writer
  // is right and a stale resourceVersion must not cost a retry.
  private async patchStatus(ds: DaemonSetObj, status: Partial<DaemonSetStatus>): Promise<void> {
    try {
      await this.deps.client.patch(refs.daemonsets, ds.metadata.name ?? '', 'merge', { status }, { namespace: ds.metadata.namespace, subresource: 'status' });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }

  /** Old revisions beyond revisionHistoryLimit go, except those a live pod still runs. */
  private async cleanupHistory(ds: DaemonSetObj, revisions: ControllerRevisionObj[], current: ControllerRevisionObj, pods: PodObject[]): Promise<void> {
    const liveHashes = new Set(pods.filter((p) => !p.metadata.deletionTimestamp).map(hashOf));
    const inUse = new Set([current.metadata.name ?? '', ...revisions.filter((r) => liveHashes.has(r.metadata.labels?.[REVISION_LABEL])).map((r) => r.metadata.name ?? '')]);
    await pruneRevisions(this.deps.client, revisions, inUse, ds.spec?.revisionHistoryLimit ?? 10);
  }
}

/**
 * Pods by the node they are for (bound, or pinned and waiting for the scheduler). Pods already
 * finished and being deleted are gone for every purpose and left out.
 */
function groupByNode(pods: PodObject[]): NodePods {
  const out: NodePods = new Map();
  for (const pod of pods) {
    const finished = pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
    if (finished && pod.metadata.deletionTimestamp) continue;
    const node = targetNodeOf(pod);
    if (node === undefined) continue;
    const list = out.get(node);
    if (list) list.push(pod);
    else out.set(node, [pod]);
  }
  return out;
}

/**
 * A node's live daemon pods as at most one at the current revision and one older; `ok` is false
 * when there are more (the manage pass removes the extras first).
 */
function splitOldNew(pods: PodObject[], hash: string): { ok: boolean; newPod?: PodObject; oldPod?: PodObject } {
  let newPod: PodObject | undefined;
  let oldPod: PodObject | undefined;
  for (const pod of pods) {
    if (pod.metadata.deletionTimestamp) continue;
    if (hashOf(pod) === hash) {
      if (newPod) return { ok: false };
      newPod = pod;
    } else {
      if (oldPod) return { ok: false };
      oldPod = pod;
    }
  }
  return { ok: true, ...(newPod ? { newPod } : {}), ...(oldPod ? { oldPod } : {}) };
}

/** Surge is on when RollingUpdate's maxSurge resolves above zero (percentages round up). */
function allowsSurge(ds: DaemonSetObj): boolean {
  const us = ds.spec?.updateStrategy;
  if ((us?.type ?? 'RollingUpdate') !== 'RollingUpdate' || !us?.rollingUpdate) return false;
  return resolveIntOrPercent(us.rollingUpdate.maxSurge, 1, true, 0) > 0;
}

/** The generation of the template pods are stamped with (`pod-template-generation`). */
function templateGeneration(ds: DaemonSetObj): string {
  return ds.metadata.annotations?.[TEMPLATE_GENERATION_ANNOTATION] ?? String(ds.metadata.generation ?? 0);
}
