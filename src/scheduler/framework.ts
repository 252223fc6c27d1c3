// One scheduling decision, pure: PreFilter → Filter over (a rotating slice of) the nodes →
// PreScore/Score/NormalizeScore weighted and summed → the best node, ties broken at random. A
// refusal comes back as a FitError holding each node's status, which renders upstream's
// "0/N nodes are available: ..." message.

import { defaultPlugins } from './plugins/index.ts';
import { newPodInfo, type ClusterSnapshot, type CycleContext, type NodeInfo, type NodeScore, type Plugin, type PodInfo, type Status } from './types.ts';
import type { Pod } from './k8s.ts';

export class FitError {
  /** The PostFilter (preemption) outcome, e.g. "preemption: 0/3 nodes are available: ...". */
  postFilterMsg = '';
  constructor(
    readonly numAllNodes: number,
    /** Per-node status of the nodes that were evaluated (or all, after a PreFilter refusal). */
    readonly statuses: Map<string, Status>,
    /** Set when a PreFilter plugin refused the pod for every node. */
    readonly preFilterMsg = '',
  ) {}

  get message(): string {
    if (this.numAllNodes === 0) return 'no nodes available to schedule pods';
    let msg = `0/${this.numAllNodes} nodes are available:`;
    if (this.preFilterMsg) msg += ` ${this.preFilterMsg}.`;
    else {
      const hist = reasonHistogram(this.statuses);
      if (hist) msg += ` ${hist}.`;
    }
    if (this.postFilterMsg) msg += ` ${this.postFilterMsg}`;
    return msg;
  }

  /** Plugins whose refusals might go away when the cluster changes (what to wait for). */
  get plugins(): Set<string> {
    const s = new Set<string>();
    for (const st of this.statuses.values()) if (st.plugin) s.add(st.plugin);
    return s;
  }
}

/** "1 Insufficient cpu, 2 node(s) had untolerated taint {...}": reasons counted, sorted as text. */
export function reasonHistogram(statuses: Iterable<Status> | Map<string, Status>): string {
  const counts = new Map<string, number>();
  const list = statuses instanceof Map ? statuses.values() : statuses;
  for (const st of list) for (const r of st.reasons) counts.set(r, (counts.get(r) ?? 0) + 1);
  return [...counts].map(([r, n]) => `${n} ${r}`).sort().join(', ');
}

export interface ScheduleOptions {
  plugins?: readonly Plugin[];
  /** [0,1) source for tie breaking (default Math.random). */
  random?: () => number;
  /** Where the next node search starts; advanced by each call, like upstream's nextStartNodeIndex. */
  cursor?: { next: number };
  /** Percentage of nodes to look at; 0 (default) is upstream's adaptive rule. */
  percentageOfNodesToScore?: number;
}

export type ScheduleResult =
  | { node: string; ctx: CycleContext; evaluatedNodes: number; feasibleNodes: number; totals?: Map<string, number> }
  | { fitError: FitError; ctx: CycleContext };

const MIN_FEASIBLE_NODES_TO_FIND = 100;
const MIN_FEASIBLE_NODES_PERCENTAGE = 5;

export function numFeasibleNodesToFind(numAllNodes: number, percentage = 0): number {
  if (numAllNodes < MIN_FEASIBLE_NODES_TO_FIND) return numAllNodes;
  let pct = percentage;
  if (pct <= 0) pct = Math.max(MIN_FEASIBLE_NODES_PERCENTAGE, 50 - Math.trunc(numAllNodes / 125));
  const n = Math.trunc((numAllNodes * pct) / 100);
  return n < MIN_FEASIBLE_NODES_TO_FIND ? MIN_FEASIBLE_NODES_TO_FIND : n;
}

/** The filter plugins (minus those that skipped in PreFilter) on one node; the first refusal wins. */
export function runFilters(ctx: CycleContext, plugins: readonly Plugin[], skipped: ReadonlySet<string>, node: NodeInfo): Status | undefined {
  for (const p of plugins) {
    if (!p.filter || skipped.has(p.name)) continue;
    const st = p.filter(ctx, node);
    if (st && st.code !== 'Success') return { ...st, plugin: p.name };
  }
  return undefined;
}

/**
 * Filters with the pods nominated to the node (by earlier preemptions, priority ≥ ours) counted as
 * if already there, then without them, so that a nominated pod's room is neither taken nor needed.
 */
export function filterNode(ctx: CycleContext, plugins: readonly Plugin[], skipped: ReadonlySet<string>, node: NodeInfo): Status | undefined {
  const all = ctx.snapshot.nominatedPods(node.name);
  const nominated = all.length === 0 ? all : all.filter((p) => p.key !== ctx.pod.key && p.priority >= ctx.pod.priority);
  if (nominated.length === 0) return runFilters(ctx, plugins, skipped, node);
  const withNominated = node.clone();
  for (const p of nominated) withNominated.addPod(p);
  return runFilters(ctx, plugins, skipped, withNominated) ?? runFilters(ctx, plugins, skipped, node);
}

export interface PreFilterRun {
  skipped: Set<string>;
  /** Set when PreFilter refused the pod everywhere. */
  status?: Status;
  /** Only these nodes may pass (undefined: all). */
  allowed?: Set<string>;
  allowedBy: string[];
}

export function runPreFilters(ctx: CycleContext, plugins: readonly Plugin[]): PreFilterRun {
  const run: PreFilterRun = { skipped: new Set(), allowedBy: [] };
  for (const p of plugins) {
    if (!p.preFilter) continue;
    const out = p.preFilter(ctx);
    if (!out) continue;
    if (out.status?.code === 'Skip') {
      run.skipped.add(p.name);
      continue;
    }
    if (out.status && out.status.code !== 'Success') {
      run.status = { ...out.status, plugin: p.name };
      return run;
    }
    if (out.nodeNames) {
      run.allowedBy.push(p.name);
      run.allowed = run.allowed ? new Set([...run.allowed].filter((n) => out.nodeNames!.has(n))) : new Set(out.nodeNames);
      if (run.allowed.size === 0) {
        const names = run.allowedBy;
        run.status = { code: 'Unschedulable', reasons: [names.length === 1 ? `node(s) didn't satisfy plugin ${names[0]}` : `node(s) didn't satisfy plugin(s) [${names.join(' ')}] simultaneously`], plugin: p.name };
        return run;
      }
    }
  }
  return run;
}

export function newCycle(pod: PodInfo, snapshot: ClusterSnapshot): CycleContext {
  return { pod, snapshot, state: new Map() };
}

export function scheduleOne(podOrInfo: Pod | PodInfo, snapshot: ClusterSnapshot, opts: ScheduleOptions = {}): ScheduleResult {
  const pod = 'pod' in podOrInfo && 'key' in podOrInfo ? (podOrInfo as PodInfo) : newPodInfo(podOrInfo as Pod);
  const plugins = opts.plugins ?? defaultPlugins;
  const ctx = newCycle(pod, snapshot);
  const all = snapshot.nodes();
  if (all.length === 0) return { fitError: new FitError(0, new Map()), ctx };

  const pre = runPreFilters(ctx, plugins);
  if (pre.status) {
    const statuses = new Map<string, Status>();
    for (const n of all) statuses.set(n.name, pre.status);
    return { fitError: new FitError(all.length, statuses, pre.status.reasons.join(', ')), ctx };
  }

  const statuses = new Map<string, Status>();
  let candidates = all;
  if (pre.allowed) {
    const unresolvedBy: Status = { code: 'UnschedulableAndUnresolvable', reasons: [`node(s) didn't satisfy plugin(s) [${[...pre.allowedBy].sort().join(' ')}]`], plugin: pre.allowedBy[0]! };
    candidates = [];
    for (const n of all) {
      if (pre.allowed.has(n.name)) candidates.push(n);
      else statuses.set(n.name, unresolvedBy);
    }
  }

  // A pod nominated by an earlier preemption goes straight back to its node if it fits now.
  const nominatedName = pod.pod.status?.nominatedNodeName;
  if (nominatedName) {
    const n = snapshot.node(nominatedName);
    if (n && (!pre.allowed || pre.allowed.has(n.name)) && !filterNode(ctx, plugins, pre.skipped, n)) {
      return { node: n.name, ctx, evaluatedNodes: 1, feasibleNodes: 1 };
    }
  }

  const want = numFeasibleNodesToFind(candidates.length, opts.percentageOfNodesToScore);
  const feasible: NodeInfo[] = [];
  const start = opts.cursor ? opts.cursor.next % Math.max(candidates.length, 1) : 0;
  let processed = 0;
  for (let i = 0; i < candidates.length && feasible.length < want; i++) {
    const node = candidates[(start + i) % candidates.length]!;
    processed++;
    const st = filterNode(ctx, plugins, pre.skipped, node);
    if (st) statuses.set(node.name, st);
    else feasible.push(node);
  }
  if (opts.cursor && candidates.length > 0) opts.cursor.next = (start + processed) % candidates.length;

  if (feasible.length === 0) return { fitError: new FitError(all.length, statuses), ctx };
  if (feasible.length === 1) return { node: feasible[0]!.name, ctx, evaluatedNodes: processed, feasibleNodes: 1 };

  const totals = scoreNodes(ctx, plugins, feasible);
  return { node: selectHost(feasible, totals, opts.random ?? Math.random), ctx, evaluatedNodes: processed, feasibleNodes: feasible.length, totals };
}

/** Weighted sum of every score plugin's normalized score, per feasible node. */
export function scoreNodes(ctx: CycleContext, plugins: readonly Plugin[], feasible: NodeInfo[], perPlugin?: Map<string, number[]>): Map<string, number> {
  const totals = new Array<number>(feasible.length).fill(0);
  for (const p of plugins) {
    if (!p.score) continue;
    if (p.preScore?.(ctx, feasible)?.code === 'Skip') continue;
    const scores: NodeScore[] = feasible.map((node) => ({ node, score: p.score!(ctx, node) }));
    p.normalizeScore?.(ctx, scores);
    const w = p.weight ?? 1;
    for (let i = 0; i < scores.length; i++) totals[i]! += scores[i]!.score * w;
    perPlugin?.set(p.name, scores.map((s) => s.score));
  }
  const out = new Map<string, number>();
  feasible.forEach((n, i) => out.set(n.name, totals[i]!));
  return out;
}

function selectHost(feasible: NodeInfo[], totals: Map<string, number>, random: () => number): string {
  let best = -Infinity;
  let chosen = '';
  let ties = 0;
  for (const n of feasible) {
    const s = totals.get(n.name)!;
    if (s > best) {
      best = s;
      chosen = n.name;
      ties = 1;
    } else if (s === best) {
      // Reservoir sampling: each of the tied nodes ends up chosen with equal probability.
      ties++;
      if (Math.floor(random() * ties) === 0) chosen = n.name;
    }
  }
  return chosen;
}
