// Compaction keeps exactly the state at and after the compacted revision, and bounds the rows.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, it } from 'node:test';
import { MemoryStore } from '../../src/storage/memory/memory-store.ts';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.ts';
import type { Store } from '../../src/storage/types.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nanokube-compact-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A deterministic mix of creates, updates, deletes and re-creates over 40 keys. */
async function churn(s: Store, steps: number, seed: number): Promise<void> {
  let x = seed;
  const rnd = () => (x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let i = 0; i < steps; i++) {
    const key = `/c/k${Math.floor(rnd() * 40)}`;
    const cur = await s.get(key);
    if (!cur) await s.create(key, `v${i}`);
    else if (rnd() < 0.2) await s.delete(key, cur.modRevision);
    else await s.update(key, `v${i}`, cur.modRevision);
  }
}

it('after compaction in small batches, lists at kept revisions equal a reference store', async () => {
  const sqlite = SqliteStore.open(path.join(tmp, 'a.db'), { compactIntervalMs: 0, checkpointIntervalMs: 0, ttlSweepMs: 0, compactBatch: 7 });
  const memory = new MemoryStore({ historyWindow: 100_000, ttlSweepMs: 0 });
  try {
    for (const round of [1, 2, 3]) {
      await churn(sqlite, 400, round);
      await churn(memory, 400, round);
      const current = await sqlite.currentRevision();
      assert.equal(current, await memory.currentRevision());
      const target = current - 50;
      await sqlite.compact(target);
      // Every revision still kept reads the same as the uncompacted reference.
      for (let rev = target; rev <= current; rev += 7) {
        assert.deepEqual(await sqlite.list('/c/', { revision: rev }), await memory.list('/c/', { revision: rev }), `rev ${rev}`);
      }
      // Rows left: at most one per live key at target plus the writes after it.
      assert.ok(sqlite.rowCount() <= 40 + 50, `round ${round}: ${sqlite.rowCount()} rows`);
    }
  } finally {
    await sqlite.close();
    await memory.close();
  }
});

it('TTL: expired keys are deleted by the sweeper using the injected clock', async () => {
  let now = 1_000_000_000_000;
  const s = SqliteStore.open(path.join(tmp, 'ttl.db'), { compactIntervalMs: 0, checkpointIntervalMs: 0, ttlSweepMs: 0, now: () => now });
  try {
    const ev = await s.create('/events/a', '{}', { ttlSeconds: 3600 });
    assert.equal(ev.expiresAt, 1_000_000_000 + 3600);
    await s.create('/events/b', '{}');
    assert.equal(await s.sweepExpired(), 0);
    now += 3601_000;
    assert.equal(await s.sweepExpired(), 1);
    assert.equal(await s.get('/events/a'), undefined);
    assert.ok(await s.get('/events/b'));
  } finally {
    await s.close();
  }
});
