// Deployments and ReplicaSets against the real resource API with the fake kubelet: becoming
// Available, a surge-only rolling update that never drops below the desired ready count, undo
// through the JSON patch kubectl sends, ProgressDeadlineExceeded for a bad image, Recreate,
// proportional scaling, and ReplicaSet expectations under bursts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApi, type TestApi } from '../helpers/api.ts';
import { startFakeKubelet, type FakeKubelet } from '../helpers/fake-kubelet.ts';
import { waitFor } from '../helpers/wait.ts';
import { startWorkloadControllers, type WorkloadControllerName } from '../../src/controllers/index.ts';
import { Informer } from '../../src/client/informer.ts';
import type { KubeObject } from '../../src/client/types.ts';
import { isPodReady, refs, type PodObject } from '../../src/controllers/replicaset/podutil.ts';
import type { DeploymentObj, ReplicaSetObj } from '../../src/controllers/deployment/util.ts';

interface Env {
  api: TestApi;
  kubelet: FakeKubelet;
  ac: AbortController;
}

async function setup(only: WorkloadControllerName[] = ['replicaset', 'deployment']): Promise<Env> {
  const api = await startTestApi();
  const ac = new AbortController();
  const kubelet = await startFakeKubelet(api.newClient('fake-kubelet'), { nodes: ['node-a', 'node-b'], fate: (p) => (p.spec?.containers[0]?.image === 'bad:1' ? 'notReady' : 'ready') });
  await startWorkloadControllers(api.newClient('controllers'), { signal: ac.signal, only });
  return { api, kubelet, ac };
}

async function teardown(env: Env): Promise<void> {
  env.ac.abort();
  env.kubelet.stop();
  await env.api.close();
}

function deployment(name: string, replicas: number, image: string, extra: Record<string, unknown> = {}): DeploymentObj {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'default' },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image }] } },
      ...extra,
    },
  };
}

const getD = (env: Env, name: string) => env.api.client.get<DeploymentObj>(refs.deployments, name, 'default');
const listRS = async (env: Env) => (await env.api.client.list<ReplicaSetObj>(refs.replicasets, { namespace: 'default' })).items;
const cond = (d: DeploymentObj, type: string) => d.status?.conditions?.find((c) => c.type === type);

async function waitComplete(env: Env, name: string, replicas: number, timeoutMs = 15_000): Promise<DeploymentObj> {
  return waitFor(
    async () => {
      const d = await getD(env, name);
      const s = d.status ?? {};
      const ok = (s.observedGeneration ?? 0) >= (d.metadata.generation ?? 0) && s.updatedReplicas === replicas && s.replicas === replicas && s.availableReplicas === replicas && cond(d, 'Progressing')?.reason === 'NewReplicaSetAvailable';
      return ok && d;
    },
    { timeoutMs, what: `deployment ${name} rollout complete with ${replicas}` },
  );
}

test('a 3-replica Deployment becomes Available with upstream names, annotations and events', async () => {
  const env = await setup();
  try {
    await env.api.client.create(refs.deployments, deployment('web', 3, 'nginx:1'));
    const d = await waitComplete(env, 'web', 3);
    assert.equal(cond(d, 'Available')?.status, 'True');
    assert.equal(cond(d, 'Available')?.reason, 'MinimumReplicasAvailable');
    assert.equal(cond(d, 'Progressing')?.status, 'True');
    assert.equal(d.metadata.annotations?.['deployment.kubernetes.io/revision'], '1');
    const rss = await listRS(env);
    assert.equal(rss.length, 1);
    const rs = rss[0]!;
    const hash = rs.metadata.labels?.['pod-template-hash'];
    assert.match(hash ?? '', /^[bcdfghjklmnpqrstvwxz2456789]{6,10}$/);
    assert.equal(rs.metadata.name, `web-${hash}`);
    assert.equal(rs.spec?.selector.matchLabels?.['pod-template-hash'], hash);
    assert.equal(rs.metadata.annotations?.['deployment.kubernetes.io/desired-replicas'], '3');
    assert.equal(rs.metadata.annotations?.['deployment.kubernetes.io/max-replicas'], '4');
    assert.equal(rs.metadata.ownerReferences?.[0]?.kind, 'Deployment');
    assert.equal(rs.metadata.ownerReferences?.[0]?.controller, true);
    assert.equal(rs.status?.readyReplicas, 3);
    assert.equal(rs.status?.observedGeneration, 1);
    const pods = (await env.api.client.list<PodObject>(refs.pods, { namespace: 'default' })).items;
    assert.equal(pods.length, 3);
    for (const p of pods) {
      assert.equal(p.metadata.labels?.['pod-template-hash'], hash);
      assert.ok(p.metadata.name?.startsWith(`web-${hash}-`));
    }
    const events = await waitFor(async () => {
      const list = await env.api.client.list<KubeObject & { reason?: string; message?: string }>({ group: '', version: 'v1', resource: 'events', namespaced: true }, { namespace: 'default' });
      return list.items.find((e) => e.reason === 'ScalingReplicaSet');
    }, { what: 'ScalingReplicaSet event' });
    assert.equal(events.message, `Scaled up replica set web-${hash} from 0 to 3`);
  } finally {
    await teardown(env);
  }
});

test('rolling update with maxUnavailable 0 / maxSurge 1 never has fewer than 3 ready pods; undo returns to revision 1', async () => {
  const env = await setup();
  const watchAc = new AbortController();
  try {
    await env.api.client.create(refs.deployments, deployment('web', 3, 'nginx:1', { strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } } }));
    await waitComplete(env, 'web', 3);
    const rev1 = (await listRS(env))[0]!;

    // Watch every pod change: ready pods not being deleted, and the most pods at once.
    const pods = new Informer<PodObject>(env.api.newClient('observer'), refs.pods, { namespace: 'default' });
    let minReady = Infinity;
    let maxPods = 0;
    let synced = false;
    const observe = () => {
      // The initial list arrives one add at a time; count only after it is complete.
      if (!synced) return;
      const all = pods.list((p) => !p.metadata.deletionTimestamp);
      minReady = Math.min(minReady, all.filter(isPodReady).length);
      maxPods = Math.max(maxPods, all.length);
    };
    pods.addHandlers({ onAdd: observe, onUpdate: observe, onDelete: observe });
    void pods.run(watchAc.signal);
    await pods.waitForSync();
    synced = true;
    observe();
    assert.equal(minReady, 3);

    await env.api.client.patch(refs.deployments, 'web', 'strategic', { metadata: { annotations: { 'kubernetes.io/change-cause': 'image 2' } }, spec: { template: { spec: { containers: [{ name: 'app', image: 'nginx:2' }] } } } }, { namespace: 'default' });
    const d2 = await waitComplete(env, 'web', 3);
    assert.equal(d2.metadata.annotations?.['deployment.kubernetes.io/revision'], '2');
    await waitFor(() => pods.list().length === 3 && pods.list().every((p) => p.spec?.containers[0]?.image === 'nginx:2'), { what: 'only new pods left' });
    assert.ok(minReady >= 3, `ready pods dropped to ${minReady}`);
    assert.ok(maxPods <= 4, `surge went to ${maxPods} pods`);
    const rss = await listRS(env);
    assert.equal(rss.length, 2);
    const rev2 = rss.find((r) => r.metadata.name !== rev1.metadata.name)!;
    assert.equal(rev2.metadata.annotations?.['kubernetes.io/change-cause'], 'image 2');
    assert.equal(rss.find((r) => r.metadata.name === rev1.metadata.name)?.spec?.replicas, 0);

    // kubectl rollout undo --to-revision=1: JSON patch with the RS template (hash label removed) and annotations.
    const tpl = structuredClone(rev1.spec!.template!);
    delete tpl.metadata!.labels!['pod-template-hash'];
    const cur = await getD(env, 'web');
    const annotations = { ...(cur.metadata.annotations ?? {}) };
    delete annotations['kubernetes.io/change-cause'];
    await env.api.client.patch(refs.deployments, 'web', 'json', [
      { op: 'replace', path: '/spec/template', value: tpl },
      { op: 'replace', path: '/metadata/annotations', value: annotations },
    ], { namespace: 'default' });
    const d3 = await waitFor(async () => {
      const d = await waitComplete(env, 'web', 3);
      return d.metadata.annotations?.['deployment.kubernetes.io/revision'] === '3' && d;
    }, { what: 'revision 3 after undo' });
    assert.ok(d3);
    const after = await listRS(env);
    assert.equal(after.length, 2, 'undo reuses the revision-1 ReplicaSet');
    const back = after.find((r) => r.metadata.name === rev1.metadata.name)!;
    assert.equal(back.spec?.replicas, 3);
    assert.equal(back.metadata.annotations?.['deployment.kubernetes.io/revision'], '3');
    assert.equal(back.metadata.annotations?.['deployment.kubernetes.io/revision-history'], '1');
    assert.ok(minReady >= 3, `ready pods dropped to ${minReady} during undo`);
  } finally {
    watchAc.abort();
    await teardown(env);
  }
});

test('a bad image ends in ProgressDeadlineExceeded', async () => {
  const env = await setup();
  try {
    await env.api.client.create(refs.deployments, deployment('bad', 2, 'bad:1', { progressDeadlineSeconds: 1 }));
    const d = await waitFor(async () => {
      const d = await getD(env, 'bad');
      return cond(d, 'Progressing')?.reason === 'ProgressDeadlineExceeded' && d;
    }, { timeoutMs: 15_000, what: 'ProgressDeadlineExceeded' });
    const c = cond(d, 'Progressing')!;
    assert.equal(c.status, 'False');
    assert.match(c.message ?? '', /^ReplicaSet "bad-[a-z0-9]+" has timed out progressing\.$/);
    assert.equal(cond(d, 'Available')?.status, 'False');
    assert.equal(d.status?.availableReplicas ?? 0, 0);
  } finally {
    await teardown(env);
  }
});

test('Recreate removes every old pod before creating new ones', async () => {
  const env = await setup();
  const watchAc = new AbortController();
  try {
    await env.api.client.create(refs.deployments, deployment('rc', 2, 'nginx:1', { strategy: { type: 'Recreate' } }));
    await waitComplete(env, 'rc', 2);
    const pods = new Informer<PodObject>(env.api.newClient('observer'), refs.pods, { namespace: 'default' });
    let mixed = false;
    const observe = () => {
      const images = new Set(pods.list().map((p) => p.spec?.containers[0]?.image));
      if (images.has('nginx:1') && images.has('nginx:2')) mixed = true;
    };
    pods.addHandlers({ onAdd: observe, onUpdate: observe, onDelete: observe });
    void pods.run(watchAc.signal);
    await pods.waitForSync();
    await env.api.client.patch(refs.deployments, 'rc', 'strategic', { spec: { template: { spec: { containers: [{ name: 'app', image: 'nginx:2' }] } } } }, { namespace: 'default' });
    await waitFor(async () => (await getD(env, 'rc')).metadata.annotations?.['deployment.kubernetes.io/revision'] === '2', { what: 'revision 2' });
    await waitComplete(env, 'rc', 2);
    assert.equal(mixed, false, 'old and new pods existed at the same time');
  } finally {
    watchAc.abort();
    await teardown(env);
  }
});

test('pause stops rollouts, resume continues; scaling while paused resizes', async () => {
  const env = await setup();
  try {
    await env.api.client.create(refs.deployments, deployment('p', 2, 'nginx:1'));
    await waitComplete(env, 'p', 2);
    await env.api.client.patch(refs.deployments, 'p', 'merge', { spec: { paused: true } }, { namespace: 'default' });
    await waitFor(async () => cond(await getD(env, 'p'), 'Progressing')?.reason === 'DeploymentPaused', { what: 'paused condition' });
    await env.api.client.patch(refs.deployments, 'p', 'strategic', { spec: { replicas: 4, template: { spec: { containers: [{ name: 'app', image: 'nginx:2' }] } } } }, { namespace: 'default' });
    await waitFor(async () => (await getD(env, 'p')).status?.availableReplicas === 4, { what: 'scaled to 4 while paused' });
    assert.equal((await listRS(env)).length, 1, 'no new ReplicaSet while paused');
    await env.api.client.patch(refs.deployments, 'p', 'merge', { spec: { paused: false } }, { namespace: 'default' });
    const d = await waitComplete(env, 'p', 4);
    assert.equal(d.metadata.annotations?.['deployment.kubernetes.io/revision'], '2');
  } finally {
    await teardown(env);
  }
});

test('ReplicaSet expectations: a burst of scale changes never creates more pods than replicas', async () => {
  // No kubelet binding here: pods stay Pending so nothing but the ReplicaSet changes them.
  const api = await startTestApi();
  const ac = new AbortController();
  try {
    const { controllers } = await startWorkloadControllers(api.newClient('controllers'), { signal: ac.signal, only: ['replicaset'], workers: 8 });
    const rs: ReplicaSetObj = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name: 'burst', namespace: 'default' },
      spec: { replicas: 20, selector: { matchLabels: { app: 'burst' } }, template: { metadata: { labels: { app: 'burst' } }, spec: { containers: [{ name: 'c', image: 'x' }] } } },
    };
    await api.client.create(refs.replicasets, rs);
    const observer = new Informer<PodObject>(api.newClient('observer'), refs.pods, { namespace: 'default' });
    let max = 0;
    observer.addHandlers({ onAdd: () => (max = Math.max(max, observer.list().length)) });
    void observer.run(ac.signal);
    // Touch the ReplicaSet many times while it is creating: every touch is an event and a sync.
    for (let i = 0; i < 30; i++) await api.client.patch(refs.replicasets, 'burst', 'merge', { metadata: { labels: { touch: String(i) } } }, { namespace: 'default' });
    await waitFor(async () => (await api.client.list(refs.pods, { namespace: 'default' })).items.length === 20, { what: '20 pods' });
    await waitFor(async () => (await api.client.get<ReplicaSetObj>(refs.replicasets, 'burst', 'default')).status?.replicas === 20, { what: 'status.replicas 20' });
    // Orphans matching the selector are adopted, which means the ReplicaSet deletes the extras.
    await api.client.create(refs.pods, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'orphan', namespace: 'default', labels: { app: 'burst' } }, spec: { containers: [{ name: 'c', image: 'x' }] } });
    await waitFor(async () => {
      const items = (await api.client.list<PodObject>(refs.pods, { namespace: 'default' })).items;
      return items.length === 20 && items.every((p) => p.metadata.ownerReferences?.[0]?.name === 'burst');
    }, { what: 'orphan adopted and extra deleted' });
    await api.client.patch(refs.replicasets, 'burst', 'merge', { spec: { replicas: 5 } }, { namespace: 'default' });
    await waitFor(async () => (await api.client.list(refs.pods, { namespace: 'default' })).items.length === 5, { what: 'scaled down to 5' });
    assert.ok(max <= 21, `saw ${max} pods at once (20 + the orphan at most)`);
    const rsc = controllers.get('replicaset') as unknown as { expectations: { pending(k: string): number } };
    await waitFor(() => rsc.expectations.pending('default/burst') === 0, { what: 'expectations settled' });
  } finally {
    ac.abort();
    await api.close();
  }
});
