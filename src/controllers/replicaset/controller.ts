// ReplicaSet (and ReplicationController) controller: keeps `spec.replicas` active pods, adopting
// orphans that match the selector and releasing owned pods that no longer match, and reports
// replicas/fullyLabeled/ready/available/observedGeneration in status.
import type { PodTemplateSpec } from 'kubernetes-types/core/v1.js';
import { selectorFromObject, type LabelSelector, type LabelSelectorObject } from '../../api/labels.ts';
import { isNotFound, type KubeObject, type ResourceRef } from '../../client/types.ts';
import type { Informer } from '../../client/informer.ts';
import type { Request } from '../../controller/runner.ts';
import type { EventRecorder } from '../../controller/events.ts';
import { Expectations } from './expectations.ts';
import { WorkloadController, type ControllerDeps } from './deps.ts';
import {
  controllerRefOf,
  isPodActive,
  isPodAvailable,
  isPodReady,
  msUntilAvailable,
  nsKey,
  ownerRefTo,
  podFromTemplate,
  refs,
  rfc3339,
  slowStartBatch,
  type PodObject,
} from './podutil.ts';

/** Upstream's burstReplicas: the most creates or deletes one sync asks for. */
const BURST_REPLICAS = 500;

export interface ReplicaSetLike extends KubeObject {
  spec?: {
    replicas?: number;
    minReadySeconds?: number;
    selector?: LabelSelectorObject | Record<string, string>;
    template?: PodTemplateSpec;
  };
  status?: {
    replicas?: number;
    fullyLabeledReplicas?: number;
    readyReplicas?: number;
    availableReplicas?: number;
    observedGeneration?: number;
    conditions?: Array<{ type: string; status: string; reason?: string; message?: string; lastTransitionTime?: string }>;
  };
}

interface Flavor {
  ref: ResourceRef;
  apiVersion: string;
  kind: string;
  component: string;
  selector(o: ReplicaSetLike): LabelSelector;
}

const replicaSetFlavor: Flavor = {
  ref: refs.replicasets,
  apiVersion: 'apps/v1',
  kind: 'ReplicaSet',
  component: 'replicaset-controller',
  selector: (o) => selectorFromObject(o.spec?.selector as LabelSelectorObject | undefined),
};

// ReplicationControllers carry a plain label map as selector (defaulted from the template labels).
const replicationControllerFlavor: Flavor = {
  ref: refs.replicationcontrollers,
  apiVersion: 'v1',
  kind: 'ReplicationController',
  component: 'replication-controller',
  selector: (o) => {
    const sel = (o.spec?.selector as Record<string, string> | undefined) ?? o.spec?.template?.metadata?.labels;
    return sel && Object.keys(sel).length ? selectorFromObject({ matchLabels: sel }) : selectorFromObject(undefined);
  },
};

/** Deletion preference, most deletable first (upstream's ActivePods ordering, simplified). */
export function deletionRank(a: PodObject, b: PodObject): number {
  // Not yet scheduled before scheduled.
  const sa = a.spec?.nodeName ? 1 : 0;
  const sb = b.spec?.nodeName ? 1 : 0;
  if (sa !== sb) return sa - sb;
  // Pending < Unknown < Running.
  const phaseRank = (p: PodObject) => ({ Pending: 0, Unknown: 1, Running: 2 })[p.status?.phase ?? 'Pending'] ?? 0;
  if (phaseRank(a) !== phaseRank(b)) return phaseRank(a) - phaseRank(b);
  // Not ready before ready.
  const ra = isPodReady(a) ? 1 : 0;
  const rb = isPodReady(b) ? 1 : 0;
  if (ra !== rb) return ra - rb;
  // Ready for less time first.
  if (ra && rb) {
    const ta = Date.parse(a.status?.conditions?.find((c) => c.type === 'Ready')?.lastTransitionTime ?? '') || 0;
    const tb = Date.parse(b.status?.conditions?.find((c) => c.type === 'Ready')?.lastTransitionTime ?? '') || 0;
    if (ta !== tb) return tb - ta;
  }
  // More restarts first.
  const restarts = (p: PodObject) => (p.status?.containerStatuses ?? []).reduce((n, c) => n + (c.restartCount ?? 0), 0);
  if (restarts(a) !== restarts(b)) return restarts(b) - restarts(a);
  // Newer first.
  const ca = Date.parse(a.metadata.creationTimestamp ?? '') || 0;
  const cb = Date.parse(b.metadata.creationTimestamp ?? '') || 0;
  if (ca !== cb) return cb - ca;
  return (b.metadata.name ?? '') < (a.metadata.name ?? '') ? -1 : 1;
}

export class ReplicaSetController extends WorkloadController {
  readonly name: string;
  readonly expectations: Expectations;
  private readonly owners: Informer<ReplicaSetLike>;
  private readonly pods: Informer<PodObject>;
  private readonly events: EventRecorder;

  constructor(
    deps: ControllerDeps,
    private readonly flavor: Flavor = replicaSetFlavor,
  ) {
    super(deps);
    this.name = flavor.component;
    this.expectations = new Expectations(deps.clock);
    this.events = deps.recorder(flavor.component);
    this.owners = deps.informers.informerFor<ReplicaSetLike>(flavor.ref);
    this.pods = deps.informers.informerFor<PodObject>(refs.pods);
    this.owners.addHandlers({
      onAdd: (o) => this.enqueue(reqOf(o)),
      onUpdate: (_o, n) => this.enqueue(reqOf(n)),
      onDelete: (o) => {
        this.expectations.forget(nsKey(o.metadata.namespace, o.metadata.name));
        this.enqueue(reqOf(o));
      },
    });
    this.pods.addHandlers({
      onAdd: (p) => {
        const owner = this.ownerName(p);
        if (owner) {
          const key = nsKey(p.metadata.namespace, owner);
          this.expectations.creationObserved(key);
          if (p.metadata.deletionTimestamp) this.expectations.deletionObserved(key, p.metadata.uid);
          this.enqueue({ namespace: p.metadata.namespace, name: owner });
        } else this.enqueueMatching(p);
      },
      onUpdate: (old, p) => {
        const owner = this.ownerName(p);
        const oldOwner = this.ownerName(old);
        if (oldOwner && oldOwner !== owner) this.enqueue({ namespace: old.metadata.namespace, name: oldOwner });
        if (owner) {
          // A pod given a deletionTimestamp is as good as gone for counting purposes.
          if (p.metadata.deletionTimestamp) this.expectations.deletionObserved(nsKey(p.metadata.namespace, owner), p.metadata.uid);
          this.enqueue({ namespace: p.metadata.namespace, name: owner });
        } else this.enqueueMatching(p);
      },
      onDelete: (p) => {
        const owner = this.ownerName(p);
        if (!owner) return;
        this.expectations.deletionObserved(nsKey(p.metadata.namespace, owner), p.metadata.uid);
        this.enqueue({ namespace: p.metadata.namespace, name: owner });
      },
    });
  }

  private ownerName(p: PodObject): string | undefined {
    const ref = controllerRefOf(p);
    return ref && ref.kind === this.flavor.kind && ref.apiVersion === this.flavor.apiVersion ? ref.name : undefined;
  }

  private enqueueMatching(p: PodObject): void {
    for (const rs of this.owners.list((o) => o.metadata.namespace === p.metadata.namespace)) {
      if (this.flavor.selector(rs).matches(p.metadata.labels)) this.enqueue(reqOf(rs));
    }
  }

  async sync(req: Request): Promise<{ requeueAfterMs?: number } | void> {
    const key = nsKey(req.namespace, req.name);
    const cached = this.owners.get(req.name, req.namespace);
    if (!cached) {
      this.expectations.forget(key);
      return;
    }
    const rs = cached;
    const selector = this.flavor.selector(rs);
    const pods = await this.claimPods(rs, selector);
    const active = pods.filter(isPodActive);

    let manageError: unknown;
    if (this.expectations.satisfied(key) && !rs.metadata.deletionTimestamp) {
      manageError = await this.manageReplicas(key, rs, active).catch((e: unknown) => e);
    }
    const requeue = await this.updateStatus(rs, active, manageError);
    if (manageError) throw manageError;
    return requeue;
  }

  /** Owned pods (after adopting orphans and releasing pods that stopped matching). */
  private async claimPods(rs: ReplicaSetLike, selector: LabelSelector): Promise<PodObject[]> {
    const owned: PodObject[] = [];
    const uid = rs.metadata.uid;
    for (const pod of this.pods.list((p) => p.metadata.namespace === rs.metadata.namespace)) {
      const ref = controllerRefOf(pod);
      const matches = selector.matches(pod.metadata.labels);
      if (ref) {
        if (ref.uid !== uid) continue;
        if (matches) owned.push(pod);
        else if (!rs.metadata.deletionTimestamp) await this.setOwnerRefs(pod, (pod.metadata.ownerReferences ?? []).filter((r) => r.uid !== uid));
        continue;
      }
      if (!matches || rs.metadata.deletionTimestamp || pod.metadata.deletionTimestamp || selector.empty) continue;
      const adopted = await this.setOwnerRefs(pod, [...(pod.metadata.ownerReferences ?? []), ownerRefTo(rs, this.flavor.apiVersion, this.flavor.kind)]);
      if (adopted) owned.push(adopted);
    }
    return owned;
  }

  // A merge patch carrying the resourceVersion we read: if the pod changed meanwhile (another
  // controller adopted it first), the API answers 409 and we leave it alone.
  private async setOwnerRefs(pod: PodObject, ownerReferences: PodObject['metadata']['ownerReferences']): Promise<PodObject | undefined> {
    try {
      return await this.deps.client.patch<PodObject>(
        refs.pods,
        pod.metadata.name ?? '',
        'merge',
        { metadata: { resourceVersion: pod.metadata.resourceVersion, ownerReferences: ownerReferences?.length ? ownerReferences : null } },
        { namespace: pod.metadata.namespace },
      );
    } catch (e) {
      if (isNotFound(e) || (e as { code?: number }).code === 409) return undefined;
      throw e;
    }
  }

  private async manageReplicas(key: string, rs: ReplicaSetLike, active: PodObject[]): Promise<void> {
    const want = rs.spec?.replicas ?? 1;
    const diff = active.length - want;
    if (diff < 0) {
      const n = Math.min(-diff, BURST_REPLICAS);
      this.expectations.expectCreations(key, n);
      const ownerRef = ownerRefTo(rs, this.flavor.apiVersion, this.flavor.kind);
      const res = await slowStartBatch(n, 1, async () => {
        try {
          await this.deps.client.create(refs.pods, podFromTemplate(rs.spec?.template, rs, ownerRef));
        } catch (e) {
          this.expectations.lowerCreations(key);
          throw e;
        }
      });
      // Creates never attempted after a failing batch will never be observed either.
      this.expectations.lowerCreations(key, n - res.attempted);
      if (res.error !== undefined) {
        this.events.event(rs, 'Warning', 'FailedCreate', `Error creating: ${(res.error as Error).message}`);
        throw res.error;
      }
      if (res.succeeded > 0) this.recordCreates(rs, res.succeeded);
    } else if (diff > 0) {
      const n = Math.min(diff, BURST_REPLICAS);
      const victims = [...active].sort(deletionRank).slice(0, n);
      this.expectations.expectDeletions(key, victims.map((p) => p.metadata.uid ?? ''));
      const results = await Promise.allSettled(
        victims.map(async (p) => {
          try {
            await this.deps.client.delete(refs.pods, p.metadata.name ?? '', { namespace: p.metadata.namespace });
            this.events.event(rs, 'Normal', 'SuccessfulDelete', `Deleted pod: ${p.metadata.name}`);
          } catch (e) {
            this.expectations.deletionObserved(key, p.metadata.uid);
            if (!isNotFound(e)) throw e;
          }
        }),
      );
      const failed = results.find((r) => r.status === 'rejected');
      if (failed) {
        this.events.event(rs, 'Warning', 'FailedDelete', `Error deleting: ${(failed.reason as Error).message}`);
        throw failed.reason;
      }
    }
  }

  // Upstream emits one SuccessfulCreate per pod with its name; we do not see generated names
  // until the create returns, so one event per batch call is recorded with the count instead.
  private recordCreates(rs: ReplicaSetLike, n: number): void {
    this.events.event(rs, 'Normal', 'SuccessfulCreate', n === 1 ? 'Created pod' : `Created ${n} pods`);
  }

  private async updateStatus(rs: ReplicaSetLike, active: PodObject[], manageError: unknown): Promise<{ requeueAfterMs?: number } | void> {
    const now = this.deps.clock.now();
    const minReady = rs.spec?.minReadySeconds ?? 0;
    const templateLabels = rs.spec?.template?.metadata?.labels ?? {};
    let nextAvailable: number | undefined;
    const status: NonNullable<ReplicaSetLike['status']> = {
      replicas: active.length,
      fullyLabeledReplicas: active.filter((p) => Object.entries(templateLabels).every(([k, v]) => p.metadata.labels?.[k] === v)).length,
      readyReplicas: active.filter(isPodReady).length,
      availableReplicas: active.filter((p) => {
        const wait = msUntilAvailable(p, minReady, now);
        if (wait !== undefined) nextAvailable = Math.min(nextAvailable ?? wait, wait);
        return isPodAvailable(p, minReady, now);
      }).length,
      observedGeneration: rs.metadata.generation ?? 0,
    };
    // ReplicaFailure tells `kubectl describe` why pods are missing (quota, admission, ...);
    // cleared once creates succeed again.
    const prior = rs.status?.conditions?.find((c) => c.type === 'ReplicaFailure');
    const conditions = (rs.status?.conditions ?? []).filter((c) => c.type !== 'ReplicaFailure');
    if (manageError !== undefined) {
      const message = (manageError as Error).message;
      const lastTransitionTime = prior?.status === 'True' && prior.lastTransitionTime ? prior.lastTransitionTime : rfc3339(now);
      conditions.push({ type: 'ReplicaFailure', status: 'True', reason: 'FailedCreate', message, lastTransitionTime });
    }
    if (conditions.length) status.conditions = conditions;
    const old = rs.status ?? {};
    const same =
      old.replicas === status.replicas &&
      (old.fullyLabeledReplicas ?? 0) === status.fullyLabeledReplicas &&
      (old.readyReplicas ?? 0) === status.readyReplicas &&
      (old.availableReplicas ?? 0) === status.availableReplicas &&
      old.observedGeneration === status.observedGeneration &&
      JSON.stringify(old.conditions ?? []) === JSON.stringify(status.conditions ?? []);
    if (!same) {
      try {
        // A merge patch, not a PUT: status is recomputed from pods every time, so the last
        // writer is right and a stale resourceVersion must not cost a retry.
        await this.deps.client.patch(this.flavor.ref, rs.metadata.name ?? '', 'merge', { status: { ...status, conditions: status.conditions ?? null } }, { namespace: rs.metadata.namespace, subresource: 'status' });
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
    return nextAvailable !== undefined ? { requeueAfterMs: nextAvailable + 10 } : undefined;
  }
}

export class ReplicationControllerController extends ReplicaSetController {
  constructor(deps: ControllerDeps) {
    super(deps, replicationControllerFlavor);
  }
}

function reqOf(o: KubeObject): Request {
  return { namespace: o.metadata.namespace, name: o.metadata.name ?? '' };
}
