// Disruption controller: keeps PodDisruptionBudget status (expectedPods, desiredHealthy,
// currentHealthy, disruptionsAllowed, the DisruptionAllowed condition) right, since the eviction
// API — and so `kubectl drain` — decides from it. Numbers follow upstream: an integer minAvailable
// counts the selected pods; a percentage or maxUnavailable scales against the replicas of the pods'
// controllers (a selected pod without a controller is an error, as upstream: SyncFailed).
import { isNotFound, type Client, type KubeObject, type ResourceRef } from '../../client/types.ts';
import type { SharedInformers } from '../../client/shared-informers.ts';
import type { Informer } from '../../client/informer.ts';
import { ControllerRunner, type Reconciler, type Request } from '../../controller/runner.ts';
import { rfc3339 } from '../../api/meta.ts';
import { selectorFromObject, type LabelSelectorObject } from '../../api/labels.ts';
import { podsRef } from '../nodelifecycle/nodelifecycle.ts';
import type { ResourceCatalog } from '../garbagecollector/resources.ts';

export const pdbRef: ResourceRef = { group: 'policy', version: 'v1', resource: 'poddisruptionbudgets', namespaced: true };
/** How long an eviction's entry in status.disruptedPods counts before the pod must be gone (upstream: 2 min). */
export const DISRUPTED_POD_TIMEOUT_MS = 2 * 60_000;

export interface PdbSpec {
  minAvailable?: number | string;
  maxUnavailable?: number | string;
  selector?: LabelSelectorObject | null;
}

export interface PdbStatus {
  observedGeneration?: number;
  disruptedPods?: Record<string, string>;
  disruptionsAllowed: number;
  currentHealthy: number;
  desiredHealthy: number;
  expectedPods: number;
  conditions: Array<{ type: string; status: string; reason: string; message: string; lastTransitionTime: string; observedGeneration?: number }>;
}

/** An int-or-percent against a total; percentages round up (upstream's GetScaledValueFromIntOrPercent with roundUp). */
export function scaledValue(v: number | string, total: number): number {
  if (typeof v === 'number') return v;
  const m = /^(\d+)%$/.exec(v);
  if (!m) {
    if (/^\d+$/.test(v)) return Number(v);
    throw new Error(`invalid value for IntOrString: invalid value "${v}": must be an integer or a percentage`);
  }
  return Math.ceil((Number(m[1]) * total) / 100);
}

export function isPodReady(pod: KubeObject): boolean {
  const conds = (pod.status as { conditions?: Array<{ type: string; status: string }> } | undefined)?.conditions ?? [];
  return conds.some((c) => c.type === 'Ready' && c.status === 'True');
}

/**
 * The status for `pdb` given its selected pods and, when needed, the total replicas their
 * controllers want (`controllerScale`; undefined when not needed or not computable).
 */
export function computePdbStatus(
  pdb: KubeObject,
  pods: readonly KubeObject[],
  controllerScale: number | undefined,
  now: number,
  syncError?: string,
): PdbStatus {
  const spec = (pdb.spec ?? {}) as PdbSpec;
  const old = (pdb.status ?? {}) as Partial<PdbStatus>;
  // Evictions in flight: still counted as disrupted until the pod goes or the entry expires.
  const disrupted: Record<string, string> = {};
  for (const [name, at] of Object.entries(old.disruptedPods ?? {})) {
    const pod = pods.find((p) => p.metadata.name === name);
    if (!pod || pod.metadata.deletionTimestamp) continue;
    if (Date.parse(at) + DISRUPTED_POD_TIMEOUT_MS <= now) continue;
    disrupted[name] = at;
  }
  const currentHealthy = pods.filter((p) => !p.metadata.deletionTimestamp && !(p.metadata.name! in disrupted) && isPodReady(p)).length;
  let expectedPods = 0;
  let desiredHealthy = 0;
  let error = syncError;
  if (!error) {
    try {
      if (spec.maxUnavailable !== undefined && spec.maxUnavailable !== null) {
        if (controllerScale === undefined) throw new Error('controller scale unknown');
        expectedPods = controllerScale;
        desiredHealthy = Math.max(0, expectedPods - scaledValue(spec.maxUnavailable, expectedPods));
      } else if (typeof spec.minAvailable === 'number' || (typeof spec.minAvailable === 'string' && /^\d+$/.test(spec.minAvailable))) {
        expectedPods = pods.length;
        desiredHealthy = Number(spec.minAvailable);
      } else if (typeof spec.minAvailable === 'string') {
        if (controllerScale === undefined) throw new Error('controller scale unknown');
        expectedPods = controllerScale;
        desiredHealthy = scaledValue(spec.minAvailable, expectedPods);
      } else {
        expectedPods = pods.length;
      }
    } catch (e) {
      error = (e as Error).message;
    }
  }
  const allowed = error || expectedPods <= 0 ? 0 : Math.max(0, currentHealthy - desiredHealthy);
  const cond = error
    ? { type: 'DisruptionAllowed', status: 'False', reason: 'SyncFailed', message: error }
    : allowed > 0
      ? { type: 'DisruptionAllowed', status: 'True', reason: 'SufficientPods', message: '' }
      : { type: 'DisruptionAllowed', status: 'False', reason: 'InsufficientPods', message: '' };
  const prior = (old.conditions ?? []).find((c) => c.type === 'DisruptionAllowed');
  const generation = pdb.metadata.generation;
  const condition = {
    ...cond,
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
    lastTransitionTime: prior && prior.status === cond.status ? prior.lastTransitionTime : rfc3339(now),
  };
  return {
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
    ...(Object.keys(disrupted).length ? { disruptedPods: disrupted } : {}),
    disruptionsAllowed: allowed,
    currentHealthy: error ? 0 : currentHealthy,
    desiredHealthy,
    expectedPods,
    conditions: [...(old.conditions ?? []).filter((c) => c.type !== 'DisruptionAllowed'), condition],
  };
}

export interface DisruptionControllerOptions {
  client: Client;
  informers: SharedInformers;
  catalog: ResourceCatalog;
  now?: () => number;
}

export class DisruptionController implements Reconciler {
  readonly name = 'disruption';
  readonly runner = new ControllerRunner(this, 2);
  private readonly pdbs: Informer;
  private readonly pods: Informer;
  private readonly now: () => number;

  constructor(private readonly opts: DisruptionControllerOptions) {
    this.now = opts.now ?? Date.now;
    this.pdbs = opts.informers.informerFor(pdbRef);
    this.pods = opts.informers.informerFor(podsRef);
    const enqueuePdb = (o: KubeObject) => this.runner.enqueue({ namespace: o.metadata.namespace!, name: o.metadata.name! });
    this.pdbs.addHandlers({ onAdd: enqueuePdb, onUpdate: (_o, n) => enqueuePdb(n) });
    const onPod = (p: KubeObject) => {
      for (const pdb of this.pdbs.list((b) => b.metadata.namespace === p.metadata.namespace)) {
        if (selectorFromObject(((pdb.spec ?? {}) as PdbSpec).selector ?? {}).matches(p.metadata.labels)) enqueuePdb(pdb);
      }
    };
    this.pods.addHandlers({ onAdd: onPod, onUpdate: (o, n) => (onPod(o), onPod(n)), onDelete: onPod });
  }

  async run(signal: AbortSignal): Promise<void> {
    await Promise.all([this.pdbs.waitForSync(signal), this.pods.waitForSync(signal)]);
    await this.runner.run(signal);
  }

  async reconcile(req: Request): Promise<{ requeueAfterMs?: number } | void> {
    const pdb = this.pdbs.get(req.name, req.namespace);
    if (!pdb || pdb.metadata.deletionTimestamp) return;
    const spec = (pdb.spec ?? {}) as PdbSpec;
    // policy/v1: an empty selector selects every pod in the namespace.
    const selector = selectorFromObject(spec.selector ?? {});
    const pods = this.pods.list((p) => p.metadata.namespace === req.namespace && selector.matches(p.metadata.labels));
    const needsScale = spec.maxUnavailable != null || (typeof spec.minAvailable === 'string' && spec.minAvailable.endsWith('%'));
    let scale: number | undefined;
    let error: string | undefined;
    if (needsScale) {
      try {
        scale = await this.controllerScale(pods);
      } catch (e) {
        error = (e as Error).message;
      }
    }
    const now = this.now();
    const status = computePdbStatus(pdb, pods, scale, now, error);
    const oldStatus = pdb.status as PdbStatus | undefined;
    if (JSON.stringify(oldStatus) !== JSON.stringify(status)) {
      const updated = structuredClone(pdb);
      updated.status = status;
      try {
        await this.opts.client.update(pdbRef, updated, { subresource: 'status' });
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
    // Re-check when the oldest disruptedPods entry expires.
    const times = Object.values(status.disruptedPods ?? {}).map((t) => Date.parse(t) + DISRUPTED_POD_TIMEOUT_MS - now);
    if (times.length) return { requeueAfterMs: Math.max(1000, Math.min(...times)) };
  }

  /** Sum of spec.replicas over the distinct controllers of the pods (a Deployment stands for its ReplicaSets). */
  private async controllerScale(pods: readonly KubeObject[]): Promise<number> {
    const seen = new Map<string, number>();
    for (const pod of pods) {
      const ref = pod.metadata.ownerReferences?.find((r) => r.controller);
      if (!ref) throw new Error(`found no controllers for pod "${pod.metadata.name}"`);
      if (seen.has(ref.uid)) continue;
      let owner = await this.getOwner(ref, pod.metadata.namespace!);
      const parent = owner.kind === 'ReplicaSet' ? owner.metadata.ownerReferences?.find((r) => r.controller && r.kind === 'Deployment') : undefined;
      if (parent) {
        if ([...seen.keys()].includes(parent.uid)) {
          seen.set(ref.uid, 0);
          continue;
        }
        owner = await this.getOwner(parent, pod.metadata.namespace!);
        seen.set(parent.uid, replicasOf(owner));
        seen.set(ref.uid, 0);
        continue;
      }
      seen.set(ref.uid, replicasOf(owner));
    }
    return [...seen.values()].reduce((a, b) => a + b, 0);
  }

  private async getOwner(ref: { apiVersion: string; kind: string; name: string; uid: string }, namespace: string): Promise<KubeObject> {
    const info = this.opts.catalog.byKind(ref.apiVersion, ref.kind);
    if (!info) throw new Error(`unknown controller kind ${ref.kind}`);
    const owner = await this.opts.client.get(info, ref.name, info.namespaced ? namespace : undefined);
    if (owner.metadata.uid !== ref.uid) throw new Error(`controller ${ref.kind} "${ref.name}" not found`);
    return owner;
  }
}

function replicasOf(o: KubeObject): number {
  const r = (o.spec as { replicas?: number } | undefined)?.replicas;
  return typeof r === 'number' ? r : 1;
}
