import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkQueue } from '../../src/controller/workqueue.ts';
import { ControllerRunner, type Request } from '../../src/controller/runner.ts';

test('a key is queued once however often it is added', async () => {
  const q = new WorkQueue<string>();
  q.add('a');
  q.add('a');
  q.add('b');
  assert.equal(q.length, 2);
  assert.equal(await q.get(), 'a');
  assert.equal(await q.get(), 'b');
  assert.equal(q.length, 0);
});

test('a key added while processing is handed out again only after done()', async () => {
  const q = new WorkQueue<string>();
  q.add('a');
  const k = await q.get();
  assert.equal(k, 'a');
  q.add('a');
  assert.equal(q.length, 0, 'not queued while a worker holds it');
  q.done('a');
  assert.equal(q.length, 1);
  assert.equal(await q.get(), 'a');
});

test('waiting workers get new keys; shutDown releases them', async () => {
  const q = new WorkQueue<string>();
  const waiting = q.get();
  q.add('x');
  assert.equal(await waiting, 'x');
  const idle = q.get();
  q.shutDown();
  assert.equal(await idle, undefined);
});

test('rate-limited requeue backs off exponentially and forget resets it', async () => {
  const q = new WorkQueue<string>({ baseDelayMs: 10, maxDelayMs: 1000 });
  q.addRateLimited('k');
  q.addRateLimited('k'); // timer already pending: keeps the earlier deadline
  assert.equal(q.numRequeues('k'), 2);
  const t0 = Date.now();
  assert.equal(await q.get(), 'k');
  assert.ok(Date.now() - t0 >= 8, 'waited for the backoff');
  q.forget('k');
  assert.equal(q.numRequeues('k'), 0);
  q.shutDown();
});

test('the runner retries failures and honours requeueAfter', async () => {
  const seen: string[] = [];
  let failures = 2;
  const ac = new AbortController();
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  const runner = new ControllerRunner(
    {
      name: 'test',
      async reconcile(req: Request) {
        seen.push(`${req.namespace}/${req.name}`);
        if (failures-- > 0) throw new Error('transient');
        if (seen.length === 3) return { requeueAfterMs: 5 };
        resolveDone();
        return {};
      },
    },
    1,
  );
  const running = runner.run(ac.signal);
  runner.enqueue({ namespace: 'ns', name: 'a' });
  await Promise.race([done, new Promise((_, rej) => setTimeout(() => rej(new Error('timeout')), 5000))]);
  ac.abort();
  await running;
  assert.deepEqual(seen, ['ns/a', 'ns/a', 'ns/a', 'ns/a']);
});
