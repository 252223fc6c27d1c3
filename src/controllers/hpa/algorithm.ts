// The HorizontalPodAutoscaler's arithmetic, as pure functions: replicas from resource metrics
// (upstream's replica calculator: 0.1 tolerance, missing metrics and not-yet-ready pods counted
// against the direction of the change), then behavior (stabilization windows and rate policies)
// and min/max bounds. The controller feeds these; the tests pin the numbers.

export const TOLERANCE = 0.1;

export interface PodSample {
  name: string;
  /** Sum over the pod's containers of the resource's request, milli-units; undefined = some container has none. */
  request: number | undefined;
  /** Measured usage in milli-units; undefined = no metrics for this pod. */
  usage: number | undefined;
  /** Counted as ready (cpu only cares; upstream also skips pods still starting). */
  ready: boolean;
}

export type ResourceTarget = { type: 'Utilization'; averageUtilization: number } | { type: 'AverageValue'; averageValue: number };

export interface ReplicaCalculation {
  replicas: number;
  /** Average utilization in percent of request (Utilization targets). */
  utilization?: number;
  /** Average usage per pod in milli-units. */
  averageValue: number;
}

/** Desired replicas for one resource metric; throws when it cannot be computed (no metrics, no requests). */
export function replicasForResource(currentReplicas: number, target: ResourceTarget, pods: readonly PodSample[], resource: string, tolerance = TOLERANCE): ReplicaCalculation {
  const withMetrics = pods.filter((p) => p.usage !== undefined);
  if (withMetrics.length === 0) throw new Error(`did not receive metrics for targeted pods (pods might be unready)`);
  const ready = withMetrics.filter((p) => p.ready);
  const unready = withMetrics.filter((p) => !p.ready);
  const missing = pods.filter((p) => p.usage === undefined);
  const usageOf = (ps: readonly PodSample[]) => ps.reduce((a, p) => a + (p.usage ?? 0), 0);
  const requestOf = (ps: readonly PodSample[]) => {
    let sum = 0;
    for (const p of ps) {
      if (p.request === undefined || p.request === 0) throw new Error(`missing request for ${resource} in pod ${p.name}`);
      sum += p.request;
    }
    return sum;
  };
  if (ready.length === 0) throw new Error(`did not receive metrics for targeted pods (pods might be unready)`);

  const ratioFor = (usage: number, request: number, count: number) =>
    target.type === 'Utilization' ? (usage * 100) / request / target.averageUtilization : usage / (target.averageValue * count);
  const requestReady = target.type === 'Utilization' ? requestOf(ready) : 0;
  const usageReady = usageOf(ready);
  const ratio = ratioFor(usageReady, requestReady, ready.length);
  const result = (replicas: number): ReplicaCalculation => ({
    replicas,
    ...(target.type === 'Utilization' ? { utilization: Math.round((usageReady * 100) / requestReady) } : {}),
    averageValue: Math.round(usageReady / ready.length),
  });

  const scaleUp = ratio > 1;
  const rebalanceUnready = scaleUp && unready.length > 0;
  if (!rebalanceUnready && missing.length === 0) {
    if (Math.abs(1 - ratio) <= tolerance) return result(currentReplicas);
    return result(Math.ceil(ratio * ready.length));
  }
  // Assume the worst for the direction of change: missing pods use nothing when scaling up and
  // all of their request when scaling down; unready pods count as idle when scaling up.
  let usage = usageReady;
  let request = requestReady;
  let count = ready.length;
  for (const p of missing) {
    if (target.type === 'Utilization') {
      request += p.request ?? 0;
      if (!scaleUp) usage += p.request ?? 0;
    } else if (!scaleUp) usage += target.averageValue;
    count++;
  }
  if (rebalanceUnready) {
    for (const p of unready) {
      if (target.type === 'Utilization') request += p.request ?? 0;
      count++;
    }
  }
  const newRatio = ratioFor(usage, request, count);
  if (Math.abs(1 - newRatio) <= tolerance || (ratio < 1 && newRatio > 1) || (ratio > 1 && newRatio < 1)) return result(currentReplicas);
  const replicas = Math.ceil(newRatio * count);
  if ((newRatio < 1 && replicas > currentReplicas) || (newRatio > 1 && replicas < currentReplicas)) return result(currentReplicas);
  return result(replicas);
}

export interface ScalingPolicy {
  type: 'Pods' | 'Percent';
  value: number;
  periodSeconds: number;
}

export interface ScalingRules {
  stabilizationWindowSeconds?: number;
  selectPolicy?: 'Max' | 'Min' | 'Disabled';
  policies?: ScalingPolicy[];
}

export interface Behavior {
  scaleUp?: ScalingRules;
  scaleDown?: ScalingRules;
}

/** autoscaling/v2 defaults. */
export const DEFAULT_SCALE_UP: Required<ScalingRules> = {
  stabilizationWindowSeconds: 0,
  selectPolicy: 'Max',
  policies: [{ type: 'Pods', value: 4, periodSeconds: 15 }, { type: 'Percent', value: 100, periodSeconds: 15 }],
};
export const DEFAULT_SCALE_DOWN: Required<ScalingRules> = {
  stabilizationWindowSeconds: 300,
  selectPolicy: 'Max',
  policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }],
};

export interface Recommendation {
  at: number;
  replicas: number;
}

export interface ScaleEvent {
  at: number;
  /** Positive for scale up, negative for scale down. */
  change: number;
}

export interface NormalizeInput {
  currentReplicas: number;
  /** What the metrics ask for. */
  desired: number;
  minReplicas: number;
  maxReplicas: number;
  behavior?: Behavior;
  /** Earlier metric recommendations (not yet including `desired`). */
  recommendations: readonly Recommendation[];
  scaleEvents: readonly ScaleEvent[];
  now: number;
}

export interface NormalizeResult {
  replicas: number;
  /** Why the result differs from `desired` (condition reason), or undefined. */
  ableToScaleReason?: 'ScaleUpStabilized' | 'ScaleDownStabilized' | 'ScaleUpLimit' | 'ScaleDownLimit';
  ableToScaleMessage?: string;
  limited?: 'TooFewReplicas' | 'TooManyReplicas';
}

const rules = (r: ScalingRules | undefined, d: Required<ScalingRules>): Required<ScalingRules> => ({
  stabilizationWindowSeconds: r?.stabilizationWindowSeconds ?? d.stabilizationWindowSeconds,
  selectPolicy: r?.selectPolicy ?? d.selectPolicy,
  policies: r?.policies ?? d.policies,
});

export function normalizeReplicas(input: NormalizeInput): NormalizeResult {
  const up = rules(input.behavior?.scaleUp, DEFAULT_SCALE_UP);
  const down = rules(input.behavior?.scaleDown, DEFAULT_SCALE_DOWN);
  const { currentReplicas: current, now } = input;
  const out: NormalizeResult = { replicas: current };

  // Stabilization: scale up only to the lowest, down only to the highest recent recommendation.
  let upRec = input.desired;
  let downRec = input.desired;
  for (const r of input.recommendations) {
    if (r.at > now - up.stabilizationWindowSeconds * 1000) upRec = Math.min(upRec, r.replicas);
    if (r.at > now - down.stabilizationWindowSeconds * 1000) downRec = Math.max(downRec, r.replicas);
  }
  let stabilized = current;
  if (stabilized < upRec) stabilized = upRec;
  if (stabilized > downRec) stabilized = downRec;
  if (stabilized !== input.desired) {
    if (input.desired > current) {
      out.ableToScaleReason = 'ScaleUpStabilized';
      out.ableToScaleMessage = 'recent recommendations were lower than current one, applying the lowest recent recommendation';
    } else {
      out.ableToScaleReason = 'ScaleDownStabilized';
      out.ableToScaleMessage = 'recent recommendations were higher than current one, applying the highest recent recommendation';
    }
  }

  // Rate policies, measured against the replicas at the start of each policy's period.
  let replicas = stabilized;
  if (stabilized > current) {
    const limit = policyLimit(up, input.scaleEvents, current, now, 'up');
    if (replicas > limit) {
      replicas = limit;
      out.ableToScaleReason = 'ScaleUpLimit';
      out.ableToScaleMessage = 'the desired replica count is increasing faster than the maximum scale rate';
    }
  } else if (stabilized < current) {
    const limit = policyLimit(down, input.scaleEvents, current, now, 'down');
    if (replicas < limit) {
      replicas = limit;
      out.ableToScaleReason = 'ScaleDownLimit';
      out.ableToScaleMessage = 'the desired replica count is decreasing faster than the maximum scale rate';
    }
  }

  if (replicas < input.minReplicas) {
    replicas = input.minReplicas;
    out.limited = 'TooFewReplicas';
  } else if (replicas > input.maxReplicas) {
    replicas = input.maxReplicas;
    out.limited = 'TooManyReplicas';
  }
  out.replicas = replicas;
  return out;
}

function policyLimit(r: Required<ScalingRules>, events: readonly ScaleEvent[], current: number, now: number, dir: 'up' | 'down'): number {
  if (r.selectPolicy === 'Disabled') return current;
  const limits: number[] = [];
  for (const p of r.policies) {
    const since = now - p.periodSeconds * 1000;
    const changed = events.filter((e) => e.at > since && (dir === 'up' ? e.change > 0 : e.change < 0)).reduce((a, e) => a + Math.abs(e.change), 0);
    const start = dir === 'up' ? current - changed : current + changed;
    if (dir === 'up') limits.push(p.type === 'Pods' ? start + p.value : Math.ceil(start * (1 + p.value / 100)));
    else limits.push(p.type === 'Pods' ? start - p.value : Math.floor(start * (1 - p.value / 100)));
  }
  if (limits.length === 0) return current;
  // "Max" = the policy allowing the biggest change.
  const pickMost = r.selectPolicy === 'Max';
  return dir === 'up' ? (pickMost ? Math.max(...limits) : Math.min(...limits)) : pickMost ? Math.min(...limits) : Math.max(...limits);
}
