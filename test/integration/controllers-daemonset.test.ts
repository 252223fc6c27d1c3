// DaemonSets against the real resource API with the fake kubelet as scheduler and kubelet on
// three (then four) Ready nodes: one pod per eligible node, pinned by affinity and never bound by
// the controller, taints and tolerations, a new node, a node label change and taints removing pods,
// a rolling update that never has two nodes unavailable, surge, OnDelete, history and undo, and
// real kubectl's rollout status/history/undo through a TCP front to the test API.
import { test } from 'node:test';
import net from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { startTestApi, type TestApi } from '../helpers/api.ts';
import { startFakeKubelet, type FakeKubelet, type FakeKubeletOptions } from '../helpers/fake-kubelet.ts';
import { waitFor } from '../helpers/wait.ts';
import { runKubectl } from '../helpers/tools.ts';
import { startWorkloadControllers } from '../../src/controllers/index.ts';
import { Informer } from '../../src/client/informer.ts';
import type { KubeObject } from '../../src/client/types.ts';
import { isPodReady, refs, type PodObject } from '../../src/controllers/replicaset/podutil.ts';
import type { DaemonSetObj } from '../../src/controllers/daemonset/controller.ts';
import type { ControllerRevisionObj } from '../../src/controllers/statefulset/history.ts';
import { targetNodeOf } from '../../src/controllers/daemonset/eligibility.ts';

const NS = 'default';

interface Env {
  api: TestApi;
  kubelet: FakeKubelet;
  kubeletOpts: FakeKubeletOptions & { nodeLabels: Record<string, Record<string, string>> };
  ac: AbortController;
}

async function setup(taints: FakeKubeletOptions['nodeTaints'] = {}): Promise<Env> {
  const api = await startTestApi();
  const ac = new AbortController();
  // Kept by reference: the fake kubelet reads `nodes` when binding, so a node added later is pushed here.
  const kubeletOpts = { nodes: ['n1', 'n2', 'n3'], nodeLabels: { n1: { role: 'worker' }, n2: { role: 'worker' }, n3: { role: 'worker' } } as Record<string, Record<string, string>>, nodeTaints: taints };
  const kubelet = await startFakeKubelet(api.newClient('fake-kubelet'), kubeletOpts);
  await startWorkloadControllers(api.newClient('controllers'), { signal: ac.signal, only: ['daemonset'] });
  return { api, kubelet, kubeletOpts, ac };
}

async function teardown(env: Env): Promise<void> {
  env.ac.abort();
  env.kubelet.stop();
  await env.api.close();
}

function daemonSet(name: string, extraSpec: Record<string, unknown> = {}, podSpec: Record<string, unknown> = {}): DaemonSetObj {
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name, namespace: NS },
    spec: {
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'agent:1' }], ...podSpec } },
      ...extraSpec,
    },
  } as DaemonSetObj;
}

const getDs = (env: Env, name: string) => env.api.client.get<DaemonSetObj>(refs.daemonsets, name, NS);
const podsOf = async (env: Env, name: string) => (await env.api.client.list<PodObject>(refs.pods, { namespace: NS, labelSelector: `app=${name}` })).items;
const liveNodes = async (env: Env, name: string) =>
  (await podsOf(env, name))
    .filter((p) => !p.metadata.deletionTimestamp)
    .map((p) => p.spec?.nodeName ?? '?')
    .sort()
    .join(',');

/** Status settled at the current generation with `n` desired, all of them updated and available. */
async function waitRolledOut(env: Env, name: string, n: number, timeoutMs = 15_000): Promise<DaemonSetObj> {
  return waitFor(
    async () => {
      const ds = await getDs(env, name);
      const s = ds.status;
      const done = s && (s.observedGeneration ?? 0) >= (ds.metadata.generation ?? 0) && s.desiredNumberScheduled === n && s.currentNumberScheduled === n && s.updatedNumberScheduled === n && s.numberAvailable === n && s.numberReady === n && (s.numberUnavailable ?? 0) === 0;
      return done && ds;
    },
    { timeoutMs, what: `daemonset ${name} rolled out on ${n} nodes` },
  );
}

async function addNode(env: Env, name: string, labels: Record<string, string>): Promise<void> {
  env.kubeletOpts.nodes.push(name);
  env.kubeletOpts.nodeLabels[name] = labels;
  await env.kubelet.addNode(name);
}

test('one pod per eligible node: nodeSelector, taints vs tolerations, new node, label change, NoSchedule then NoExecute taint', async () => {
  const env = await setup({ n3: [{ key: 'dedicated', value: 'infra', effect: 'NoSchedule' }] });
  try {
    // Every daemon pod must reach the API unbound, pinned to one node by affinity.
    const atCreate: PodObject[] = [];
    const observer = new Informer<PodObject>(env.api.newClient('observer'), refs.pods, { namespace: NS });
    observer.addHandlers({ onAdd: (p) => atCreate.push(structuredClone(p)) });
    void observer.run(env.ac.signal);
    await observer.waitForSync();

    await env.api.client.create(refs.daemonsets, daemonSet('agent', {}, { nodeSelector: { role: 'worker' } }));
    await env.api.client.create(refs.daemonsets, daemonSet('logger', {}, { tolerations: [{ key: 'dedicated', operator: 'Exists', effect: 'NoSchedule' }] }));
    await waitRolledOut(env, 'agent', 2);
    await waitRolledOut(env, 'logger', 3);
    assert.equal(await liveNodes(env, 'agent'), 'n1,n2', 'the NoSchedule taint on n3 keeps the untolerating DaemonSet off it');
    assert.equal(await liveNodes(env, 'logger'), 'n1,n2,n3');

    for (const p of atCreate) {
      assert.equal(p.spec?.nodeName, undefined, `${p.metadata.name} was created bound; the scheduler binds daemon pods`);
      assert.equal(p.metadata.generateName, `${p.metadata.labels?.app}-`);
      const terms = p.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
      assert.equal(terms.length, 1);
      assert.deepEqual(terms[0]?.matchFields?.[0]?.key, 'metadata.name');
      assert.equal(terms[0]?.matchFields?.[0]?.values?.length, 1);
      const keys = (p.spec?.tolerations ?? []).map((t) => `${t.key}:${t.effect}`);
      for (const k of ['node.kubernetes.io/not-ready:NoExecute', 'node.kubernetes.io/unreachable:NoExecute', 'node.kubernetes.io/disk-pressure:NoSchedule', 'node.kubernetes.io/memory-pressure:NoSchedule', 'node.kubernetes.io/pid-pressure:NoSchedule', 'node.kubernetes.io/unschedulable:NoSchedule']) {
        assert.ok(keys.includes(k), `${p.metadata.name} lacks the default toleration ${k}`);
      }
      assert.ok(!keys.includes('node.kubernetes.io/network-unavailable:NoSchedule'), 'only hostNetwork pods tolerate network-unavailable');
      assert.ok(p.metadata.labels?.['controller-revision-hash']);
      assert.equal(p.metadata.labels?.['pod-template-generation'], '1');
    }
    assert.equal(atCreate.length, 5, 'no pod created twice');
    const agent = await getDs(env, 'agent');
    assert.equal(agent.status?.numberMisscheduled, 0);
    assert.equal(agent.status?.observedGeneration, agent.metadata.generation);

    // A new worker node gets a pod from both.
    await addNode(env, 'n4', { role: 'worker' });
    await waitRolledOut(env, 'agent', 3);
    await waitRolledOut(env, 'logger', 4);
    assert.equal(await liveNodes(env, 'agent'), 'n1,n2,n4');

    // n2 stops being a worker: agent's pod there goes (logger has no selector and stays).
    await env.api.client.patch(refs.nodes, 'n2', 'merge', { metadata: { labels: { role: null } } });
    await waitFor(async () => (await liveNodes(env, 'agent')) === 'n1,n4', { what: 'agent pod gone from n2', timeoutMs: 10_000 });
    await waitRolledOut(env, 'agent', 2);
    assert.equal(await liveNodes(env, 'logger'), 'n1,n2,n3,n4');

    // A NoSchedule taint does not evict a running daemon pod, but it is counted as misscheduled.
    await env.api.client.patch(refs.nodes, 'n1', 'merge', { spec: { taints: [{ key: 'maintenance', effect: 'NoSchedule' }] } });
    const tainted = await waitFor(async () => {
      const ds = await getDs(env, 'agent');
      return ds.status?.numberMisscheduled === 1 && ds.status.desiredNumberScheduled === 1 && ds;
    }, { what: 'agent misscheduled on n1' });
    assert.equal(tainted.status?.currentNumberScheduled, 1);
    assert.equal(await liveNodes(env, 'agent'), 'n1,n4', 'NoSchedule alone leaves the pod running');
    // NoExecute evicts it.
    await env.api.client.patch(refs.nodes, 'n1', 'merge', { spec: { taints: [{ key: 'maintenance', effect: 'NoExecute' }] } });
    await waitFor(async () => (await liveNodes(env, 'agent')) === 'n4', { what: 'agent pod gone from n1', timeoutMs: 10_000 });
    await waitFor(async () => (await getDs(env, 'agent')).status?.numberMisscheduled === 0, { what: 'misscheduled back to 0' });

    // Cordoning (unschedulable + its taint) does not keep daemon pods off a node.
    await env.api.client.patch(refs.nodes, 'n1', 'merge', { spec: { unschedulable: true, taints: [{ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }] } });
    await waitFor(async () => (await liveNodes(env, 'agent')) === 'n1,n4', { what: 'agent back on the cordoned n1', timeoutMs: 10_000 });
  } finally {
    await teardown(env);
  }
});

/** Follows a DaemonSet's pods and records the most nodes at once without an available live pod. */
function trackUnavailable(env: Env, name: string, nodes: string[]): { max(): number; maxPodsOnANode(): number; ready: Promise<void> } {
  let max = 0;
  let maxPods = 0;
  const inf = new Informer<PodObject>(env.api.newClient(`track-${name}`), refs.pods, { namespace: NS, labelSelector: `app=${name}` });
  // The initial list arrives one pod at a time; only changes after it count.
  let armed = false;
  const check = () => {
    if (!armed) return;
    const live = inf.list((p) => !p.metadata.deletionTimestamp);
    let missing = 0;
    for (const n of nodes) {
      const here = live.filter((p) => targetNodeOf(p) === n);
      maxPods = Math.max(maxPods, here.length);
      if (!here.some(isPodReady)) missing++;
    }
    max = Math.max(max, missing);
  };
  inf.addHandlers({ onAdd: check, onUpdate: check, onDelete: check });
  void inf.run(env.ac.signal);
  const ready = inf.waitForSync().then(() => {
    armed = true;
    check();
  });
  return { max: () => max, maxPodsOnANode: () => maxPods, ready };
}

test('RollingUpdate with maxUnavailable 1 replaces node by node; two ControllerRevisions; undo rolls back and renumbers', async () => {
  const env = await setup();
  try {
    await env.api.client.create(refs.daemonsets, daemonSet('web'));
    const before = await waitRolledOut(env, 'web', 3);
    const oldPods = await podsOf(env, 'web');
    const oldHash = oldPods[0]?.metadata.labels?.['controller-revision-hash'];
    assert.ok(oldHash);
    assert.ok(oldPods.every((p) => p.metadata.labels?.['controller-revision-hash'] === oldHash));

    const tracker = trackUnavailable(env, 'web', ['n1', 'n2', 'n3']);
    await tracker.ready;
    await env.api.client.patch(refs.daemonsets, 'web', 'merge', { spec: { template: { spec: { containers: [{ name: 'c', image: 'agent:2' }] } } } }, { namespace: NS });
    const after = await waitRolledOut(env, 'web', 3);
    assert.ok((after.metadata.generation ?? 0) > (before.metadata.generation ?? 0));
    assert.equal(tracker.max(), 1, 'maxUnavailable 1: exactly one node at a time without an available pod');
    const newPods = (await podsOf(env, 'web')).filter((p) => !p.metadata.deletionTimestamp);
    assert.equal(newPods.length, 3);
    const newHash = newPods[0]?.metadata.labels?.['controller-revision-hash'];
    assert.notEqual(newHash, oldHash);
    for (const p of newPods) {
      assert.equal(p.spec?.containers[0]?.image, 'agent:2');
      assert.equal(p.metadata.labels?.['controller-revision-hash'], newHash);
      assert.equal(p.metadata.labels?.['pod-template-generation'], String(after.metadata.generation));
    }

    // History: <ds>-<hash> revisions 1 and 2, the template stored as a replacing strategic patch.
    const revs = (await env.api.client.list<ControllerRevisionObj>(refs.controllerrevisions, { namespace: NS, labelSelector: 'app=web' })).items.sort((a, b) => a.revision - b.revision);
    assert.deepEqual(revs.map((r) => r.revision), [1, 2]);
    assert.deepEqual(revs.map((r) => r.metadata.name), [`web-${oldHash}`, `web-${newHash}`]);
    assert.equal(revs[1]?.metadata.ownerReferences?.[0]?.kind, 'DaemonSet');
    assert.equal(revs[1]?.metadata.ownerReferences?.[0]?.controller, true);
    assert.equal((revs[1]?.data?.spec?.template as { $patch?: string }).$patch, 'replace');

    // `kubectl rollout undo` sends revision 1's data as a strategic merge patch.
    const tracker2 = trackUnavailable(env, 'web', ['n1', 'n2', 'n3']);
    await tracker2.ready;
    await env.api.client.patch(refs.daemonsets, 'web', 'strategic', revs[0]?.data, { namespace: NS });
    await waitRolledOut(env, 'web', 3);
    await waitFor(async () => (await podsOf(env, 'web')).every((p) => p.metadata.labels?.['controller-revision-hash'] === oldHash && p.spec?.containers[0]?.image === 'agent:1'), { what: 'pods back on revision 1' });
    assert.equal(tracker2.max(), 1);
    const afterUndo = (await env.api.client.list<ControllerRevisionObj>(refs.controllerrevisions, { namespace: NS, labelSelector: 'app=web' })).items;
    assert.deepEqual(Object.fromEntries(afterUndo.map((r) => [r.metadata.name, r.revision])), { [`web-${oldHash}`]: 3, [`web-${newHash}`]: 2 }, 'the rolled-back template is the newest revision again, under its old name');
  } finally {
    await teardown(env);
  }
});

test('maxSurge 1 starts the new pod beside the old one and never drops availability', async () => {
  const env = await setup();
  try {
    await env.api.client.create(refs.daemonsets, daemonSet('surge', { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } } }));
    await waitRolledOut(env, 'surge', 3);
    const tracker = trackUnavailable(env, 'surge', ['n1', 'n2', 'n3']);
    await tracker.ready;
    await env.api.client.patch(refs.daemonsets, 'surge', 'merge', { spec: { template: { spec: { containers: [{ name: 'c', image: 'agent:2' }] } } } }, { namespace: NS });
    await waitRolledOut(env, 'surge', 3);
    await waitFor(async () => (await podsOf(env, 'surge')).length === 3, { what: 'old pods gone' });
    assert.equal(tracker.max(), 0, 'with surge every node keeps an available pod throughout');
    assert.equal(tracker.maxPodsOnANode(), 2, 'the new pod ran beside the old one');
    assert.ok((await podsOf(env, 'surge')).every((p) => p.spec?.containers[0]?.image === 'agent:2'));
  } finally {
    await teardown(env);
  }
});

test('OnDelete: a template change replaces nothing until a pod is deleted; a failed pod is replaced', async () => {
  const env = await setup();
  try {
    await env.api.client.create(refs.daemonsets, daemonSet('manual', { updateStrategy: { type: 'OnDelete' } }));
    await waitRolledOut(env, 'manual', 3);
    await env.api.client.patch(refs.daemonsets, 'manual', 'merge', { spec: { template: { spec: { containers: [{ name: 'c', image: 'agent:2' }] } } } }, { namespace: NS });
    const observed = await waitFor(async () => {
      const ds = await getDs(env, 'manual');
      return (ds.status?.observedGeneration ?? 0) === ds.metadata.generation && ds;
    }, { what: 'new generation observed' });
    assert.equal(observed.status?.updatedNumberScheduled, 0);
    assert.equal(observed.status?.numberAvailable, 3);
    const pods = await podsOf(env, 'manual');
    assert.ok(pods.every((p) => p.spec?.containers[0]?.image === 'agent:1'), 'OnDelete leaves running pods alone');

    const victim = pods.find((p) => p.spec?.nodeName === 'n2')!;
    await env.api.client.delete(refs.pods, victim.metadata.name ?? '', { namespace: NS });
    const replaced = await waitFor(async () => (await podsOf(env, 'manual')).find((p) => p.spec?.nodeName === 'n2' && p.metadata.uid !== victim.metadata.uid && isPodReady(p)), { what: 'n2 replacement' });
    assert.equal(replaced.spec?.containers[0]?.image, 'agent:2');
    await waitFor(async () => (await getDs(env, 'manual')).status?.updatedNumberScheduled === 1, { what: 'one updated' });

    // A pod the kubelet failed is deleted and recreated on the same node.
    const n3 = (await podsOf(env, 'manual')).find((p) => p.spec?.nodeName === 'n3')!;
    await env.kubelet.finish(NS, n3.metadata.name ?? '', 'fail');
    await waitFor(async () => (await podsOf(env, 'manual')).find((p) => p.spec?.nodeName === 'n3' && p.metadata.uid !== n3.metadata.uid && isPodReady(p)), { what: 'failed pod on n3 replaced' });
    const events = (await env.api.client.list<KubeObject & { reason?: string; message?: string }>(refs.events, { namespace: NS })).items.filter((e) => (e.involvedObject as { name?: string }).name === 'manual');
    assert.ok(events.some((e) => e.reason === 'FailedDaemonPod' && e.message?.includes(`Found failed daemon pod ${NS}/${n3.metadata.name} on node n3`)));
    assert.ok(events.some((e) => e.reason === 'SuccessfulCreate' && /^Created pod: manual-/.test(e.message ?? '')));
    assert.ok(events.some((e) => e.reason === 'SuccessfulDelete' && e.message === `Deleted pod: ${n3.metadata.name}`));
  } finally {
    await teardown(env);
  }
});

/** A TCP port in front of the test API's abstract Unix socket, so that kubectl can reach it. */
async function tcpFront(socketPath: string): Promise<{ kubeconfig: string; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((inbound) => {
    const outbound = net.connect({ path: socketPath });
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {
        inbound.destroy();
        outbound.destroy();
      });
    }
    inbound.pipe(outbound).pipe(inbound);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  const dir = mkdtempSync(join(tmpdir(), 'nanokube-ds-kubectl-'));
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(
    kubeconfig,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 't', cluster: { server: `http://127.0.0.1:${port}` } }],
      users: [{ name: 't', user: { token: 'test' } }],
      contexts: [{ name: 't', context: { cluster: 't', user: 't', namespace: NS } }],
      'current-context': 't',
    }),
  );
  return {
    kubeconfig,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

for (const version of ['1.32', '1.35'] as const) test(`real kubectl ${version}: rollout status, set image, history (--revision), undo on a DaemonSet`, async () => {
  const env = await setup();
  const front = await tcpFront(env.api.socketPath);
  const kubectl = (...args: string[]) => runKubectl(version, args, { kubeconfig: front.kubeconfig, timeoutMs: 45_000 });
  const ok = async (...args: string[]) => {
    const r = await kubectl(...args);
    assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  try {
    await env.api.client.create(refs.daemonsets, daemonSet('web'));
    assert.match(await ok('rollout', 'status', 'daemonset/web', '--timeout=30s'), /daemon set "web" successfully rolled out/);

    await ok('set', 'image', 'daemonset/web', 'c=agent:2');
    const status = await ok('rollout', 'status', 'daemonset/web', '--timeout=30s');
    assert.match(status, /daemon set "web" successfully rolled out/);
    assert.ok((await podsOf(env, 'web')).filter((p) => !p.metadata.deletionTimestamp).every((p) => p.spec?.containers[0]?.image === 'agent:2'), 'rollout status returned before the pods were updated');

    const history = await ok('rollout', 'history', 'daemonset/web');
    assert.match(history, /REVISION\s+CHANGE-CAUSE/);
    assert.deepEqual([...history.matchAll(/^(\d+)\s/gm)].map((m) => m[1]), ['1', '2']);
    assert.match(await ok('rollout', 'history', 'daemonset/web', '--revision=1'), /Image:\s+agent:1/);

    assert.match(await ok('rollout', 'undo', 'daemonset/web'), /daemonset.apps\/web rolled back/);
    await ok('rollout', 'status', 'daemonset/web', '--timeout=30s');
    await waitFor(async () => (await podsOf(env, 'web')).every((p) => p.spec?.containers[0]?.image === 'agent:1'), { what: 'pods back on agent:1' });
    assert.deepEqual([...(await ok('rollout', 'history', 'daemonset/web')).matchAll(/^(\d+)\s/gm)].map((m) => m[1]), ['2', '3']);
    // kubectl compares the revision's bytes with its own Go encoding of the live template to
    // refuse an undo to the running revision. We serve v1.32 and write what a 1.32 controller
    // writes (metadata.creationTimestamp: null), which kubectl 1.32 recognises; kubectl 1.35 no
    // longer encodes that null, so against a 1.32 cluster it re-applies the same template instead.
    const again = await kubectl('rollout', 'undo', 'daemonset/web', '--to-revision=3');
    assert.equal(again.code, 0, again.stderr);
    if (version === '1.32') assert.match(again.stdout, /skipped rollback \(current template already matches revision 3\)/);
    else assert.match(again.stdout, /daemonset.apps\/web rolled back/);
    // Either way nothing changes: no new revision, no pods replaced.
    assert.deepEqual([...(await ok('rollout', 'history', 'daemonset/web')).matchAll(/^(\d+)\s/gm)].map((m) => m[1]), ['2', '3']);
  } finally {
    await front.close();
    await teardown(env);
  }
});
