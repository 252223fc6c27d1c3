import assert from 'node:assert/strict';
import { it } from 'node:test';
import { MemoryStore } from '../../src/storage/memory/memory-store.ts';
import { WatchOverflowError } from '../../src/storage/types.ts';

it('a watcher that falls behind its buffer is closed with WatchOverflowError; others carry on', async () => {
  const s = new MemoryStore({ watchBuffer: 10, ttlSweepMs: 0 });
  const ac = new AbortController();
  const slow = s.watch('/a/', 0, ac.signal)[Symbol.asyncIterator]();
  const fast = s.watch('/a/', 0, ac.signal)[Symbol.asyncIterator]();
  // Register both (watchers start on the first next()).
  const firstSlow = slow.next();
  const fastSeen: number[] = [];
  const fastDone = (async () => {
    for (let r = await fast.next(); !r.done; r = await fast.next()) {
      fastSeen.push(r.value.kv.modRevision);
      if (fastSeen.length === 30) break;
    }
  })();
  await new Promise((r) => setImmediate(r));
  for (let i = 0; i < 30; i++) {
    await s.create(`/a/${i}`, '{}');
    await new Promise((r) => setImmediate(r)); // the fast reader keeps up
  }
  await fastDone;
  assert.deepEqual(fastSeen, Array.from({ length: 30 }, (_, i) => i + 1));
  assert.equal((await firstSlow).value?.kv.modRevision, 1);
  await assert.rejects(async () => {
    for (let i = 0; i < 40; i++) await slow.next();
  }, WatchOverflowError);
  ac.abort();
  await s.close();
});

it('watch with prefix isolation and replay only of matching keys', async () => {
  const s = new MemoryStore({ ttlSweepMs: 0 });
  await s.create('/a/1', '1');
  await s.create('/ab/1', 'x');
  await s.create('/a/2', '2');
  const ac = new AbortController();
  const it = s.watch('/a/', 0, ac.signal)[Symbol.asyncIterator]();
  assert.equal((await it.next()).value?.kv.key, '/a/1');
  assert.equal((await it.next()).value?.kv.key, '/a/2');
  ac.abort();
  assert.equal((await it.next()).done, true);
  await s.close();
});
