// Watch streams: one NDJSON line per event over a chunked response that stays open until the
// client leaves or timeoutSeconds passes. Covers resourceVersion semantics, selector transitions
// (an object that stops matching is DELETED for this watcher), bookmarks, WatchList initial events
// and Table-formatted events.

import type { ServerResponse } from 'node:http';
import type { KubeObject } from '../../api/meta.ts';
import { ApiError, expired, type Status } from '../../api/status.ts';
import type { ResourceDef } from '../../registry/types.ts';
import { CompactedError, WatchOverflowError, type KeyValue, type Store, type WatchEvent } from '../../storage/types.ts';
import { logger } from '../../util/log.ts';
import { listPrefix } from '../rest/keys.ts';
import { fromStored, storedJsonWithRv, storedPrefix } from '../rest/objects.ts';
import type { ListOptions } from '../rest/options.ts';
import type { IncludeObject } from '../encoding/negotiate.ts';
import { objectsToTable } from '../table/table.ts';

const log = logger('apiserver/watch');

export interface WatchSettings {
  /** How often a BOOKMARK is sent when the client allows them (upstream: about a minute). */
  bookmarkIntervalMs: number;
}

export const watchSettings: WatchSettings = { bookmarkIntervalMs: 60_000 };

export interface WatchRequest {
  def: ResourceDef;
  namespace?: string;
  opts: ListOptions;
  matches: (o: KubeObject) => boolean;
  /** Set when the client asked for Table output. */
  table?: { include: IncludeObject; version: string };
  /** No label/field selector: every event passes, so lines need no parsing (see translate). */
  selectAll?: boolean;
}

// Encoded lines shared between watchers of the same kind: fan-out serializes each event once.
const lineCache = new Map<string, string>();
const LINE_CACHE_MAX = 4096;
// Two stores in one process (tests start several API servers) reuse the same revision numbers,
// so the cache key names the store too.
const storeIds = new WeakMap<Store, number>();
let nextStoreId = 0;
function storeId(store: Store): number {
  let id = storeIds.get(store);
  if (id === undefined) storeIds.set(store, (id = ++nextStoreId));
  return id;
}

function cachedLine(key: string, build: () => string): string {
  const hit = lineCache.get(key);
  if (hit !== undefined) return hit;
  const line = build();
  if (lineCache.size >= LINE_CACHE_MAX) lineCache.delete(lineCache.keys().next().value as string);
  lineCache.set(key, line);
  return line;
}

type EventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export async function serveWatch(res: ServerResponse, store: Store, w: WatchRequest): Promise<void> {
  const { def, opts } = w;
  const abort = new AbortController();
  const signal = abort.signal;
  res.on('close', () => abort.abort());
  res.socket?.setNoDelay(true);
  res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private' });
  res.flushHeaders();

  let headersSent = false;
  const encode = (type: EventType, obj: KubeObject): string => {
    if (w.table && type !== 'ERROR' && type !== 'BOOKMARK') {
      const meta: Record<string, unknown> = { resourceVersion: obj.metadata?.resourceVersion ?? '' };
      const table = objectsToTable(def, [obj], meta, { include: w.table.include, now: Date.now(), version: w.table.version, noHeaders: headersSent });
      headersSent = true;
      return JSON.stringify({ type, object: table }) + '\n';
    }
    return JSON.stringify({ type, object: obj }) + '\n';
  };
  const write = async (line: string): Promise<void> => {
    if (signal.aborted) return;
    if (!res.write(line)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          res.off('drain', done);
          signal.removeEventListener('abort', done);
          resolve();
        };
        res.on('drain', done);
        signal.addEventListener('abort', done);
      });
    }
  };
  const gv = def.group ? `${def.group}/${def.version}` : def.version;
  let lastRevision = 0;
  const bookmark = (annotations?: Record<string, string>) => {
    const metadata: Record<string, unknown> = { resourceVersion: String(lastRevision) };
    if (annotations) metadata.annotations = annotations;
    return JSON.stringify({ type: 'BOOKMARK', object: { kind: def.kind, apiVersion: gv, metadata } }) + '\n';
  };
  const errorEvent = (err: ApiError) => JSON.stringify({ type: 'ERROR', object: err.toStatus() satisfies Status }) + '\n';

  let timeout: NodeJS.Timeout | undefined;
  let bookmarkTimer: NodeJS.Timeout | undefined;
  if (opts.timeoutSeconds !== undefined && opts.timeoutSeconds > 0) {
    timeout = setTimeout(() => abort.abort(), opts.timeoutSeconds * 1000);
  }
  try {
    const prefix = listPrefix(def, w.namespace);
    let from: number;
    const initial = opts.sendInitialEvents === true || opts.resourceVersion === undefined || opts.resourceVersion === '0';
    if (initial) {
      // Synthetic ADDED for the current state, then changes after the snapshot's revision.
      const snapshotItems: KeyValue[] = [];
      let cont: string | undefined;
      let revision = 0;
      for (let guard = 0; guard < 1_000_000; guard++) {
        const page = await store.list(prefix, cont ? { limit: 500, continue: cont } : { limit: 500 });
        revision = page.revision;
        snapshotItems.push(...page.items);
        if (!page.continue) break;
        cont = page.continue;
      }
      if (opts.sendInitialEvents === true && opts.resourceVersion !== undefined && Number(opts.resourceVersion) > revision) {
        throw new ApiError(504, 'Timeout', `Too large resource version: ${opts.resourceVersion}, current: ${revision}`, {
          causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
          retryAfterSeconds: 1,
        });
      }
      if (opts.sendInitialEvents !== false) {
        for (const kv of snapshotItems) {
          const o = fromStored(def, kv);
          if (w.matches(o)) await write(encode('ADDED', o));
        }
      }
      from = revision;
      lastRevision = revision;
      if (opts.sendInitialEvents === true && opts.allowWatchBookmarks) {
        await write(bookmark({ 'k8s.io/initial-events-end': 'true' }));
      }
    } else {
      from = Number(opts.resourceVersion);
      lastRevision = from;
    }

    if (opts.allowWatchBookmarks) {
      bookmarkTimer = setInterval(() => {
        if (!signal.aborted) res.write(bookmark());
      }, watchSettings.bookmarkIntervalMs);
    }

    const cacheKeyBase = `${storeId(store)}|${gv}/${def.plural}|`;
    for await (const ev of store.watch(prefix, from, signal)) {
      lastRevision = ev.kv.modRevision;
      const line = translate(def, w, ev, cacheKeyBase, encode);
      if (line) await write(line);
    }
  } catch (e) {
    if (!signal.aborted) {
      let err: ApiError;
      if (e instanceof CompactedError) err = expired(`too old resource version: ${e.requestedRevision} (${e.currentRevision})`);
      else if (e instanceof ApiError) err = e;
      else if (e instanceof WatchOverflowError) err = new ApiError(500, 'InternalError', `Internal error occurred: ${e.message}`);
      else {
        log.error('watch failed', { resource: def.plural, err: e as Error });
        err = new ApiError(500, 'InternalError', `Internal error occurred: ${(e as Error).message}`);
      }
      await write(errorEvent(err));
    }
  } finally {
    if (timeout) clearTimeout(timeout);
    if (bookmarkTimer) clearInterval(bookmarkTimer);
    if (!res.writableEnded) res.end();
  }
}

function translate(
  def: ResourceDef,
  w: WatchRequest,
  ev: WatchEvent,
  cacheKeyBase: string,
  encode: (type: EventType, obj: KubeObject) => string,
): string | undefined {
  if (w.selectAll && !w.table) {
    // Every watcher of this resource without selectors shares one line per event, built from the
    // stored text without a parse; 100 watchers cost one splice, not 100 parse+stringify.
    return cachedLine(`${cacheKeyBase}${ev.type}|${ev.kv.modRevision}|${ev.kv.key}`, () => {
      const raw = storedJsonWithRv(def, storedPrefix(def), ev.kv);
      return raw !== undefined ? `{"type":"${ev.type}","object":${raw}}\n` : encode(ev.type, fromStored(def, ev.kv));
    });
  }
  const cur = fromStored(def, ev.kv);
  const curMatches = w.matches(cur);
  let type: EventType;
  let obj: KubeObject = cur;
  if (ev.type === 'ADDED') {
    if (!curMatches) return undefined;
    type = 'ADDED';
  } else if (ev.type === 'DELETED') {
    if (!curMatches) return undefined;
    type = 'DELETED';
  } else {
    const prev = ev.prevKv ? fromStored(def, ev.prevKv) : undefined;
    const prevMatches = prev ? w.matches(prev) : false;
    if (curMatches && prevMatches) type = 'MODIFIED';
    else if (curMatches) type = 'ADDED';
    else if (prevMatches && prev) {
      // Leaving the selection: the previous state, stamped with this event's revision.
      type = 'DELETED';
      obj = prev;
      obj.metadata!.resourceVersion = String(ev.kv.modRevision);
    } else return undefined;
  }
  if (w.table) return encode(type, obj);
  return cachedLine(`${cacheKeyBase}${type}|${ev.kv.modRevision}|${ev.kv.key}`, () => encode(type, obj));
}
