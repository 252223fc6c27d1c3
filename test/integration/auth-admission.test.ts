// ServiceAccount admission and default-RBAC reconciliation, table-driven over plain objects.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../src/api/meta.ts';
import { admitServiceAccount, SERVICE_ACCOUNT_MOUNT_PATH } from '../../src/apiserver/auth/serviceaccount-admission.ts';
import { desiredRbac, reconcileObject } from '../../src/bootstrap/rbac.ts';
import type { KubeObject as ClientObject } from '../../src/client/types.ts';

const pod = (spec: Record<string, unknown>, annotations?: Record<string, string>): KubeObject =>
  ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'ns', ...(annotations ? { annotations } : {}) }, spec }) as KubeObject;
const sa = (automount?: boolean): KubeObject =>
  ({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: 'ns' }, ...(automount === undefined ? {} : { automountServiceAccountToken: automount }) }) as KubeObject;

const cases: Array<{ name: string; pod: KubeObject; sa?: KubeObject; mounted: boolean }> = [
  { name: 'default SA, automount unset', pod: pod({ containers: [{ name: 'c' }] }), sa: sa(), mounted: true },
  { name: 'SA not known yet (admitted with the default)', pod: pod({ containers: [{ name: 'c' }] }), mounted: true },
  { name: 'pod says false', pod: pod({ automountServiceAccountToken: false, containers: [{ name: 'c' }] }), sa: sa(true), mounted: false },
  { name: 'SA says false', pod: pod({ containers: [{ name: 'c' }] }), sa: sa(false), mounted: false },
  { name: 'pod true overrides SA false', pod: pod({ automountServiceAccountToken: true, containers: [{ name: 'c' }] }), sa: sa(false), mounted: true },
  { name: 'mirror pods are left alone', pod: pod({ containers: [{ name: 'c' }] }, { 'kubernetes.io/config.mirror': 'x' }), sa: sa(), mounted: false },
];

for (const c of cases) {
  test(`SA admission: ${c.name}`, () => {
    const p = structuredClone(c.pod);
    admitServiceAccount(p, () => c.sa);
    const spec = p.spec as { serviceAccountName?: string; volumes?: Array<{ name: string }>; containers: Array<{ volumeMounts?: Array<{ mountPath: string; name: string }> }> };
    const mirror = c.pod.metadata?.annotations?.['kubernetes.io/config.mirror'] !== undefined;
    if (!mirror) assert.equal(spec.serviceAccountName, 'default');
    const vol = spec.volumes?.find((v) => v.name.startsWith('kube-api-access-'));
    assert.equal(vol !== undefined, c.mounted);
    const mount = spec.containers[0]?.volumeMounts?.find((m) => m.mountPath === SERVICE_ACCOUNT_MOUNT_PATH);
    assert.equal(mount?.name, vol?.name);
  });
}

test('SA admission: init containers are mounted too, own mounts at the path are kept, admission is idempotent', () => {
  const p = pod({
    initContainers: [{ name: 'i' }],
    containers: [{ name: 'a' }, { name: 'b', volumeMounts: [{ name: 'mine', mountPath: SERVICE_ACCOUNT_MOUNT_PATH }] }],
    volumes: [{ name: 'mine', emptyDir: {} }],
  });
  admitServiceAccount(p, () => undefined);
  admitServiceAccount(p, () => undefined);
  const spec = p.spec as { volumes: Array<{ name: string }>; initContainers: Array<{ volumeMounts: Array<{ name: string }> }>; containers: Array<{ volumeMounts: Array<{ name: string }> }> };
  const generated = spec.volumes.filter((v) => v.name.startsWith('kube-api-access-'));
  assert.equal(generated.length, 1, 'one token volume however often admission runs');
  assert.equal(spec.initContainers[0]!.volumeMounts[0]!.name, generated[0]!.name);
  assert.equal(spec.containers[0]!.volumeMounts.length, 1);
  assert.deepEqual(spec.containers[1]!.volumeMounts.map((m) => m.name), ['mine']);
});

test('default RBAC reconcile is additive and respects autoupdate=false', () => {
  const desired = desiredRbac();
  const discovery = desired.clusterRoles.find((r) => r.metadata?.name === 'system:discovery') as unknown as ClientObject;
  const trimmed = structuredClone(discovery);
  (trimmed.rules as unknown[]).splice(0, 1);
  trimmed.rules = [...(trimmed.rules as unknown[]), { verbs: ['get'], nonResourceURLs: ['/custom'] }];
  const next = reconcileObject('ClusterRole', trimmed, discovery);
  assert.ok(next, 'a missing rule is added back');
  assert.equal((next.rules as unknown[]).length, (discovery.rules as unknown[]).length + 1, 'the extra rule stays');
  assert.equal(reconcileObject('ClusterRole', next, discovery), undefined, 'nothing to do the second time');
  const pinned = structuredClone(trimmed);
  pinned.metadata!.annotations = { 'rbac.authorization.kubernetes.io/autoupdate': 'false' };
  assert.equal(reconcileObject('ClusterRole', pinned, discovery), undefined);

  const nodes = desired.clusterRoleBindings.find((b) => b.metadata?.name === 'nanokube:nodes');
  assert.deepEqual(nodes?.subjects, [{ kind: 'Group', apiGroup: 'rbac.authorization.k8s.io', name: 'system:nodes' }]);
  assert.equal(nodes?.roleRef.name, 'system:node');
});
