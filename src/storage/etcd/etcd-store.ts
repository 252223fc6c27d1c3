// The Store contract over an external etcd 3 (the `etcd3` gRPC client): for clusters that outgrow
// one embedded file or want several servers on one datastore. etcd already has revisions, CAS
// transactions, snapshots at a revision, watch and compaction; this file only maps them.

import { Etcd3 } from 'etcd3';
import type { IKeyValue, IResponseHeader, ITxnResponse } from 'etcd3';
import { logger } from '../../util/log.ts';
import { decodeContinue, encodeContinue, prefixEnd } from '../keys.ts';
import { CompactedError, ConflictError, KeyExistsError, NotFoundError, StoreError } from '../types.ts';
import type { KeyValue, ListOptions, ListResult, Store, WatchEvent, WriteOptions } from '../types.ts';
import { Subscription } from '../watch/subscription.ts';

const log = logger('storage/etcd');

export interface EtcdStoreOptions {
  /** Live events a watcher may leave unread before it is closed (default 10000). */
  watchBuffer?: number;
  /** Per-request deadline, ms (default 10 s). */
  requestTimeoutMs?: number;
}

const buf = (s: string) => Buffer.from(s, 'utf8');
const num = (s: string | number | undefined) => Number(s ?? 0);

export class EtcdStore implements Store {
  private closed = false;
  private readonly watchers = new Set<{ cancel: () => void }>();

  private constructor(
    readonly endpoint: string,
    private readonly client: Etcd3,
    private readonly opts: EtcdStoreOptions,
  ) {}

  /** endpoint: etcd://host:port[,host:port…]; checks the server answers before returning. */
  static async connect(endpoint: string, opts: EtcdStoreOptions = {}): Promise<EtcdStore> {
    const hosts = endpoint
      .replace(/^etcd:\/\//i, '')
      .split(',')
      .filter(Boolean)
      .map((h) => `http://${h}`);
    if (hosts.length === 0) throw new StoreError(`datastore endpoint ${endpoint} names no host; use etcd://host:2379`);
    const client = new Etcd3({ hosts, dialTimeout: 5000 });
    const store = new EtcdStore(endpoint, client, opts);
    try {
      await store.currentRevision();
    } catch (err) {
      client.close();
      throw new StoreError(`cannot reach etcd at ${endpoint}: ${(err as Error).message}. Check that etcd runs and the address is right.`);
    }
    return store;
  }

  async get(key: string): Promise<KeyValue | undefined> {
    const res = await this.call(() => this.client.kv.range({ key: buf(key) }));
    const kv = res.kvs[0];
    return kv ? toKv(kv) : undefined;
  }

  async list(prefix: string, opts: ListOptions = {}): Promise<ListResult> {
    let revision = opts.revision && opts.revision > 0 ? opts.revision : 0;
    let start = prefix;
    if (opts.continue) {
      const point = decodeContinue(opts.continue);
      revision = point.revision;
      if (point.lastKey >= prefix) start = point.lastKey + '\0';
    }
    const end = prefixEnd(prefix) || '\0';
    const limit = opts.limit && opts.limit > 0 ? opts.limit : 0;
    const res = await this.call(() =>
      this.client.kv.range({ key: buf(start), range_end: buf(end), ...(revision ? { revision } : {}), ...(limit ? { limit } : {}) }),
      revision,
    );
    const readAt = revision || num(res.header.revision);
    const result: ListResult = { items: res.kvs.map(toKv), revision: readAt };
    if (res.more && result.items.length > 0) {
      result.continue = encodeContinue({ revision: readAt, lastKey: result.items[result.items.length - 1]!.key });
      result.remaining = num(res.count) - result.items.length;
    }
    return result;
  }

  async count(prefix: string): Promise<number> {
    const res = await this.call(() => this.client.kv.range({ key: buf(prefix), range_end: buf(prefixEnd(prefix) || '\0'), count_only: true }));
    return num(res.count);
  }

  async create(key: string, value: string, opts: WriteOptions = {}): Promise<KeyValue> {
    const lease = await this.leaseFor(opts);
    const res = await this.txn(
      [{ key: buf(key), target: 'Create', result: 'Equal', create_revision: 0 }],
      { key: buf(key), value: buf(value), ...(lease ? { lease } : {}) },
    );
    if (!res.succeeded) throw new KeyExistsError(key);
    const rev = num(res.header.revision);
    return withExpiry({ key, value, createRevision: rev, modRevision: rev }, opts);
  }

  async update(key: string, value: string, expectedRevision: number, opts: WriteOptions = {}): Promise<KeyValue> {
    const lease = await this.leaseFor(opts);
    const res = await this.txn(
      [{ key: buf(key), target: 'Mod', result: 'Equal', mod_revision: expectedRevision }],
      { key: buf(key), value: buf(value), prev_kv: true, ...(lease ? { lease } : {}) },
    );
    if (!res.succeeded) throw this.casFailure(key, expectedRevision, res);
    const prev = res.responses[0]?.response_put?.prev_kv;
    const rev = num(res.header.revision);
    return withExpiry({ key, value, createRevision: prev ? num(prev.create_revision) : rev, modRevision: rev }, opts);
  }

  async delete(key: string, expectedRevision?: number): Promise<KeyValue> {
    const compare =
      expectedRevision === undefined
        ? { key: buf(key), target: 'Version' as const, result: 'Greater' as const, version: 0 }
        : { key: buf(key), target: 'Mod' as const, result: 'Equal' as const, mod_revision: expectedRevision };
    const res = await this.call(() =>
      this.client.kv.txn({
        compare: [compare],
        success: [{ request_delete_range: { key: buf(key), prev_kv: true } }],
        failure: [{ request_range: { key: buf(key) } }],
      }),
    );
    if (!res.succeeded) throw this.casFailure(key, expectedRevision ?? 0, res);
    const prev = res.responses[0]?.response_delete_range?.prev_kvs[0];
    if (!prev) throw new NotFoundError(key);
    return { ...toKv(prev), modRevision: num(res.header.revision) };
  }

  watch(prefix: string, fromRevision: number, signal: AbortSignal): AsyncIterable<WatchEvent> {
    const store = this;
    return {
      [Symbol.asyncIterator]: () => {
        const sub = new Subscription(prefix, fromRevision, store.opts.watchBuffer ?? 10_000);
        let started: Promise<void> | undefined;
        let cancel = () => {};
        const start = async () => {
          // etcd would silently start at its compacted revision; check first so callers get 410.
          const current = await store.currentRevision();
          if (fromRevision < current) await store.call(() => store.client.kv.range({ key: buf(prefix), revision: fromRevision, count_only: true }), fromRevision);
          if (signal.aborted) return sub.end();
          const watcher = await store.client.watch().prefix(prefix).startRevision(String(fromRevision + 1)).withPreviousKV().create();
          const handle = { cancel: () => void watcher.cancel().catch(() => {}) };
          store.watchers.add(handle);
          cancel = () => {
            store.watchers.delete(handle);
            handle.cancel();
            sub.end();
          };
          if (signal.aborted) return cancel();
          signal.addEventListener('abort', cancel, { once: true });
          watcher.on('data', (res) => {
            for (const ev of res.events) sub.push(toEvent(ev.type, ev.kv, ev.prev_kv));
          });
          watcher.on('error', (err) => {
            const compacted = /compact/i.test(err.message);
            sub.fail(compacted ? new CompactedError(fromRevision, 0, 0) : new StoreError(`etcd watch failed: ${err.message}`));
            cancel();
          });
        };
        return {
          async next(): Promise<IteratorResult<WatchEvent>> {
            started ??= start();
            await started;
            try {
              const ev = await sub.next();
              if (ev) return { value: ev, done: false };
            } catch (err) {
              cancel();
              throw err;
            }
            cancel();
            return { value: undefined, done: true };
          },
          async return(): Promise<IteratorResult<WatchEvent>> {
            cancel();
            return { value: undefined, done: true };
          },
        };
      },
    };
  }

  async currentRevision(): Promise<number> {
    const res = await this.call(() => this.client.kv.range({ key: buf('\0'), count_only: true }));
    return num(res.header.revision);
  }

  async compact(revision: number): Promise<void> {
    try {
      await this.call(() => this.client.kv.compact({ revision, physical: true }));
    } catch (err) {
      // Already compacted further: the goal is met.
      if (!(err instanceof CompactedError)) throw err;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const w of this.watchers) w.cancel();
    this.client.close();
  }

  private async txn(compare: Parameters<Etcd3['kv']['txn']>[0]['compare'], put: NonNullable<Parameters<Etcd3['kv']['put']>[0]>): Promise<ITxnResponse> {
    return this.call(() =>
      this.client.kv.txn({ compare, success: [{ request_put: put }], failure: [{ request_range: { key: put.key! } }] }),
    );
  }

  private casFailure(key: string, expectedRevision: number, res: ITxnResponse): StoreError {
    const cur = res.responses[0]?.response_range?.kvs[0];
    return cur ? new ConflictError(key, expectedRevision, toKv(cur)) : new NotFoundError(key);
  }

  /** One lease per TTL'd write: etcd deletes the key (with a DELETE event) when it runs out. */
  private async leaseFor(opts: WriteOptions): Promise<string | undefined> {
    if (!opts.ttlSeconds || opts.ttlSeconds <= 0) return undefined;
    const res = await this.call(() => this.client.leaseClient.leaseGrant({ TTL: Math.ceil(opts.ttlSeconds!) }));
    return res.ID;
  }

  private async call<T extends { header: IResponseHeader }>(fn: () => Promise<T>, revision = 0): Promise<T> {
    if (this.closed) throw new StoreError('store is closed');
    try {
      return await fn();
    } catch (err) {
      const msg = (err as Error).message ?? String(err);
      if (/required revision has been compacted/.test(msg)) throw new CompactedError(revision, 0, 0);
      if (/future revision/.test(msg)) throw new StoreError(`revision ${revision} is in the future`);
      log.debug('etcd request failed', { error: msg });
      throw new StoreError(`etcd request failed: ${msg}`);
    }
  }
}

function toKv(kv: IKeyValue): KeyValue {
  return { key: kv.key.toString('utf8'), value: kv.value.toString('utf8'), createRevision: num(kv.create_revision), modRevision: num(kv.mod_revision) };
}

function withExpiry(kv: KeyValue, opts: WriteOptions): KeyValue {
  if (opts.ttlSeconds && opts.ttlSeconds > 0) kv.expiresAt = Math.ceil(Date.now() / 1000 + opts.ttlSeconds);
  return kv;
}

function toEvent(type: string, kv: IKeyValue, prev: IKeyValue | undefined): WatchEvent {
  const prevKv = prev ? toKv(prev) : undefined;
  if (type === 'Delete') {
    // etcd's delete event carries only the key; the last value comes from prev_kv.
    const last = prevKv ?? toKv(kv);
    return { type: 'DELETED', kv: { ...last, modRevision: num(kv.mod_revision) }, ...(prevKv ? { prevKv } : {}) };
  }
  const cur = toKv(kv);
  if (num(kv.version) === 1) return { type: 'ADDED', kv: cur };
  return { type: 'MODIFIED', kv: cur, ...(prevKv ? { prevKv } : {}) };
}
