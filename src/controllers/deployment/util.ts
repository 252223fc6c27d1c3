// Deployment arithmetic kept apart from the controller so it can be tested as tables: surge and
// unavailability budgets, how far to scale the new ReplicaSet, proportional scaling, conditions.
import type { Deployment, DeploymentCondition, DeploymentStatus, ReplicaSet } from 'kubernetes-types/apps/v1.js';
import type { KubeObject, ObjectMeta } from '../../client/types.ts';
import { resolveIntOrPercent } from '../replicaset/podutil.ts';

export type DeploymentObj = KubeObject & Omit<Deployment, 'metadata'> & { metadata: ObjectMeta };
export type ReplicaSetObj = KubeObject & Omit<ReplicaSet, 'metadata'> & { metadata: ObjectMeta };

export const ANN = {
  revision: 'deployment.kubernetes.io/revision',
  revisionHistory: 'deployment.kubernetes.io/revision-history',
  desiredReplicas: 'deployment.kubernetes.io/desired-replicas',
  maxReplicas: 'deployment.kubernetes.io/max-replicas',
  changeCause: 'kubernetes.io/change-cause',
  lastApplied: 'kubectl.kubernetes.io/last-applied-configuration',
  rollbackTo: 'deprecated.deployment.rollback.to',
} as const;

/** Deployment annotations that are not copied to its ReplicaSets. */
export const NOT_COPIED = new Set<string>([ANN.lastApplied, ANN.revision, ANN.revisionHistory, ANN.desiredReplicas, ANN.maxReplicas, ANN.rollbackTo]);

export const REASON = {
  newRSAvailable: 'NewReplicaSetAvailable',
  rsUpdated: 'ReplicaSetUpdated',
  newRSCreated: 'NewReplicaSetCreated',
  foundNewRS: 'FoundNewReplicaSet',
  timedOut: 'ProgressDeadlineExceeded',
  paused: 'DeploymentPaused',
  resumed: 'DeploymentResumed',
  minAvailable: 'MinimumReplicasAvailable',
  minUnavailable: 'MinimumReplicasUnavailable',
} as const;

export const replicasOf = (rs: ReplicaSetObj | undefined): number => rs?.spec?.replicas ?? 0;
export const desiredOf = (d: DeploymentObj): number => d.spec?.replicas ?? 1;
export const isRollingUpdate = (d: DeploymentObj): boolean => (d.spec?.strategy?.type ?? 'RollingUpdate') === 'RollingUpdate';

/** [maxSurge, maxUnavailable] resolved against spec.replicas; both 0 would deadlock, so unavailable becomes 1. */
export function surgeAndUnavailable(d: DeploymentObj): [number, number] {
  const desired = desiredOf(d);
  const ru = d.spec?.strategy?.rollingUpdate;
  const surge = resolveIntOrPercent(ru?.maxSurge, desired, true, '25%');
  let unavailable = resolveIntOrPercent(ru?.maxUnavailable, desired, false, '25%');
  if (surge === 0 && unavailable === 0) unavailable = 1;
  return [surge, unavailable];
}

export function maxSurge(d: DeploymentObj): number {
  return isRollingUpdate(d) ? surgeAndUnavailable(d)[0] : 0;
}

export function maxUnavailable(d: DeploymentObj): number {
  const desired = desiredOf(d);
  if (!isRollingUpdate(d) || desired === 0) return 0;
  return Math.min(surgeAndUnavailable(d)[1], desired);
}

/** How many replicas the new ReplicaSet may have now without breaking the surge budget. */
export function newRSNewReplicas(d: DeploymentObj, allRSs: ReplicaSetObj[], newRS: ReplicaSetObj): number {
  const desired = desiredOf(d);
  if (!isRollingUpdate(d)) return desired;
  if (replicasOf(newRS) >= desired) return desired;
  const current = allRSs.reduce((n, rs) => n + replicasOf(rs), 0);
  const maxTotal = desired + maxSurge(d);
  if (current >= maxTotal) return replicasOf(newRS);
  const scaleUp = Math.min(maxTotal - current, desired - replicasOf(newRS));
  return replicasOf(newRS) + scaleUp;
}

export function revisionOf(o: KubeObject | undefined): number {
  const v = Number(o?.metadata.annotations?.[ANN.revision] ?? '0');
  return Number.isFinite(v) ? v : 0;
}

/** The fraction of a scale change a ReplicaSet gets, from its share of max-replicas. */
function replicaSetFraction(rs: ReplicaSetObj, d: DeploymentObj): number {
  const desired = desiredOf(d);
  if (desired === 0) return -replicasOf(rs);
  const deploymentReplicas = desired + maxSurge(d);
  const annotated = Number(rs.metadata.annotations?.[ANN.maxReplicas] ?? NaN);
  const base = Number.isFinite(annotated) && annotated > 0 ? annotated : (d.status?.replicas ?? 0);
  if (base <= 0) return 0;
  return Math.round((replicasOf(rs) * deploymentReplicas) / base) - replicasOf(rs);
}

/**
 * Proportional scaling (a Deployment resized in the middle of a rollout): the change is split
 * between the active ReplicaSets in proportion to their size; what rounding leaves over goes to
 * the largest. Returns the new size per ReplicaSet name.
 */
export function proportionalSizes(d: DeploymentObj, active: ReplicaSetObj[]): Map<string, number> {
  const total = active.reduce((n, rs) => n + replicasOf(rs), 0);
  const desired = desiredOf(d);
  const allowed = desired > 0 ? desired + maxSurge(d) : 0;
  const toAdd = allowed - total;
  const sorted = [...active].sort((a, b) => {
    const diff = replicasOf(b) - replicasOf(a);
    if (diff !== 0) return diff;
    const ta = Date.parse(a.metadata.creationTimestamp ?? '') || 0;
    const tb = Date.parse(b.metadata.creationTimestamp ?? '') || 0;
    // Growing favours newer ReplicaSets on ties, shrinking older ones.
    return toAdd > 0 ? tb - ta : ta - tb;
  });
  const sizes = new Map<string, number>();
  let added = 0;
  for (const rs of sorted) {
    let proportion = 0;
    if (toAdd !== 0 && replicasOf(rs) > 0 && added !== toAdd) {
      const fraction = replicaSetFraction(rs, d);
      const left = toAdd - added;
      proportion = toAdd > 0 ? Math.min(fraction, left) : Math.max(fraction, left);
    }
    sizes.set(rs.metadata.name ?? '', replicasOf(rs) + proportion);
    added += proportion;
  }
  const first = sorted[0];
  if (first && toAdd !== added) {
    const name = first.metadata.name ?? '';
    sizes.set(name, Math.max(0, (sizes.get(name) ?? 0) + toAdd - added));
  }
  return sizes;
}

export function getCondition(status: DeploymentStatus | undefined, type: string): DeploymentCondition | undefined {
  return status?.conditions?.find((c) => c.type === type);
}

/** Set a condition; same status+reason leaves it alone, same status keeps lastTransitionTime. */
export function setCondition(status: DeploymentStatus, cond: DeploymentCondition): void {
  const current = getCondition(status, cond.type);
  if (current && current.status === cond.status && current.reason === cond.reason) return;
  if (current && current.status === cond.status) cond.lastTransitionTime = current.lastTransitionTime;
  status.conditions = [...(status.conditions ?? []).filter((c) => c.type !== cond.type), cond];
}

export function removeCondition(status: DeploymentStatus, type: string): void {
  status.conditions = (status.conditions ?? []).filter((c) => c.type !== type);
}

export function deploymentComplete(d: DeploymentObj, s: DeploymentStatus): boolean {
  const desired = desiredOf(d);
  return (s.updatedReplicas ?? 0) === desired && (s.replicas ?? 0) === desired && (s.availableReplicas ?? 0) === desired && (s.observedGeneration ?? 0) >= (d.metadata.generation ?? 0);
}

export function deploymentProgressing(d: DeploymentObj, s: DeploymentStatus): boolean {
  const old = d.status ?? {};
  const oldOld = (old.replicas ?? 0) - (old.updatedReplicas ?? 0);
  const newOld = (s.replicas ?? 0) - (s.updatedReplicas ?? 0);
  return (s.updatedReplicas ?? 0) > (old.updatedReplicas ?? 0) || newOld < oldOld || (s.readyReplicas ?? 0) > (old.readyReplicas ?? 0) || (s.availableReplicas ?? 0) > (old.availableReplicas ?? 0);
}

export function hasProgressDeadline(d: DeploymentObj): boolean {
  const p = d.spec?.progressDeadlineSeconds;
  return p !== undefined && p !== null && p !== 2147483647;
}

export function deploymentTimedOut(d: DeploymentObj, s: DeploymentStatus, now: number): boolean {
  if (!hasProgressDeadline(d)) return false;
  const c = getCondition(s, 'Progressing');
  if (!c) return false;
  if (c.reason === REASON.newRSAvailable) return false;
  if (c.reason === REASON.timedOut) return true;
  const from = Date.parse(c.lastUpdateTime ?? c.lastTransitionTime ?? '');
  if (!Number.isFinite(from)) return false;
  return from + (d.spec?.progressDeadlineSeconds ?? 600) * 1000 < now;
}
