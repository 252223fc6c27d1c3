// Taints and tolerations as the scheduler's and the taint manager's matching rules define them.

export interface Taint {
  key: string;
  value?: string;
  effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute' | string;
  timeAdded?: string;
}

export interface Toleration {
  key?: string;
  operator?: 'Equal' | 'Exists' | string;
  value?: string;
  effect?: string;
  tolerationSeconds?: number;
}

export const TAINT_NOT_READY = 'node.kubernetes.io/not-ready';
export const TAINT_UNREACHABLE = 'node.kubernetes.io/unreachable';
export const TAINT_UNSCHEDULABLE = 'node.kubernetes.io/unschedulable';
export const TAINT_OUT_OF_SERVICE = 'node.kubernetes.io/out-of-service';

export function tolerates(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if ((t.operator ?? 'Equal') === 'Exists') return !t.key || t.key === taint.key;
  return t.key === taint.key && (t.value ?? '') === (taint.value ?? '');
}

/**
 * How long a pod may stay on a node with these NoExecute taints, in seconds from when each taint was
 * added: 0 = evict now, Infinity = never. A pod with no toleration at all for not-ready/unreachable
 * is given `defaultSeconds` (what the DefaultTolerationSeconds admission plugin adds, 300 s).
 */
export function evictionDelaySeconds(taint: Taint, tolerations: readonly Toleration[], defaultSeconds: number): number {
  const matching = tolerations.filter((t) => tolerates(t, taint));
  if (matching.length === 0) {
    const implicit = taint.key === TAINT_NOT_READY || taint.key === TAINT_UNREACHABLE;
    return implicit && !tolerations.some((t) => t.key === taint.key) ? defaultSeconds : 0;
  }
  let min = Infinity;
  for (const t of matching) {
    if (t.tolerationSeconds === undefined || t.tolerationSeconds === null) continue;
    min = Math.min(min, Math.max(0, t.tolerationSeconds));
  }
  return min;
}
