// Kubelet restart behaviour on the fake runtime: crash-loop back-off with an injectable clock,
// probes, configMap volume updates, graceful termination with preStop, and rebuilding state after
// a kubelet restart (adoption without duplicates, orphans removed, stop → restart with same IP).
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Backoff } from '../../src/kubelet/backoff.ts';
import { program } from '../../src/runtime/fake/process.ts';
import { waitFor } from '../helpers/wait.ts';
import { condition, isReady, podsRef, startHarness, type Harness } from './kubelet-fixture.ts';

describe('Backoff', () => {
  it('starts at the initial period, doubles to the maximum and resets after 2x max of quiet', () => {
    let now = 0;
    const b = new Backoff({ now: () => now }, 10_000, 300_000);
    assert.equal(b.remaining('k', 0), 0, 'a first failure restarts at once');
    b.next('k', 0);
    assert.equal(b.remaining('k', 0), 10_000);
    const periods: number[] = [];
    for (let i = 0; i < 7; i++) {
      now += b.current('k');
      b.next('k', now);
      periods.push(b.current('k'));
    }
    assert.deepEqual(periods, [20_000, 40_000, 80_000, 160_000, 300_000, 300_000, 300_000]);
    now += 600_001;
    assert.equal(b.remaining('k', now - 1), 0);
    b.next('k', now);
    assert.equal(b.current('k'), 10_000);
  });
});

let clockNow = Date.now();
const clock = { now: () => clockNow };

describe('kubelet restarts (fake runtime)', () => {
  let h: Harness;
  let ready = false;
  before(async () => {
    h = await startHarness({
      kubelet: { clock, backoffInitialMs: 60_000, backoffMaxMs: 300_000 },
      programs: [
        program('crash', ['sh', '-c', 'exit 1'], async () => 1),
        program('probe-ready', ['check-ready'], async () => (ready ? 0 : 1)),
        program('probe-dead', ['check-alive'], async () => 1),
        program('term', ['trap-term'], async (p) => {
          await new Promise((r) => p.terminated.addEventListener('abort', r, { once: true }));
          return 0;
        }),
        program('prestop', ['prestop'], async (p) => {
          p.stdout('bye');
          return 0;
        }),
      ],
    });
  });
  after(async () => {
    await h.close();
  });

  it('restarts a crashing container at once, then waits in CrashLoopBackOff until the clock moves', async () => {
    await h.createPod({ metadata: { name: 'crasher' }, spec: { containers: [{ name: 'app', image: 'busybox:1', command: ['sh', '-c', 'exit 1'] }] } });
    const p = await h.waitPod('crasher', (p) => p.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'CrashLoopBackOff', 'CrashLoopBackOff');
    const cs = p.status!.containerStatuses![0]!;
    assert.equal(cs.restartCount, 1, 'first restart immediate, second one backs off');
    assert.match(cs.state!.waiting!.message!, /^back-off 1m0s|^back-off 60s restarting failed container=app pod=crasher_default\(/);
    assert.equal(cs.lastState!.terminated!.exitCode, 1);
    assert.equal(p.status!.phase, 'Running');
    assert.ok((await h.events('crasher')).some((e) => e.reason === 'BackOff' && e.type === 'Warning'));
    clockNow += 61_000;
    h.kubelet.resyncAll();
    await h.waitPod('crasher', (p) => (p.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 2, 'restarted after the back-off');
  });

  it('follows readiness from a probe and restarts on liveness failure', async () => {
    await h.createPod({
      metadata: { name: 'probed' },
      spec: { containers: [{ name: 'app', image: 'busybox:1', readinessProbe: { exec: { command: ['check-ready'] }, periodSeconds: 1, failureThreshold: 1 } }] },
    });
    let p = await h.waitPod('probed', (p) => p.status?.phase === 'Running', 'Running');
    assert.equal(condition(p, 'Ready'), 'False');
    ready = true;
    p = await h.waitPod('probed', isReady, 'Ready after the probe passes', 5000);
    await h.createPod({
      metadata: { name: 'dying' },
      spec: { containers: [{ name: 'app', image: 'busybox:1', livenessProbe: { exec: { command: ['check-alive'] }, periodSeconds: 1, failureThreshold: 1 } }] },
    });
    await h.waitPod('dying', (p) => (p.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1, 'restarted by liveness', 8000);
    const events = await h.events('dying');
    assert.ok(events.some((e) => e.reason === 'Unhealthy' && e.message.startsWith('Liveness probe failed')), JSON.stringify(events));
    assert.ok(events.some((e) => e.reason === 'Killing' && e.message === 'Container app failed liveness probe, will be restarted'));
  });

  it('writes configMap volumes atomically and refreshes them when the configMap changes', async () => {
    const cmRef = { group: '', version: 'v1', resource: 'configmaps', namespaced: true };
    await h.api.client.create(cmRef, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'files', namespace: 'default' }, data: { a: 'one' } });
    const pod = await h.createPod({
      metadata: { name: 'vol' },
      spec: { containers: [{ name: 'app', image: 'busybox:1', volumeMounts: [{ name: 'f', mountPath: '/f' }] }], volumes: [{ name: 'f', configMap: { name: 'files' } }] },
    });
    await h.waitPod('vol', isReady, 'ready');
    const file = join(h.dir, 'pods', pod.metadata!.uid!, 'volumes', 'kubernetes.io~configmap', 'f', 'a');
    assert.equal(await readFile(file, 'utf8'), 'one');
    const cm = await h.api.client.get(cmRef, 'files', 'default');
    await h.api.client.update(cmRef, { ...cm, data: { a: 'two' } });
    await waitFor(async () => (await readFile(file, 'utf8')) === 'two', { what: 'the new content', timeoutMs: 5000 });
  });

  it('runs preStop and stops with the grace period before removing a deleted pod', async () => {
    const pod = await h.createPod({
      metadata: { name: 'graceful' },
      spec: { terminationGracePeriodSeconds: 5, containers: [{ name: 'app', image: 'busybox:1', command: ['trap-term'], lifecycle: { preStop: { exec: { command: ['prestop'] } } } }] },
    });
    await h.waitPod('graceful', isReady, 'ready');
    const id = [...h.engine.containers.values()].find((c) => c.kind === 'container' && c.labels['nanokube.pod.uid'] === pod.metadata!.uid)!.id;
    await h.api.client.delete(podsRef, 'graceful', { namespace: 'default' });
    await waitFor(async () => {
      try {
        await h.getPod('graceful');
        return false;
      } catch {
        return true;
      }
    }, { what: 'removal', timeoutMs: 10_000 });
    // The program exits 0 on SIGTERM: it was asked politely, not killed.
    assert.equal(h.engine.containers.has(id), false);
    const events = await h.events('graceful');
    assert.ok(events.some((e) => e.reason === 'Killing' && e.message === 'Stopping container app'));
  });

  it('adopts running containers after a kubelet restart and removes orphans', async () => {
    const pod = await h.createPod({ metadata: { name: 'survivor' } });
    const p = await h.waitPod('survivor', isReady, 'ready');
    const id = p.status!.containerStatuses![0]!.containerID;
    const doomed = await h.createPod({ metadata: { name: 'orphaned' } });
    await h.waitPod('orphaned', isReady, 'ready');
    await h.kubelet.stop({ keepContainers: true });
    // While no kubelet runs, the pod object goes away for good.
    await h.api.client.delete(podsRef, 'orphaned', { namespace: 'default', gracePeriodSeconds: 0 });
    await h.restart({ keepContainers: true });
    await waitFor(() => ![...h.engine.containers.values()].some((c) => c.labels['nanokube.pod.uid'] === doomed.metadata!.uid), { what: 'orphans removed', timeoutMs: 5000 });
    const after = await h.waitPod('survivor', isReady, 'ready after restart');
    assert.equal(after.status!.containerStatuses![0]!.containerID, id);
    const mine = [...h.engine.containers.values()].filter((c) => c.labels['nanokube.pod.uid'] === pod.metadata!.uid);
    assert.equal(mine.length, 2, 'one sandbox and one container: nothing duplicated');
  });

  it('stops pod containers on stop and restarts them on start with the same IP and restartCount+1', async () => {
    const before = await h.waitPod('survivor', isReady, 'ready');
    await h.restart();
    const after = await h.waitPod('survivor', (p) => isReady(p) && p.status!.containerStatuses![0]!.containerID !== before.status!.containerStatuses![0]!.containerID, 'ready with a new container');
    assert.equal(after.status!.podIP, before.status!.podIP);
    assert.equal(after.status!.containerStatuses![0]!.restartCount, before.status!.containerStatuses![0]!.restartCount! + 1);
    const uid = before.metadata!.uid;
    const running = [...h.engine.containers.values()].filter((c) => c.labels['nanokube.pod.uid'] === uid && c.state === 'running');
    assert.equal(running.length, 2, 'one new sandbox and one new container running');
  });
});
