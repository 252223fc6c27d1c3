// An informer: list, then watch from the list's resourceVersion, keeping a local cache of one
// resource and telling handlers about changes. On 410 Expired (or a broken stream) it re-lists and
// reports the difference, so handlers always converge on the server's state (level-driven).
import { logger } from '../util/log.ts';
import { isGone, type Client, type KubeObject, type ResourceRef } from './types.ts';

const log = logger('informer');

export interface InformerHandlers<T extends KubeObject> {
  onAdd?(obj: T): void;
  onUpdate?(oldObj: T, newObj: T): void;
  onDelete?(obj: T): void;
}

export interface InformerOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Longest wait between retries after errors (default 30 s). */
  maxBackoffMs?: number;
  /** Seconds the server keeps each watch open before we re-watch (default 300). */
  watchTimeoutSeconds?: number;
}

export function objectKey(obj: KubeObject): string {
  const ns = obj.metadata.namespace;
  return ns ? `${ns}/${obj.metadata.name}` : (obj.metadata.name ?? '');
}

export class Informer<T extends KubeObject = KubeObject> {
  private readonly cache = new Map<string, T>();
  private readonly handlers: InformerHandlers<T>[] = [];
  private synced = false;
  private syncWaiters: Array<() => void> = [];
  private resourceVersion = '';

  constructor(
    private readonly client: Client,
    readonly ref: ResourceRef,
    private readonly opts: InformerOptions = {},
  ) {}

  addHandlers(h: InformerHandlers<T>): void {
    this.handlers.push(h);
    // Late subscribers see the current state as adds, as with client-go's shared informers.
    if (this.synced) for (const obj of this.cache.values()) h.onAdd?.(obj);
  }

  /** The cached object; never mutate it (structuredClone first). */
  get(name: string, namespace?: string): T | undefined {
    return this.cache.get(namespace ? `${namespace}/${name}` : name);
  }

  list(filter?: (obj: T) => boolean): T[] {
    const all = [...this.cache.values()];
    return filter ? all.filter(filter) : all;
  }

  hasSynced(): boolean {
    return this.synced;
  }

  waitForSync(signal?: AbortSignal): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.syncWaiters.push(resolve);
      signal?.addEventListener('abort', () => reject(new Error('aborted while waiting for informer sync')), { once: true });
    });
  }

  /** Runs until the signal aborts. */
  async run(signal: AbortSignal): Promise<void> {
    let backoff = 100;
    const maxBackoff = this.opts.maxBackoffMs ?? 30_000;
    while (!signal.aborted) {
      try {
        if (!this.resourceVersion) await this.relist();
        await this.watchOnce(signal);
        backoff = 100;
      } catch (e) {
        if (signal.aborted) break;
        if (isGone(e)) {
          this.resourceVersion = '';
          continue;
        }
        log.warn('list/watch failed; retrying', { resource: this.ref.resource, error: e, retryInMs: backoff });
        await sleep(backoff, signal);
        backoff = Math.min(backoff * 2, maxBackoff);
      }
    }
  }

  private async relist(): Promise<void> {
    const items: T[] = [];
    let cont: string | undefined;
    let rv = '';
    // Paged so a large resource never needs one huge response; bounded by the server's count.
    for (let page = 0; page < 100_000; page++) {
      const res = await this.client.list<T>(this.ref, {
        ...(this.opts.namespace ? { namespace: this.opts.namespace } : {}),
        ...(this.opts.labelSelector ? { labelSelector: this.opts.labelSelector } : {}),
        ...(this.opts.fieldSelector ? { fieldSelector: this.opts.fieldSelector } : {}),
        limit: 500,
        ...(cont ? { continue: cont } : {}),
      });
      items.push(...res.items);
      rv = res.metadata.resourceVersion ?? rv;
      cont = res.metadata.continue;
      if (!cont) break;
    }
    const seen = new Set<string>();
    for (const item of items) {
      const key = objectKey(item);
      seen.add(key);
      this.apply('ADDED', item);
    }
    for (const [key, old] of [...this.cache]) {
      if (!seen.has(key)) {
        this.cache.delete(key);
        for (const h of this.handlers) h.onDelete?.(old);
      }
    }
    this.resourceVersion = rv;
    if (!this.synced) {
      this.synced = true;
      for (const w of this.syncWaiters) w();
      this.syncWaiters = [];
    }
  }

  private async watchOnce(signal: AbortSignal): Promise<void> {
    const events = this.client.watch<T>(
      this.ref,
      {
        ...(this.opts.namespace ? { namespace: this.opts.namespace } : {}),
        ...(this.opts.labelSelector ? { labelSelector: this.opts.labelSelector } : {}),
        ...(this.opts.fieldSelector ? { fieldSelector: this.opts.fieldSelector } : {}),
        resourceVersion: this.resourceVersion,
        allowWatchBookmarks: true,
        timeoutSeconds: this.opts.watchTimeoutSeconds ?? 300,
      },
      signal,
    );
    for await (const ev of events) {
      if (ev.type === 'ERROR') {
        const status = ev.object as unknown as { code?: number };
        if (status.code === 410) {
          this.resourceVersion = '';
          return;
        }
        throw new Error(`watch error: ${JSON.stringify(ev.object)}`);
      }
      const rv = ev.object.metadata.resourceVersion;
      if (ev.type !== 'BOOKMARK') this.apply(ev.type, ev.object);
      if (rv) this.resourceVersion = rv;
    }
  }

  private apply(type: 'ADDED' | 'MODIFIED' | 'DELETED', obj: T): void {
    const key = objectKey(obj);
    const old = this.cache.get(key);
    if (type === 'DELETED') {
      if (!old) return;
      this.cache.delete(key);
      for (const h of this.handlers) h.onDelete?.(obj);
      return;
    }
    this.cache.set(key, obj);
    if (old) {
      if (old.metadata.resourceVersion === obj.metadata.resourceVersion) return;
      for (const h of this.handlers) h.onUpdate?.(old, obj);
    } else {
      for (const h of this.handlers) h.onAdd?.(obj);
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        resolve();
      },
      { once: true },
    );
  });
}
