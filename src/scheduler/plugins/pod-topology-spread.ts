// Topology spread constraints: DoNotSchedule ones as a filter (skew = matching pods in the node's
// domain + the pod itself − the emptiest domain, at most maxSkew), ScheduleAnyway ones (or, for a
// pod with no constraints, the system defaults: hostname skew 3, zone skew 5, over the pods of
// the same Service/ReplicaSet/StatefulSet) as a score that favours less crowded domains.

import type { Pod, TopologySpreadConstraint } from '../k8s.ts';
import { selectorFromObject, type LabelSelector, type LabelSelectorObject } from '../../api/labels.ts';
import { firstUntoleratedTaint, requiredNodeAffinityMatches } from '../helpers.ts';
import { MAX_NODE_SCORE, skip, unresolvable, unschedulable, type CycleContext, type NodeInfo, type NodeScore, type Plugin, type PodInfo } from '../types.ts';

const HOSTNAME = 'kubernetes.io/hostname';
const ZONE = 'topology.kubernetes.io/zone';

interface Constraint {
  maxSkew: number;
  topologyKey: string;
  selector: LabelSelector;
  minDomains: number;
  honorAffinity: boolean;
  honorTaints: boolean;
}

function compile(pod: Pod, c: TopologySpreadConstraint): Constraint {
  let sel = c.labelSelector as LabelSelectorObject | undefined;
  const labels = pod.metadata?.labels ?? {};
  const keys = (c.matchLabelKeys ?? []).filter((k) => k in labels);
  if (sel && keys.length > 0) {
    sel = { matchLabels: sel.matchLabels ?? {}, matchExpressions: [...(sel.matchExpressions ?? []), ...keys.map((k) => ({ key: k, operator: 'In', values: [labels[k]!] }))] };
  }
  return {
    maxSkew: c.maxSkew,
    topologyKey: c.topologyKey,
    selector: selectorFromObject(sel),
    minDomains: c.minDomains ?? 1,
    honorAffinity: (c.nodeAffinityPolicy ?? 'Honor') === 'Honor',
    honorTaints: (c.nodeTaintsPolicy ?? 'Ignore') === 'Honor',
  };
}

function allOf(selectors: LabelSelector[]): LabelSelector {
  if (selectors.length === 1) return selectors[0]!;
  const text = selectors.map((s) => s.toString()).join(',');
  return { requirements: selectors.flatMap((s) => s.requirements), empty: false, matches: (l) => selectors.every((s) => s.matches(l)), toString: () => text };
}

/** The pod's constraints of one kind; the system defaults stand in when it declares none. */
function constraintsOf(ctx: CycleContext, kind: 'DoNotSchedule' | 'ScheduleAnyway'): { constraints: Constraint[]; defaulted: boolean } {
  const pod = ctx.pod.pod;
  const declared = pod.spec?.topologySpreadConstraints ?? [];
  if (declared.length > 0) return { constraints: declared.filter((c) => c.whenUnsatisfiable === kind).map((c) => compile(pod, c)), defaulted: false };
  if (kind === 'DoNotSchedule') return { constraints: [], defaulted: true };
  const selectors = ctx.snapshot.spreadSelectorsFor(pod);
  if (selectors.length === 0) return { constraints: [], defaulted: true };
  const selector = allOf(selectors);
  const base = { selector, minDomains: 1, honorAffinity: true, honorTaints: false };
  return { constraints: [{ ...base, topologyKey: HOSTNAME, maxSkew: 3 }, { ...base, topologyKey: ZONE, maxSkew: 5 }], defaulted: true };
}

function hasAllKeys(node: NodeInfo, cs: Constraint[]): boolean {
  for (const c of cs) if (node.labels[c.topologyKey] === undefined) return false;
  return true;
}

function included(c: Constraint, pod: Pod, node: NodeInfo): boolean {
  if (c.honorAffinity && node.node && !requiredNodeAffinityMatches(pod, node.node)) return false;
  if (c.honorTaints && firstUntoleratedTaint(node.node?.spec?.taints, pod.spec?.tolerations, ['NoSchedule', 'NoExecute'])) return false;
  return true;
}

/** Matching pods on a node, from the node's incrementally kept counts when the selector was asked before. */
const selectorText = new WeakMap<LabelSelector, string>();

function countKey(selector: LabelSelector, namespace: string): string {
  let text = selectorText.get(selector);
  if (text === undefined) selectorText.set(selector, (text = selector.toString()));
  return `${namespace}|${text}`;
}

function countOnNode(node: NodeInfo, selector: LabelSelector, namespace: string, key = countKey(selector, namespace)): number {
  const hit = node.matchCounts.get(key);
  if (hit) return hit.count;
  const count = countMatching(node.pods, selector, namespace);
  if (node.matchCounts.size > 256) node.matchCounts.clear();
  node.matchCounts.set(key, { selector, namespace, count });
  return count;
}

export function countMatching(pods: readonly PodInfo[], selector: LabelSelector, namespace: string): number {
  let n = 0;
  for (const p of pods) {
    if (p.namespace !== namespace || p.pod.metadata?.deletionTimestamp) continue;
    if (selector.matches(p.pod.metadata?.labels)) n++;
  }
  return n;
}

interface FilterState {
  constraints: Constraint[];
  /** Per constraint: domain value → matching pods. */
  counts: Map<string, number>[];
}

interface ScoreState {
  constraints: Constraint[];
  /** Per constraint: the per-node count cache key. */
  keys: string[];
  counts: Map<string, number>[];
  weights: number[];
  ignored: Set<string>;
}

const FILTER = 'PodTopologySpread/filter';
const SCORE = 'PodTopologySpread/score';
const INVALID = -1;

export const podTopologySpread: Plugin = {
  name: 'PodTopologySpread',
  weight: 2,
  preFilter(ctx) {
    const { constraints } = constraintsOf(ctx, 'DoNotSchedule');
    if (constraints.length === 0) return { status: skip };
    const pod = ctx.pod.pod;
    const counts = constraints.map(() => new Map<string, number>());
    for (const node of ctx.snapshot.nodes()) {
      if (!hasAllKeys(node, constraints)) continue;
      constraints.forEach((c, i) => {
        if (!included(c, pod, node)) return;
        const v = node.labels[c.topologyKey]!;
        counts[i]!.set(v, (counts[i]!.get(v) ?? 0) + countOnNode(node, c.selector, ctx.pod.namespace));
      });
    }
    ctx.state.set(FILTER, { constraints, counts } satisfies FilterState);
    return undefined;
  },
  filter(ctx, node) {
    const st = ctx.state.get(FILTER) as FilterState;
    const labels = ctx.pod.pod.metadata?.labels;
    for (let i = 0; i < st.constraints.length; i++) {
      const c = st.constraints[i]!;
      const v = node.labels[c.topologyKey];
      if (v === undefined) return unresolvable("node(s) didn't match pod topology spread constraints (missing required label)");
      const domains = st.counts[i]!;
      let min = domains.size < c.minDomains ? 0 : Infinity;
      if (min !== 0) for (const n of domains.values()) if (n < min) min = n;
      const self = c.selector.matches(labels) ? 1 : 0;
      if ((domains.get(v) ?? 0) + self - min > c.maxSkew) return unschedulable("node(s) didn't match pod topology spread constraints");
    }
    return undefined;
  },
  preScore(ctx, feasible) {
    if (feasible.length === 0) return skip;
    const { constraints, defaulted } = constraintsOf(ctx, 'ScheduleAnyway');
    if (constraints.length === 0) return skip;
    // System defaults do not require every key: nodes without a zone still spread by hostname.
    const requireAll = !defaulted;
    const pod = ctx.pod.pod;
    const st: ScoreState = { constraints, keys: constraints.map((c) => countKey(c.selector, ctx.pod.namespace)), counts: constraints.map(() => new Map()), weights: [], ignored: new Set() };
    const sizes = constraints.map(() => 0);
    for (const node of feasible) {
      if (requireAll && !hasAllKeys(node, constraints)) {
        st.ignored.add(node.name);
        continue;
      }
      constraints.forEach((c, i) => {
        if (c.topologyKey === HOSTNAME) return;
        const v = node.labels[c.topologyKey] ?? '';
        if (!st.counts[i]!.has(v)) {
          st.counts[i]!.set(v, 0);
          sizes[i]!++;
        }
      });
    }
    st.weights = constraints.map((c, i) => Math.log((c.topologyKey === HOSTNAME ? feasible.length - st.ignored.size : sizes[i]!) + 2));
    for (const node of ctx.snapshot.nodes()) {
      if (requireAll && !hasAllKeys(node, constraints)) continue;
      for (let i = 0; i < constraints.length; i++) {
        const c = constraints[i]!;
        if (c.topologyKey === HOSTNAME) continue;
        const m = st.counts[i]!;
        const v = node.labels[c.topologyKey] ?? '';
        const cur = m.get(v);
        if (cur === undefined || !included(c, pod, node)) continue;
        m.set(v, cur + countOnNode(node, c.selector, ctx.pod.namespace, st.keys[i]));
      }
    }
    ctx.state.set(SCORE, st);
    return undefined;
  },
  score(ctx, node) {
    const st = ctx.state.get(SCORE) as ScoreState;
    if (st.ignored.has(node.name)) return 0;
    let score = 0;
    for (let i = 0; i < st.constraints.length; i++) {
      const c = st.constraints[i]!;
      const v = node.labels[c.topologyKey];
      if (v === undefined) continue;
      const cnt = c.topologyKey === HOSTNAME ? countOnNode(node, c.selector, ctx.pod.namespace, st.keys[i]) : (st.counts[i]!.get(v) ?? 0);
      score += cnt * st.weights[i]! + (c.maxSkew - 1);
    }
    return Math.round(score);
  },
  normalizeScore(ctx, scores: NodeScore[]) {
    const st = ctx.state.get(SCORE) as ScoreState;
    let min = Infinity;
    let max = 0;
    for (const s of scores) {
      if (st.ignored.has(s.node.name)) {
        s.score = INVALID;
        continue;
      }
      if (s.score < min) min = s.score;
      if (s.score > max) max = s.score;
    }
    for (const s of scores) {
      if (s.score === INVALID) s.score = 0;
      else if (max === 0) s.score = MAX_NODE_SCORE;
      else s.score = Math.trunc((MAX_NODE_SCORE * (max + min - s.score)) / max);
    }
  },
};
