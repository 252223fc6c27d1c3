// Store benchmark: raw better-sqlite3 vs the Store interface at the same durability, CAS updates,
// lists, watch fan-out latency and memory/disk under churn. `npm run bench -- store [--quick]`

import { setMaxListeners } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { schemaSql } from '../../src/storage/sqlite/schema.ts';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.ts';
import type { SqliteStoreOptions } from '../../src/storage/sqlite/sqlite-store.ts';
import type { Store } from '../../src/storage/types.ts';

const VALUE = JSON.stringify({ kind: 'ConfigMap', data: { pad: 'v'.repeat(1024 - 40) } }).slice(0, 1024);
const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};
const fmt = (n: number) => (n >= 100 ? n.toFixed(0) : n.toFixed(2));

let dirN = 0;
function tempFile(root: string): string {
  const d = path.join(root, `b${dirN++}`);
  fs.mkdirSync(d);
  return path.join(d, 'state.db');
}

function rawInserts(file: string, n: number, perTx: number, synchronous: 'FULL' | 'NORMAL'): number {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${synchronous}`);
  db.exec(schemaSql);
  const ins = db.prepare('INSERT INTO kv (id, name, created, deleted, create_revision, prev_revision, lease, expires_at, value) VALUES (?, ?, 1, 0, ?, 0, 0, 0, ?)');
  const tx = db.transaction((from: number, to: number) => {
    for (let i = from; i < to; i++) ins.run(i + 1, `/registry/configmaps/default/raw-${i}`, i + 1, VALUE);
  });
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i += perTx) tx(i, Math.min(n, i + perTx));
  const elapsed = ms(t0);
  db.close();
  return (n / elapsed) * 1000;
}

async function storeCreates(store: Store, n: number, concurrency: number, tag: string): Promise<number> {
  let next = 0;
  const t0 = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < n; i = next++) await store.create(`/registry/configmaps/${tag}/c-${i}`, VALUE);
    }),
  );
  return (n / ms(t0)) * 1000;
}

async function createRate(root: string, opts: SqliteStoreOptions, n: number, concurrency: number): Promise<number> {
  const store = SqliteStore.open(tempFile(root), { compactIntervalMs: 0, checkpointIntervalMs: 0, ttlSweepMs: 0, ...opts });
  try {
    return await storeCreates(store, n, concurrency, 'default');
  } finally {
    await store.close();
  }
}

export async function main(args: string[] = []): Promise<void> {
  const quick = args.includes('--quick');
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'nanokube-bench-'));
  const rows: [string, string][] = [];
  const out = (k: string, v: string) => {
    rows.push([k, v]);
    console.log(`${k.padEnd(58)} ${v}`);
  };
  try {
    const seqN = quick ? 200 : 600;
    const conN = quick ? 2000 : 6000;
    console.log(`# store benchmark (${os.cpus().length} cpus, ${process.version}, tmp ${os.tmpdir()}), 1 KB values\n`);

    console.log('## create throughput (writes/s), every acknowledged write fsynced');
    const rawSeq = rawInserts(tempFile(root), seqN, 1, 'FULL');
    out('raw better-sqlite3, FULL, 1 row per tx', fmt(rawSeq));
    const rawBatch = rawInserts(tempFile(root), conN, 64, 'FULL');
    out('raw better-sqlite3, FULL, 64 rows per tx', fmt(rawBatch));
    const fullSeq = await createRate(root, { synchronous: 'FULL', groupCommit: true }, seqN, 1);
    out('Store.create FULL+group commit, sequential', `${fmt(fullSeq)}  (${(fullSeq / rawSeq).toFixed(2)}x raw 1/tx)`);
    const full64 = await createRate(root, { synchronous: 'FULL', groupCommit: true }, conN, 64);
    out('Store.create FULL+group commit, 64 concurrent', `${fmt(full64)}  (${(full64 / rawBatch).toFixed(2)}x raw 64/tx)`);
    const noGroup64 = await createRate(root, { synchronous: 'FULL', groupCommit: false }, seqN, 64);
    out('Store.create FULL, no group commit, 64 concurrent', `${fmt(noGroup64)}  (${(noGroup64 / rawSeq).toFixed(2)}x raw 1/tx)`);
    const normSeq = await createRate(root, { synchronous: 'NORMAL', groupCommit: true }, seqN, 1);
    out('Store.create NORMAL+group commit+WAL fsync, sequential', fmt(normSeq));
    const norm64 = await createRate(root, { synchronous: 'NORMAL', groupCommit: true }, conN, 64);
    out('Store.create NORMAL+group commit+WAL fsync, 64 concurrent', fmt(norm64));

    console.log('\n## update with CAS, list, watch');
    const committedAt = new Map<number, bigint>();
    const store = SqliteStore.open(tempFile(root), {
      compactIntervalMs: 0,
      checkpointIntervalMs: 0,
      ttlSweepMs: 0,
      onCommitted: (rev) => committedAt.set(rev, process.hrtime.bigint()),
    });
    try {
      await storeCreates(store, 10_000, 64, 'ten');
      await storeCreates(store, 1_000, 64, 'one');
      const keys = (await store.list('/registry/configmaps/one/')).items;
      const t0 = process.hrtime.bigint();
      const updN = quick ? 2000 : 6000;
      let next = 0;
      await Promise.all(
        keys.slice(0, 64).map(async (kv) => {
          let rev = kv.modRevision;
          while (next++ < updN) rev = (await store.update(kv.key, VALUE, rev)).modRevision;
        }),
      );
      out('Store.update (CAS), 64 concurrent, writes/s', fmt((updN / ms(t0)) * 1000));

      for (const [label, prefix, expect] of [
        ['list 1k keys', '/registry/configmaps/one/', 1000],
        ['list 10k keys', '/registry/configmaps/ten/', 10_000],
      ] as const) {
        const times: number[] = [];
        for (let i = 0; i < 7; i++) {
          const t = process.hrtime.bigint();
          const r = await store.list(prefix);
          times.push(ms(t));
          if (r.items.length !== expect) throw new Error(`${label}: got ${r.items.length}`);
        }
        out(`${label} (1 KB values), ms p50 / max of 7`, `${fmt(pct(times, 50))} / ${fmt(Math.max(...times))}`);
      }
      const pageTimes: number[] = [];
      {
        let cont: string | undefined;
        for (let i = 0; i < 20; i++) {
          const t = process.hrtime.bigint();
          const r = await store.list('/registry/configmaps/ten/', { limit: 500, ...(cont ? { continue: cont } : {}) });
          pageTimes.push(ms(t));
          cont = r.continue;
          if (!cont) break;
        }
      }
      out('list 10k keys in pages of 500, ms per page p50', fmt(pct(pageTimes, 50)));

      // Watch: 100 watchers on the same prefix, sequential writes; latency from the write call
      // (so it includes the commit and its fsync) to delivery at each watcher.
      const watchers = 100;
      const writes = quick ? 300 : 1000;
      const ac = new AbortController();
      setMaxListeners(0, ac.signal); // one listener per watcher is expected here
      const sent = new Map<number, bigint>();
      const firstDelivery = new Map<number, bigint>();
      const lat: number[] = [];
      const fromCommit: number[] = [];
      const spread: number[] = [];
      let delivered = 0;
      const start = await store.currentRevision();
      const consumers = Array.from({ length: watchers }, async () => {
        let got = 0;
        for await (const ev of store.watch('/registry/pods/', start, ac.signal)) {
          const now = process.hrtime.bigint();
          const rev = ev.kv.modRevision;
          const first = firstDelivery.get(rev);
          if (first === undefined) firstDelivery.set(rev, now);
          else spread.push(Number(now - first) / 1e6);
          const t = sent.get(rev);
          if (t !== undefined) lat.push(Number(now - t) / 1e6);
          const c = committedAt.get(rev);
          if (c !== undefined) fromCommit.push(Number(now - c) / 1e6);
          delivered++;
          if (++got >= writes) break;
        }
      });
      for (let i = 0; i < writes; i++) {
        const t = process.hrtime.bigint();
        // The revision is known only at commit; map it by the next expected revision.
        sent.set((await store.currentRevision()) + 1, t);
        await store.create(`/registry/pods/default/p-${i}`, VALUE);
      }
      const deadline = Date.now() + 30_000;
      while (delivered < watchers * writes && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      ac.abort();
      await Promise.all(consumers);
      out(`watch delivery, ${watchers} watchers, commit → event, ms p50 / p99`, `${fmt(pct(fromCommit, 50))} / ${fmt(pct(fromCommit, 99))}`);
      out(`watch delivery, ${watchers} watchers, write call → event, ms p50 / p99`, `${fmt(pct(lat, 50))} / ${fmt(pct(lat, 99))}`);
      out(`watch fan-out spread (first → each other watcher), ms p50 / p99`, `${fmt(pct(spread, 50))} / ${fmt(pct(spread, 99))}`);
    } finally {
      await store.close();
    }

    console.log('\n## churn: memory and disk stay bounded (history 1000 revisions, compaction every 200 ms)');
    const churnFile = tempFile(root);
    const churn = SqliteStore.open(churnFile, { compactIntervalMs: 200, historyMs: 0, historyRevisions: 1000, checkpointIntervalMs: 1000, ttlSweepMs: 0 });
    try {
      const total = quick ? 30_000 : 150_000;
      const revs = new Map<string, number>();
      for (let i = 0; i < 500; i++) revs.set(`/registry/leases/n-${i}`, (await churn.create(`/registry/leases/n-${i}`, VALUE)).modRevision);
      const ac = new AbortController();
      let seen = 0;
      const watcher = (async () => {
        for await (const _ of churn.watch('/registry/', await churn.currentRevision(), ac.signal)) seen++;
      })();
      const sample = () => {
        const size = (f: string) => (fs.existsSync(f) ? fs.statSync(f).size : 0);
        return { rss: process.memoryUsage().rss / 2 ** 20, db: size(churnFile) / 2 ** 20, wal: size(`${churnFile}-wal`) / 2 ** 20, rows: churn.rowCount() };
      };
      global.gc?.();
      const samples: ReturnType<typeof sample>[] = [sample()];
      const t0 = process.hrtime.bigint();
      let done = 0;
      const keys = [...revs.keys()];
      await Promise.all(
        Array.from({ length: 32 }, async (_, w) => {
          for (let i = w; done < total; i += 32) {
            const key = keys[i % keys.length]!;
            try {
              revs.set(key, (await churn.update(key, VALUE, revs.get(key)!)).modRevision);
            } catch {
              revs.set(key, (await churn.get(key))!.modRevision);
            }
            if (++done % (total / 5) === 0) samples.push(sample());
          }
        }),
      );
      const elapsed = ms(t0);
      // Give the compactor a last pass.
      await churn.compact((await churn.currentRevision()) - 1000);
      churn.checkpoint();
      samples.push(sample());
      ac.abort();
      await watcher;
      out('churn updates/s (32 concurrent, 1 watcher)', fmt((total / elapsed) * 1000));
      for (const [i, s] of samples.entries()) {
        out(`  sample ${i}: rss MiB / db MiB / wal MiB / rows`, `${fmt(s.rss)} / ${fmt(s.db)} / ${fmt(s.wal)} / ${s.rows}`);
      }
      out('  events seen by the watcher', String(seen));
    } finally {
      await churn.close();
    }
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}
