// Table tests: quota admission, LimitRange defaulting/checks, quota usage, quantities, PDB status.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../src/client/types.ts';
import { checkQuota } from '../../src/controllers/resourcequota/admission.ts';
import { applyLimitRangeDefaults, checkLimitRange } from '../../src/controllers/resourcequota/limitrange.ts';
import { computeQuotaUsed } from '../../src/controllers/resourcequota/resourcequota.ts';
import { formatMilli, parseMilli } from '../../src/controllers/resourcequota/quantity.ts';
import { computePdbStatus } from '../../src/controllers/disruption/disruption.ts';
import { checkNamespaceDelete } from '../../src/controllers/namespace/namespace.ts';

const pods = { group: '', resource: 'pods' };
const quota = (name: string, hard: Record<string, string>, used?: Record<string, string>, scopes?: string[]): KubeObject => ({
  metadata: { name, namespace: 'ns' },
  spec: { hard, ...(scopes ? { scopes } : {}) },
  ...(used ? { status: { hard, used } } : {}),
});
const pod = (containers: Array<{ name?: string; requests?: Record<string, string>; limits?: Record<string, string> }>, extra: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'p', namespace: 'ns' },
  spec: { containers: containers.map((c, i) => ({ name: c.name ?? `c${i}`, image: 'i', resources: { ...(c.requests ? { requests: c.requests } : {}), ...(c.limits ? { limits: c.limits } : {}) } })), ...extra },
});

describe('quota admission (checkQuota)', () => {
  const cases: Array<[string, KubeObject[], KubeObject, string | undefined]> = [
    ['under the pod count', [quota('q', { pods: '2' }, { pods: '1' })], pod([{}]), undefined],
    ['at the pod count', [quota('q', { pods: '2' }, { pods: '2' })], pod([{}]), 'exceeded quota: q, requested: pods=1, used: pods=2, limited: pods=2'],
    ['cpu requests over', [quota('compute', { 'requests.cpu': '1' }, { 'requests.cpu': '800m' })], pod([{ requests: { cpu: '300m' } }]), 'exceeded quota: compute, requested: requests.cpu=300m, used: requests.cpu=800m, limited: requests.cpu=1'],
    ['memory in binary units', [quota('m', { 'limits.memory': '1Gi' }, { 'limits.memory': '768Mi' })], pod([{ limits: { memory: '512Mi' } }]), 'exceeded quota: m, requested: limits.memory=512Mi, used: limits.memory=768Mi, limited: limits.memory=1Gi'],
    ['must specify limited compute', [quota('compute', { 'limits.cpu': '2', 'requests.memory': '1Gi' }, { 'limits.cpu': '0', 'requests.memory': '0' })], pod([{ name: 'app' }]), 'failed quota: compute: must specify limits.cpu for: app; requests.memory for: app'],
    ['two names exceeded, sorted', [quota('q', { pods: '1', 'requests.cpu': '1' }, { pods: '1', 'requests.cpu': '1' })], pod([{ requests: { cpu: '1' } }]), 'exceeded quota: q, requested: pods=1,requests.cpu=1, used: pods=1,requests.cpu=1, limited: pods=1,requests.cpu=1'],
    ['scope BestEffort ignores a pod with requests', [quota('be', { pods: '0' }, { pods: '0' }, ['BestEffort'])], pod([{ requests: { cpu: '1' } }]), undefined],
    ['scope BestEffort counts a best-effort pod', [quota('be', { pods: '0' }, { pods: '0' }, ['BestEffort'])], pod([{}]), 'exceeded quota: be, requested: pods=1, used: pods=0, limited: pods=0'],
    ['quota not yet synced', [quota('fresh', { pods: '5' })], pod([{}]), 'status unknown for quota: fresh, resources: pods'],
    ['unrelated quota', [quota('svc', { services: '0' }, { services: '0' })], pod([{}]), undefined],
    ['count/pods', [quota('c', { 'count/pods': '1' }, { 'count/pods': '1' })], pod([{}]), 'exceeded quota: c, requested: count/pods=1, used: count/pods=1, limited: count/pods=1'],
  ];
  for (const [name, quotas, obj, want] of cases) it(name, () => assert.equal(checkQuota(quotas, undefined, obj, pods), want));

  it('services.nodeports and configmaps', () => {
    const svc: KubeObject = { metadata: { name: 's' }, spec: { type: 'NodePort', ports: [{ port: 80 }, { port: 443 }] } };
    assert.equal(checkQuota([quota('q', { 'services.nodeports': '3' }, { 'services.nodeports': '2' })], undefined, svc, { group: '', resource: 'services' }), 'exceeded quota: q, requested: services.nodeports=2, used: services.nodeports=2, limited: services.nodeports=3');
    assert.equal(checkQuota([quota('q', { configmaps: '1' }, { configmaps: '0' })], undefined, { metadata: { name: 'c' } }, { group: '', resource: 'configmaps' }), undefined);
  });

  it('usage override wins over status.used', () => {
    const q = quota('q', { pods: '2' }, { pods: '0' });
    assert.match(checkQuota([q], new Map([['q', { pods: '2' }]]), pod([{}]), pods)!, /exceeded quota: q/);
  });
});

describe('quota usage (status.used)', () => {
  it('counts non-terminal pods and their requests/limits, init containers by max', () => {
    const q = quota('q', { pods: '10', 'requests.cpu': '10', 'limits.memory': '10Gi', 'count/deployments.apps': '5' });
    const p1 = pod([{ requests: { cpu: '250m' }, limits: { memory: '128Mi' } }, { requests: { cpu: '250m' }, limits: { memory: '128Mi' } }]);
    const p2 = pod([{ requests: { cpu: '100m' } }], { initContainers: [{ name: 'init', image: 'i', resources: { requests: { cpu: '2' } } }] });
    const done: KubeObject = { ...pod([{ requests: { cpu: '5' } }]), status: { phase: 'Succeeded' } };
    const used = computeQuotaUsed(q, new Map([['/pods', [p1, p2, done]], ['apps/deployments', [{ metadata: { name: 'd' } }]]]));
    assert.deepEqual(used, { 'count/deployments.apps': '1', 'limits.memory': '256Mi', pods: '2', 'requests.cpu': '2500m' });
  });
  it('quantities', () => {
    assert.equal(parseMilli('100m'), 100);
    assert.equal(parseMilli('1.5'), 1500);
    assert.equal(parseMilli('1Ki'), 1024_000);
    assert.equal(parseMilli('1e3'), 1_000_000);
    assert.equal(formatMilli(2_000_000, 'decimal'), '2k');
    assert.equal(formatMilli(1536 * 1024 * 1000, 'binary'), '1536Ki');
    assert.equal(formatMilli(0), '0');
  });
});

describe('LimitRange', () => {
  const lr: KubeObject = {
    metadata: { name: 'lr' },
    spec: { limits: [{ type: 'Container', default: { cpu: '500m', memory: '256Mi' }, defaultRequest: { cpu: '100m' }, min: { cpu: '50m' }, max: { cpu: '1' }, maxLimitRequestRatio: { cpu: '4' } }] },
  };
  it('applies default limits and requests, annotating what it set', () => {
    const out = applyLimitRangeDefaults([lr], pod([{ name: 'app' }]));
    const c = (out.spec as { containers: Array<{ resources: unknown }> }).containers[0]!;
    assert.deepEqual(c.resources, { limits: { cpu: '500m', memory: '256Mi' }, requests: { cpu: '100m', memory: '256Mi' } });
    assert.equal(out.metadata.annotations?.['kubernetes.io/limit-ranger'], 'LimitRanger plugin set: cpu, memory request for container app; cpu, memory limit for container app');
  });
  it('a stated limit becomes the request, not the default request', () => {
    const out = applyLimitRangeDefaults([lr], pod([{ limits: { cpu: '800m' } }]));
    assert.equal((out.spec as { containers: Array<{ resources: { requests: Record<string, string> } }> }).containers[0]!.resources.requests.cpu, '800m');
  });
  const cases: Array<[string, KubeObject, string[]]> = [
    ['within bounds', pod([{ requests: { cpu: '100m' }, limits: { cpu: '200m' } }]), []],
    ['below min', pod([{ requests: { cpu: '10m' }, limits: { cpu: '20m' } }]), ['minimum cpu usage per Container is 50m, but request is 10m']],
    ['above max', pod([{ requests: { cpu: '1' }, limits: { cpu: '2' } }]), ['maximum cpu usage per Container is 1, but limit is 2']],
    ['ratio', pod([{ requests: { cpu: '100m' }, limits: { cpu: '800m' } }]), ['cpu max limit to request ratio per Container is 4, but provided ratio is 8.000000']],
    ['nothing specified', pod([{}]), ['minimum cpu usage per Container is 50m.  No request is specified', 'maximum cpu usage per Container is 1.  No limit is specified', 'cpu max limit to request ratio per Container is 4, but no limit is specified']],
  ];
  for (const [name, p, want] of cases) it(`check: ${name}`, () => assert.deepEqual(checkLimitRange([lr], 'Pod', p), want));
  it('PVC storage bounds', () => {
    const pvcLr: KubeObject = { metadata: { name: 'st' }, spec: { limits: [{ type: 'PersistentVolumeClaim', min: { storage: '1Gi' }, max: { storage: '10Gi' } }] } };
    const pvc = (s: string): KubeObject => ({ metadata: { name: 'c' }, spec: { resources: { requests: { storage: s } } } });
    assert.deepEqual(checkLimitRange([pvcLr], 'PersistentVolumeClaim', pvc('500Mi')), ['minimum storage usage per PersistentVolumeClaim is 1Gi, but request is 500Mi']);
    assert.deepEqual(checkLimitRange([pvcLr], 'PersistentVolumeClaim', pvc('20Gi')), ['maximum storage usage per PersistentVolumeClaim is 10Gi, but request is 20Gi']);
    assert.deepEqual(checkLimitRange([pvcLr], 'PersistentVolumeClaim', pvc('5Gi')), []);
  });
});

describe('PDB status', () => {
  const now = Date.parse('2030-01-01T00:00:00Z');
  const readyPod = (name: string, ready = true, deleting = false): KubeObject => ({
    metadata: { name, ...(deleting ? { deletionTimestamp: '2030-01-01T00:00:00Z' } : {}) },
    status: { conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
  });
  const pdb = (spec: Record<string, unknown>, status?: Record<string, unknown>): KubeObject => ({ metadata: { name: 'b', generation: 3 }, spec, ...(status ? { status } : {}) });
  const three = [readyPod('a'), readyPod('b'), readyPod('c')];
  const cases: Array<[string, KubeObject, KubeObject[], number | undefined, [number, number, number, number, string]]> = [
    // [expectedPods, desiredHealthy, currentHealthy, disruptionsAllowed, reason]
    ['minAvailable 2 of 3 ready', pdb({ minAvailable: 2 }), three, undefined, [3, 2, 3, 1, 'SufficientPods']],
    ['minAvailable 3 of 3', pdb({ minAvailable: 3 }), three, undefined, [3, 3, 3, 0, 'InsufficientPods']],
    ['unready and deleting pods are not healthy', pdb({ minAvailable: 1 }), [readyPod('a', false), readyPod('b', true, true), readyPod('c')], undefined, [3, 1, 1, 0, 'InsufficientPods']],
    ['maxUnavailable 1 against 3 replicas', pdb({ maxUnavailable: 1 }), three, 3, [3, 2, 3, 1, 'SufficientPods']],
    ['maxUnavailable 50% of 3 rounds up', pdb({ maxUnavailable: '50%' }), three, 3, [3, 1, 3, 2, 'SufficientPods']],
    ['minAvailable 50% of 3 rounds up', pdb({ minAvailable: '50%' }), three, 3, [3, 2, 3, 1, 'SufficientPods']],
    ['replicas above running pods', pdb({ maxUnavailable: 1 }), three, 5, [5, 4, 3, 0, 'InsufficientPods']],
    ['no pods', pdb({ minAvailable: 0 }), [], undefined, [0, 0, 0, 0, 'InsufficientPods']],
    ['pod being evicted is not healthy', pdb({ minAvailable: 1 }, { disruptedPods: { a: '2029-12-31T23:59:30Z' } }), three, undefined, [3, 1, 2, 1, 'SufficientPods']],
    ['expired disruptedPods entry counts again', pdb({ minAvailable: 1 }, { disruptedPods: { a: '2029-12-31T23:50:00Z' } }), three, undefined, [3, 1, 3, 2, 'SufficientPods']],
  ];
  for (const [name, b, ps, scale, [expected, desired, healthy, allowed, reason]] of cases) {
    it(name, () => {
      const s = computePdbStatus(b, ps, scale, now);
      assert.deepEqual([s.expectedPods, s.desiredHealthy, s.currentHealthy, s.disruptionsAllowed, s.conditions[0]!.reason], [expected, desired, healthy, allowed, reason]);
      assert.equal(s.observedGeneration, 3);
      assert.equal(s.conditions[0]!.status, allowed > 0 ? 'True' : 'False');
    });
  }
  it('a sync error reports SyncFailed and allows nothing', () => {
    const s = computePdbStatus(pdb({ maxUnavailable: 1 }), three, undefined, now, 'found no controllers for pod "a"');
    assert.equal(s.disruptionsAllowed, 0);
    assert.deepEqual([s.conditions[0]!.reason, s.conditions[0]!.message], ['SyncFailed', 'found no controllers for pod "a"']);
  });
});

describe('namespace lifecycle admission', () => {
  it('system namespaces may not be deleted', () => {
    assert.equal(checkNamespaceDelete('kube-system'), 'namespaces "kube-system" is forbidden: this namespace may not be deleted');
    assert.equal(checkNamespaceDelete('default'), 'namespaces "default" is forbidden: this namespace may not be deleted');
    assert.equal(checkNamespaceDelete('team-a'), undefined);
  });
});
