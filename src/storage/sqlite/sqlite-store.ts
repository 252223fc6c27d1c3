// The SQLite Store: kine's table shape behind the Store contract, with group commit, a watch hub
// fed after commit, background compaction and a TTL sweeper.


import { logger } from '../../util/log.ts';
import { decodeContinue, encodeContinue, prefixEnd } from '../keys.ts';
import {
  CompactedError,
  ConflictError,
  KeyExistsError,
  NotFoundError,
  StoreError,
} from '../types.ts';
import type { KeyValue, ListOptions, ListResult, Store, WatchEvent, WriteOptions } from '../types.ts';
import { WatchHub } from '../watch/hub.ts';
import type { WatchSource } from '../watch/hub.ts';
import { Compactor } from './compactor.ts';
import { WriteBatcher } from './group-commit.ts';
import { acquireLock } from './lock-file.ts';
import { openDatabase } from './open.ts';
import type { SqliteDb } from './open.ts';
import { META } from './schema.ts';

const log = logger('storage/sqlite');

export interface SqliteStoreOptions {
  /**
   * FULL (default): SQLite fsyncs the WAL on each commit. NORMAL: SQLite does not, and the batcher
   * fsyncs the WAL itself after each commit — the same promise, kept for the benchmark comparison.
   *
   * Why FULL + group commit (npm run bench -- store, 2 shared cores, 1 KB values, writes/s):
   *   sequential:    FULL+group 2121, NORMAL+group+own fsync 2197, raw SQLite FULL 1 row/tx 2423
   *   64 concurrent: FULL+group 24458, NORMAL+group+own fsync 29806, FULL without group 2479
   * Group commit is the 10x; the NORMAL variant is within run-to-run noise of FULL. FULL lets
   * SQLite decide what to sync (WAL header on restart, checkpoints), so we keep it. Plain NORMAL
   * without our fsync would lose acknowledged writes on a power cut: not offered.
   */
  synchronous?: 'FULL' | 'NORMAL';
  /** Share one transaction + fsync among writes arriving in the same event-loop turn (default true). */
  groupCommit?: boolean;
  /** History kept for list-at-revision and watch replay: at least this many revisions (default 1000)… */
  historyRevisions?: number;
  /** …and at least this much time, ms (default 5 minutes). */
  historyMs?: number;
  /** How often the compactor looks for work, ms (default 30 s; 0 = only via compact()). */
  compactIntervalMs?: number;
  /** Row ids handled per compaction transaction, so writes never wait long behind it (default 1000). */
  compactBatch?: number;
  /** How often the WAL is checkpointed and truncated, ms (default 60 s; 0 = never by timer). */
  checkpointIntervalMs?: number;
  /** Live events a watcher may leave unread before it is closed (default 10000). */
  watchBuffer?: number;
  /** How often expired keys are deleted, ms (default 1000; 0 = only via sweepExpired()). */
  ttlSweepMs?: number;
  /** Run SQLite's quick_check when opening an existing file (default true). */
  integrityCheck?: boolean;
  /** Clock for TTLs, ms since the epoch. */
  now?: () => number;
  /** Called right after each write is durable, before watchers see it (metrics, benchmarks). */
  onCommitted?: (revision: number) => void;
}

interface Row {
  id: number;
  name: string;
  created: number;
  deleted: number;
  create_revision: number;
  expires_at: number;
  value: string;
}

interface ReplayRow extends Row {
  prev_id: number | null;
  prev_create_revision: number | null;
  prev_expires_at: number | null;
  prev_value: string | null;
}

/** Above every real key (keys are UTF-8; U+10FFFF sorts after all of them bytewise). */
const KEY_MAX = '\u{10FFFF}';
const ROW_COLS = 'id, name, created, deleted, create_revision, expires_at, value';

export class SqliteStore implements Store {
  private readonly hub: WatchHub;
  private readonly batcher: WriteBatcher;
  private readonly compactor: Compactor;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly now: () => number;
  /** Last revision handed to a write in the open batch (may be ahead of committed). */
  private writerRevision: number;
  /** Last revision committed and published: what readers and watchers may see. */
  private committedRevision: number;
  private compactRevision: number;
  private closed = false;
  private readonly onCommitted: ((revision: number) => void) | undefined;
  private readonly w: ReturnType<typeof writerStatements>;
  private readonly r: ReturnType<typeof readerStatements>;

  static open(file: string, opts: SqliteStoreOptions = {}): SqliteStore {
    const release = acquireLock(file);
    try {
      const synchronous = opts.synchronous ?? 'FULL';
      const { writer, reader } = openDatabase(file, { synchronous, integrityCheck: opts.integrityCheck ?? true });
      return new SqliteStore(file, writer, reader, opts, release);
    } catch (err) {
      release();
      throw err;
    }
  }

  private constructor(
    readonly file: string,
    private readonly writer: SqliteDb,
    private readonly reader: SqliteDb,
    opts: SqliteStoreOptions,
    private readonly releaseLock: () => void,
  ) {
    this.now = opts.now ?? Date.now;
    this.onCommitted = opts.onCommitted;
    this.w = writerStatements(writer);
    this.r = readerStatements(reader);
    this.writerRevision = this.committedRevision = this.readSequence();
    this.compactRevision = (this.w.getMeta.get(META.compactRevision) as number | undefined) ?? 0;
    this.hub = new WatchHub(opts.watchBuffer ?? 10_000);
    this.batcher = new WriteBatcher(
      writer,
      {
        groupCommit: opts.groupCommit ?? true,
        maxBatch: 1000,
        ...(opts.synchronous === 'NORMAL' ? { walFileToSync: `${file}-wal` } : {}),
      },
      () => {
        // Revisions handed out in the failed batch were never acknowledged nor published.
        this.writerRevision = this.readSequence();
      },
    );
    this.compactor = new Compactor({
      historyRevisions: opts.historyRevisions ?? 1000,
      historyMs: opts.historyMs ?? 5 * 60_000,
      batch: opts.compactBatch ?? 1000,
      currentRevision: () => this.committedRevision,
      step: (target, from, to) => this.compactStep(target, from, to),
      compactedThrough: () => (this.w.getMeta.get(META.compactedThrough) as number | undefined) ?? 0,
      checkpoint: () => this.checkpoint(),
    });
    const every = (ms: number | undefined, dflt: number, fn: () => void) => {
      const period = ms ?? dflt;
      if (period <= 0) return;
      const t = setInterval(fn, period);
      t.unref();
      this.timers.push(t);
    };
    every(opts.compactIntervalMs, 30_000, () => this.compactor.tick());
    every(opts.checkpointIntervalMs, 60_000, () => this.checkpoint());
    every(opts.ttlSweepMs, 1000, () => void this.sweepExpired());
    log.debug('opened', { file, revision: this.committedRevision, compactRevision: this.compactRevision });
  }

  async get(key: string): Promise<KeyValue | undefined> {
    this.assertOpen();
    const row = this.r.latest.get(key) as Row | undefined;
    return row && !row.deleted ? toKv(row) : undefined;
  }

  async list(prefix: string, opts: ListOptions = {}): Promise<ListResult> {
    this.assertOpen();
    let revision = opts.revision && opts.revision > 0 ? opts.revision : this.committedRevision;
    let start = prefix;
    if (opts.continue) {
      const point = decodeContinue(opts.continue);
      revision = point.revision;
      // The next page starts strictly after the last key returned.
      if (point.lastKey >= prefix) start = point.lastKey + '\0';
    }
    if (revision > this.committedRevision) throw new StoreError(`revision ${revision} is in the future (current ${this.committedRevision})`);
    if (revision < this.compactRevision) throw new CompactedError(revision, this.compactRevision, this.committedRevision);
    const end = prefixEnd(prefix) || KEY_MAX;
    const limit = opts.limit && opts.limit > 0 ? opts.limit : -1;
    const rows = this.r.listAt.all({ start, end, rev: revision, limit: limit < 0 ? -1 : limit + 1 }) as Row[];
    for (let i = 1; i < rows.length; i++) {
      if (rows[i - 1]!.name >= rows[i]!.name) throw new StoreError('list: SQLite returned rows out of key order; please report this');
    }
    const result: ListResult = { items: [], revision };
    const more = limit > 0 && rows.length > limit;
    if (more) rows.length = limit;
    result.items = rows.map(toKv);
    if (more) {
      const lastKey = rows[rows.length - 1]!.name;
      result.continue = encodeContinue({ revision, lastKey });
      result.remaining = this.r.countAt.get({ start: lastKey + '\0', end, rev: revision }) as number;
    }
    return result;
  }

  async count(prefix: string): Promise<number> {
    this.assertOpen();
    return this.r.countAt.get({ start: prefix, end: prefixEnd(prefix) || KEY_MAX, rev: this.committedRevision }) as number;
  }

  create(key: string, value: string, opts: WriteOptions = {}): Promise<KeyValue> {
    this.assertOpen();
    return this.write(() => {
      const cur = this.w.latest.get(key) as Row | undefined;
      if (cur && !cur.deleted) throw new KeyExistsError(key);
      const rev = this.writerRevision + 1;
      const expiresAt = this.expiry(opts);
      this.w.insert.run(rev, key, 1, 0, rev, cur?.id ?? 0, opts.ttlSeconds ?? 0, expiresAt, value);
      this.writerRevision = rev;
      const kv = mkKv(key, value, rev, rev, expiresAt);
      return { kv, event: { type: 'ADDED', kv } satisfies WatchEvent };
    });
  }

  update(key: string, value: string, expectedRevision: number, opts: WriteOptions = {}): Promise<KeyValue> {
    this.assertOpen();
    return this.write(() => {
      const cur = this.w.latest.get(key) as Row | undefined;
      if (!cur || cur.deleted) throw new NotFoundError(key);
      if (cur.id !== expectedRevision) throw new ConflictError(key, expectedRevision, toKv(cur));
      const rev = this.writerRevision + 1;
      const expiresAt = this.expiry(opts);
      this.w.insert.run(rev, key, 0, 0, cur.create_revision, cur.id, opts.ttlSeconds ?? 0, expiresAt, value);
      this.writerRevision = rev;
      const kv = mkKv(key, value, cur.create_revision, rev, expiresAt);
      return { kv, event: { type: 'MODIFIED', kv, prevKv: toKv(cur) } satisfies WatchEvent };
    });
  }

  delete(key: string, expectedRevision?: number): Promise<KeyValue> {
    this.assertOpen();
    return this.write(() => {
      const cur = this.w.latest.get(key) as Row | undefined;
      if (!cur || cur.deleted) throw new NotFoundError(key);
      if (expectedRevision !== undefined && cur.id !== expectedRevision) throw new ConflictError(key, expectedRevision, toKv(cur));
      const rev = this.writerRevision + 1;
      // The tombstone keeps the last value: watchers get it in the DELETED event, even on replay.
      this.w.insert.run(rev, key, 0, 1, cur.create_revision, cur.id, 0, 0, cur.value);
      this.writerRevision = rev;
      const kv = mkKv(key, cur.value, cur.create_revision, rev, 0);
      return { kv, event: { type: 'DELETED', kv, prevKv: toKv(cur) } satisfies WatchEvent };
    });
  }

  watch(prefix: string, fromRevision: number, signal: AbortSignal): AsyncIterable<WatchEvent> {
    this.assertOpen();
    return this.hub.watch(this.source, prefix, fromRevision, signal);
  }

  async currentRevision(): Promise<number> {
    this.assertOpen();
    return this.committedRevision;
  }

  /** Compact now up to revision (bounded by the current one), in small batches; resolves when done. */
  async compact(revision: number): Promise<void> {
    this.assertOpen();
    await this.compactor.compactTo(Math.min(revision, this.committedRevision));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    this.compactor.stop();
    this.hub.closeAll();
    try {
      this.batcher.close();
      this.reader.close();
      // Closing the last connection checkpoints the WAL into the main file and removes it.
      this.writer.close();
    } finally {
      this.releaseLock();
    }
  }

  /** Delete every key whose TTL has passed (also runs on a timer); returns how many. */
  async sweepExpired(): Promise<number> {
    if (this.closed) return 0;
    const due = this.r.expired.all(Math.floor(this.now() / 1000)) as { name: string; id: number }[];
    let n = 0;
    await Promise.all(
      due.map(async ({ name, id }) => {
        try {
          await this.delete(name, id);
          n++;
        } catch (err) {
          // Updated or deleted meanwhile: its new state decides.
          if (!(err instanceof ConflictError || err instanceof NotFoundError)) log.warn('ttl delete failed', { key: name, error: err as Error });
        }
      }),
    );
    return n;
  }

  /** Rows on disk (history included) — for tests and the benchmark. */
  rowCount(): number {
    return this.r.rowCount.get() as number;
  }

  /** Truncate the WAL; skipped while a batch is open (the next tick retries). */
  checkpoint(): void {
    if (this.closed) return;
    this.batcher.flush();
    try {
      this.writer.pragma('wal_checkpoint(TRUNCATE)');
    } catch (err) {
      log.warn('checkpoint failed', { error: err as Error });
    }
  }

  private write(op: () => { kv: KeyValue; event: WatchEvent }): Promise<KeyValue> {
    return this.batcher
      .run(op, ({ kv, event }) => {
        this.committedRevision = Math.max(this.committedRevision, kv.modRevision);
        this.onCommitted?.(kv.modRevision);
        this.hub.publish([event]);
      })
      .then(({ kv }) => ({ ...kv }));
  }

  /** One compaction transaction over row ids (from, to], to <= target. Returns rows deleted. */
  private compactStep(target: number, from: number, to: number): Promise<number> {
    return this.batcher.run(
      () => {
        if (target > this.compactRevision) this.w.setMeta.run(META.compactRevision, target);
        const superseded = this.w.deleteSuperseded.run({ from, to, target }).changes;
        const tombstones = this.w.deleteTombstones.run({ from, to, target }).changes;
        this.w.setMeta.run(META.compactedThrough, to);
        return superseded + tombstones;
      },
      () => {
        this.compactRevision = Math.max(this.compactRevision, target);
      },
    );
  }

  private readonly source: WatchSource = {
    publishedRevision: () => this.committedRevision,
    checkNotCompacted: (from) => {
      if (from < this.compactRevision) throw new CompactedError(from, this.compactRevision, this.committedRevision);
    },
    replay: (prefix, from, to) => {
      const rows = this.r.replay.all({ from, to, start: prefix, end: prefixEnd(prefix) || KEY_MAX }) as ReplayRow[];
      return rows.map(toReplayEvent);
    },
  };

  private readSequence(): number {
    return (this.w.sequence.get() as number | undefined) ?? 0;
  }

  private expiry(opts: WriteOptions): number {
    return opts.ttlSeconds && opts.ttlSeconds > 0 ? Math.ceil(this.now() / 1000 + opts.ttlSeconds) : 0;
  }

  private assertOpen(): void {
    if (this.closed) throw new StoreError('store is closed');
  }
}

function writerStatements(db: SqliteDb) {
  return {
    latest: db.prepare(`SELECT ${ROW_COLS} FROM kv WHERE name = ? ORDER BY prev_revision DESC LIMIT 1`),
    insert: db.prepare(
      'INSERT INTO kv (id, name, created, deleted, create_revision, prev_revision, lease, expires_at, value) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    ),
    sequence: db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'kv'").pluck(),
    getMeta: db.prepare('SELECT value FROM meta WHERE key = ?').pluck(),
    setMeta: db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value'),
    // Every row in the window at or below target supersedes its predecessor: drop that one, wherever
    // it is (a row kept by an earlier compaction is dropped once its successor falls below target).
    deleteSuperseded: db.prepare(`
      DELETE FROM kv WHERE id IN (
        SELECT prev_revision FROM kv WHERE id > @from AND id <= @to AND id <= @target AND prev_revision > 0)`),
    // A tombstone at or below target (its predecessor just went) says "absent", as no row does.
    deleteTombstones: db.prepare('DELETE FROM kv WHERE id > @from AND id <= @to AND id <= @target AND deleted = 1'),
  };
}

function readerStatements(db: SqliteDb) {
  // The newest row per name at or below a revision; tombstones filtered after. The grouped scan
  // walks the (name, …) index, so rows come out in key order: an ORDER BY here would copy every
  // value into a temp b-tree (measured several times slower for 10k 1 KB rows). list() checks it.
  const latestAt = `SELECT MAX(id) AS mid FROM kv WHERE name >= @start AND name < @end AND id <= @rev GROUP BY name`;
  return {
    latest: db.prepare(`SELECT ${ROW_COLS} FROM kv WHERE name = ? ORDER BY prev_revision DESC LIMIT 1`),
    listAt: db.prepare(`
      SELECT k.id, k.name, k.created, k.deleted, k.create_revision, k.expires_at, k.value
      FROM (${latestAt}) m JOIN kv k ON k.id = m.mid
      WHERE k.deleted = 0 LIMIT @limit`),
    countAt: db.prepare(`SELECT count(*) FROM (${latestAt}) m JOIN kv k ON k.id = m.mid WHERE k.deleted = 0`).pluck(),
    replay: db.prepare(`
      SELECT k.id, k.name, k.created, k.deleted, k.create_revision, k.expires_at, k.value,
             p.id AS prev_id, p.create_revision AS prev_create_revision, p.expires_at AS prev_expires_at, p.value AS prev_value
      FROM kv k LEFT JOIN kv p ON p.id = k.prev_revision AND p.name = k.name
      WHERE k.id > @from AND k.id <= @to AND k.name >= @start AND k.name < @end
      ORDER BY k.id`),
    expired: db.prepare(`
      SELECT k.name, k.id FROM kv k
      WHERE k.expires_at > 0 AND k.expires_at <= ? AND k.deleted = 0
        AND NOT EXISTS (SELECT 1 FROM kv n WHERE n.name = k.name AND n.prev_revision = k.id)
      LIMIT 500`),
    rowCount: db.prepare('SELECT count(*) FROM kv').pluck(),
  };
}

function mkKv(key: string, value: string, createRevision: number, modRevision: number, expiresAt: number): KeyValue {
  const kv: KeyValue = { key, value, createRevision, modRevision };
  if (expiresAt > 0) kv.expiresAt = expiresAt;
  return kv;
}

function toKv(row: Row): KeyValue {
  return mkKv(row.name, row.value, row.create_revision, row.id, row.expires_at);
}

function toReplayEvent(row: ReplayRow): WatchEvent {
  const kv = toKv(row);
  const prevKv =
    row.prev_id !== null && row.prev_value !== null
      ? mkKv(row.name, row.prev_value, row.prev_create_revision ?? 0, row.prev_id, row.prev_expires_at ?? 0)
      : undefined;
  if (row.deleted) {
    delete kv.expiresAt;
    return { type: 'DELETED', kv, ...(prevKv ? { prevKv } : {}) };
  }
  if (row.created) return { type: 'ADDED', kv };
  return { type: 'MODIFIED', kv, ...(prevKv ? { prevKv } : {}) };
}
