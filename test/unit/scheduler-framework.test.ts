// The framework over a simulated cluster (kwok-style: nodes are just objects): 50 nodes with
// labels, taints and capacities, 1000 pods with mixed constraints, placed one at a time as the
// scheduler does (each placement assumed before the next decision). Every placement is checked by
// an independent checker, every refusal by an independent fit search, and plain pods' choices
// against a small oracle of LeastAllocated + BalancedAllocation.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildState } from '../../src/scheduler/cluster-state.ts';
import { scheduleOne } from '../../src/scheduler/framework.ts';
import { preempt } from '../../src/scheduler/preemption.ts';
import type { Node, Pod } from '../../src/scheduler/k8s.ts';
import { newPodInfo } from '../../src/scheduler/types.ts';
import { node, pod } from '../helpers/sched-fixtures.ts';

function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a |= 0;
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ZONES = ['z0', 'z1', 'z2', 'z3', 'z4'];
type Kind = 'plain' | 'selector' | 'toleration' | 'anti' | 'spread' | 'port' | 'big';

function cluster(): Node[] {
  const nodes: Node[] = [];
  for (let i = 0; i < 50; i++) {
    const big = i % 5 === 0;
    nodes.push(
      node(`node-${String(i).padStart(2, '0')}`, {
        cpu: big ? '16' : '8',
        memory: big ? '32Gi' : '16Gi',
        pods: '40',
        labels: { 'topology.kubernetes.io/zone': ZONES[i % 5]!, disk: i % 3 === 0 ? 'ssd' : 'hdd' },
        ...(i % 10 === 9 ? { taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] } : {}),
        ...(i === 7 ? { unschedulable: true } : {}),
      }),
    );
  }
  return nodes;
}

function workload(rand: () => number): { pod: Pod; kind: Kind; group?: string }[] {
  const out: { pod: Pod; kind: Kind; group?: string }[] = [];
  const kinds: Kind[] = ['plain', 'plain', 'plain', 'selector', 'toleration', 'anti', 'spread', 'port', 'big'];
  for (let i = 0; i < 1000; i++) {
    const kind = kinds[Math.floor(rand() * kinds.length)]!;
    const cpu = `${100 + Math.floor(rand() * 4) * 100}m`;
    const memory = `${128 * (1 + Math.floor(rand() * 4))}Mi`;
    const name = `p-${i}`;
    switch (kind) {
      case 'plain':
        out.push({ kind, pod: pod(name, { cpu, memory }) });
        break;
      case 'selector':
        out.push({ kind, pod: pod(name, { cpu, memory, spec: { nodeSelector: { disk: 'ssd' } } }) });
        break;
      case 'toleration':
        out.push({ kind, pod: pod(name, { cpu, memory, spec: { tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'gpu', effect: 'NoSchedule' }] } }) });
        break;
      case 'anti': {
        const group = `anti-${i % 4}`;
        const term = { labelSelector: { matchLabels: { group } }, topologyKey: 'kubernetes.io/hostname' };
        out.push({ kind, group, pod: pod(name, { cpu, memory, labels: { group }, spec: { affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term] } } } }) });
        break;
      }
      case 'spread': {
        const group = `spread-${i % 3}`;
        const c = { maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { group } } };
        out.push({ kind, group, pod: pod(name, { cpu, memory, labels: { group }, spec: { topologySpreadConstraints: [c] } }) });
        break;
      }
      case 'port':
        out.push({ kind, pod: pod(name, { cpu, spec: { containers: [{ name: 'c', image: 'x', resources: { requests: { cpu } }, ports: [{ containerPort: 80, hostPort: 9000 + (i % 2) }] }] } }) });
        break;
      case 'big':
        out.push({ kind, pod: pod(name, { cpu: '6', memory: '4Gi' }) });
        break;
    }
  }
  return out;
}

const milli = (q: string) => (q.endsWith('m') ? Number(q.slice(0, -1)) : Number(q) * 1000);
const bytes = (q: string) => (q.endsWith('Gi') ? Number(q.slice(0, -2)) * 2 ** 30 : q.endsWith('Mi') ? Number(q.slice(0, -2)) * 2 ** 20 : Number(q));
const req = (p: Pod) => {
  const r = p.spec!.containers[0]!.resources?.requests ?? {};
  return { cpu: r.cpu ? milli(String(r.cpu)) : 0, mem: r.memory ? bytes(String(r.memory)) : 0 };
};

describe('scheduling framework on 50 simulated nodes', () => {
  it('places 1000 mixed pods satisfying every constraint, refuses only when nothing fits, and scores like the oracle', () => {
    const rand = mulberry32(42);
    const nodes = cluster();
    const byName = new Map(nodes.map((n) => [n.metadata!.name!, n]));
    const state = buildState({ nodes });
    const placed = new Map<string, { pod: Pod; kind: Kind; group?: string }[]>();
    for (const n of nodes) placed.set(n.metadata!.name!, []);
    const used = (n: string) => placed.get(n)!.reduce((a, p) => ({ cpu: a.cpu + req(p.pod).cpu, mem: a.mem + req(p.pod).mem }), { cpu: 0, mem: 0 });
    const usedNonZero = (n: string) =>
      placed.get(n)!.reduce((a, p) => ({ cpu: a.cpu + (req(p.pod).cpu || 100), mem: a.mem + (req(p.pod).mem || 200 * 2 ** 20) }), { cpu: 0, mem: 0 });
    const alloc = (n: string) => ({ cpu: milli(String(byName.get(n)!.status!.allocatable!.cpu)), mem: bytes(String(byName.get(n)!.status!.allocatable!.memory)) });

    /** Independent feasibility for every constraint kind in the workload. */
    const fits = (w: { pod: Pod; kind: Kind; group?: string }, n: string): boolean => {
      const nd = byName.get(n)!;
      if (nd.spec?.unschedulable) return false;
      const tainted = (nd.spec?.taints ?? []).length > 0;
      if (tainted && w.kind !== 'toleration') return false;
      if (w.kind === 'selector' && nd.metadata!.labels!.disk !== 'ssd') return false;
      const u = used(n);
      const r = req(w.pod);
      const a = alloc(n);
      if (u.cpu + r.cpu > a.cpu || u.mem + r.mem > a.mem || placed.get(n)!.length + 1 > 40) return false;
      if (w.kind === 'anti' && placed.get(n)!.some((p) => p.group === w.group)) return false;
      if (w.kind === 'port') {
        const port = w.pod.spec!.containers[0]!.ports![0]!.hostPort;
        if (placed.get(n)!.some((p) => p.kind === 'port' && p.pod.spec!.containers[0]!.ports![0]!.hostPort === port)) return false;
      }
      if (w.kind === 'spread') {
        // Domains: zones of nodes eligible by node affinity (all nodes here: no selector).
        const counts = new Map(ZONES.map((z) => [z, 0]));
        for (const [name, ps] of placed) {
          const z = byName.get(name)!.metadata!.labels!['topology.kubernetes.io/zone']!;
          counts.set(z, counts.get(z)! + ps.filter((p) => p.group === w.group).length);
        }
        const min = Math.min(...counts.values());
        if (counts.get(nd.metadata!.labels!['topology.kubernetes.io/zone']!)! + 1 - min > 1) return false;
      }
      return true;
    };

    const oracle = (w: { pod: Pod }, n: string): number => {
      const a = alloc(n);
      const nz = usedNonZero(n);
      const r = req(w.pod);
      const least = (rq: number, cap: number) => (rq > cap ? 0 : Math.trunc(((cap - rq) * 100) / cap));
      const la = Math.trunc((least(nz.cpu + (r.cpu || 100), a.cpu) + least(nz.mem + (r.mem || 200 * 2 ** 20), a.mem)) / 2);
      const u = used(n);
      const f1 = Math.min((u.cpu + r.cpu) / a.cpu, 1);
      const f2 = Math.min((u.mem + r.mem) / a.mem, 1);
      const ba = r.cpu === 0 && r.mem === 0 ? 0 : Math.trunc((1 - Math.abs((f1 - f2) / 2)) * 100);
      return la + ba;
    };

    let scheduled = 0;
    let refused = 0;
    let oracleChecked = 0;
    const cursor = { next: 0 };
    for (const w of workload(rand)) {
      const expected = nodes.map((n) => n.metadata!.name!).filter((n) => fits(w, n));
      const r = scheduleOne(w.pod, state, { random: rand, cursor });
      if ('fitError' in r) {
        refused++;
        assert.deepEqual(expected, [], `${w.pod.metadata!.name} (${w.kind}) refused but fits ${expected.join(',')}: ${r.fitError.message}`);
        assert.match(r.fitError.message, /^0\/50 nodes are available: /);
        continue;
      }
      assert.ok(expected.includes(r.node), `${w.pod.metadata!.name} (${w.kind}) placed on ${r.node}, which breaks a constraint`);
      if (w.kind === 'plain' || w.kind === 'big') {
        const best = Math.max(...expected.map((n) => oracle(w, n)));
        assert.equal(oracle(w, r.node), best, `${w.pod.metadata!.name}: chose ${r.node} (${oracle(w, r.node)}), oracle best ${best}`);
        oracleChecked++;
      }
      state.addPod(newPodInfo({ ...w.pod, spec: { ...w.pod.spec!, nodeName: r.node } }), r.node);
      placed.get(r.node)!.push(w);
      scheduled++;
    }
    assert.ok(scheduled > 700, `only ${scheduled} scheduled`);
    assert.ok(refused > 0, 'the workload is meant to exhaust something (host ports, big pods)');
    assert.ok(oracleChecked > 300);
    // Anti-affinity groups: at most one pod per node.
    for (const ps of placed.values()) {
      const groups = ps.filter((p) => p.kind === 'anti').map((p) => p.group);
      assert.equal(new Set(groups).size, groups.length);
    }
  });

  it('preemption picks the node whose victims matter least and nominates it', () => {
    const nodes = [node('a', { cpu: '2' }), node('b', { cpu: '2' }), node('c', { cpu: '2', taints: [{ key: 'x', effect: 'NoSchedule' }] })];
    const pods = [pod('low-a', { cpu: '2', priority: 10, nodeName: 'a' }), pod('mid-b', { cpu: '2', priority: 50, nodeName: 'b' })];
    const state = buildState({ nodes, pods });
    const hi = newPodInfo(pod('hi', { cpu: '1', priority: 100 }));
    const r = scheduleOne(hi, state);
    assert.ok('fitError' in r);
    const p = preempt(hi, state, r.fitError);
    assert.equal(p.candidate?.node, 'a');
    assert.deepEqual(p.candidate?.victims.map((v) => v.name), ['low-a']);

    const lo = newPodInfo(pod('lo', { cpu: '1', priority: 5 }));
    const r2 = scheduleOne(lo, state);
    assert.ok('fitError' in r2);
    const p2 = preempt(lo, state, r2.fitError);
    assert.equal(p2.candidate, undefined);
    r2.fitError.postFilterMsg = p2.message;
    assert.equal(
      r2.fitError.message,
      '0/3 nodes are available: 1 node(s) had untolerated taint {x: }, 2 Insufficient cpu. preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, 2 No preemption victims found for incoming pod.',
    );
  });
});
