// The Store contract, written once and run against every backend (memory, SQLite, etcd).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CompactedError, ConflictError, KeyExistsError, NotFoundError } from '../../src/storage/types.ts';
import type { Store, WatchEvent } from '../../src/storage/types.ts';

export interface BackendHarness {
  /** A store to test; each call may return a fresh one. Tests use their own key prefixes. */
  open(): Promise<Store>;
  /** Close and reopen the same data (omit for backends without persistence). */
  reopen?(store: Store): Promise<Store>;
  /** Bring the given store to a state where list/watch at revisions <= rev fail with Compacted. */
  compact(store: Store, rev: number): Promise<void>;
}

let seq = 0;
const uniquePrefix = (name: string) => `/registry/contract-${process.pid}-${Date.now().toString(36)}-${seq++}/${name}/`;

/** Read events from a watch until pred says stop or the deadline passes. */
export async function collect(
  iter: AsyncIterable<WatchEvent>,
  done: (seen: WatchEvent[]) => boolean,
  timeoutMs = 10_000,
): Promise<WatchEvent[]> {
  const seen: WatchEvent[] = [];
  const it = iter[Symbol.asyncIterator]();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), timeoutMs)));
  try {
    while (!done(seen)) {
      const r = await Promise.race([it.next(), timeout]);
      if (r === 'timeout') throw new Error(`watch: timed out after ${timeoutMs} ms with ${seen.length} events`);
      if (r.done) break;
      seen.push(r.value);
    }
  } finally {
    clearTimeout(timer);
  }
  return seen;
}

async function waitFor(cond: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

export function storeContract(name: string, h: BackendHarness, opts: { skip?: string | false } = {}): void {
  const test = (title: string, fn: (store: Store, prefix: string) => Promise<void>) =>
    it(title, { skip: opts.skip ?? false }, async () => {
      const store = await h.open();
      try {
        await fn(store, uniquePrefix(title.replace(/\W+/g, '-')));
      } finally {
        await store.close();
      }
    });

  describe(`Store contract: ${name}`, () => {
    test('create, get, create on an existing key', async (s, p) => {
      const kv = await s.create(p + 'a', '{"x":1}');
      assert.equal(kv.key, p + 'a');
      assert.equal(kv.value, '{"x":1}');
      assert.equal(kv.createRevision, kv.modRevision);
      assert.equal(await s.currentRevision(), kv.modRevision);
      assert.deepEqual(await s.get(p + 'a'), kv);
      assert.equal(await s.get(p + 'missing'), undefined);
      await assert.rejects(s.create(p + 'a', '{}'), KeyExistsError);
    });

    test('update is a compare-and-swap on modRevision', async (s, p) => {
      const a = await s.create(p + 'a', '1');
      const b = await s.update(p + 'a', '2', a.modRevision);
      assert.ok(b.modRevision > a.modRevision);
      assert.equal(b.createRevision, a.createRevision);
      const err = await s.update(p + 'a', '3', a.modRevision).catch((e: unknown) => e);
      assert.ok(err instanceof ConflictError);
      assert.equal(err.current?.modRevision, b.modRevision);
      assert.equal(err.current?.value, '2');
      await assert.rejects(s.update(p + 'missing', '1', 1), NotFoundError);
      assert.equal((await s.get(p + 'a'))?.value, '2');
    });

    test('concurrent updates with the same expected revision: exactly one wins', async (s, p) => {
      const a = await s.create(p + 'a', '0');
      const results = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => s.update(p + 'a', String(i), a.modRevision)));
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
      for (const r of results) if (r.status === 'rejected') assert.ok(r.reason instanceof ConflictError);
    });

    test('delete: missing, wrong revision, then success and recreate', async (s, p) => {
      await assert.rejects(s.delete(p + 'missing'), NotFoundError);
      const a = await s.create(p + 'a', 'v1');
      await assert.rejects(s.delete(p + 'a', a.modRevision + 1000), ConflictError);
      const d = await s.delete(p + 'a', a.modRevision);
      assert.equal(d.value, 'v1');
      assert.ok(d.modRevision > a.modRevision);
      assert.equal(await s.get(p + 'a'), undefined);
      await assert.rejects(s.delete(p + 'a'), NotFoundError);
      const again = await s.create(p + 'a', 'v2');
      assert.ok(again.createRevision > d.modRevision);
      assert.equal(await s.count(p), 1);
    });

    test('list is a snapshot at one revision; pages stay on it under concurrent writes', async (s, p) => {
      for (let i = 0; i < 25; i++) await s.create(`${p}k${String(i).padStart(3, '0')}`, `v${i}`);
      const first = await s.list(p, { limit: 10 });
      assert.equal(first.items.length, 10);
      assert.ok(first.continue);
      // Writes between pages must not show up in later pages of the same list.
      const writes = Promise.all([
        s.create(`${p}k000a`, 'new'),
        s.create(`${p}k999`, 'new'),
        s.delete(`${p}k015`),
        s.update(`${p}k020`, 'changed', (await s.get(`${p}k020`))!.modRevision),
      ]);
      await writes;
      const keys = first.items.map((kv) => kv.key);
      let cont: string | undefined = first.continue;
      for (let guard = 0; cont && guard < 10; guard++) {
        const page = await s.list(p, { limit: 10, continue: cont });
        assert.equal(page.revision, first.revision);
        for (const kv of page.items) {
          keys.push(kv.key);
          if (kv.key === `${p}k020`) assert.equal(kv.value, 'v20');
        }
        cont = page.continue;
      }
      assert.equal(keys.length, 25);
      assert.deepEqual(keys, [...keys].sort());
      assert.ok(keys.includes(`${p}k015`));
      assert.ok(!keys.includes(`${p}k999`));
      // An explicit revision reads the same snapshot.
      const old = await s.list(p, { revision: first.revision });
      assert.equal(old.items.length, 25);
      const now = await s.list(p);
      assert.equal(now.items.length, 26);
      assert.equal(now.revision, await s.currentRevision());
      assert.equal(await s.count(p), 26);
      // Prefix isolation: a sibling prefix sharing the leading characters is not included.
      await s.create(p.slice(0, -1) + 'x/other', '1');
      assert.equal((await s.list(p)).items.length, 26);
    });

    test('watch: ordered, complete, typed events under concurrent writers', async (s, p) => {
      const ac = new AbortController();
      const start = await s.currentRevision();
      const w = s.watch(p, start, ac.signal);
      const writers = 4;
      const perWriter = 40;
      const acked: number[] = [];
      const work = Promise.all(
        Array.from({ length: writers }, async (_, wi) => {
          for (let i = 0; i < perWriter; i++) {
            const key = `${p}w${wi}/${i % 5}`;
            const cur = await s.get(key);
            const kv = cur ? await s.update(key, `${wi}-${i}`, cur.modRevision) : await s.create(key, `${wi}-${i}`);
            acked.push(kv.modRevision);
            if (i % 7 === 6) acked.push((await s.delete(key)).modRevision);
          }
        }),
      );
      const expected = writers * perWriter + writers * Math.floor(perWriter / 7);
      const seenP = collect(w, (seen) => seen.length >= expected);
      await work;
      const seen = await seenP;
      ac.abort();
      assert.equal(acked.length, expected);
      const revs = seen.map((e) => e.kv.modRevision);
      for (let i = 1; i < revs.length; i++) assert.ok(revs[i]! > revs[i - 1]!, 'revisions strictly increase');
      assert.deepEqual([...revs].sort((a, b) => a - b), [...acked].sort((a, b) => a - b));
      for (const ev of seen) {
        if (ev.type === 'ADDED') assert.equal(ev.kv.createRevision, ev.kv.modRevision);
        if (ev.type === 'MODIFIED') assert.ok(ev.prevKv && ev.prevKv.modRevision < ev.kv.modRevision);
        if (ev.type === 'DELETED') assert.ok(ev.kv.value.length > 0, 'DELETED carries the last value');
      }
    });

    test('watch from an old revision replays history, then continues live', async (s, p) => {
      const a = await s.create(p + 'a', '1');
      await s.update(p + 'a', '2', a.modRevision);
      await s.create(p + 'b', '1');
      await s.delete(p + 'b');
      const ac = new AbortController();
      const w = s.watch(p, a.modRevision - 1, ac.signal);
      const seenP = collect(w, (seen) => seen.length >= 5);
      await s.create(p + 'c', 'live');
      const seen = await seenP;
      ac.abort();
      assert.deepEqual(
        seen.map((e) => [e.type, e.kv.key.slice(p.length), e.kv.value]),
        [
          ['ADDED', 'a', '1'],
          ['MODIFIED', 'a', '2'],
          ['ADDED', 'b', '1'],
          ['DELETED', 'b', '1'],
          ['ADDED', 'c', 'live'],
        ],
      );
      assert.equal(seen[1]?.prevKv?.value, '1');
    });

    test('watch ends when the signal aborts', async (s, p) => {
      const ac = new AbortController();
      const it = s.watch(p, await s.currentRevision(), ac.signal)[Symbol.asyncIterator]();
      const next = it.next();
      ac.abort();
      const r = await Promise.race([next, new Promise((res) => setTimeout(() => res('timeout'), 5000))]);
      assert.deepEqual(r, { value: undefined, done: true });
    });

    test('compaction: list and watch below the compacted revision fail with Compacted', async (s, p) => {
      const a = await s.create(p + 'a', '1');
      let rev = a.modRevision;
      for (let i = 2; i <= 5; i++) rev = (await s.update(p + 'a', String(i), rev)).modRevision;
      await s.create(p + 'b', 'x');
      await h.compact(s, rev);
      await assert.rejects(s.list(p, { revision: a.modRevision }), CompactedError);
      const ac = new AbortController();
      await assert.rejects(collect(s.watch(p, a.modRevision, ac.signal), () => false, 3000), CompactedError);
      ac.abort();
      // The state at and after the compacted revision is intact.
      assert.equal((await s.list(p, { revision: rev })).items[0]?.value, '5');
      assert.equal((await s.get(p + 'a'))?.value, '5');
      assert.equal((await s.list(p)).items.length, 2);
    });

    test('keys with a TTL expire with a DELETED event', async (s, p) => {
      const ac = new AbortController();
      const w = s.watch(p, await s.currentRevision(), ac.signal);
      await s.create(p + 'event', '{"reason":"x"}', { ttlSeconds: 1 });
      await s.create(p + 'keep', '{}');
      const seen = await collect(w, (seen) => seen.some((e) => e.type === 'DELETED'), 15_000);
      ac.abort();
      assert.equal(seen.find((e) => e.type === 'DELETED')?.kv.key, p + 'event');
      assert.equal(await s.get(p + 'event'), undefined);
      assert.ok(await s.get(p + 'keep'));
    });

    test('10k keys: create, count, list in pages', async (s, p) => {
      const n = 10_000;
      const value = JSON.stringify({ pad: 'x'.repeat(200) });
      for (let i = 0; i < n; i += 500) {
        await Promise.all(Array.from({ length: 500 }, (_, j) => s.create(`${p}${String(i + j).padStart(5, '0')}`, value)));
      }
      assert.equal(await s.count(p), n);
      const all = await s.list(p);
      assert.equal(all.items.length, n);
      let seen = 0;
      let cont: string | undefined;
      for (let guard = 0; guard < 20; guard++) {
        const page = await s.list(p, { limit: 1000, ...(cont ? { continue: cont } : {}) });
        seen += page.items.length;
        if (page.continue) assert.equal(page.remaining, n - seen);
        cont = page.continue;
        if (!cont) break;
      }
      assert.equal(seen, n);
    });

    if (h.reopen) {
      const reopen = h.reopen.bind(h);
      it('restart keeps data and the revision monotonic', { skip: opts.skip ?? false }, async () => {
        const p = uniquePrefix('restart');
        let s = await h.open();
        try {
          const a = await s.create(p + 'a', '1');
          const d = await s.delete(p + 'a');
          const before = await s.currentRevision();
          assert.ok(before >= d.modRevision);
          s = await reopen(s);
          assert.equal(await s.currentRevision(), before);
          assert.equal(await s.get(p + 'a'), undefined);
          const b = await s.create(p + 'a', '2');
          assert.ok(b.modRevision > before && b.modRevision > a.modRevision);
        } finally {
          await s.close();
        }
      });
    }
  });
}

export { waitFor };
