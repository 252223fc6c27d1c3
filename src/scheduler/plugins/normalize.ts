// Upstream's default score normalization: scale to 0..100 by the highest raw score, optionally
// reversed (fewer is better, as with untolerated PreferNoSchedule taints).

import { MAX_NODE_SCORE, type NodeScore } from '../types.ts';

export function defaultNormalizeScore(scores: NodeScore[], reverse: boolean): void {
  let max = 0;
  for (const s of scores) if (s.score > max) max = s.score;
  if (max === 0) {
    if (reverse) for (const s of scores) s.score = MAX_NODE_SCORE;
    return;
  }
  for (const s of scores) {
    const scaled = Math.trunc((MAX_NODE_SCORE * s.score) / max);
    s.score = reverse ? MAX_NODE_SCORE - scaled : scaled;
  }
}
