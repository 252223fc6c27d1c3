// HPA arithmetic tables: replica calculation (tolerance, missing metrics, unready pods) and
// behavior normalization (stabilization window, rate policies, min/max).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeReplicas, replicasForResource, type PodSample } from '../../src/controllers/hpa/algorithm.ts';

const pods = (usages: Array<number | undefined>, request = 100, ready: boolean[] = []): PodSample[] =>
  usages.map((u, i) => ({ name: `p${i}`, request, usage: u, ready: ready[i] ?? true }));
const util = (n: number) => ({ type: 'Utilization' as const, averageUtilization: n });

describe('replicasForResource', () => {
  const cases: Array<[string, number, PodSample[], number, number | undefined]> = [
    // [name, current, pods, target%, want replicas, want utilization]
    ['at target', 3, pods([50, 50, 50]), 50, 3],
    ['inside tolerance (+8%)', 3, pods([54, 54, 54]), 50, 3],
    ['double the target', 3, pods([100, 100, 100]), 50, 6],
    ['half the target', 4, pods([25, 25, 25, 25]), 50, 2],
    ['rounds up', 3, pods([70, 70, 70]), 50, 5],
    ['missing metrics assumed 0% when scaling up', 2, pods([100, undefined]), 50, 2],
    ['missing metrics assumed 100% when scaling down', 4, pods([10, 10, undefined, undefined]), 50, 4],
    ['missing metrics can still scale up (as 0%: 400m of 300m requested)', 3, pods([200, 200, undefined]), 50, 8],
    ['unready pods count as idle when scaling up', 4, pods([100, 100, 0, 0], 100, [true, true, false, false]), 50, 4],
    ['unready pods ignored when scaling down', 4, pods([10, 10, 90, 90], 100, [true, true, false, false]), 50, 1],
  ];
  for (const [name, current, ps, target, want] of cases) {
    it(name, () => assert.equal(replicasForResource(current, util(target), ps, 'cpu').replicas, want));
  }
  it('reports the current utilization of ready pods', () => {
    assert.equal(replicasForResource(2, util(50), pods([30, 90]), 'cpu').utilization, 60);
  });
  it('AverageValue targets', () => {
    assert.equal(replicasForResource(2, { type: 'AverageValue', averageValue: 100 }, pods([300, 300]), 'memory').replicas, 6);
  });
  it('errors without metrics or requests', () => {
    assert.throws(() => replicasForResource(2, util(50), pods([undefined, undefined]), 'cpu'), /did not receive metrics/);
    assert.throws(() => replicasForResource(2, util(50), [{ name: 'x', request: undefined, usage: 10, ready: true }], 'cpu'), /missing request for cpu in pod x/);
  });
});

describe('normalizeReplicas (behavior)', () => {
  const now = 1_000_000_000;
  const base = { minReplicas: 1, maxReplicas: 100, recommendations: [], scaleEvents: [], now };
  it('scale up: default policies allow max(4 pods, 100%) per 15 s', () => {
    const r = normalizeReplicas({ ...base, currentReplicas: 2, desired: 20 });
    assert.deepEqual([r.replicas, r.ableToScaleReason], [6, 'ScaleUpLimit']);
    assert.equal(normalizeReplicas({ ...base, currentReplicas: 10, desired: 50 }).replicas, 20);
  });
  it('scale up counts what was already added in the period', () => {
    assert.equal(normalizeReplicas({ ...base, currentReplicas: 6, desired: 20, scaleEvents: [{ at: now - 5000, change: 4 }] }).replicas, 6);
  });
  it('scale down waits for the 300 s stabilization window', () => {
    const recent = [{ at: now - 200_000, replicas: 8 }, { at: now - 100_000, replicas: 6 }];
    const r = normalizeReplicas({ ...base, currentReplicas: 8, desired: 2, recommendations: recent });
    assert.deepEqual([r.replicas, r.ableToScaleReason], [8, 'ScaleDownStabilized']);
    const old = [{ at: now - 400_000, replicas: 8 }, { at: now - 100_000, replicas: 5 }];
    assert.equal(normalizeReplicas({ ...base, currentReplicas: 8, desired: 2, recommendations: old }).replicas, 5);
  });
  it('scale-down policy of 1 pod per minute', () => {
    const behavior = { scaleDown: { stabilizationWindowSeconds: 0, policies: [{ type: 'Pods' as const, value: 1, periodSeconds: 60 }] } };
    assert.equal(normalizeReplicas({ ...base, behavior, currentReplicas: 5, desired: 1 }).replicas, 4);
    assert.equal(normalizeReplicas({ ...base, behavior, currentReplicas: 4, desired: 1, scaleEvents: [{ at: now - 30_000, change: -1 }] }).replicas, 4);
  });
  it('selectPolicy Disabled never scales that way', () => {
    assert.equal(normalizeReplicas({ ...base, behavior: { scaleUp: { selectPolicy: 'Disabled' } }, currentReplicas: 3, desired: 9 }).replicas, 3);
  });
  it('min and max bound the result', () => {
    assert.deepEqual(normalizeReplicas({ ...base, maxReplicas: 5, currentReplicas: 4, desired: 8 }), { replicas: 5, limited: 'TooManyReplicas' });
    const r = normalizeReplicas({ ...base, minReplicas: 3, behavior: { scaleDown: { stabilizationWindowSeconds: 0 } }, currentReplicas: 4, desired: 1 });
    assert.deepEqual([r.replicas, r.limited], [3, 'TooFewReplicas']);
  });
});
