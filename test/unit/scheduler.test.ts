// The running Scheduler against the in-memory Client: binding, events, the PodScheduled
// condition, re-queue on cluster events, foreign schedulerName, racing bindings, preemption.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Scheduler, refs } from '../../src/scheduler/scheduler.ts';
import { SchedulingQueue } from '../../src/scheduler/queue.ts';
import { newPodInfo } from '../../src/scheduler/types.ts';
import type { Pod } from '../../src/scheduler/k8s.ts';
import { ClientError, type KubeObject } from '../../src/client/types.ts';
import { FakeClient } from '../helpers/fake-client.ts';
import { waitFor } from '../helpers/wait.ts';
import { node, pod } from '../helpers/sched-fixtures.ts';

const k = (o: object) => o as unknown as KubeObject;

async function start(client: FakeClient) {
  const ac = new AbortController();
  const s = new Scheduler(client, { queue: { initialBackoffMs: 10, maxBackoffMs: 50 }, optionalSyncTimeoutMs: 200 });
  await s.start(ac.signal);
  return { s, stop: () => ac.abort() };
}

const nodeOf = (c: FakeClient, name: string) => c.peek<Pod>(refs.pods, name, 'default')?.spec?.nodeName;
const events = (c: FakeClient, reason: string) => c.all<{ reason: string; message: string; count: number; involvedObject: { name: string } }>(refs.events).filter((e) => e.reason === reason);

describe('Scheduler', () => {
  it('binds, records Scheduled, keeps nodeSelector, leaves other schedulers alone and pods with nodeName', async () => {
    const c = new FakeClient();
    for (const n of ['a', 'b', 'c']) await c.create(refs.nodes, k(node(n, { labels: n === 'c' ? { disk: 'ssd' } : {} })));
    await c.create(refs.pods, k(pod('pinned', { nodeName: 'b' })));
    const { s, stop } = await start(c);
    try {
      await c.create(refs.pods, k(pod('web', { spec: { nodeSelector: { disk: 'ssd' } } })));
      await c.create(refs.pods, k(pod('other', { spec: { schedulerName: 'my-scheduler' } })));
      await waitFor(() => nodeOf(c, 'web'), { timeoutMs: 5000 });
      assert.equal(nodeOf(c, 'web'), 'c');
      await waitFor(() => events(c, 'Scheduled').length === 1, { timeoutMs: 2000 });
      assert.equal(events(c, 'Scheduled')[0]!.message, 'Successfully assigned default/web to c');
      await s.idle();
      assert.equal(nodeOf(c, 'other'), undefined);
      assert.equal(c.calls.bindings, 1);
    } finally {
      stop();
    }
  });

  it('an untolerated taint keeps the pod Pending with upstream wording; a new node releases it', async () => {
    const c = new FakeClient();
    const taint = [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }];
    await c.create(refs.nodes, k(node('cp', { taints: taint })));
    const { stop } = await start(c);
    try {
      await c.create(refs.pods, k(pod('p')));
      const msg = '0/1 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.';
      const cond = await waitFor(() => c.peek<Pod>(refs.pods, 'p', 'default')?.status?.conditions?.find((x) => x.type === 'PodScheduled'), { timeoutMs: 5000 });
      assert.deepEqual([cond.status, cond.reason, cond.message], ['False', 'Unschedulable', msg]);
      await waitFor(() => events(c, 'FailedScheduling')[0]?.message === msg, { timeoutMs: 2000 });
      await c.create(refs.nodes, k(node('worker')));
      await waitFor(() => nodeOf(c, 'p'), { timeoutMs: 5000 });
      assert.equal(nodeOf(c, 'p'), 'worker');
    } finally {
      stop();
    }
  });

  it('cordon keeps new pods off; required anti-affinity spreads 3 replicas over 3 nodes', async () => {
    const c = new FakeClient();
    for (const n of ['a', 'b', 'c', 'd']) await c.create(refs.nodes, k(node(n, { unschedulable: n === 'd' })));
    const { stop } = await start(c);
    try {
      const term = { labelSelector: { matchLabels: { app: 'web' } }, topologyKey: 'kubernetes.io/hostname' };
      for (let i = 0; i < 3; i++) {
        await c.create(refs.pods, k(pod(`web-${i}`, { labels: { app: 'web' }, spec: { affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term] } } } })));
      }
      const placed = await waitFor(() => {
        const ns = [0, 1, 2].map((i) => nodeOf(c, `web-${i}`));
        return ns.every(Boolean) ? ns : undefined;
      }, { timeoutMs: 5000 });
      assert.deepEqual([...placed].sort(), ['a', 'b', 'c']);
    } finally {
      stop();
    }
  });

  it('the assumed pod counts before the informer sees the binding', async () => {
    const c = new FakeClient();
    await c.create(refs.nodes, k(node('a', { cpu: '1' })));
    await c.create(refs.nodes, k(node('b', { cpu: '1' })));
    const { s, stop } = await start(c);
    try {
      // Bindings are slow: both decisions happen before either binding lands.
      c.beforeBind = () => undefined;
      const slow = c.createSubresource.bind(c);
      c.createSubresource = async (...args: Parameters<typeof slow>) => {
        await new Promise((r) => setTimeout(r, 50));
        return slow(...args);
      };
      await c.create(refs.pods, k(pod('x', { cpu: '800m' })));
      await c.create(refs.pods, k(pod('y', { cpu: '800m' })));
      await waitFor(() => nodeOf(c, 'x') && nodeOf(c, 'y'), { timeoutMs: 5000 });
      assert.notEqual(nodeOf(c, 'x'), nodeOf(c, 'y'));
      await s.idle();
    } finally {
      stop();
    }
  });

  it('a binding that loses a race is retried', async () => {
    const c = new FakeClient();
    await c.create(refs.nodes, k(node('a')));
    let failures = 0;
    c.beforeBind = () => {
      if (failures++ === 0) throw new ClientError(409, 'Conflict', 'the object has been modified; please apply your changes to the latest version and try again');
    };
    const { stop } = await start(c);
    try {
      await c.create(refs.pods, k(pod('p')));
      await waitFor(() => nodeOf(c, 'p'), { timeoutMs: 5000 });
      assert.equal(failures, 2);
    } finally {
      stop();
    }
  });

  it('a higher-priority pod preempts a lower one and is nominated, then bound', async () => {
    const c = new FakeClient();
    await c.create(refs.nodes, k(node('a', { cpu: '1' })));
    await c.create(refs.pods, k(pod('low', { cpu: '800m', priority: 0, nodeName: 'a' })));
    await c.create(refs.priorityClasses, k({ apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name: 'high' }, value: 1000 }));
    const { stop } = await start(c);
    try {
      await c.create(refs.pods, k(pod('high', { cpu: '800m', spec: { priorityClassName: 'high' } })));
      await waitFor(() => c.peek(refs.pods, 'low', 'default') === undefined, { timeoutMs: 5000 });
      await waitFor(() => nodeOf(c, 'high'), { timeoutMs: 5000 });
      assert.equal(nodeOf(c, 'high'), 'a');
      assert.equal(c.peek<Pod>(refs.pods, 'high', 'default')?.status?.nominatedNodeName, 'a');
      assert.match(events(c, 'Preempted')[0]!.message, /^Preempted by pod uid-default-high on node a$/);
    } finally {
      stop();
    }
  });

  it('repeated refusals bump the event count instead of writing new events', async () => {
    const c = new FakeClient();
    await c.create(refs.nodes, k(node('a', { cpu: '1' })));
    const { stop } = await start(c);
    try {
      await c.create(refs.pods, k(pod('huge', { cpu: '2' })));
      await waitFor(() => events(c, 'FailedScheduling').length === 1, { timeoutMs: 5000 });
      // A node update that changes allocatable re-queues the pod; the same refusal follows.
      await c.patch(refs.nodes, 'a', 'merge', { status: { allocatable: { cpu: '1500m' } } });
      await waitFor(() => events(c, 'FailedScheduling').some((e) => e.message.includes('Insufficient cpu') && e.count >= 2) || events(c, 'FailedScheduling').length > 1, { timeoutMs: 5000 });
      const evs = events(c, 'FailedScheduling');
      assert.equal(evs.length, 1);
      assert.equal(evs[0]!.message, '0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.');
    } finally {
      stop();
    }
  });
});

describe('SchedulingQueue', () => {
  const info = (name: string, priority = 0) => newPodInfo(pod(name, { priority }));
  it('pops by priority, then age', async () => {
    let t = 0;
    const q = new SchedulingQueue({ now: () => t });
    q.add(info('a', 1));
    t = 1;
    q.add(info('b', 5));
    t = 2;
    q.add(info('c', 1));
    const order = [(await q.pop())!.info.name, (await q.pop())!.info.name, (await q.pop())!.info.name];
    assert.deepEqual(order, ['b', 'a', 'c']);
    q.close();
  });
  it('unschedulable pods wait for an event, then back off exponentially', async () => {
    let t = 0;
    const q = new SchedulingQueue({ now: () => t, initialBackoffMs: 1000, maxBackoffMs: 10_000 });
    q.add(info('p'));
    let qp = (await q.pop())!;
    q.addUnschedulable(qp);
    assert.deepEqual(q.size, { active: 0, backoff: 0, unschedulable: 1 });
    q.moveAllToActiveOrBackoff();
    assert.deepEqual(q.size, { active: 0, backoff: 1, unschedulable: 0 });
    t = 1000;
    qp = (await q.pop())!;
    assert.equal(qp.attempts, 2);
    assert.equal(q.backoffDuration(qp), 2000);
    q.close();
  });
  it('an event during the attempt sends the pod to backoff, not to the unschedulable set', async () => {
    const t = 0;
    const q = new SchedulingQueue({ now: () => t });
    q.add(info('p'));
    const qp = (await q.pop())!;
    q.moveAllToActiveOrBackoff();
    q.addUnschedulable(qp);
    assert.deepEqual(q.size, { active: 0, backoff: 1, unschedulable: 0 });
    q.close();
  });
});
