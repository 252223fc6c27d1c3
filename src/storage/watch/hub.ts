// Fans committed events out to every watcher. Backends call publish() after a commit; nothing here
// touches the database, so delivery costs one prefix check per watcher and event.

import { logger } from '../../util/log.ts';
import type { WatchEvent } from '../types.ts';
import { Subscription } from './subscription.ts';

const log = logger('storage/watch');

export interface WatchSource {
  /** Revision of the last event published (everything at or below it is readable by replay). */
  publishedRevision(): number;
  /** Oldest revision a watch may start from; older → CompactedError. Throws it itself. */
  checkNotCompacted(fromRevision: number): void;
  /** Events with fromRevision < revision <= toRevision under prefix, in order. */
  replay(prefix: string, fromRevision: number, toRevision: number): WatchEvent[];
}

export class WatchHub {
  private readonly subs = new Set<Subscription>();

  constructor(readonly bufferSize = 10_000) {}

  get watcherCount(): number {
    return this.subs.size;
  }

  publish(events: readonly WatchEvent[]): void {
    if (events.length === 0 || this.subs.size === 0) return;
    for (const sub of this.subs) {
      for (const ev of events) {
        if (ev.kv.key.startsWith(sub.prefix)) sub.push(ev);
      }
      if (sub.closed) this.subs.delete(sub);
    }
  }

  /**
   * Watch with replay. Registration and the replay read happen in the same synchronous step, so no
   * commit can slip between them: replay covers (from, published], live events cover the rest.
   */
  watch(source: WatchSource, prefix: string, fromRevision: number, signal: AbortSignal): AsyncIterable<WatchEvent> {
    const hub = this;
    return {
      [Symbol.asyncIterator]: () => {
        let sub: Subscription | undefined;
        const onAbort = () => sub?.end();
        const start = (): Subscription => {
          const s = new Subscription(prefix, fromRevision, hub.bufferSize);
          if (signal.aborted) {
            s.end();
            return s;
          }
          source.checkNotCompacted(fromRevision);
          const upTo = source.publishedRevision();
          if (fromRevision < upTo) s.preload(source.replay(prefix, fromRevision, upTo));
          hub.subs.add(s);
          signal.addEventListener('abort', onAbort, { once: true });
          return s;
        };
        const stop = () => {
          if (!sub) return;
          hub.subs.delete(sub);
          sub.end();
          signal.removeEventListener('abort', onAbort);
        };
        return {
          async next(): Promise<IteratorResult<WatchEvent>> {
            sub ??= start();
            try {
              const ev = await sub.next();
              if (ev) return { value: ev, done: false };
            } catch (err) {
              stop();
              if (err instanceof Error && err.name === 'WatchOverflowError') log.warn('watcher closed', { prefix, reason: err.message });
              throw err;
            }
            stop();
            return { value: undefined, done: true };
          },
          async return(): Promise<IteratorResult<WatchEvent>> {
            stop();
            return { value: undefined, done: true };
          },
        };
      },
    };
  }

  /** End every watcher (store closing). */
  closeAll(): void {
    for (const sub of this.subs) sub.end();
    this.subs.clear();
  }
}
