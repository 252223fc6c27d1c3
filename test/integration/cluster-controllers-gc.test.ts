// Garbage collector, namespace controller, service account and root CA publisher against the real
// resource API (startTestApi).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApi, type TestApi } from '../helpers/api.ts';
import { waitFor } from '../helpers/wait.ts';
import { isNotFound, type Client, type KubeObject, type ResourceRef } from '../../src/client/types.ts';
import { startClusterControllers, type RunningClusterControllers } from '../../src/controllers/cluster.ts';
import { registryCatalog } from '../../src/controllers/garbagecollector/resources.ts';
import { builtinRegistry } from '../../src/registry/index.ts';

const cm: ResourceRef = { group: '', version: 'v1', resource: 'configmaps', namespaced: true };
const secrets: ResourceRef = { group: '', version: 'v1', resource: 'secrets', namespaced: true };
const pods: ResourceRef = { group: '', version: 'v1', resource: 'pods', namespaced: true };
const services: ResourceRef = { group: '', version: 'v1', resource: 'services', namespaced: true };
const nsRef: ResourceRef = { group: '', version: 'v1', resource: 'namespaces', namespaced: false };
const sa: ResourceRef = { group: '', version: 'v1', resource: 'serviceaccounts', namespaced: true };
const deployments: ResourceRef = { group: 'apps', version: 'v1', resource: 'deployments', namespaced: true };
const nodes: ResourceRef = { group: '', version: 'v1', resource: 'nodes', namespaced: false };

const gone = async (c: Client, ref: ResourceRef, name: string, ns?: string) => {
  try {
    await c.get(ref, name, ns);
    return false;
  } catch (e) {
    return isNotFound(e);
  }
};

function ownerRef(o: KubeObject, extra: { blockOwnerDeletion?: boolean; controller?: boolean } = {}) {
  return { apiVersion: o.apiVersion!, kind: o.kind!, name: o.metadata.name!, uid: o.metadata.uid!, ...extra };
}

async function makeOwner(c: Client, ns: string, name: string): Promise<KubeObject> {
  return c.create(cm, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns } });
}

async function makeDependents(c: Client, ns: string, owner: KubeObject, n: number, block = false): Promise<KubeObject[]> {
  const out: KubeObject[] = [];
  for (let i = 0; i < n; i++) {
    out.push(await c.create(secrets, { apiVersion: 'v1', kind: 'Secret', metadata: { name: `${owner.metadata.name}-dep-${i}`, namespace: ns, ownerReferences: [ownerRef(owner, { blockOwnerDeletion: block })] } }));
  }
  return out;
}

describe('cluster controllers: GC, namespace, service accounts, root CA', () => {
  let api: TestApi;
  let c: Client;
  let running: RunningClusterControllers;
  const ctl = new AbortController();

  before(async () => {
    api = await startTestApi();
    c = api.client;
    running = await startClusterControllers(
      { clientFor: (n) => api.newClient(n), catalog: registryCatalog(builtinRegistry()), caPem: '-----BEGIN CERTIFICATE-----\nTEST\n-----END CERTIFICATE-----\n' },
      ctl.signal,
    );
  });
  after(async () => {
    ctl.abort();
    await running.done;
    await api.close();
  });

  it('background: dependents of a deleted owner are deleted', async () => {
    const owner = await makeOwner(c, 'default', 'bg-owner');
    const deps = await makeDependents(c, 'default', owner, 3);
    await c.delete(cm, 'bg-owner', { namespace: 'default', propagationPolicy: 'Background' });
    for (const d of deps) await waitFor(() => gone(c, secrets, d.metadata.name!, 'default'), { timeoutMs: 5000, what: `${d.metadata.name} deleted` });
  });

  it('dependents of an owner with another live owner survive, losing the dead reference', async () => {
    const a = await makeOwner(c, 'default', 'two-a');
    const b = await makeOwner(c, 'default', 'two-b');
    await c.create(secrets, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'two-dep', namespace: 'default', ownerReferences: [ownerRef(a), ownerRef(b)] } });
    await c.delete(cm, 'two-a', { namespace: 'default' });
    const dep = await waitFor(async () => {
      const d = await c.get(secrets, 'two-dep', 'default');
      return d.metadata.ownerReferences?.length === 1 ? d : undefined;
    }, { timeoutMs: 5000, what: 'dangling reference removed' });
    assert.equal(dep.metadata.ownerReferences?.[0]?.uid, b.metadata.uid);
  });

  it('a dependent whose owner never existed (dangling uid) is deleted', async () => {
    await c.create(secrets, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'dangling', namespace: 'default', ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'nope', uid: '00000000-0000-0000-0000-000000000001' }] } });
    await waitFor(() => gone(c, secrets, 'dangling', 'default'), { timeoutMs: 5000, what: 'dangling dependent deleted' });
  });

  it('an owner with the same name but another uid does not keep a dependent alive', async () => {
    const first = await makeOwner(c, 'default', 'reborn');
    await c.delete(cm, 'reborn', { namespace: 'default', propagationPolicy: 'Orphan' });
    await waitFor(() => gone(c, cm, 'reborn', 'default'), { timeoutMs: 5000 });
    await makeOwner(c, 'default', 'reborn');
    await c.create(secrets, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'reborn-dep', namespace: 'default', ownerReferences: [ownerRef(first)] } });
    await waitFor(() => gone(c, secrets, 'reborn-dep', 'default'), { timeoutMs: 5000, what: 'dependent of the old uid deleted' });
    assert.ok(await c.get(cm, 'reborn', 'default'));
  });

  it('an owner in another namespace does not count (owner references are namespace-local)', async () => {
    await c.create(nsRef, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'gc-other' } });
    const owner = await makeOwner(c, 'gc-other', 'elsewhere');
    await c.create(secrets, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'cross-ns', namespace: 'default', ownerReferences: [ownerRef(owner)] } });
    await waitFor(() => gone(c, secrets, 'cross-ns', 'default'), { timeoutMs: 5000, what: 'cross-namespace dependent deleted' });
    assert.ok(await c.get(cm, 'elsewhere', 'gc-other'), 'the owner itself is untouched');
  });

  it('a cluster-scoped dependent naming a namespaced owner is never collected', async () => {
    await c.create(nodes, { apiVersion: 'v1', kind: 'Node', metadata: { name: 'gc-node', ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'x', uid: '00000000-0000-0000-0000-000000000002' }] } });
    // A sentinel with a truly dangling owner, created after: once it is gone the GC has looked at both.
    await c.create(nodes, { apiVersion: 'v1', kind: 'Node', metadata: { name: 'gc-node-sentinel', ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: 'nope', uid: '00000000-0000-0000-0000-000000000003' }] } });
    await waitFor(() => gone(c, nodes, 'gc-node-sentinel'), { timeoutMs: 5000 });
    assert.ok(await c.get(nodes, 'gc-node'));
  });

  it('foreground: the owner stays (with foregroundDeletion) until blocking dependents are gone', async () => {
    const owner = await c.create(deployments, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'fg', namespace: 'default' },
      spec: { selector: { matchLabels: { app: 'fg' } }, template: { metadata: { labels: { app: 'fg' } }, spec: { containers: [{ name: 'c', image: 'i' }] } } },
    });
    // A dependent with its own finalizer keeps the owner waiting: observable, not a race.
    await c.create(secrets, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'fg-held', namespace: 'default', finalizers: ['test/hold'], ownerReferences: [ownerRef(owner, { blockOwnerDeletion: true })] } });
    await makeDependents(c, 'default', owner, 2, true);
    await c.delete(deployments, 'fg', { namespace: 'default', propagationPolicy: 'Foreground' });
    await waitFor(() => gone(c, secrets, 'fg-dep-0', 'default'), { timeoutMs: 5000 });
    await waitFor(() => gone(c, secrets, 'fg-dep-1', 'default'), { timeoutMs: 5000 });
    const held = await waitFor(async () => {
      const h = await c.get(secrets, 'fg-held', 'default');
      return h.metadata.deletionTimestamp ? h : undefined;
    }, { timeoutMs: 5000, what: 'held dependent marked for deletion' });
    const o = await c.get(deployments, 'fg', 'default');
    assert.ok(o.metadata.deletionTimestamp);
    assert.deepEqual(o.metadata.finalizers, ['foregroundDeletion']);
    await c.patch(secrets, 'fg-held', 'merge', { metadata: { finalizers: null } }, { namespace: 'default' });
    assert.ok(held);
    await waitFor(() => gone(c, deployments, 'fg', 'default'), { timeoutMs: 5000, what: 'owner deleted after dependents' });
  });

  it('orphan: dependents stay with the owner reference stripped', async () => {
    const owner = await makeOwner(c, 'default', 'orph');
    await makeDependents(c, 'default', owner, 2);
    await c.delete(cm, 'orph', { namespace: 'default', propagationPolicy: 'Orphan' });
    await waitFor(() => gone(c, cm, 'orph', 'default'), { timeoutMs: 5000, what: 'orphaning owner gone' });
    for (const n of ['orph-dep-0', 'orph-dep-1']) {
      const d = await c.get(secrets, n, 'default');
      assert.equal(d.metadata.ownerReferences, undefined, `${n} has no owner references`);
    }
  });

  it('a new namespace gets the default ServiceAccount and kube-root-ca.crt within a second', async () => {
    await c.create(nsRef, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'fresh' } });
    await waitFor(() => c.get(sa, 'default', 'fresh'), { timeoutMs: 1000, intervalMs: 20, what: 'default SA' });
    const ca = await waitFor(() => c.get(cm, 'kube-root-ca.crt', 'fresh'), { timeoutMs: 1000, intervalMs: 20, what: 'root CA configmap' });
    assert.match((ca.data as Record<string, string>)['ca.crt']!, /BEGIN CERTIFICATE/);
    // Deleted or edited copies come back.
    await c.delete(sa, 'default', { namespace: 'fresh' });
    await c.patch(cm, 'kube-root-ca.crt', 'merge', { data: { 'ca.crt': 'junk' } }, { namespace: 'fresh' });
    await waitFor(() => c.get(sa, 'default', 'fresh'), { timeoutMs: 2000, what: 'default SA recreated' });
    await waitFor(async () => ((await c.get(cm, 'kube-root-ca.crt', 'fresh')).data as Record<string, string>)['ca.crt']!.includes('BEGIN'), { timeoutMs: 2000, what: 'CA restored' });
  });

  it('deleting a namespace removes configmaps, secrets, pods, services, and then the namespace', async () => {
    await c.create(nsRef, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'doomed' } });
    for (let i = 0; i < 5; i++) {
      await c.create(cm, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `c${i}`, namespace: 'doomed' } });
      await c.create(secrets, { apiVersion: 'v1', kind: 'Secret', metadata: { name: `s${i}`, namespace: 'doomed' } });
      await c.create(pods, { apiVersion: 'v1', kind: 'Pod', metadata: { name: `p${i}`, namespace: 'doomed' }, spec: { containers: [{ name: 'c', image: 'i' }] } });
      await c.create(services, { apiVersion: 'v1', kind: 'Service', metadata: { name: `svc${i}`, namespace: 'doomed' }, spec: { ports: [{ port: 80 }] } });
    }
    await c.delete(nsRef, 'doomed');
    await assert.rejects(
      c.create(cm, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'late', namespace: 'doomed' } }),
      (e: Error) => /being terminated/.test(e.message),
    );
    await waitFor(() => gone(c, nsRef, 'doomed'), { timeoutMs: 10_000, what: 'namespace gone' });
    for (const ref of [cm, secrets, pods, services]) {
      assert.equal((await c.list(ref, { namespace: 'doomed' })).items.length, 0, `${ref.resource} left`);
    }
  });

  it('a namespace with content that has a finalizer stays Terminating with conditions saying why', async () => {
    await c.create(nsRef, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'stuck' } });
    await c.create(cm, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'held', namespace: 'stuck', finalizers: ['example.com/hold'] } });
    await c.delete(nsRef, 'stuck');
    const ns = await waitFor(async () => {
      const n = await c.get(nsRef, 'stuck');
      const conds = ((n.status as { conditions?: Array<{ type: string; status: string; message: string }> }).conditions ?? []);
      return conds.find((x) => x.type === 'NamespaceFinalizersRemaining' && x.status === 'True') ? n : undefined;
    }, { timeoutMs: 5000, what: 'finalizers-remaining condition' });
    const conds = (ns.status as { phase: string; conditions: Array<{ type: string; status: string; message: string }> });
    assert.equal(conds.phase, 'Terminating');
    assert.match(conds.conditions.find((x) => x.type === 'NamespaceContentRemaining')!.message, /configmaps\. has 1 resource instances/);
    assert.match(conds.conditions.find((x) => x.type === 'NamespaceFinalizersRemaining')!.message, /example.com\/hold in 1 resource instances/);
    await c.patch(cm, 'held', 'merge', { metadata: { finalizers: null } }, { namespace: 'stuck' });
    await waitFor(() => gone(c, nsRef, 'stuck'), { timeoutMs: 10_000, what: 'namespace gone after finalizer removed' });
  });
});
