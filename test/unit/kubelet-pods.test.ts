// Kubelet pod lifecycle on the fake runtime: start, status, init containers, restarts, deletion.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { program } from '../../src/runtime/fake/process.ts';
import { condition, isReady, startHarness, type Harness } from './kubelet-fixture.ts';

const programs = [
  program('exit0', ['sh', '-c', 'exit 0'], async () => 0),
  program('exit3', ['sh', '-c', 'exit 3'], async () => 3),
  program('env', (argv) => argv[0] === 'printenv', async (p) => {
    p.stdout(JSON.stringify(p.env));
    return new Promise<number>(() => {});
  }),
];

describe('kubelet pods (fake runtime)', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ programs });
  });
  after(async () => {
    await h.close();
  });

  it('registers the node with capacity, conditions, labels and a lease', async () => {
    const node = (await h.api.client.get({ group: '', version: 'v1', resource: 'nodes', namespaced: false }, 'node-1')) as Record<string, any>;
    assert.equal(node.metadata.labels['kubernetes.io/hostname'], 'node-1');
    assert.equal(node.spec.podCIDR, '10.42.0.0/24');
    assert.equal(node.status.capacity.cpu, '4');
    assert.equal(node.status.capacity.pods, '110');
    assert.equal(node.status.conditions.find((c: any) => c.type === 'Ready').status, 'True');
    assert.deepEqual(node.status.addresses[0], { type: 'InternalIP', address: '192.168.1.10' });
    assert.equal(node.status.nodeInfo.containerRuntimeVersion, 'fake://0.0.0');
    const lease = (await h.api.client.get({ group: 'coordination.k8s.io', version: 'v1', resource: 'leases', namespaced: true }, 'node-1', 'kube-node-lease')) as Record<string, any>;
    assert.equal(lease.spec.holderIdentity, 'node-1');
    assert.equal(lease.spec.leaseDurationSeconds, 40);
    assert.match(lease.spec.renewTime, /\.\d{6}Z$/);
    assert.equal(lease.metadata.ownerReferences[0].uid, node.metadata.uid);
  });

  it('runs a pod to Running and Ready with an IP from the pod CIDR', async () => {
    await h.createPod({ metadata: { name: 'web' } });
    const p = await h.waitPod('web', isReady, 'ready');
    assert.match(p.status!.podIP!, /^10\.42\.0\.\d+$/);
    assert.notEqual(p.status!.podIP, '10.42.0.1');
    assert.equal(p.status!.hostIP, '192.168.1.10');
    assert.equal(p.status!.containerStatuses![0]!.ready, true);
    assert.equal(p.status!.containerStatuses![0]!.started, true);
    assert.match(p.status!.containerStatuses![0]!.containerID!, /^fake:\/\//);
    assert.ok(p.status!.containerStatuses![0]!.state!.running);
    for (const t of ['PodReadyToStartContainers', 'Initialized', 'ContainersReady', 'Ready']) assert.equal(condition(p, t), 'True', t);
    assert.equal(p.status!.qosClass, 'BestEffort');
    const reasons = (await h.events('web')).map((e) => e.reason);
    for (const r of ['Pulled', 'Created', 'Started']) assert.ok(reasons.includes(r), `event ${r} in ${reasons.join(',')}`);
  });

  it('runs init containers in order, then app containers', async () => {
    await h.createPod({
      metadata: { name: 'with-init' },
      spec: {
        containers: [{ name: 'app', image: 'busybox:1' }],
        initContainers: [
          { name: 'one', image: 'busybox:1', command: ['sh', '-c', 'exit 0'] },
          { name: 'two', image: 'busybox:1', command: ['sh', '-c', 'exit 0'] },
        ],
      },
    });
    const p = await h.waitPod('with-init', isReady, 'ready');
    assert.deepEqual(p.status!.initContainerStatuses!.map((s) => s.state?.terminated?.reason), ['Completed', 'Completed']);
    // Creation order in the engine: each init container only after the previous one exited.
    const mine = [...h.engine.containers.values()].filter((c) => c.kind === 'container' && c.labels['nanokube.pod.uid'] === p.metadata!.uid);
    mine.sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
    assert.deepEqual(mine.map((c) => c.labels['nanokube.container.name']), ['one', 'two', 'app']);
    assert.ok(mine[0]!.finishedAt! <= mine[1]!.createdAt && mine[1]!.finishedAt! <= mine[2]!.createdAt);
  });

  it('fails a restartPolicy Never pod whose init container fails', async () => {
    await h.createPod({
      metadata: { name: 'bad-init' },
      spec: { restartPolicy: 'Never', containers: [{ name: 'app', image: 'busybox:1' }], initContainers: [{ name: 'boom', image: 'busybox:1', command: ['sh', '-c', 'exit 3'] }] },
    });
    const p = await h.waitPod('bad-init', (p) => p.status?.phase === 'Failed', 'Failed');
    assert.equal(p.status!.initContainerStatuses![0]!.state!.terminated!.exitCode, 3);
    assert.equal(condition(p, 'Initialized'), 'False');
  });

  it('completes a restartPolicy Never pod as Succeeded and releases its IP', async () => {
    await h.createPod({ metadata: { name: 'job' }, spec: { restartPolicy: 'Never', containers: [{ name: 'app', image: 'busybox:1', command: ['sh', '-c', 'exit 0'] }] } });
    const p = await h.waitPod('job', (p) => p.status?.phase === 'Succeeded', 'Succeeded');
    assert.equal(p.status!.containerStatuses![0]!.state!.terminated!.reason, 'Completed');
    assert.equal(condition(p, 'Ready'), 'False');
  });

  it('reports ErrImagePull then ImagePullBackOff for a missing image', async () => {
    await h.createPod({ metadata: { name: 'noimage' }, spec: { containers: [{ name: 'app', image: 'nothere:1' }] } });
    const p = await h.waitPod('noimage', (p) => ['ErrImagePull', 'ImagePullBackOff'].includes(p.status?.containerStatuses?.[0]?.state?.waiting?.reason ?? ''), 'pull error');
    assert.equal(p.status!.phase, 'Pending');
    const reasons = (await h.events('noimage')).map((e) => e.reason);
    assert.ok(reasons.includes('Pulling') && reasons.includes('Failed'), reasons.join(','));
  });

  it('reports CreateContainerConfigError for a missing configMap key and recovers when it appears', async () => {
    await h.createPod({
      metadata: { name: 'needs-cm' },
      spec: { containers: [{ name: 'app', image: 'busybox:1', env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'later', key: 'x' } } }] }] },
    });
    const p = await h.waitPod('needs-cm', (p) => p.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'CreateContainerConfigError', 'config error');
    assert.equal(p.status!.containerStatuses![0]!.state!.waiting!.message, 'configmap "later" not found');
    await h.api.client.create({ group: '', version: 'v1', resource: 'configmaps', namespaced: true }, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'later', namespace: 'default' }, data: { x: '1' } });
    await h.waitPod('needs-cm', isReady, 'ready after the configMap appears');
  });

  it('deletes a pod with grace: containers stopped, runtime objects removed, object gone', async () => {
    const created = await h.createPod({ metadata: { name: 'doomed' } });
    await h.waitPod('doomed', isReady, 'ready');
    await h.api.client.delete({ group: '', version: 'v1', resource: 'pods', namespaced: true }, 'doomed', { namespace: 'default' });
    await waitForGone(h, 'doomed');
    const left = [...h.engine.containers.values()].filter((c) => c.labels['nanokube.pod.uid'] === created.metadata!.uid);
    assert.equal(left.length, 0);
    const reasons = (await h.events('doomed')).map((e) => e.reason);
    assert.ok(reasons.includes('Killing'), reasons.join(','));
  });
});

async function waitForGone(h: Harness, name: string): Promise<void> {
  const { waitFor } = await import('../helpers/wait.ts');
  await waitFor(async () => {
    try {
      await h.getPod(name);
      return false;
    } catch {
      return true;
    }
  }, { what: `pod ${name} to be gone`, timeoutMs: 10_000 });
}
