// Which nodes a daemon pod belongs on (table), the default daemon tolerations, and pinning by
// node-name affinity.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PodSpec } from 'kubernetes-types/core/v1.js';
import { daemonTolerations, pinToNode, placementOn, targetNodeOf, type NodeObject } from '../../src/controllers/daemonset/eligibility.ts';
import { revisionTemplate } from '../../src/controllers/daemonset/revision.ts';
import type { PodObject } from '../../src/controllers/replicaset/podutil.ts';

const node = (name: string, labels: Record<string, string> = {}, taints: Array<{ key: string; value?: string; effect: string }> = [], unschedulable = false): NodeObject => ({
  apiVersion: 'v1',
  kind: 'Node',
  metadata: { name, labels: { 'kubernetes.io/hostname': name, ...labels } },
  spec: { ...(taints.length ? { taints } : {}), ...(unschedulable ? { unschedulable } : {}) },
});
const spec = (extra: Partial<PodSpec> = {}): PodSpec => ({ containers: [{ name: 'c', image: 'i' }], ...extra });

test('placement: nodeSelector, required affinity, taints and the default tolerations', () => {
  const rows: Array<[string, NodeObject, PodSpec, { shouldRun: boolean; shouldContinueRunning: boolean }]> = [
    ['plain node', node('a'), spec(), { shouldRun: true, shouldContinueRunning: true }],
    ['nodeSelector matches', node('a', { disk: 'ssd' }), spec({ nodeSelector: { disk: 'ssd' } }), { shouldRun: true, shouldContinueRunning: true }],
    ['nodeSelector misses', node('a'), spec({ nodeSelector: { disk: 'ssd' } }), { shouldRun: false, shouldContinueRunning: false }],
    [
      'required affinity misses',
      node('a', { zone: 'x' }),
      spec({ affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['y'] }] }] } } } }),
      { shouldRun: false, shouldContinueRunning: false },
    ],
    ['untolerated NoSchedule: no new pod, the running one stays', node('a', {}, [{ key: 'k', effect: 'NoSchedule' }]), spec(), { shouldRun: false, shouldContinueRunning: true }],
    ['untolerated NoExecute: the pod goes', node('a', {}, [{ key: 'k', effect: 'NoExecute' }]), spec(), { shouldRun: false, shouldContinueRunning: false }],
    ['PreferNoSchedule is no obstacle', node('a', {}, [{ key: 'k', effect: 'PreferNoSchedule' }]), spec(), { shouldRun: true, shouldContinueRunning: true }],
    ['tolerated by value', node('a', {}, [{ key: 'k', value: 'v', effect: 'NoSchedule' }]), spec({ tolerations: [{ key: 'k', operator: 'Equal', value: 'v', effect: 'NoSchedule' }] }), { shouldRun: true, shouldContinueRunning: true }],
    ['wrong value is not tolerated', node('a', {}, [{ key: 'k', value: 'v', effect: 'NoSchedule' }]), spec({ tolerations: [{ key: 'k', operator: 'Equal', value: 'w', effect: 'NoSchedule' }] }), { shouldRun: false, shouldContinueRunning: true }],
    ['cordoned node (unschedulable taint) still gets a pod', node('a', {}, [{ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }], true), spec(), { shouldRun: true, shouldContinueRunning: true }],
    ['not-ready node keeps and gets daemon pods', node('a', {}, [{ key: 'node.kubernetes.io/not-ready', effect: 'NoExecute' }, { key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' }]), spec(), { shouldRun: false, shouldContinueRunning: true }],
    ['unreachable NoExecute is tolerated', node('a', {}, [{ key: 'node.kubernetes.io/unreachable', effect: 'NoExecute' }]), spec(), { shouldRun: true, shouldContinueRunning: true }],
    ['memory pressure is tolerated', node('a', {}, [{ key: 'node.kubernetes.io/memory-pressure', effect: 'NoSchedule' }]), spec(), { shouldRun: true, shouldContinueRunning: true }],
    ['network-unavailable only for hostNetwork', node('a', {}, [{ key: 'node.kubernetes.io/network-unavailable', effect: 'NoSchedule' }]), spec(), { shouldRun: false, shouldContinueRunning: true }],
    ['network-unavailable with hostNetwork', node('a', {}, [{ key: 'node.kubernetes.io/network-unavailable', effect: 'NoSchedule' }]), spec({ hostNetwork: true }), { shouldRun: true, shouldContinueRunning: true }],
  ];
  for (const [name, n, s, want] of rows) assert.deepEqual(placementOn(n, s), want, name);
});

test('default tolerations replace a same-key user toleration and keep the others', () => {
  const ts = daemonTolerations(spec({ tolerations: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 30 }, { key: 'mine', operator: 'Exists' }] }));
  const notReady = ts.filter((t) => t.key === 'node.kubernetes.io/not-ready');
  assert.deepEqual(notReady, [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' }]);
  assert.ok(ts.some((t) => t.key === 'mine'));
  assert.equal(ts.length, 7);
  assert.equal(daemonTolerations(spec({ hostNetwork: true })).length, 7);
});

test('pinning: one matchFields term, or the name replacing matchFields in every term', () => {
  assert.deepEqual(pinToNode(undefined, 'n1').nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution, { nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n1'] }] }] });
  const pinned = pinToNode({ nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['x'] }], matchFields: [{ key: 'metadata.name', operator: 'In', values: ['old'] }] }] } } }, 'n2');
  const term = pinned.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms[0];
  assert.deepEqual(term?.matchExpressions, [{ key: 'zone', operator: 'In', values: ['x'] }]);
  assert.deepEqual(term?.matchFields, [{ key: 'metadata.name', operator: 'In', values: ['n2'] }]);
  const pod = { metadata: {}, spec: { containers: [], affinity: pinned } } as PodObject;
  assert.equal(targetNodeOf(pod), 'n2');
  assert.equal(targetNodeOf({ ...pod, spec: { ...pod.spec!, nodeName: 'bound' } }), 'bound');
});

test('revision data is encoded as Go encodes it: sorted keys, $patch first, creationTimestamp null, resources {}', () => {
  const data = revisionTemplate({ spec: { restartPolicy: 'Always', containers: [{ name: 'c', image: 'i' }] }, metadata: { labels: { b: '2', a: '1' } } });
  assert.equal(JSON.stringify(data), '{"$patch":"replace","metadata":{"creationTimestamp":null,"labels":{"a":"1","b":"2"}},"spec":{"containers":[{"image":"i","name":"c","resources":{}}],"restartPolicy":"Always"}}');
});
