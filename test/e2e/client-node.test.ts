// @kubernetes/client-node against a real cluster: its informer (list + watch) sees what kubectl does,
// and its typed API reads what kubectl wrote. client-node is what many Node operators and tools use.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as k8s from '@kubernetes/client-node';
import { startCluster } from '../helpers/cluster.ts';
import { waitFor } from '../helpers/wait.ts';

test('a client-node informer sees ADDED, MODIFIED and DELETED for objects changed by kubectl', async () => {
  const cluster = await startCluster();
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(cluster.kubeconfig);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const seen: string[] = [];
  const informer = k8s.makeInformer(kc, '/api/v1/namespaces/default/configmaps', () => core.listNamespacedConfigMap({ namespace: 'default' }));
  informer.on('add', (o: k8s.V1ConfigMap) => seen.push(`add ${o.metadata?.name}`));
  informer.on('update', (o: k8s.V1ConfigMap) => seen.push(`update ${o.metadata?.name} ${o.data?.k ?? ''}`));
  informer.on('delete', (o: k8s.V1ConfigMap) => seen.push(`delete ${o.metadata?.name}`));
  let informerError: unknown;
  informer.on('error', (e: unknown) => (informerError = e));
  try {
    await informer.start();
    assert.equal((await cluster.kubectl(['create', 'configmap', 'watched', '--from-literal=k=1'])).code, 0);
    await waitFor(() => seen.includes('add watched'), { timeoutMs: 10_000, what: 'informer add' });
    assert.equal((await cluster.kubectl(['patch', 'configmap', 'watched', '--type=merge', '-p', '{"data":{"k":"2"}}'])).code, 0);
    await waitFor(() => seen.includes('update watched 2'), { timeoutMs: 10_000, what: 'informer update' });
    assert.equal((await cluster.kubectl(['delete', 'configmap', 'watched'])).code, 0);
    await waitFor(() => seen.includes('delete watched'), { timeoutMs: 10_000, what: 'informer delete' });
    assert.equal(informerError, undefined);

    const list = await core.listNamespace();
    assert.ok(list.items.some((n) => n.metadata?.name === 'kube-system'));
  } finally {
    await informer.stop();
    await cluster.destroy();
  }
});
