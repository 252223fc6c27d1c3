// nodeSelector and required node affinity as a filter; preferred node affinity weights as a score.
// Terms that pin metadata.name (DaemonSet pods) narrow the candidate nodes up front.

import { nodeSelectorTermMatches, requiredNodeAffinityMatches } from '../helpers.ts';
import { unresolvable, skip, type Plugin } from '../types.ts';
import { defaultNormalizeScore } from './normalize.ts';

export const nodeAffinity: Plugin = {
  name: 'NodeAffinity',
  weight: 2,
  preFilter(ctx) {
    const terms = ctx.pod.pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
    if (!terms) return undefined;
    let names: Set<string> | undefined;
    for (const t of terms) {
      let termNames: Set<string> | undefined;
      for (const f of t.matchFields ?? []) {
        if (f.key !== 'metadata.name' || f.operator !== 'In') continue;
        const s = new Set(f.values ?? []);
        termNames = termNames ? new Set([...termNames].filter((n) => s.has(n))) : s;
      }
      // Terms are ORed: one term without a name pin leaves every node possible.
      if (!termNames) return undefined;
      names = new Set([...(names ?? []), ...termNames]);
    }
    if (names && names.size === 0) return { status: unresolvable('pod affinity terms conflict') };
    return names ? { nodeNames: names } : undefined;
  },
  filter(ctx, node) {
    if (!node.node || requiredNodeAffinityMatches(ctx.pod.pod, node.node)) return undefined;
    return unresolvable("node(s) didn't match Pod's node affinity/selector");
  },
  preScore(ctx) {
    const preferred = ctx.pod.pod.spec?.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? [];
    return preferred.length === 0 ? skip : undefined;
  },
  score(ctx, node) {
    let sum = 0;
    for (const p of ctx.pod.pod.spec?.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? []) {
      if (p.weight !== 0 && node.node && nodeSelectorTermMatches(p.preference, node.node)) sum += p.weight;
    }
    return sum;
  },
  normalizeScore(_ctx, scores) {
    defaultNormalizeScore(scores, false);
  },
};
