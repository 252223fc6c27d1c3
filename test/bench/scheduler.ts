// `npm run bench -- scheduler`: pods scheduled per second on 100 simulated nodes, 5000 pods, next
// to a bare pods/binding write loop over the same in-memory Client in the same run.
//   1. binding loop   — createSubresource(binding) per pod, round-robin nodes, nothing else
//   2. core + binding — scheduleOne over the cache, assume, then the same binding write
//   3. full Scheduler — informers, queue, assume, background bindings, events; created → all bound
// Pods belong to 50 ReplicaSets (so default topology spreading is active), with requests; every
// 10th has a nodeSelector, every 20th a preferred pod anti-affinity.

import { performance } from 'node:perf_hooks';
import type { KubeObject } from '../../src/client/types.ts';
import { buildState } from '../../src/scheduler/cluster-state.ts';
import { scheduleOne } from '../../src/scheduler/framework.ts';
import type { Node, Pod } from '../../src/scheduler/k8s.ts';
import { Scheduler, refs } from '../../src/scheduler/scheduler.ts';
import { newPodInfo } from '../../src/scheduler/types.ts';
import { FakeClient } from '../helpers/fake-client.ts';
import { node, pod } from '../helpers/sched-fixtures.ts';

const NODES = 100;
const PODS = 5000;
const RS = 50;

function nodes(): Node[] {
  return Array.from({ length: NODES }, (_, i) =>
    node(`node-${i}`, { cpu: '32', memory: '64Gi', pods: '110', labels: { 'topology.kubernetes.io/zone': `z${i % 3}`, tier: i % 2 ? 'a' : 'b' } }),
  );
}

function pods(): Pod[] {
  return Array.from({ length: PODS }, (_, i) => {
    const rs = `rs-${i % RS}`;
    const spec: Partial<NonNullable<Pod['spec']>> = {};
    if (i % 10 === 0) spec.nodeSelector = { tier: 'a' };
    if (i % 20 === 0) {
      spec.affinity = { podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 10, podAffinityTerm: { labelSelector: { matchLabels: { app: rs } }, topologyKey: 'kubernetes.io/hostname' } }] } };
    }
    const p = pod(`p-${i}`, { cpu: '100m', memory: '128Mi', labels: { app: rs }, spec });
    p.metadata!.ownerReferences = [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: rs, uid: `uid-${rs}`, controller: true }];
    return p;
  });
}

const replicaSets = () =>
  Array.from({ length: RS }, (_, i) => ({ apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: `rs-${i}`, namespace: 'default' }, spec: { selector: { matchLabels: { app: `rs-${i}` } } } }));

async function seeded(withPods: boolean): Promise<FakeClient> {
  const c = new FakeClient();
  for (const n of nodes()) await c.create(refs.nodes, n as unknown as KubeObject);
  for (const r of replicaSets()) await c.create(refs.replicaSets, r as unknown as KubeObject);
  if (withPods) for (const p of pods()) await c.create(refs.pods, p as unknown as KubeObject);
  return c;
}

const bindingBody = (name: string, node: string) => ({ apiVersion: 'v1', kind: 'Binding', metadata: { name, namespace: 'default' }, target: { apiVersion: 'v1', kind: 'Node', name: node } });

async function bindingLoop(): Promise<number> {
  const c = await seeded(true);
  const t0 = performance.now();
  for (let i = 0; i < PODS; i++) await c.createSubresource(refs.pods, `p-${i}`, 'binding', bindingBody(`p-${i}`, `node-${i % NODES}`), 'default');
  return PODS / ((performance.now() - t0) / 1000);
}

async function coreWithBinding(): Promise<{ rate: number; perNode: number[] }> {
  const c = await seeded(true);
  const state = buildState({ nodes: nodes(), workloads: replicaSets().map((obj) => ({ kind: 'ReplicaSet' as const, obj })) });
  const cursor = { next: 0 };
  const t0 = performance.now();
  for (const p of pods()) {
    const info = newPodInfo(p);
    const r = scheduleOne(info, state, { cursor });
    if (!('node' in r)) throw new Error(`unschedulable: ${r.fitError.message}`);
    state.addPod(info, r.node);
    await c.createSubresource(refs.pods, info.name, 'binding', bindingBody(info.name, r.node), 'default');
  }
  const rate = PODS / ((performance.now() - t0) / 1000);
  return { rate, perNode: state.nodes().map((n) => n.pods.length) };
}

async function fullScheduler(): Promise<number> {
  const c = await seeded(false);
  const ac = new AbortController();
  const s = new Scheduler(c, { optionalSyncTimeoutMs: 500 });
  await s.start(ac.signal);
  const t0 = performance.now();
  for (const p of pods()) await c.create(refs.pods, p as unknown as KubeObject);
  const deadline = Date.now() + 120_000;
  while (c.calls.bindings < PODS && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  const rate = c.calls.bindings / ((performance.now() - t0) / 1000);
  await s.idle();
  ac.abort();
  return rate;
}

export async function main(): Promise<void> {
  const f = (n: number) => n.toFixed(0).padStart(7);
  console.log(`scheduler benchmark: ${NODES} simulated nodes, ${PODS} pods (in-memory Client)`);
  const bind = await bindingLoop();
  console.log(`  bare pods/binding loop        ${f(bind)} pods/s`);
  const core = await coreWithBinding();
  console.log(`  scheduleOne + binding         ${f(core.rate)} pods/s  (${(core.rate / bind).toFixed(2)}× binding loop)`);
  const full = await fullScheduler();
  console.log(`  full Scheduler (informers)    ${f(full)} pods/s  (${(full / bind).toFixed(2)}× binding loop)`);
  const min = Math.min(...core.perNode);
  const max = Math.max(...core.perNode);
  console.log(`  spread: ${min}..${max} pods per node`);
  const ok = core.rate >= 300 && core.rate / bind >= 0.5;
  console.log(ok ? '  goal met (≥ 300 pods/s and ≥ 0.5× the binding loop)' : '  goal NOT met (≥ 300 pods/s and ≥ 0.5× the binding loop)');
}
