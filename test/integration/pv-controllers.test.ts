// The storage controllers against the real resource API: binding matrix, phases, reclaim,
// protection finalizers, local-path provisioning into a temp storage dir, expansion, and the
// PVC admission rules (default class, finalizers, resize, immutability).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestApi, type TestApi } from '../helpers/api.ts';
import { waitFor } from '../helpers/wait.ts';
import { ClientError, isNotFound, type Client, type KubeObject, type ResourceRef } from '../../src/client/types.ts';
import { startStorageControllers, type RunningStorageControllers } from '../../src/storage-controllers/index.ts';
import { ensureDefaultStorageClass } from '../../src/bootstrap/storageclass.ts';
import { podsRef, pvcsRef, pvsRef, storageClassesRef, type PV, type PVC } from '../../src/storage-controllers/volumes.ts';

const eventsRef: ResourceRef = { group: '', version: 'v1', resource: 'events', namespaced: true };
const nsRef: ResourceRef = { group: '', version: 'v1', resource: 'namespaces', namespaced: false };

let api: TestApi;
let client: Client;
let storageDir: string;
let running: RunningStorageControllers;
const stop = new AbortController();

before(async () => {
  api = await startTestApi();
  client = api.client;
  storageDir = await mkdtemp(join(tmpdir(), 'nanokube-pv-'));
  await ensureDefaultStorageClass(client);
  running = await startStorageControllers({ clientFor: () => api.newClient('storage-test'), storageDir, defaultNode: 'node-a' }, stop.signal);
});

after(async () => {
  stop.abort();
  await running?.done;
  await api?.close();
  await rm(storageDir, { recursive: true, force: true });
});

const gi = (n: number) => `${n}Gi`;

async function mkNamespace(name: string): Promise<string> {
  await client.create(nsRef, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  return name;
}

async function mkClass(name: string, extra: Record<string, unknown> = {}): Promise<void> {
  await client.create(storageClassesRef, { apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', metadata: { name }, provisioner: 'kubernetes.io/no-provisioner', volumeBindingMode: 'Immediate', ...extra });
}

async function mkPV(name: string, storageClassName: string, size: string, spec: Record<string, unknown> = {}, labels?: Record<string, string>): Promise<PV> {
  return client.create<PV>(pvsRef, {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name, ...(labels ? { labels } : {}) },
    spec: { storageClassName, capacity: { storage: size }, accessModes: ['ReadWriteOnce'], persistentVolumeReclaimPolicy: 'Retain', hostPath: { path: join(storageDir, 'static', name) }, ...spec },
  });
}

async function mkPVC(ns: string, name: string, spec: Record<string, unknown>): Promise<PVC> {
  return client.create<PVC>(pvcsRef, {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name, namespace: ns },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: gi(1) } }, ...spec },
  });
}

const getPVC = (ns: string, name: string) => client.get<PVC>(pvcsRef, name, ns);
const getPV = (name: string) => client.get<PV>(pvsRef, name);

async function waitBound(ns: string, name: string): Promise<PVC> {
  return waitFor(
    async () => {
      const c = await getPVC(ns, name);
      return c.status?.phase === 'Bound' ? c : undefined;
    },
    { what: `claim ${ns}/${name} to be Bound`, timeoutMs: 10_000 },
  );
}

async function waitEvent(ns: string, involved: string, reason: string): Promise<KubeObject> {
  return waitFor(
    async () => {
      const list = await client.list(eventsRef, { namespace: ns });
      return list.items.find((e) => (e.involvedObject as { name?: string }).name === involved && e.reason === reason);
    },
    { what: `event ${reason} on ${involved}`, timeoutMs: 10_000 },
  );
}

async function waitGone(check: () => Promise<unknown>, what: string): Promise<void> {
  await waitFor(
    async () => {
      try {
        await check();
        return false;
      } catch (e) {
        if (isNotFound(e)) return true;
        throw e;
      }
    },
    { what, timeoutMs: 10_000 },
  );
}

describe('admission', () => {
  it('fills the default class and the protection finalizers on create', async () => {
    const ns = await mkNamespace('adm');
    const c = await mkPVC(ns, 'c', {});
    assert.equal(c.spec?.storageClassName, 'local-path');
    assert.deepEqual(c.metadata.finalizers, ['kubernetes.io/pvc-protection']);
    const explicitNone = await mkPVC(ns, 'none', { storageClassName: '' });
    assert.equal(explicitNone.spec?.storageClassName, '', '"" asks for no class and must stay so');
    const pv = await mkPV('adm-pv', 'x', gi(1));
    assert.deepEqual(pv.metadata.finalizers, ['kubernetes.io/pv-protection']);
    assert.equal(pv.status?.phase, 'Pending');
    await waitFor(async () => (await getPV('adm-pv')).status?.phase === 'Available', { what: 'new PV Available', timeoutMs: 10_000 });
  });

  it('keeps a claim spec immutable except growing requests of bound claims in expandable classes', async () => {
    const ns = await mkNamespace('immut');
    await mkClass('fixed');
    await mkPV('immut-pv', 'fixed', gi(5));
    await mkPVC(ns, 'c', { storageClassName: 'fixed' });
    const bound = await waitBound(ns, 'c');
    const changeMode = structuredClone(bound);
    changeMode.spec!.accessModes = ['ReadWriteMany'];
    await assert.rejects(client.update(pvcsRef, changeMode), (e: unknown) => e instanceof ClientError && e.code === 422 && /immutable/.test(e.message));
    const grow = structuredClone(bound);
    grow.spec!.resources = { requests: { storage: gi(2) } };
    await assert.rejects(client.update(pvcsRef, grow), (e: unknown) => e instanceof ClientError && e.code === 403 && /must support resize/.test(e.message));
    const unbound = await mkPVC(ns, 'pending', { storageClassName: 'nothing-matches' });
    const growUnbound = structuredClone(unbound);
    growUnbound.spec!.resources = { requests: { storage: gi(3) } };
    await assert.rejects(client.update(pvcsRef, growUnbound), (e: unknown) => e instanceof ClientError && e.code === 403);
  });
});

describe('binding matrix (Immediate, static volumes)', () => {
  const cases: Array<{ name: string; pvs: Array<{ name: string; size: number; spec?: Record<string, unknown>; labels?: Record<string, string> }>; claim: Record<string, unknown>; want: string | { pendingReason: string } }> = [
    { name: 'smallest that fits', pvs: [{ name: 'one', size: 1 }, { name: 'five', size: 5 }, { name: 'three', size: 3 }], claim: { resources: { requests: { storage: gi(2) } } }, want: 'three' },
    { name: 'access modes must be offered', pvs: [{ name: 'rwx', size: 1, spec: { accessModes: ['ReadWriteMany'] } }, { name: 'rwo', size: 10 }], claim: {}, want: 'rwo' },
    { name: 'selector', pvs: [{ name: 'plain', size: 1 }, { name: 'gold', size: 2, labels: { tier: 'gold' } }], claim: { selector: { matchLabels: { tier: 'gold' } } }, want: 'gold' },
    { name: 'volumeMode must match', pvs: [{ name: 'block', size: 1, spec: { volumeMode: 'Block' } }, { name: 'fs', size: 4 }], claim: {}, want: 'fs' },
    { name: 'claim volumeName pre-binds', pvs: [{ name: 'small', size: 1 }, { name: 'chosen', size: 8 }], claim: { volumeName: 'chosen' }, want: 'chosen' },
    { name: 'volume claimRef pre-binds', pvs: [{ name: 'small', size: 1 }, { name: 'reserved', size: 8, spec: { claimRef: { namespace: 'matrix-5', name: 'claim' } } }], claim: {}, want: 'reserved' },
    { name: 'unsatisfiable selector stays Pending', pvs: [{ name: 'only', size: 1 }], claim: { selector: { matchLabels: { tier: 'platinum' } } }, want: { pendingReason: 'FailedBinding' } },
    { name: 'too small stays Pending', pvs: [{ name: 'tiny', size: 1 }], claim: { resources: { requests: { storage: gi(2) } } }, want: { pendingReason: 'FailedBinding' } },
    { name: 'volumeName of a mismatching volume', pvs: [{ name: 'rwx-only', size: 1, spec: { accessModes: ['ReadWriteMany'] } }], claim: { volumeName: 'rwx-only' }, want: { pendingReason: 'VolumeMismatch' } },
  ];
  cases.forEach((tc, i) => {
    it(tc.name, async () => {
      const ns = await mkNamespace(`matrix-${i}`);
      const cls = `matrix-${i}`;
      await mkClass(cls);
      // Volume names are cluster-wide: prefixed per case; the table uses the short names.
      const pvName = (n: string) => `m${i}-${n}`;
      for (const pv of tc.pvs) await mkPV(pvName(pv.name), cls, gi(pv.size), pv.spec, pv.labels);
      const claimSpec: Record<string, unknown> = { storageClassName: cls, ...tc.claim };
      if (typeof tc.claim.volumeName === 'string') claimSpec.volumeName = pvName(tc.claim.volumeName);
      await mkPVC(ns, 'claim', claimSpec);
      if (typeof tc.want === 'string') {
        const c = await waitBound(ns, 'claim');
        const want = pvName(tc.want);
        assert.equal(c.spec?.volumeName, want);
        assert.equal(c.metadata.annotations?.['pv.kubernetes.io/bind-completed'], 'yes');
        assert.equal(c.status?.capacity?.storage, gi(tc.pvs.find((p) => p.name === tc.want)!.size));
        const pv = await waitFor(async () => {
          const v = await getPV(want);
          return v.status?.phase === 'Bound' ? v : undefined;
        }, { what: `${want} Bound`, timeoutMs: 10_000 });
        assert.equal(pv.spec?.claimRef?.uid, c.metadata.uid);
        // The controller marks what it decided; the user's own pre-binding is not "by controller".
        const byController = tc.claim.volumeName === undefined;
        assert.equal(c.metadata.annotations?.['pv.kubernetes.io/bound-by-controller'] === 'yes', byController);
        // Nothing else was taken.
        for (const other of tc.pvs.filter((p) => p.name !== tc.want)) assert.equal((await getPV(pvName(other.name))).spec?.claimRef, undefined);
      } else {
        await waitEvent(ns, 'claim', tc.want.pendingReason);
        const c = await getPVC(ns, 'claim');
        assert.equal(c.status?.phase, 'Pending');
        assert.equal(c.spec?.volumeName ?? '', typeof tc.claim.volumeName === 'string' ? pvName(tc.claim.volumeName) : '');
      }
    });
  });
});

describe('phases and reclaim', () => {
  it('Retain: deleting the claim leaves the volume Released with its claimRef', async () => {
    const ns = await mkNamespace('retain');
    await mkClass('retain');
    await mkPV('retain-pv', 'retain', gi(1));
    await mkPVC(ns, 'c', { storageClassName: 'retain' });
    await waitBound(ns, 'c');
    await client.delete(pvcsRef, 'c', { namespace: ns });
    await waitGone(() => getPVC(ns, 'c'), 'claim deleted');
    const pv = await waitFor(async () => {
      const v = await getPV('retain-pv');
      return v.status?.phase === 'Released' ? v : undefined;
    }, { what: 'retain-pv Released', timeoutMs: 10_000 });
    assert.equal(pv.spec?.claimRef?.name, 'c');
    // A new claim does not get a Released volume.
    await mkPVC(ns, 'c2', { storageClassName: 'retain' });
    await waitEvent(ns, 'c2', 'FailedBinding');
    assert.equal((await getPV('retain-pv')).status?.phase, 'Released');
  });

  it('Delete on a hand-made volume: Failed with VolumeFailedDelete (no deleter), like upstream', async () => {
    const ns = await mkNamespace('handmade');
    await mkClass('handmade');
    await mkPV('handmade-pv', 'handmade', gi(1), { persistentVolumeReclaimPolicy: 'Delete' });
    await mkPVC(ns, 'c', { storageClassName: 'handmade' });
    await waitBound(ns, 'c');
    await client.delete(pvcsRef, 'c', { namespace: ns });
    await waitFor(async () => (await getPV('handmade-pv')).status?.phase === 'Failed', { what: 'handmade-pv Failed', timeoutMs: 10_000 });
    await waitEvent('default', 'handmade-pv', 'VolumeFailedDelete');
  });

  it('a claim whose volume disappears is Lost', async () => {
    const ns = await mkNamespace('lost');
    await mkClass('lost');
    await mkPV('lost-pv', 'lost', gi(1));
    await mkPVC(ns, 'c', { storageClassName: 'lost' });
    await waitBound(ns, 'c');
    // Bound volumes keep pv-protection; remove it by hand to simulate an admin's force delete.
    await client.delete(pvsRef, 'lost-pv');
    const pv = await getPV('lost-pv');
    assert.ok(pv.metadata.deletionTimestamp, 'a Bound volume is held by pv-protection');
    await client.patch(pvsRef, 'lost-pv', 'merge', { metadata: { finalizers: null } });
    await waitFor(async () => (await getPVC(ns, 'c')).status?.phase === 'Lost', { what: 'claim Lost', timeoutMs: 10_000 });
    await waitEvent(ns, 'c', 'ClaimLost');
  });
});

describe('protection', () => {
  it('a claim used by a pod stays until the pod is gone', async () => {
    const ns = await mkNamespace('protect');
    await mkClass('protect');
    await mkPV('protect-pv', 'protect', gi(1));
    await mkPVC(ns, 'c', { storageClassName: 'protect' });
    await waitBound(ns, 'c');
    await client.create(podsRef, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'user', namespace: ns },
      spec: { containers: [{ name: 'c', image: 'busybox' }], volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'c' } }] },
    });
    await client.delete(pvcsRef, 'c', { namespace: ns });
    const held = await getPVC(ns, 'c');
    assert.ok(held.metadata.deletionTimestamp);
    // Its volume stays Bound (and so pv-protection holds it too).
    assert.equal((await getPV('protect-pv')).status?.phase, 'Bound');
    // Run the protection reconcile on the terminating claim ourselves: it must keep the finalizer.
    await waitFor(() => running.protection.claimsInformerSees(ns, 'c'), { what: 'informer saw the deletion', timeoutMs: 5_000 });
    await running.protection.syncClaim({ namespace: ns, name: 'c' });
    assert.deepEqual((await getPVC(ns, 'c')).metadata.finalizers, ['kubernetes.io/pvc-protection']);
    await client.delete(podsRef, 'user', { namespace: ns, gracePeriodSeconds: 0 });
    await waitGone(() => getPVC(ns, 'c'), 'claim removed after the pod');
    await waitFor(async () => (await getPV('protect-pv')).status?.phase === 'Released', { what: 'volume Released', timeoutMs: 10_000 });
  });

  it('a volume being deleted goes once it is no longer Bound', async () => {
    await mkClass('pvdel');
    await mkPV('pvdel-pv', 'pvdel', gi(1));
    await waitFor(async () => (await getPV('pvdel-pv')).status?.phase === 'Available', { what: 'Available', timeoutMs: 10_000 });
    await client.delete(pvsRef, 'pvdel-pv');
    await waitGone(() => getPV('pvdel-pv'), 'available volume deleted');
  });
});

describe('local-path provisioning', () => {
  it('waits for the first consumer, provisions on the selected node, binds, and deletes data on reclaim', async () => {
    const ns = await mkNamespace('dyn');
    const claim = await mkPVC(ns, 'data', {});
    await waitEvent(ns, 'data', 'WaitForFirstConsumer');
    assert.equal((await getPVC(ns, 'data')).status?.phase, 'Pending');
    const pvName = `pvc-${claim.metadata.uid}`;
    await assert.rejects(getPV(pvName), (e: unknown) => isNotFound(e));
    // What the scheduler's VolumeBinding plugin writes when it picks a node.
    await client.patch(pvcsRef, 'data', 'merge', { metadata: { annotations: { 'volume.kubernetes.io/selected-node': 'node-b' } } }, { namespace: ns });
    const bound = await waitBound(ns, 'data');
    assert.equal(bound.spec?.volumeName, pvName);
    assert.equal(bound.status?.capacity?.storage, gi(1));
    assert.equal(bound.metadata.annotations?.['volume.kubernetes.io/storage-provisioner'], 'rancher.io/local-path');
    const pv = await getPV(pvName);
    assert.equal(pv.spec?.hostPath?.path, join(storageDir, pvName));
    assert.deepEqual(pv.spec?.nodeAffinity?.required?.nodeSelectorTerms?.[0]?.matchExpressions?.[0], { key: 'kubernetes.io/hostname', operator: 'In', values: ['node-b'] });
    assert.equal(pv.spec?.persistentVolumeReclaimPolicy, 'Delete');
    assert.equal(pv.metadata.annotations?.['pv.kubernetes.io/provisioned-by'], 'rancher.io/local-path');
    assert.ok((await stat(join(storageDir, pvName))).isDirectory());
    await waitEvent(ns, 'data', 'ProvisioningSucceeded');
    await waitEvent(ns, 'data', 'ExternalProvisioning');

    await client.delete(pvcsRef, 'data', { namespace: ns });
    await waitGone(() => getPV(pvName), 'provisioned volume deleted');
    await assert.rejects(stat(join(storageDir, pvName)), { code: 'ENOENT' });
  });

  it('Retain class: the directory and Released volume stay', async () => {
    const ns = await mkNamespace('dyn-retain');
    await client.create(storageClassesRef, { apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', metadata: { name: 'local-retain' }, provisioner: 'rancher.io/local-path', reclaimPolicy: 'Retain', volumeBindingMode: 'Immediate' });
    const claim = await mkPVC(ns, 'keep', { storageClassName: 'local-retain' });
    const bound = await waitBound(ns, 'keep');
    const pvName = `pvc-${claim.metadata.uid}`;
    assert.equal(bound.spec?.volumeName, pvName);
    // Immediate: no scheduler involved, the server's node is used.
    assert.deepEqual((await getPV(pvName)).spec?.nodeAffinity?.required?.nodeSelectorTerms?.[0]?.matchExpressions?.[0]?.values, ['node-a']);
    await client.delete(pvcsRef, 'keep', { namespace: ns });
    await waitFor(async () => (await getPV(pvName)).status?.phase === 'Released', { what: 'Released', timeoutMs: 10_000 });
    assert.ok((await stat(join(storageDir, pvName))).isDirectory());
  });

  it('refuses a selector (ProvisioningFailed) and leaves the claim Pending', async () => {
    const ns = await mkNamespace('dyn-sel');
    await mkPVC(ns, 'sel', { selector: { matchLabels: { disk: 'ssd' } } });
    await client.patch(pvcsRef, 'sel', 'merge', { metadata: { annotations: { 'volume.kubernetes.io/selected-node': 'node-a' } } }, { namespace: ns });
    const ev = await waitEvent(ns, 'sel', 'ProvisioningFailed');
    assert.match(String(ev.message), /Selector is not supported/);
    assert.equal((await getPVC(ns, 'sel')).status?.phase, 'Pending');
  });

  it('expands a bound claim of an expandable class (capacity only)', async () => {
    const ns = await mkNamespace('grow');
    await mkPVC(ns, 'g', { storageClassName: 'local-path' });
    await client.patch(pvcsRef, 'g', 'merge', { metadata: { annotations: { 'volume.kubernetes.io/selected-node': 'node-a' } } }, { namespace: ns });
    const bound = await waitBound(ns, 'g');
    await client.patch(pvcsRef, 'g', 'merge', { spec: { resources: { requests: { storage: gi(3) } } } }, { namespace: ns });
    await waitFor(async () => (await getPVC(ns, 'g')).status?.capacity?.storage === gi(3), { what: 'claim capacity 3Gi', timeoutMs: 10_000 });
    assert.equal((await getPV(bound.spec!.volumeName!)).spec?.capacity?.storage, gi(3));
    await waitEvent(ns, 'g', 'VolumeResizeSuccessful');
    await assert.rejects(
      client.patch(pvcsRef, 'g', 'merge', { spec: { resources: { requests: { storage: gi(1) } } } }, { namespace: ns }),
      (e: unknown) => e instanceof ClientError && e.code === 422 && /less than previous/.test(e.message),
    );
  });
});

describe('retroactive default class', () => {
  it('a claim made while no default class existed gets one when it appears', async () => {
    const ns = await mkNamespace('retro');
    // Take away the default marker, create the claim, then mark a class default again.
    await client.patch(storageClassesRef, 'local-path', 'merge', { metadata: { annotations: { 'storageclass.kubernetes.io/is-default-class': 'false' } } });
    try {
      const c = await mkPVC(ns, 'late', {});
      assert.equal(c.spec?.storageClassName, undefined);
      await client.patch(storageClassesRef, 'local-path', 'merge', { metadata: { annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } } });
      await waitFor(async () => (await getPVC(ns, 'late')).spec?.storageClassName === 'local-path', { what: 'class filled in', timeoutMs: 10_000 });
    } finally {
      await client.patch(storageClassesRef, 'local-path', 'merge', { metadata: { annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } } });
    }
  });
});
