// The HttpClient and Informer against the real resource API: CRUD, errors as ClientError, and an
// informer that sees adds, updates and deletes made by another client.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApi } from '../helpers/api.ts';
import { Informer } from '../../src/client/informer.ts';
import { SharedInformers } from '../../src/client/shared-informers.ts';
import { isAlreadyExists, isNotFound, type KubeObject, type ResourceRef } from '../../src/client/types.ts';
import { waitFor } from '../helpers/wait.ts';

const configmaps: ResourceRef = { group: '', version: 'v1', resource: 'configmaps', namespaced: true };

test('client CRUD and errors', async () => {
  const api = await startTestApi();
  try {
    const c = api.client;
    const created = await c.create<KubeObject>(configmaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a', namespace: 'default' }, data: { k: 'v' } });
    assert.ok(created.metadata.uid);
    await assert.rejects(c.create(configmaps, { metadata: { name: 'a', namespace: 'default' } }), (e) => isAlreadyExists(e));
    const got = await c.get<KubeObject & { data: Record<string, string> }>(configmaps, 'a', 'default');
    assert.equal(got.data.k, 'v');
    const patched = await c.patch<KubeObject & { data: Record<string, string> }>(configmaps, 'a', 'merge', { data: { k: 'w' } }, { namespace: 'default' });
    assert.equal(patched.data.k, 'w');
    const list = await c.list(configmaps, { namespace: 'default' });
    assert.equal(list.items.length, 1);
    await c.delete(configmaps, 'a', { namespace: 'default' });
    await assert.rejects(c.get(configmaps, 'a', 'default'), (e) => isNotFound(e));
  } finally {
    await api.close();
  }
});

test('an informer follows changes made by another client', async () => {
  const api = await startTestApi();
  const ac = new AbortController();
  try {
    const writer = api.newClient('writer');
    await writer.create(configmaps, { metadata: { name: 'pre', namespace: 'default' }, data: {} } as KubeObject);
    const factory = new SharedInformers(api.client);
    const inf: Informer = factory.informerFor(configmaps);
    assert.equal(factory.informerFor(configmaps), inf, 'shared: one informer per resource');
    const seen: string[] = [];
    inf.addHandlers({
      onAdd: (o) => seen.push(`add ${o.metadata.name}`),
      onUpdate: (_o, n) => seen.push(`update ${n.metadata.name}`),
      onDelete: (o) => seen.push(`delete ${o.metadata.name}`),
    });
    factory.start(ac.signal);
    await factory.waitForSync();
    assert.ok(inf.get('pre', 'default'));
    await writer.create(configmaps, { metadata: { name: 'x', namespace: 'default' }, data: {} } as KubeObject);
    await writer.patch(configmaps, 'x', 'merge', { data: { a: '1' } }, { namespace: 'default' });
    await writer.delete(configmaps, 'x', { namespace: 'default' });
    await waitFor(() => seen.includes('delete x'), { timeoutMs: 5000, what: 'informer delete event' });
    assert.deepEqual(seen, ['add pre', 'add x', 'update x', 'delete x']);
    assert.equal(inf.get('x', 'default'), undefined);
  } finally {
    ac.abort();
    await api.close();
  }
});
