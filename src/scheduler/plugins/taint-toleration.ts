// NoSchedule/NoExecute taints must be tolerated; untolerated PreferNoSchedule taints lower the score.

import type { Toleration } from '../k8s.ts';
import { firstUntoleratedTaint, toleratedBy } from '../helpers.ts';
import { unresolvable, type Plugin } from '../types.ts';
import { defaultNormalizeScore } from './normalize.ts';

const preferTolerations = 'TaintToleration/prefer';

export const taintToleration: Plugin = {
  name: 'TaintToleration',
  weight: 3,
  filter(ctx, node) {
    const taint = firstUntoleratedTaint(node.node?.spec?.taints, ctx.pod.pod.spec?.tolerations, ['NoSchedule', 'NoExecute']);
    if (!taint) return undefined;
    return unresolvable(`node(s) had untolerated taint {${taint.key}: ${taint.value ?? ''}}`);
  },
  preScore(ctx) {
    // Only tolerations that could cover a PreferNoSchedule taint matter for scoring.
    const ts = (ctx.pod.pod.spec?.tolerations ?? []).filter((t) => !t.effect || t.effect === 'PreferNoSchedule');
    ctx.state.set(preferTolerations, ts);
    return undefined;
  },
  score(ctx, node) {
    const ts = ctx.state.get(preferTolerations) as Toleration[];
    let count = 0;
    for (const taint of node.node?.spec?.taints ?? []) {
      if (taint.effect === 'PreferNoSchedule' && !toleratedBy(ts, taint)) count++;
    }
    return count;
  },
  normalizeScore(_ctx, scores) {
    defaultNormalizeScore(scores, true);
  },
};
