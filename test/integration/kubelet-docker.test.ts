// The kubelet on the real Docker engine: a busybox pod to Running/Ready with its IP, env, a
// configMap volume (live update), a liveness restart, graceful deletion without leftovers, and
// adoption of running containers by a restarted kubelet. In CI a missing engine is a failure.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { randomBytes } from 'node:crypto';
import type { KubeObject } from '../../src/client/types.ts';
import { startKubelet, type Kubelet } from '../../src/kubelet/kubelet.ts';
import type { Pod } from '../../src/kubelet/k8s.ts';
import { removeClusterDockerObjects } from '../../src/runtime/docker/cleanup.ts';
import { createDockerRuntime } from '../../src/runtime/docker/runtime.ts';
import type { NodeRuntime } from '../../src/runtime/types.ts';
import { startTestApi, type TestApi } from '../helpers/api.ts';
import { docker, dockerAvailable, ensureTestImage, TEST_LABEL } from '../helpers/docker.ts';
import { waitFor } from '../helpers/wait.ts';

const podsRef = { group: '', version: 'v1', resource: 'pods', namespaced: true };
const cmRef = { group: '', version: 'v1', resource: 'configmaps', namespaced: true };
const available = await dockerAvailable();
if (!available && process.env.CI === 'true') throw new Error('CI=true but no Docker engine answers: the kubelet integration tests cannot run');

const cluster = `kt${randomBytes(3).toString('hex')}`;
// A /24 unlikely to clash with other tests' networks on the same engine.
const cidr = `10.${200 + (randomBytes(1)[0]! % 50)}.${randomBytes(1)[0]!}.0/24`;

describe('kubelet on Docker', { skip: available ? false : 'no Docker engine (set CI=true to make this a failure)', timeout: 240_000 }, () => {
  let api: TestApi;
  let dir: string;
  let image: string;
  let kubelet: Kubelet;
  let ac: AbortController;
  const runtime = (): NodeRuntime => createDockerRuntime({ cluster, labels: { [TEST_LABEL]: 'true' } });
  const start = async () => {
    ac = new AbortController();
    return startKubelet({ client: api.newClient('kubelet'), runtime: runtime(), nodeName: 'dnode', podCIDR: cidr, dataDir: dir, clusterName: cluster, signal: ac.signal, resyncIntervalMs: 2000 });
  };
  const getPod = async (name: string) => (await api.client.get(podsRef, name, 'default')) as unknown as Pod;
  const waitPod = (name: string, ok: (p: Pod) => boolean, what: string, timeoutMs = 60_000) =>
    waitFor(async () => {
      const p = await getPod(name);
      return ok(p) ? p : undefined;
    }, { what: `pod ${name} ${what}`, timeoutMs, intervalMs: 200 });
  const ready = (p: Pod) => p.status?.phase === 'Running' && p.status.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
  const create = (name: string, spec: Record<string, unknown>) =>
    api.client.create(podsRef, { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default' }, spec: { nodeName: 'dnode', terminationGracePeriodSeconds: 1, ...spec } } as unknown as KubeObject);
  const execIn = async (containerId: string, cmd: string[]) => {
    const session = await runtime().exec(containerId, { cmd, stdout: true, stderr: true });
    let out = '';
    session.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    session.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    const code = await session.exitCode;
    return { code, out };
  };
  const idOf = (p: Pod, i = 0) => p.status!.containerStatuses![i]!.containerID!.replace('docker://', '');

  before(async () => {
    image = await ensureTestImage();
    api = await startTestApi();
    dir = await mkdtemp(join(tmpdir(), 'nanokube-kubelet-docker-'));
    kubelet = await start();
  });
  after(async () => {
    await kubelet?.stop({ keepContainers: true });
    ac?.abort();
    await removeClusterDockerObjects(cluster).catch(() => {});
    await api?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('runs a busybox pod to Running and Ready with its IP and env', async () => {
    await create('hello', { containers: [{ name: 'app', image, imagePullPolicy: 'Never', command: ['sh', '-c', 'echo $MY_ENV; sleep 3600'], env: [{ name: 'MY_ENV', value: 'from-env' }] }] });
    const p = await waitPod('hello', ready, 'Running and Ready');
    const prefix = cidr.split('.').slice(0, 3).join('.');
    assert.ok(p.status!.podIP!.startsWith(prefix + '.'), `${p.status!.podIP} in ${cidr}`);
    const { out } = await execIn(idOf(p), ['ip', '-4', 'addr']);
    assert.ok(out.includes(p.status!.podIP!), out);
    let logs = '';
    for await (const chunk of runtime().containerLogs(idOf(p), {})) logs += chunk.data.toString();
    assert.equal(logs.trim(), 'from-env');
    const { out: resolv } = await execIn(idOf(p), ['cat', '/etc/resolv.conf']);
    assert.match(resolv, /nameserver 10\.43\.0\.10/);
    assert.match(resolv, /search default\.svc\.cluster\.local svc\.cluster\.local cluster\.local/);
    assert.match(resolv, /options ndots:5/);
  });

  it('mounts a configMap volume and shows updates in the running container', async () => {
    await api.client.create(cmRef, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'conf', namespace: 'default' }, data: { 'greeting.txt': 'hello v1' } });
    await create('cm', { containers: [{ name: 'app', image, imagePullPolicy: 'Never', command: ['sleep', '3600'], volumeMounts: [{ name: 'c', mountPath: '/etc/conf' }] }], volumes: [{ name: 'c', configMap: { name: 'conf' } }] });
    const p = await waitPod('cm', ready, 'ready');
    assert.deepEqual(await execIn(idOf(p), ['cat', '/etc/conf/greeting.txt']), { code: 0, out: 'hello v1' });
    const cm = await api.client.get(cmRef, 'conf', 'default');
    await api.client.update(cmRef, { ...cm, data: { 'greeting.txt': 'hello v2' } });
    await waitFor(async () => (await execIn(idOf(p), ['cat', '/etc/conf/greeting.txt'])).out === 'hello v2', { what: 'the update inside the container', timeoutMs: 15_000, intervalMs: 250 });
  });

  it('restarts a container whose liveness probe fails', async () => {
    await create('sick', {
      containers: [{ name: 'app', image, imagePullPolicy: 'Never', command: ['sleep', '3600'], livenessProbe: { exec: { command: ['cat', '/tmp/healthy'] }, periodSeconds: 1, failureThreshold: 1 } }],
    });
    const p = await waitPod('sick', (p) => (p.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1, 'restarted', 60_000);
    assert.ok(p.status!.containerStatuses![0]!.lastState?.terminated, 'lastState.terminated after the restart');
  });

  it('adopts the running pod after a kubelet restart (same container id)', async () => {
    const before = await getPod('hello');
    await kubelet.stop({ keepContainers: true });
    kubelet = await start();
    // Give the new kubelet a sync, then compare.
    await waitFor(async () => (await getPod('hello')).status?.containerStatuses?.[0]?.ready === true, { what: 'ready after restart', timeoutMs: 20_000 });
    const list = await docker(['ps', '-a', '-q', '--filter', `label=nanokube.pod.uid=${before.metadata!.uid}`]);
    assert.equal(list.stdout.trim().split('\n').length, 2, 'sandbox + one container, no duplicates');
    const afterPod = await getPod('hello');
    assert.equal(idOf(afterPod), idOf(before));
    assert.equal(afterPod.status!.podIP, before.status!.podIP);
  });

  it('deletes a pod with grace and leaves no Docker objects', async () => {
    const p = await getPod('hello');
    await api.client.delete(podsRef, 'hello', { namespace: 'default' });
    await waitFor(async () => {
      try {
        await getPod('hello');
        return false;
      } catch {
        return true;
      }
    }, { what: 'pod hello to be removed', timeoutMs: 30_000 });
    const list = await docker(['ps', '-a', '-q', '--filter', `label=nanokube.pod.uid=${p.metadata!.uid}`]);
    assert.equal(list.stdout.trim(), '');
  });
});
