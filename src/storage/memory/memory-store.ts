// The in-memory Store: the same semantics as the SQLite backend (revisions, CAS, snapshots at a
// revision, watch replay, compaction, TTL) for unit tests of other components. Not durable.

import { decodeContinue, encodeContinue } from '../keys.ts';
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

export interface MemoryStoreOptions {
  /** Revisions of history kept for list-at-revision and watch replay (default 1000). */
  historyWindow?: number;
  /** Live events a watcher may leave unread before it is closed (default 10000). */
  watchBuffer?: number;
  /** How often expired keys are deleted, ms (default 1000; 0 = only via sweepExpired()). */
  ttlSweepMs?: number;
  /** Clock for TTLs, ms since the epoch (tests pass a fake). */
  now?: () => number;
}

/** One write in the log; a tombstone has deleted = true and kv = the last value. */
interface Version {
  kv: KeyValue;
  deleted: boolean;
  prev?: KeyValue;
}

export class MemoryStore implements Store {
  /** Every key's versions, oldest first, pruned by compaction. */
  private readonly versions = new Map<string, Version[]>();
  /** The global log in revision order (for replay), pruned by compaction. */
  private log: Version[] = [];
  private revision = 0;
  private compactRevision = 0;
  private closed = false;
  private readonly hub: WatchHub;
  private readonly historyWindow: number;
  private readonly now: () => number;
  private readonly sweepTimer: NodeJS.Timeout | undefined;

  constructor(opts: MemoryStoreOptions = {}) {
    this.historyWindow = Math.max(1, opts.historyWindow ?? 1000);
    this.hub = new WatchHub(opts.watchBuffer ?? 10_000);
    this.now = opts.now ?? Date.now;
    const sweepMs = opts.ttlSweepMs ?? 1000;
    if (sweepMs > 0) {
      this.sweepTimer = setInterval(() => void this.sweepExpired(), sweepMs);
      this.sweepTimer.unref();
    }
  }

  async get(key: string): Promise<KeyValue | undefined> {
    this.assertOpen();
    const v = this.latest(key);
    return v && !v.deleted ? { ...v.kv } : undefined;
  }

  async list(prefix: string, opts: ListOptions = {}): Promise<ListResult> {
    this.assertOpen();
    let revision = opts.revision && opts.revision > 0 ? opts.revision : this.revision;
    let after = '';
    if (opts.continue) {
      const point = decodeContinue(opts.continue);
      revision = point.revision;
      after = point.lastKey;
    }
    if (revision > this.revision) throw new StoreError(`revision ${revision} is in the future (current ${this.revision})`);
    if (revision < this.compactRevision) throw new CompactedError(revision, this.compactRevision, this.revision);
    const keys = [...this.versions.keys()].filter((k) => k.startsWith(prefix) && k > after).sort();
    const limit = opts.limit && opts.limit > 0 ? opts.limit : Infinity;
    const items: KeyValue[] = [];
    let more = 0;
    for (const key of keys) {
      const v = this.at(key, revision);
      if (!v || v.deleted) continue;
      if (items.length < limit) items.push({ ...v.kv });
      else more++;
    }
    const result: ListResult = { items, revision };
    if (more > 0) {
      result.continue = encodeContinue({ revision, lastKey: items[items.length - 1]!.key });
      result.remaining = more;
    }
    return result;
  }

  async create(key: string, value: string, opts: WriteOptions = {}): Promise<KeyValue> {
    this.assertOpen();
    const cur = this.latest(key);
    if (cur && !cur.deleted) throw new KeyExistsError(key);
    const rev = this.revision + 1;
    const kv: KeyValue = { key, value, createRevision: rev, modRevision: rev, ...this.expiry(opts) };
    this.append({ kv, deleted: false });
    return { ...kv };
  }

  async update(key: string, value: string, expectedRevision: number, opts: WriteOptions = {}): Promise<KeyValue> {
    this.assertOpen();
    const cur = this.latest(key);
    if (!cur || cur.deleted) throw new NotFoundError(key);
    if (cur.kv.modRevision !== expectedRevision) throw new ConflictError(key, expectedRevision, { ...cur.kv });
    const rev = this.revision + 1;
    const kv: KeyValue = { key, value, createRevision: cur.kv.createRevision, modRevision: rev, ...this.expiry(opts) };
    this.append({ kv, deleted: false, prev: cur.kv });
    return { ...kv };
  }

  async delete(key: string, expectedRevision?: number): Promise<KeyValue> {
    this.assertOpen();
    const cur = this.latest(key);
    if (!cur || cur.deleted) throw new NotFoundError(key);
    if (expectedRevision !== undefined && cur.kv.modRevision !== expectedRevision) {
      throw new ConflictError(key, expectedRevision, { ...cur.kv });
    }
    const rev = this.revision + 1;
    const kv: KeyValue = { ...cur.kv, modRevision: rev };
    delete kv.expiresAt;
    this.append({ kv, deleted: true, prev: cur.kv });
    return { ...kv };
  }

  watch(prefix: string, fromRevision: number, signal: AbortSignal): AsyncIterable<WatchEvent> {
    this.assertOpen();
    return this.hub.watch(this.source, prefix, fromRevision, signal);
  }

  async currentRevision(): Promise<number> {
    this.assertOpen();
    return this.revision;
  }

  async compact(revision: number): Promise<void> {
    this.assertOpen();
    this.compactTo(Math.min(revision, this.revision));
  }

  async count(prefix: string): Promise<number> {
    this.assertOpen();
    let n = 0;
    for (const [key, vs] of this.versions) if (key.startsWith(prefix) && !vs[vs.length - 1]!.deleted) n++;
    return n;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.hub.closeAll();
  }

  /** Delete every key whose TTL has passed; returns how many. Runs on a timer too. */
  async sweepExpired(): Promise<number> {
    if (this.closed) return 0;
    const nowSec = this.now() / 1000;
    let n = 0;
    for (const [key, vs] of [...this.versions]) {
      const v = vs[vs.length - 1]!;
      if (!v.deleted && v.kv.expiresAt && v.kv.expiresAt <= nowSec) {
        await this.delete(key, v.kv.modRevision);
        n++;
      }
    }
    return n;
  }

  private readonly source: WatchSource = {
    publishedRevision: () => this.revision,
    checkNotCompacted: (from) => {
      if (from < this.compactRevision) throw new CompactedError(from, this.compactRevision, this.revision);
    },
    replay: (prefix, from, to) => {
      const out: WatchEvent[] = [];
      for (const v of this.log) {
        const rev = v.kv.modRevision;
        if (rev > from && rev <= to && v.kv.key.startsWith(prefix)) out.push(toEvent(v));
      }
      return out;
    },
  };

  private append(v: Version): void {
    this.revision = v.kv.modRevision;
    let vs = this.versions.get(v.kv.key);
    if (!vs) this.versions.set(v.kv.key, (vs = []));
    vs.push(v);
    this.log.push(v);
    this.hub.publish([toEvent(v)]);
    if (this.revision - this.compactRevision > this.historyWindow * 2) this.compactTo(this.revision - this.historyWindow);
  }

  /** Forget versions superseded at or before revision; the state at revision stays readable. */
  private compactTo(revision: number): void {
    if (revision <= this.compactRevision) return;
    this.compactRevision = revision;
    this.log = this.log.filter((v) => v.kv.modRevision > revision);
    for (const [key, vs] of this.versions) {
      // Keep the newest version at or below the compact revision (the state there) and all later ones.
      let keepFrom = 0;
      for (let i = 0; i < vs.length; i++) if (vs[i]!.kv.modRevision <= revision) keepFrom = i;
      const kept = vs.slice(keepFrom);
      if (kept.length === 1 && kept[0]!.deleted && kept[0]!.kv.modRevision <= revision) this.versions.delete(key);
      else this.versions.set(key, kept);
    }
  }

  private latest(key: string): Version | undefined {
    const vs = this.versions.get(key);
    return vs?.[vs.length - 1];
  }

  private at(key: string, revision: number): Version | undefined {
    const vs = this.versions.get(key);
    if (!vs) return undefined;
    for (let i = vs.length - 1; i >= 0; i--) if (vs[i]!.kv.modRevision <= revision) return vs[i];
    return undefined;
  }

  private expiry(opts: WriteOptions): { expiresAt?: number } {
    return opts.ttlSeconds && opts.ttlSeconds > 0 ? { expiresAt: Math.ceil(this.now() / 1000 + opts.ttlSeconds) } : {};
  }

  private assertOpen(): void {
    if (this.closed) throw new StoreError('store is closed');
  }
}

function toEvent(v: Version): WatchEvent {
  const kv = { ...v.kv };
  if (v.deleted) return { type: 'DELETED', kv, ...(v.prev ? { prevKv: { ...v.prev } } : {}) };
  if (!v.prev) return { type: 'ADDED', kv };
  return { type: 'MODIFIED', kv, prevKv: { ...v.prev } };
}
