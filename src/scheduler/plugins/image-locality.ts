// Prefers nodes that already hold the pod's images, weighted by image size and by how widely the
// image is spread (an image present everywhere says nothing about where to go).

import { MAX_NODE_SCORE, normalizeImageName, type Plugin } from '../types.ts';

const MB = 1024 * 1024;
const MIN_THRESHOLD = 23 * MB;
const MAX_CONTAINER_THRESHOLD = 1000 * MB;

export function imageLocalityPriority(sumScores: number, numContainers: number): number {
  const max = MAX_CONTAINER_THRESHOLD * numContainers;
  const clamped = Math.min(Math.max(sumScores, MIN_THRESHOLD), max);
  return Math.trunc((MAX_NODE_SCORE * (clamped - MIN_THRESHOLD)) / (max - MIN_THRESHOLD));
}

export const imageLocality: Plugin = {
  name: 'ImageLocality',
  weight: 1,
  score(ctx, node) {
    const spec = ctx.pod.pod.spec;
    const containers = [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])];
    if (containers.length === 0) return 0;
    const totalNodes = ctx.snapshot.nodes().length;
    let sum = 0;
    for (const c of containers) {
      if (!c.image) continue;
      const name = normalizeImageName(c.image);
      const size = node.images.get(name);
      if (size === undefined) continue;
      sum += Math.trunc(size * (ctx.snapshot.imageNodeCount(name) / totalNodes));
    }
    return imageLocalityPriority(sum, containers.length);
  },
};
