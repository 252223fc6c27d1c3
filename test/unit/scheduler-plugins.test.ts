// Table-driven cases per plugin, with facts (inputs, reasons, scores) taken from upstream's plugin
// tests and formulas.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildState } from '../../src/scheduler/cluster-state.ts';
import { newCycle, runPreFilters, scoreNodes, scheduleOne } from '../../src/scheduler/framework.ts';
import type { Node, Pod, PersistentVolume, PersistentVolumeClaim, StorageClass } from '../../src/scheduler/k8s.ts';
import { balancedAllocation } from '../../src/scheduler/plugins/balanced-allocation.ts';
import { imageLocality } from '../../src/scheduler/plugins/image-locality.ts';
import { interPodAffinity } from '../../src/scheduler/plugins/inter-pod-affinity.ts';
import { nodeAffinity } from '../../src/scheduler/plugins/node-affinity.ts';
import { nodePorts } from '../../src/scheduler/plugins/node-ports.ts';
import { nodeResourcesFit } from '../../src/scheduler/plugins/node-resources-fit.ts';
import { nodeUnschedulable } from '../../src/scheduler/plugins/node-unschedulable.ts';
import { podTopologySpread } from '../../src/scheduler/plugins/pod-topology-spread.ts';
import { taintToleration } from '../../src/scheduler/plugins/taint-toleration.ts';
import { volumeBinding } from '../../src/scheduler/plugins/volume-binding.ts';
import { volumeRestrictions } from '../../src/scheduler/plugins/volume-restrictions.ts';
import { defaultPlugins } from '../../src/scheduler/plugins/index.ts';
import { newPodInfo, type Plugin } from '../../src/scheduler/types.ts';
import { node, pod } from '../helpers/sched-fixtures.ts';

interface World {
  nodes: Node[];
  pods?: Pod[];
  pvcs?: PersistentVolumeClaim[];
  pvs?: PersistentVolume[];
  storageClasses?: StorageClass[];
}

/** Runs one plugin's PreFilter + Filter for each node: node name → reasons ("" when it fits). */
function filter(plugin: Plugin, incoming: Pod, world: World): Record<string, string> {
  const state = buildState(world);
  const ctx = newCycle(newPodInfo(incoming), state);
  const pre = runPreFilters(ctx, [plugin]);
  const out: Record<string, string> = {};
  for (const n of state.nodes()) {
    if (pre.status) out[n.name] = `prefilter: ${pre.status.reasons.join(', ')}`;
    else if (pre.skipped.has(plugin.name)) out[n.name] = '';
    else if (pre.allowed && !pre.allowed.has(n.name)) out[n.name] = 'not allowed';
    else {
      const st = plugin.filter!(ctx, n);
      out[n.name] = st ? `${st.code === 'UnschedulableAndUnresolvable' ? '!' : ''}${st.reasons.join(', ')}` : '';
    }
  }
  return out;
}

/** One plugin's normalized scores over all nodes. */
function scores(plugin: Plugin, incoming: Pod, world: World): Record<string, number> {
  const state = buildState(world);
  const ctx = newCycle(newPodInfo(incoming), state);
  runPreFilters(ctx, [plugin]);
  const per = new Map<string, number[]>();
  scoreNodes(ctx, [plugin], state.nodes(), per);
  const s = per.get(plugin.name);
  return Object.fromEntries(state.nodes().map((n, i) => [n.name, s ? s[i]! : 0]));
}

describe('NodeResourcesFit', () => {
  const busy = pod('busy', { cpu: '3', memory: '6Gi', nodeName: 'n1' });
  const cases: { name: string; pod: Pod; world?: World; want: string }[] = [
    { name: 'no requests fit a full node', pod: pod('p'), want: '' },
    { name: 'fits the remainder', pod: pod('p', { cpu: '1', memory: '2Gi' }), want: '' },
    { name: 'cpu and memory both short, all reasons kept', pod: pod('p', { cpu: '2', memory: '3Gi' }), want: 'Insufficient cpu, Insufficient memory' },
    { name: 'more than the whole node is unresolvable', pod: pod('p', { cpu: '5' }), want: '!Insufficient cpu' },
    {
      name: 'an init container larger than the containers counts',
      pod: pod('p', { cpu: '100m', spec: { initContainers: [{ name: 'i', image: 'x', resources: { requests: { cpu: '2' } } }] } }),
      want: 'Insufficient cpu',
    },
    {
      name: 'a sidecar adds to the containers',
      pod: pod('p', { cpu: '600m', spec: { initContainers: [{ name: 's', image: 'x', restartPolicy: 'Always', resources: { requests: { cpu: '500m' } } }] } }),
      want: 'Insufficient cpu',
    },
    { name: 'overhead counts', pod: pod('p', { cpu: '900m', spec: { overhead: { cpu: '200m' } } }), want: 'Insufficient cpu' },
    {
      name: 'extended resources',
      pod: pod('p', { spec: { containers: [{ name: 'c', image: 'x', resources: { limits: { 'example.com/gpu': '2' } } }] } }),
      want: '!Insufficient example.com/gpu',
    },
    { name: 'too many pods', pod: pod('p'), world: { nodes: [node('n1', { pods: '1' })], pods: [busy] }, want: 'Too many pods' },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const got = filter(nodeResourcesFit, c.pod, c.world ?? { nodes: [node('n1', { extra: { 'example.com/gpu': '1' } })], pods: [busy] });
      assert.equal(got.n1, c.want);
    });
  }

  it('LeastAllocated and BalancedAllocation scores on differently sized nodes', () => {
    // Upstream's case: nodes 4000m/10000 and 6000m/10000, pod 3000m/5000.
    const world = { nodes: [node('a', { cpu: '4000m', memory: '10000' }), node('b', { cpu: '6000m', memory: '10000' })] };
    const p = pod('p', { cpu: '3000m', memory: '5000' });
    assert.deepEqual(scores(nodeResourcesFit, p, world), { a: 37, b: 50 });
    assert.deepEqual(scores(balancedAllocation, p, world), { a: 87, b: 100 });
  });

  it('LeastAllocated counts 100m/200Mi for containers without requests', () => {
    const world = { nodes: [node('a', { cpu: '1', memory: '1Gi' })] };
    // cpu (1000-100)/1000 → 90; memory (1024-200)/1024 Mi → 80 (80.47 truncated); mean 85.
    assert.deepEqual(scores(nodeResourcesFit, pod('p'), world), { a: 85 });
  });

  it('BalancedAllocation skips best-effort pods', () => {
    const world = { nodes: [node('a'), node('b')], pods: [pod('x', { cpu: '3', nodeName: 'a' })] };
    assert.deepEqual(scores(balancedAllocation, pod('p'), world), { a: 0, b: 0 });
  });
});

describe('TaintToleration', () => {
  const cp = node('cp', { taints: [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }] });
  const cases: { name: string; tolerations?: NonNullable<Pod['spec']>['tolerations']; want: string }[] = [
    { name: 'untolerated NoSchedule', want: '!node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }' },
    { name: 'Exists on the key', tolerations: [{ key: 'node-role.kubernetes.io/control-plane', operator: 'Exists' }], want: '' },
    { name: 'empty key with Exists tolerates all', tolerations: [{ operator: 'Exists' }], want: '' },
    { name: 'wrong effect', tolerations: [{ key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoExecute' }], want: '!node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }' },
    { name: 'Equal needs the value', tolerations: [{ key: 'node-role.kubernetes.io/control-plane', value: 'x' }], want: '!node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }' },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const p = pod('p', { spec: c.tolerations ? { tolerations: c.tolerations } : {} });
      assert.equal(filter(taintToleration, p, { nodes: [cp] }).cp, c.want);
    });
  }

  it('PreferNoSchedule only lowers the score, reversed and normalized', () => {
    const prefer = (n: number) => Array.from({ length: n }, (_, i) => ({ key: `k${i}`, value: 'v', effect: 'PreferNoSchedule' }));
    const world = { nodes: [node('zero'), node('one', { taints: prefer(1) }), node('two', { taints: prefer(2) })] };
    assert.deepEqual(filter(taintToleration, pod('p'), world), { one: '', two: '', zero: '' });
    assert.deepEqual(scores(taintToleration, pod('p'), world), { zero: 100, one: 50, two: 0 });
    const tolerant = pod('p', { spec: { tolerations: [{ key: 'k0', operator: 'Equal', value: 'v', effect: 'PreferNoSchedule' }] } });
    assert.deepEqual(scores(taintToleration, tolerant, world), { zero: 100, one: 100, two: 0 });
  });
});

describe('NodeUnschedulable', () => {
  it('cordoned nodes refuse unless the pod tolerates node.kubernetes.io/unschedulable', () => {
    const world = { nodes: [node('a', { unschedulable: true }), node('b')] };
    assert.deepEqual(filter(nodeUnschedulable, pod('p'), world), { a: '!node(s) were unschedulable', b: '' });
    const tol = pod('p', { spec: { tolerations: [{ key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' }] } });
    assert.deepEqual(filter(nodeUnschedulable, tol, world), { a: '', b: '' });
  });
});

describe('NodeAffinity', () => {
  const world = { nodes: [node('a', { labels: { disk: 'ssd', gen: '5' } }), node('b', { labels: { disk: 'hdd', gen: '3' } }), node('c')] };
  const miss = "!node(s) didn't match Pod's node affinity/selector";
  const req = (...terms: object[]) => ({ affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: terms } } } }) as Partial<NonNullable<Pod['spec']>>;
  const cases: { name: string; spec: Partial<NonNullable<Pod['spec']>>; want: Record<string, string> }[] = [
    { name: 'nodeSelector', spec: { nodeSelector: { disk: 'ssd' } }, want: { a: '', b: miss, c: miss } },
    { name: 'In', spec: req({ matchExpressions: [{ key: 'disk', operator: 'In', values: ['ssd', 'hdd'] }] }), want: { a: '', b: '', c: miss } },
    { name: 'NotIn matches nodes without the label', spec: req({ matchExpressions: [{ key: 'disk', operator: 'NotIn', values: ['ssd'] }] }), want: { a: miss, b: '', c: '' } },
    { name: 'DoesNotExist', spec: req({ matchExpressions: [{ key: 'disk', operator: 'DoesNotExist' }] }), want: { a: miss, b: miss, c: '' } },
    { name: 'Gt compares integers', spec: req({ matchExpressions: [{ key: 'gen', operator: 'Gt', values: ['4'] }] }), want: { a: '', b: miss, c: miss } },
    { name: 'terms are ORed', spec: req({ matchExpressions: [{ key: 'disk', operator: 'In', values: ['ssd'] }] }, { matchExpressions: [{ key: 'gen', operator: 'Lt', values: ['4'] }] }), want: { a: '', b: '', c: miss } },
    { name: 'an empty term matches nothing', spec: req({}), want: { a: miss, b: miss, c: miss } },
    { name: 'nodeSelector and affinity must both match', spec: { nodeSelector: { disk: 'hdd' }, ...req({ matchExpressions: [{ key: 'gen', operator: 'Gt', values: ['4'] }] }) }, want: { a: miss, b: miss, c: miss } },
    { name: 'metadata.name narrows the nodes in PreFilter', spec: req({ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['b'] }] }), want: { a: 'not allowed', b: '', c: 'not allowed' } },
  ];
  for (const c of cases) it(c.name, () => assert.deepEqual(filter(nodeAffinity, pod('p', { spec: c.spec }), world), c.want));

  it('preferred terms: weights summed, normalized by the best node', () => {
    const p = pod('p', {
      spec: {
        affinity: {
          nodeAffinity: {
            preferredDuringSchedulingIgnoredDuringExecution: [
              { weight: 2, preference: { matchExpressions: [{ key: 'disk', operator: 'In', values: ['ssd'] }] } },
              { weight: 8, preference: { matchExpressions: [{ key: 'gen', operator: 'Exists' }] } },
            ],
          },
        },
      },
    });
    assert.deepEqual(scores(nodeAffinity, p, world), { a: 100, b: 80, c: 0 });
  });
});

describe('NodePorts', () => {
  const withPort = (name: string, port: number, ip?: string, protocol?: string, nodeName?: string) =>
    pod(name, { ...(nodeName ? { nodeName } : {}), spec: { containers: [{ name: 'c', image: 'x', ports: [{ containerPort: 80, hostPort: port, ...(ip ? { hostIP: ip } : {}), ...(protocol ? { protocol } : {}) }] }] } });
  const world = { nodes: [node('a'), node('b')], pods: [withPort('used', 8080, '127.0.0.1', undefined, 'a')] };
  const busy = "node(s) didn't have free ports for the requested pod ports";
  it('0.0.0.0 overlaps a specific IP', () => assert.deepEqual(filter(nodePorts, withPort('p', 8080), world), { a: busy, b: '' }));
  it('another IP on the same port is free', () => assert.deepEqual(filter(nodePorts, withPort('p', 8080, '127.0.0.2'), world), { a: '', b: '' }));
  it('another protocol is free', () => assert.deepEqual(filter(nodePorts, withPort('p', 8080, undefined, 'UDP'), world), { a: '', b: '' }));
});

describe('InterPodAffinity', () => {
  const zoned = (name: string, zone: string) => node(name, { labels: { 'topology.kubernetes.io/zone': zone } });
  const world = { nodes: [zoned('a', 'z1'), zoned('b', 'z1'), zoned('c', 'z2')], pods: [pod('web-0', { labels: { app: 'web' }, nodeName: 'a' })] };
  const term = (app: string, key: string) => ({ labelSelector: { matchLabels: { app } }, topologyKey: key });
  it('required anti-affinity by hostname keeps replicas apart', () => {
    const p = pod('web-1', { labels: { app: 'web' }, spec: { affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term('web', 'kubernetes.io/hostname')] } } } });
    assert.deepEqual(filter(interPodAffinity, p, world), { a: "node(s) didn't match pod anti-affinity rules", b: '', c: '' });
  });
  it('required affinity by zone follows the matching pod', () => {
    const p = pod('cache', { spec: { affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term('web', 'topology.kubernetes.io/zone')] } } } });
    assert.deepEqual(filter(interPodAffinity, p, world), { a: '', b: '', c: "!node(s) didn't match pod affinity rules" });
  });
  it('the first pod of a self-affine group may go anywhere with the topology key', () => {
    const p = pod('db-0', { labels: { app: 'db' }, spec: { affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term('db', 'topology.kubernetes.io/zone')] } } } });
    assert.deepEqual(filter(interPodAffinity, p, { ...world, nodes: [...world.nodes, node('nozone')] }), { a: '', b: '', c: '', nozone: "!node(s) didn't match pod affinity rules" });
  });
  it("existing pods' anti-affinity keeps the incoming pod away", () => {
    const loner = pod('loner', { nodeName: 'c', spec: { affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term('web', 'topology.kubernetes.io/zone')] } } } });
    const got = filter(interPodAffinity, pod('web-1', { labels: { app: 'web' } }), { ...world, pods: [...world.pods, loner] });
    assert.deepEqual(got, { a: '', b: '', c: "node(s) didn't satisfy existing pods anti-affinity rules" });
  });
  it('other namespaces do not count unless named', () => {
    const p = pod('web-1', { ns: 'other', labels: { app: 'web' }, spec: { affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term('web', 'kubernetes.io/hostname')] } } } });
    assert.deepEqual(filter(interPodAffinity, p, world), { a: '', b: '', c: '' });
  });
  it('preferred affinity scores the zone of matching pods, min-max normalized', () => {
    const p = pod('cache', { spec: { affinity: { podAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 5, podAffinityTerm: term('web', 'topology.kubernetes.io/zone') }] } } } });
    assert.deepEqual(scores(interPodAffinity, p, world), { a: 100, b: 100, c: 0 });
    const anti = pod('x', { spec: { affinity: { podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 5, podAffinityTerm: term('web', 'kubernetes.io/hostname') }] } } } });
    assert.deepEqual(scores(interPodAffinity, anti, world), { a: 0, b: 100, c: 100 });
  });
});

describe('PodTopologySpread', () => {
  const zoned = (name: string, zone: string) => node(name, { labels: { zone } });
  const spread = (maxSkew: number, when: 'DoNotSchedule' | 'ScheduleAnyway', key = 'zone') => ({
    topologySpreadConstraints: [{ maxSkew, topologyKey: key, whenUnsatisfiable: when, labelSelector: { matchLabels: { app: 'w' } } }],
  });
  const world = {
    nodes: [zoned('a', 'z1'), zoned('b', 'z1'), zoned('c', 'z2'), node('nolabel')],
    pods: [pod('w0', { labels: { app: 'w' }, nodeName: 'a' }), pod('w1', { labels: { app: 'w' }, nodeName: 'b' }), pod('w2', { labels: { app: 'w' }, nodeName: 'c' })],
  };
  it('DoNotSchedule: skew over maxSkew is refused; a node without the key is unresolvable', () => {
    const p = pod('w3', { labels: { app: 'w' }, spec: spread(1, 'DoNotSchedule') });
    assert.deepEqual(filter(podTopologySpread, p, world), {
      a: "node(s) didn't match pod topology spread constraints",
      b: "node(s) didn't match pod topology spread constraints",
      c: '',
      nolabel: "!node(s) didn't match pod topology spread constraints (missing required label)",
    });
  });
  it('a pod not matching its own selector does not add to the skew', () => {
    const p = pod('other', { spec: spread(1, 'DoNotSchedule') });
    assert.deepEqual(filter(podTopologySpread, p, world), { a: '', b: '', c: '', nolabel: "!node(s) didn't match pod topology spread constraints (missing required label)" });
  });
  it('minDomains above the domain count makes the global minimum 0', () => {
    const p = pod('w3', { labels: { app: 'w' }, spec: { topologySpreadConstraints: [{ ...spread(2, 'DoNotSchedule').topologySpreadConstraints[0]!, minDomains: 3 }] } });
    // z1 has 2 + self = 3 > 2; z2 has 1 + self = 2.
    assert.deepEqual(filter(podTopologySpread, p, world).c, '');
    assert.match(filter(podTopologySpread, p, world).a!, /didn't match/);
  });
  it('ScheduleAnyway favours the emptier domain; nodes without the key score 0', () => {
    const p = pod('w3', { labels: { app: 'w' }, spec: spread(1, 'ScheduleAnyway') });
    // raw: z1 → 2·ln(2+2) = 2.77 → 3, z2 → 1.39 → 1; normalized 100·(3+1−s)/3.
    assert.deepEqual(scores(podTopologySpread, p, world), { a: 33, b: 33, c: 100, nolabel: 0 });
  });
  it('system default spreading applies to pods of a ReplicaSet', () => {
    const owned = (name: string, nodeName?: string) => {
      const p = pod(name, { labels: { app: 'w' }, ...(nodeName ? { nodeName } : {}) });
      p.metadata!.ownerReferences = [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'w-rs', uid: 'rs', controller: true }];
      return p;
    };
    const w = {
      nodes: [node('a'), node('b'), node('c')],
      pods: [owned('w0', 'a'), owned('w1', 'a'), owned('w2', 'b')],
      workloads: [{ kind: 'ReplicaSet' as const, obj: { metadata: { namespace: 'default', name: 'w-rs' }, spec: { selector: { matchLabels: { app: 'w' } } } } }],
    };
    const state = buildState(w);
    const ctx = newCycle(newPodInfo(owned('w3')), state);
    const per = new Map<string, number[]>();
    scoreNodes(ctx, [podTopologySpread], state.nodes(), per);
    // hostname weight ln(3+2): a 2·1.609+2 = 5.2 → 5, b 3.6 → 4, c 2; normalized 100·(5+2−s)/5.
    assert.deepEqual(per.get('PodTopologySpread'), [40, 60, 100]);
  });
});

describe('ImageLocality', () => {
  it('scales image size by how many nodes have it', () => {
    const MB = 1024 * 1024;
    const world = { nodes: [node('a', { images: [{ names: ['registry.local/app:1'], sizeBytes: 300 * MB }] }), node('b')] };
    // 300 MB · 1/2 nodes = 150 MB; 100·(150−23)/(1000−23) = 12.
    assert.deepEqual(scores(imageLocality, pod('p', { image: 'registry.local/app:1' }), world), { a: 12, b: 0 });
    // Untagged means :latest.
    assert.deepEqual(scores(imageLocality, pod('p', { image: 'registry.local/app' }), world), { a: 0, b: 0 });
  });
});

describe('VolumeBinding and VolumeRestrictions', () => {
  const wffc: StorageClass = { apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', metadata: { name: 'local' }, provisioner: 'kubernetes.io/no-provisioner', volumeBindingMode: 'WaitForFirstConsumer' };
  const immediate: StorageClass = { apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', metadata: { name: 'fast' }, provisioner: 'example.com/fast' };
  const claim = (name: string, cls: string, volumeName?: string, modes = ['ReadWriteOnce']): PersistentVolumeClaim => ({
    metadata: { name, namespace: 'default', uid: `pvc-${name}` },
    spec: { storageClassName: cls, accessModes: modes, resources: { requests: { storage: '1Gi' } }, ...(volumeName ? { volumeName } : {}) },
  });
  const localPV = (name: string, host: string, cls = 'local'): PersistentVolume => ({
    metadata: { name },
    spec: {
      storageClassName: cls,
      capacity: { storage: '5Gi' },
      accessModes: ['ReadWriteOnce'],
      local: { path: '/data' },
      nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [host] }] }] } },
    },
    status: { phase: 'Available' },
  });
  const using = (name: string, claimName: string, nodeName?: string) => pod(name, { ...(nodeName ? { nodeName } : {}), spec: { volumes: [{ name: 'v', persistentVolumeClaim: { claimName } }] } });
  const nodes = [node('a'), node('b')];

  it('a missing claim and an unbound Immediate claim refuse in PreFilter', () => {
    assert.equal(filter(volumeBinding, using('p', 'nope'), { nodes }).a, 'prefilter: persistentvolumeclaim "nope" not found');
    const w = { nodes, pvcs: [claim('c', 'fast')], storageClasses: [immediate] };
    assert.equal(filter(volumeBinding, using('p', 'c'), w).a, 'prefilter: pod has unbound immediate PersistentVolumeClaims');
  });
  it('a bound local PV pins the pod to its node', () => {
    const w = { nodes, pvcs: [claim('c', 'local', 'pv-a')], pvs: [localPV('pv-a', 'a')], storageClasses: [wffc] };
    assert.deepEqual(filter(volumeBinding, using('p', 'c'), w), { a: '', b: '!node(s) had volume node affinity conflict' });
  });
  it('WaitForFirstConsumer: only nodes with an available matching PV', () => {
    const w = { nodes, pvcs: [claim('c', 'local')], pvs: [localPV('pv-b', 'b')], storageClasses: [wffc] };
    assert.deepEqual(filter(volumeBinding, using('p', 'c'), w), { a: "!node(s) didn't find available persistent volumes to bind", b: '' });
  });
  it('WaitForFirstConsumer with a provisioner fits anywhere', () => {
    const cls = { ...immediate, volumeBindingMode: 'WaitForFirstConsumer' };
    assert.deepEqual(filter(volumeBinding, using('p', 'c'), { nodes, pvcs: [claim('c', 'fast')], storageClasses: [cls] }), { a: '', b: '' });
  });
  it('ReadWriteOncePod claims are exclusive', () => {
    const w = { nodes, pvcs: [claim('c', 'fast', 'pv', ['ReadWriteOncePod'])], pods: [using('first', 'c', 'a')] };
    const msg = 'node has pod using PersistentVolumeClaim with the same name and ReadWriteOncePod access mode';
    assert.deepEqual(filter(volumeRestrictions, using('second', 'c'), w), { a: msg, b: msg });
  });
});

describe('the default profile', () => {
  it('has upstream weights', () => {
    const weights = Object.fromEntries(defaultPlugins.filter((p) => p.score).map((p) => [p.name, p.weight]));
    assert.deepEqual(weights, { TaintToleration: 3, NodeAffinity: 2, NodeResourcesFit: 1, PodTopologySpread: 2, InterPodAffinity: 2, NodeResourcesBalancedAllocation: 1, ImageLocality: 1 });
  });

  it('renders the upstream refusal message', () => {
    const taint = [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }];
    const state = buildState({ nodes: [node('cp1', { taints: taint }), node('cp2', { taints: taint }), node('w', { cpu: '1' })] });
    const r = scheduleOne(pod('p', { cpu: '2' }), state);
    assert.ok('fitError' in r);
    assert.equal(r.fitError.message, '0/3 nodes are available: 1 Insufficient cpu, 2 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }.');
  });
});
