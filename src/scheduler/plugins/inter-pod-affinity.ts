// Required pod affinity/anti-affinity (the incoming pod's terms and existing pods' anti-affinity
// against it) as a filter, counted per topology domain; preferred terms of both sides (and
// existing pods' required affinity at weight 1) as a score.

import type { Pod } from '../k8s.ts';
import { MAX_NODE_SCORE, skip, termMatches, unresolvable, unschedulable, type AffinityTerm, type CycleContext, type NodeInfo, type Plugin, type WeightedAffinityTerm } from '../types.ts';

/** Counts per "key\0value" topology pair. */
type TopologyCounts = Map<string, number>;

const pairKey = (key: string, value: string) => `${key}\0${value}`;

function bump(m: TopologyCounts, node: NodeInfo, key: string, by: number): void {
  const v = node.labels[key];
  if (v === undefined) return;
  const k = pairKey(key, v);
  const n = (m.get(k) ?? 0) + by;
  if (n === 0) m.delete(k);
  else m.set(k, n);
}

interface FilterState {
  existingAnti: TopologyCounts;
  affinity: TopologyCounts;
  anti: TopologyCounts;
}

const FILTER = 'InterPodAffinity/filter';
const SCORE = 'InterPodAffinity/score';

function matchesAll(terms: AffinityTerm[], pod: Pod, ctx: CycleContext): boolean {
  for (const t of terms) if (!termMatches(t, pod, ctx.snapshot.namespaceLabels)) return false;
  return true;
}

export const interPodAffinity: Plugin = {
  name: 'InterPodAffinity',
  weight: 2,
  preFilter(ctx) {
    const me = ctx.pod;
    const nodes = ctx.snapshot.nodes();
    const anyExistingAnti = nodes.some((n) => n.podsWithRequiredAntiAffinity > 0);
    if (me.requiredAffinityTerms.length === 0 && me.requiredAntiAffinityTerms.length === 0 && !anyExistingAnti) return { status: skip };
    const st: FilterState = { existingAnti: new Map(), affinity: new Map(), anti: new Map() };
    for (const node of nodes) {
      for (const existing of node.pods) {
        if (node.podsWithRequiredAntiAffinity > 0) {
          for (const t of existing.requiredAntiAffinityTerms) {
            if (termMatches(t, me.pod, ctx.snapshot.namespaceLabels)) bump(st.existingAnti, node, t.topologyKey, 1);
          }
        }
        if (me.requiredAffinityTerms.length > 0 && matchesAll(me.requiredAffinityTerms, existing.pod, ctx)) {
          for (const t of me.requiredAffinityTerms) bump(st.affinity, node, t.topologyKey, 1);
        }
        for (const t of me.requiredAntiAffinityTerms) {
          if (termMatches(t, existing.pod, ctx.snapshot.namespaceLabels)) bump(st.anti, node, t.topologyKey, 1);
        }
      }
    }
    ctx.state.set(FILTER, st);
    return undefined;
  },
  filter(ctx, node) {
    const st = ctx.state.get(FILTER) as FilterState;
    const labels = node.labels;
    const me = ctx.pod;
    // Affinity: every term's domain on this node must hold a matching pod, except for the first
    // pod of a group that matches its own terms while no pod anywhere matches them yet.
    let podsExist = true;
    for (const t of me.requiredAffinityTerms) {
      const v = labels[t.topologyKey];
      if (v === undefined) return unresolvable("node(s) didn't match pod affinity rules");
      if ((st.affinity.get(pairKey(t.topologyKey, v)) ?? 0) <= 0) podsExist = false;
    }
    if (!podsExist && !(st.affinity.size === 0 && matchesAll(me.requiredAffinityTerms, me.pod, ctx))) {
      return unresolvable("node(s) didn't match pod affinity rules");
    }
    for (const t of me.requiredAntiAffinityTerms) {
      const v = labels[t.topologyKey];
      if (v !== undefined && (st.anti.get(pairKey(t.topologyKey, v)) ?? 0) > 0) return unschedulable("node(s) didn't match pod anti-affinity rules");
    }
    if (st.existingAnti.size > 0) {
      for (const [k, v] of Object.entries(labels)) {
        if ((st.existingAnti.get(pairKey(k, v)) ?? 0) > 0) return unschedulable("node(s) didn't satisfy existing pods anti-affinity rules");
      }
    }
    return undefined;
  },
  preScore(ctx) {
    const me = ctx.pod;
    const hasOwn = me.preferredAffinityTerms.length + me.preferredAntiAffinityTerms.length > 0;
    const scores: TopologyCounts = new Map();
    const ns = ctx.snapshot.namespaceLabels;
    const add = (terms: WeightedAffinityTerm[] | AffinityTerm[], target: Pod, node: NodeInfo, sign: number, fixedWeight?: number) => {
      for (const t of terms) {
        const w = fixedWeight ?? (t as WeightedAffinityTerm).weight;
        if (w !== 0 && termMatches(t, target, ns)) bump(scores, node, t.topologyKey, w * sign);
      }
    };
    for (const node of ctx.snapshot.nodes()) {
      // Without preferences of its own, only pods with affinity terms can move the score.
      if (!hasOwn && node.podsWithAffinity === 0) continue;
      if (Object.keys(node.labels).length === 0) continue;
      for (const existing of hasOwn ? node.pods : node.affinityPods) {
        add(me.preferredAffinityTerms, existing.pod, node, 1);
        add(me.preferredAntiAffinityTerms, existing.pod, node, -1);
        add(existing.requiredAffinityTerms, me.pod, node, 1, 1);
        add(existing.preferredAffinityTerms, me.pod, node, 1);
        add(existing.preferredAntiAffinityTerms, me.pod, node, -1);
      }
    }
    if (scores.size === 0) return skip;
    ctx.state.set(SCORE, scores);
    return undefined;
  },
  score(ctx, node) {
    const scores = ctx.state.get(SCORE) as TopologyCounts;
    let sum = 0;
    for (const [k, v] of Object.entries(node.labels)) sum += scores.get(pairKey(k, v)) ?? 0;
    return sum;
  },
  normalizeScore(_ctx, scores) {
    let min = Infinity;
    let max = -Infinity;
    for (const s of scores) {
      if (s.score > max) max = s.score;
      if (s.score < min) min = s.score;
    }
    const diff = max - min;
    for (const s of scores) s.score = diff > 0 ? Math.trunc(MAX_NODE_SCORE * ((s.score - min) / diff)) : 0;
  },
};
