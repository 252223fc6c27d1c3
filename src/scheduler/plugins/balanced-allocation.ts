// Prefers nodes whose cpu and memory would be used in equal proportion after placing the pod
// (actual requests, no 100m/200Mi defaults). Best-effort pods are not scored, as upstream does
// since 1.32, so a stream of them is not piled onto one node.

import { MAX_NODE_SCORE, skip, type Plugin } from '../types.ts';

export function balancedScore(fractions: number[]): number {
  let std = 0;
  if (fractions.length === 2) std = Math.abs((fractions[0]! - fractions[1]!) / 2);
  else if (fractions.length > 2) {
    const mean = fractions.reduce((a, b) => a + b, 0) / fractions.length;
    std = Math.sqrt(fractions.reduce((a, f) => a + (f - mean) ** 2, 0) / fractions.length);
  }
  return Math.trunc((1 - std) * MAX_NODE_SCORE);
}

export const balancedAllocation: Plugin = {
  name: 'NodeResourcesBalancedAllocation',
  weight: 1,
  preScore(ctx) {
    const r = ctx.pod.requests;
    return r.milliCpu === 0 && r.memory === 0 ? skip : undefined;
  },
  score(ctx, node) {
    const fractions: number[] = [];
    const parts: [number, number][] = [
      [node.requested.milliCpu + ctx.pod.requests.milliCpu, node.allocatable.milliCpu],
      [node.requested.memory + ctx.pod.requests.memory, node.allocatable.memory],
    ];
    for (const [requested, alloc] of parts) {
      if (alloc === 0) continue;
      fractions.push(Math.min(requested / alloc, 1));
    }
    return balancedScore(fractions);
  },
};
