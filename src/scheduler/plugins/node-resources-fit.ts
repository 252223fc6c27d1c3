// Requests must fit what is left of the node's allocatable (pods, cpu, memory, ephemeral-storage,
// extended resources); the score prefers the least allocated node (cpu and memory, weight 1 each,
// counting 100m/200Mi for containers that request nothing).

import { MAX_NODE_SCORE, unresolvable, unschedulable, type NodeInfo, type Plugin, type Status } from '../types.ts';

export function leastRequestedScore(requested: number, capacity: number): number {
  if (capacity === 0 || requested > capacity) return 0;
  return Math.trunc(((capacity - requested) * MAX_NODE_SCORE) / capacity);
}

/** Adds "Insufficient <name>" when short; true when the request exceeds the whole node (preemption cannot help). */
function check(reasons: string[], name: string, want: number, alloc: number, used: number): boolean {
  if (want > 0 && want > alloc - used) {
    reasons.push(`Insufficient ${name}`);
    return want > alloc;
  }
  return false;
}

/** The reasons a pod does not fit on the node by resources, upstream's order and wording. */
export function insufficientResources(ctx: { pod: { requests: NodeInfo['requested'] } }, node: NodeInfo): { reasons: string[]; unresolvable: boolean } {
  const reasons: string[] = [];
  let unresolvableFound = false;
  if (node.pods.length + 1 > node.allowedPods) reasons.push('Too many pods');
  const req = ctx.pod.requests;
  if (req.milliCpu === 0 && req.memory === 0 && req.ephemeralStorage === 0 && req.scalar.size === 0) return { reasons, unresolvable: false };
  unresolvableFound = check(reasons, 'cpu', req.milliCpu, node.allocatable.milliCpu, node.requested.milliCpu) || unresolvableFound;
  unresolvableFound = check(reasons, 'memory', req.memory, node.allocatable.memory, node.requested.memory) || unresolvableFound;
  unresolvableFound = check(reasons, 'ephemeral-storage', req.ephemeralStorage, node.allocatable.ephemeralStorage, node.requested.ephemeralStorage) || unresolvableFound;
  if (req.scalar.size > 0) {
    for (const name of [...req.scalar.keys()].sort()) {
      unresolvableFound = check(reasons, name, req.scalar.get(name) ?? 0, node.allocatable.scalar.get(name) ?? 0, node.requested.scalar.get(name) ?? 0) || unresolvableFound;
    }
  }
  return { reasons, unresolvable: unresolvableFound };
}

export const nodeResourcesFit: Plugin = {
  name: 'NodeResourcesFit',
  weight: 1,
  filter(ctx, node): Status | undefined {
    const r = insufficientResources(ctx, node);
    if (r.reasons.length === 0) return undefined;
    return r.unresolvable ? unresolvable(...r.reasons) : unschedulable(...r.reasons);
  },
  score(ctx, node) {
    // LeastAllocated over cpu and memory; a resource the node does not report is left out.
    let sum = 0;
    let weights = 0;
    const parts: [number, number][] = [
      [node.nonZeroRequested.milliCpu + ctx.pod.nonZeroRequests.milliCpu, node.allocatable.milliCpu],
      [node.nonZeroRequested.memory + ctx.pod.nonZeroRequests.memory, node.allocatable.memory],
    ];
    for (const [requested, alloc] of parts) {
      if (alloc === 0) continue;
      sum += leastRequestedScore(requested, alloc);
      weights += 1;
    }
    return weights === 0 ? 0 : Math.trunc(sum / weights);
  },
};
