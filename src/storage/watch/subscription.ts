// One watcher's bounded queue: the hub pushes, the consumer pulls through an async iterator.

import { WatchOverflowError } from '../types.ts';
import type { WatchEvent } from '../types.ts';

export class Subscription {
  private readonly queue: WatchEvent[] = [];
  private head = 0;
  private waiter: (() => void) | undefined;
  private failure: Error | undefined;
  private ended = false;
  /** Highest revision already queued; live events at or below it were covered by the replay. */
  private lastRevision: number;

  constructor(
    readonly prefix: string,
    fromRevision: number,
    /** Live events allowed to wait unread before the watcher is closed. */
    private readonly bufferSize: number,
  ) {
    this.lastRevision = fromRevision;
  }

  get closed(): boolean {
    return this.ended || this.failure !== undefined;
  }

  /** Queue replayed history; not counted against the live buffer (it is bounded by the history kept). */
  preload(events: WatchEvent[]): void {
    for (const ev of events) {
      if (ev.kv.modRevision <= this.lastRevision) continue;
      this.queue.push(ev);
      this.lastRevision = ev.kv.modRevision;
    }
    this.wake();
  }

  push(ev: WatchEvent): void {
    if (this.closed || ev.kv.modRevision <= this.lastRevision) return;
    // A slow reader must not make the whole process grow: drop it and let the client re-watch.
    if (this.queue.length - this.head >= this.bufferSize) {
      this.fail(new WatchOverflowError(this.bufferSize));
      return;
    }
    this.queue.push(ev);
    this.lastRevision = ev.kv.modRevision;
    this.wake();
  }

  fail(err: Error): void {
    if (this.closed) return;
    this.failure = err;
    this.queue.length = 0;
    this.head = 0;
    this.wake();
  }

  /** Stop now: events not yet read are dropped (the consumer asked to stop or the store closed). */
  end(): void {
    this.ended = true;
    this.queue.length = 0;
    this.head = 0;
    this.wake();
  }

  async next(): Promise<WatchEvent | undefined> {
    for (;;) {
      if (this.failure) throw this.failure;
      if (this.head < this.queue.length) {
        const ev = this.queue[this.head]!;
        this.head++;
        // Compact the array now and then instead of shift() on every event (O(n) each).
        if (this.head > 1024 && this.head * 2 > this.queue.length) {
          this.queue.splice(0, this.head);
          this.head = 0;
        }
        return ev;
      }
      if (this.ended) return undefined;
      await new Promise<void>((resolve) => (this.waiter = resolve));
    }
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }
}
