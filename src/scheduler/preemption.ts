// PostFilter: when no node fits, find a node where evicting lower-priority pods makes room. Per
// node the dry run removes every lower-priority pod, checks the pod fits, then gives back as many
// as possible (most important first). The node is picked by upstream's criteria: lowest highest
// victim priority, then lowest priority sum, fewest victims, latest start of the top victims.
// PodDisruptionBudgets are not consulted yet.

import type { Pod } from './k8s.ts';
import { OverlaySnapshot } from './cluster-state.ts';
import { filterNode, reasonHistogram, runPreFilters, type FitError } from './framework.ts';
import { defaultPlugins } from './plugins/index.ts';
import { unresolvable, type ClusterSnapshot, type NodeInfo, type Plugin, type PodInfo, type Status } from './types.ts';

export interface PreemptionResult {
  /** The node the preemptor is nominated to, with the pods to evict there. */
  candidate?: { node: string; victims: PodInfo[] };
  /** "preemption: ..." text for the FitError, always set. */
  message: string;
}

const NOT_HELPFUL = 'Preemption is not helpful for scheduling';

function startTime(p: Pod): number {
  const t = p.status?.startTime ?? p.metadata?.creationTimestamp;
  return t ? Date.parse(t) : 0;
}

/** More important first: higher priority, then the one that started earlier. */
function moreImportant(a: PodInfo, b: PodInfo): number {
  if (a.priority !== b.priority) return b.priority - a.priority;
  return startTime(a.pod) - startTime(b.pod);
}

function terminatingByPreemption(p: Pod): boolean {
  if (!p.metadata?.deletionTimestamp) return false;
  return (p.status?.conditions ?? []).some((c) => c.type === 'DisruptionTarget' && c.status === 'True' && c.reason === 'PreemptionByScheduler');
}

function fitsOn(pod: PodInfo, snapshot: ClusterSnapshot, node: NodeInfo, plugins: readonly Plugin[]): Status | undefined {
  const view = new OverlaySnapshot(snapshot, new Map([[node.name, node]]));
  const ctx = { pod, snapshot: view, state: new Map<string, unknown>() };
  const pre = runPreFilters(ctx, plugins);
  if (pre.status) return pre.status;
  if (pre.allowed && !pre.allowed.has(node.name)) return unresolvable(`node(s) didn't satisfy plugin(s) [${pre.allowedBy.join(' ')}]`);
  return filterNode(ctx, plugins, pre.skipped, node);
}

function selectVictims(pod: PodInfo, snapshot: ClusterSnapshot, node: NodeInfo, plugins: readonly Plugin[]): { victims: PodInfo[] } | { status: Status } {
  const sim = node.clone();
  const potential = sim.pods.filter((p) => p.priority < pod.priority);
  if (potential.length === 0) return { status: unresolvable('No preemption victims found for incoming pod') };
  for (const p of potential) sim.removePod(p.key);
  const st = fitsOn(pod, snapshot, sim, plugins);
  if (st) return { status: st };
  const victims: PodInfo[] = [];
  for (const p of potential.sort(moreImportant)) {
    sim.addPod(p);
    if (fitsOn(pod, snapshot, sim, plugins)) {
      sim.removePod(p.key);
      victims.push(p);
    }
  }
  return { victims };
}

interface Candidate {
  node: string;
  victims: PodInfo[];
}

function pickCandidate(cands: Candidate[]): Candidate {
  const key = (c: Candidate) => {
    const top = Math.max(...c.victims.map((v) => v.priority));
    // Upstream offsets each priority by 2^31 so the sum also favours fewer victims.
    const sum = c.victims.reduce((a, v) => a + v.priority + 2 ** 31, 0);
    const topStarts = c.victims.filter((v) => v.priority === top).map((v) => startTime(v.pod));
    return { top, sum, count: c.victims.length, earliestTop: Math.min(...topStarts) };
  };
  let best = cands[0]!;
  let bk = key(best);
  for (const c of cands.slice(1)) {
    const k = key(c);
    const better = k.top !== bk.top ? k.top < bk.top : k.sum !== bk.sum ? k.sum < bk.sum : k.count !== bk.count ? k.count < bk.count : k.earliestTop > bk.earliestTop;
    if (better) {
      best = c;
      bk = k;
    }
  }
  return best;
}

export function preempt(pod: PodInfo, snapshot: ClusterSnapshot, fit: FitError, plugins: readonly Plugin[] = defaultPlugins): PreemptionResult {
  if (pod.pod.spec?.preemptionPolicy === 'Never') return { message: 'preemption: not eligible due to preemptionPolicy=Never.' };
  const nominated = pod.pod.status?.nominatedNodeName;
  if (nominated && fit.statuses.get(nominated)?.code !== 'UnschedulableAndUnresolvable') {
    const n = snapshot.node(nominated);
    if (n?.pods.some((p) => p.priority < pod.priority && terminatingByPreemption(p.pod))) {
      return { message: 'preemption: not eligible due to a terminating pod on the nominated node.' };
    }
  }
  const all = snapshot.nodes();
  const statuses = new Map<string, Status>();
  const cands: Candidate[] = [];
  for (const node of all) {
    const st = fit.statuses.get(node.name);
    if (!st || st.code === 'UnschedulableAndUnresolvable') {
      statuses.set(node.name, unresolvable(NOT_HELPFUL));
      continue;
    }
    const r = selectVictims(pod, snapshot, node, plugins);
    if ('status' in r) statuses.set(node.name, r.status);
    else cands.push({ node: node.name, victims: r.victims });
  }
  if (cands.length === 0) return { message: `preemption: 0/${all.length} nodes are available: ${reasonHistogram(statuses)}.` };
  const c = pickCandidate(cands);
  return { candidate: c, message: '' };
}
