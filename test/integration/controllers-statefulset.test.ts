// StatefulSets against the real resource API with the fake kubelet: ordered creation (each pod
// waits for the previous to be Ready), identity and PVCs, partitioned rolling update highest
// ordinal first, ControllerRevisions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApi } from '../helpers/api.ts';
import { startFakeKubelet } from '../helpers/fake-kubelet.ts';
import { waitFor } from '../helpers/wait.ts';
import { startWorkloadControllers } from '../../src/controllers/index.ts';
import { Informer } from '../../src/client/informer.ts';
import { refs, type PodObject } from '../../src/controllers/replicaset/podutil.ts';
import type { StatefulSetObj } from '../../src/controllers/statefulset/controller.ts';
import type { ControllerRevisionObj } from '../../src/controllers/statefulset/history.ts';

test('OrderedReady creates web-0, web-1, web-2 in order with identity and claims; partition limits the rolling update', async () => {
  const api = await startTestApi();
  const ac = new AbortController();
  const kubelet = await startFakeKubelet(api.newClient('fake-kubelet'), { nodes: ['n1'] });
  try {
    await startWorkloadControllers(api.newClient('controllers'), { signal: ac.signal, only: ['statefulset'] });
    const order: string[] = [];
    const observer = new Informer<PodObject>(api.newClient('observer'), refs.pods, { namespace: 'default' });
    observer.addHandlers({ onAdd: (p) => {
      // When a pod appears, every lower ordinal must already be Ready.
      const ord = Number(p.metadata.name?.split('-').pop());
      for (let i = 0; i < ord; i++) {
        const lower = observer.get(`web-${i}`, 'default');
        order.push(lower?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? `ok ${i}<${ord}` : `NOT READY ${i}<${ord}`);
      }
    } });
    void observer.run(ac.signal);
    await observer.waitForSync();
    const sts: StatefulSetObj = {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'web', namespace: 'default' },
      spec: {
        replicas: 3,
        serviceName: 'web-hl',
        selector: { matchLabels: { app: 'web' } },
        template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'nginx:1' }] } },
        volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }],
      },
    };
    await api.client.create(refs.statefulsets, sts);
    const ready = await waitFor(async () => {
      const s = await api.client.get<StatefulSetObj>(refs.statefulsets, 'web', 'default');
      return s.status?.readyReplicas === 3 && s;
    }, { timeoutMs: 15_000, what: '3 ready' });
    assert.ok(!order.some((o) => o.startsWith('NOT')), order.join(', '));
    const pods = (await api.client.list<PodObject>(refs.pods, { namespace: 'default' })).items.sort((a, b) => (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''));
    assert.deepEqual(pods.map((p) => p.metadata.name), ['web-0', 'web-1', 'web-2']);
    for (const p of pods) {
      assert.equal(p.spec?.hostname, p.metadata.name);
      assert.equal(p.spec?.subdomain, 'web-hl');
      assert.equal(p.metadata.labels?.['statefulset.kubernetes.io/pod-name'], p.metadata.name);
      assert.equal(p.metadata.labels?.['controller-revision-hash'], ready.status?.updateRevision);
      assert.equal(p.spec?.volumes?.find((v) => v.name === 'data')?.persistentVolumeClaim?.claimName, `data-${p.metadata.name}`);
    }
    const pvcs = (await api.client.list(refs.pvcs, { namespace: 'default' })).items.map((c) => c.metadata.name).sort();
    assert.deepEqual(pvcs, ['data-web-0', 'data-web-1', 'data-web-2']);
    const rev1 = ready.status?.updateRevision;

    // Partition 1: only web-2 and web-1 move to the new revision; web-0 stays.
    await api.client.patch(refs.statefulsets, 'web', 'merge', { spec: { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 1 } }, template: { spec: { containers: [{ name: 'c', image: 'nginx:2' }] } } } }, { namespace: 'default' });
    const s2 = await waitFor(async () => {
      const s = await api.client.get<StatefulSetObj>(refs.statefulsets, 'web', 'default');
      return s.status?.updatedReplicas === 2 && s.status.readyReplicas === 3 && s;
    }, { timeoutMs: 15_000, what: '2 updated' });
    assert.notEqual(s2.status?.updateRevision, rev1);
    assert.equal(s2.status?.currentRevision, rev1, 'partitioned rollout is not complete');
    const images = Object.fromEntries((await api.client.list<PodObject>(refs.pods, { namespace: 'default' })).items.map((p) => [p.metadata.name, p.spec?.containers[0]?.image]));
    assert.deepEqual(images, { 'web-0': 'nginx:1', 'web-1': 'nginx:2', 'web-2': 'nginx:2' });
    const revs = (await api.client.list<ControllerRevisionObj>(refs.controllerrevisions, { namespace: 'default' })).items;
    assert.deepEqual(revs.map((r) => r.revision).sort(), [1, 2]);
    const newest = revs.find((r) => r.revision === 2)!;
    assert.equal(newest.metadata.name, s2.status?.updateRevision);
    assert.equal((newest.data?.spec?.template as { $patch?: string }).$patch, 'replace');

    // Partition 0 finishes it; the update revision becomes current.
    await api.client.patch(refs.statefulsets, 'web', 'merge', { spec: { updateStrategy: { rollingUpdate: { partition: 0 } } } }, { namespace: 'default' });
    await waitFor(async () => {
      const s = await api.client.get<StatefulSetObj>(refs.statefulsets, 'web', 'default');
      return s.status?.updatedReplicas === 3 && s.status.currentRevision === s.status.updateRevision && s.status.readyReplicas === 3;
    }, { timeoutMs: 15_000, what: 'rollout complete' });

    // Scale down removes the highest ordinal and keeps its claim (default Retain).
    await api.client.patch(refs.statefulsets, 'web', 'merge', { spec: { replicas: 2 } }, { namespace: 'default' });
    await waitFor(async () => (await api.client.list(refs.pods, { namespace: 'default' })).items.map((p) => p.metadata.name).sort().join() === 'web-0,web-1', { what: 'scaled to 2' });
    assert.equal((await api.client.list(refs.pvcs, { namespace: 'default' })).items.length, 3);
  } finally {
    ac.abort();
    kubelet.stop();
    await api.close();
  }
});
