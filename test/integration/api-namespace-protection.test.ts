// The system namespaces cannot be deleted (namespace lifecycle admission); others can.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApi } from '../helpers/api.ts';
import { ClientError, type ResourceRef } from '../../src/client/types.ts';

const namespaces: ResourceRef = { group: '', version: 'v1', resource: 'namespaces', namespaced: false };

test('deleting default, kube-system, kube-public or kube-node-lease is forbidden', async () => {
  const api = await startTestApi();
  try {
    for (const name of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) {
      await assert.rejects(api.client.delete(namespaces, name), (e: unknown) => {
        assert.ok(e instanceof ClientError);
        assert.equal(e.code, 403);
        assert.equal(e.reason, 'Forbidden');
        assert.equal(e.message, `namespaces "${name}" is forbidden: this namespace may not be deleted`);
        return true;
      });
      assert.equal((await api.client.get(namespaces, name)).metadata.name, name, `${name} is still there`);
    }
    await api.client.create(namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'scratch' } });
    await api.client.delete(namespaces, 'scratch');
  } finally {
    await api.close();
  }
});
