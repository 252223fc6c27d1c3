// The scheduling queue, upstream's three parts: activeQ (highest priority first, then oldest),
// backoffQ (pods that failed, waiting 1 s·2^(attempts−1) up to 10 s), and unschedulablePods (wait
// for a cluster event that might help, or 5 minutes). A cluster event that arrives while a pod is
// being scheduled sends that pod to backoff rather than to the unschedulable set, so it is not lost.

import type { PodInfo } from './types.ts';

export interface QueuedPod {
  info: PodInfo;
  /** Scheduling attempts so far (incremented by pop). */
  attempts: number;
  /** When it entered activeQ (ordering among equal priorities). */
  timestamp: number;
  /** When the last attempt failed (backoff is counted from here). */
  failedAt: number;
  /** The scheduling cycle of the last pop. */
  cycle: number;
}

export interface QueueOptions {
  now?: () => number;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** Longest stay in unschedulablePods without an event (upstream: 5 min). */
  maxUnschedulableMs?: number;
}

/** Binary heap over QueuedPod keys with lazy deletion. */
class Heap {
  private items: QueuedPod[] = [];
  constructor(private readonly less: (a: QueuedPod, b: QueuedPod) => boolean) {}
  get size(): number {
    return this.items.length;
  }
  push(x: QueuedPod): void {
    const a = this.items;
    a.push(x);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(a[i]!, a[p]!)) break;
      [a[i], a[p]] = [a[p]!, a[i]!];
      i = p;
    }
  }
  pop(): QueuedPod | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && this.less(a[l]!, a[m]!)) m = l;
        if (r < a.length && this.less(a[r]!, a[m]!)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }
  peek(): QueuedPod | undefined {
    return this.items[0];
  }
}

type Where = 'active' | 'backoff' | 'unschedulable' | 'inflight';

export class SchedulingQueue {
  private readonly now: () => number;
  private readonly initialBackoff: number;
  private readonly maxBackoff: number;
  private readonly maxUnschedulable: number;
  private readonly active = new Heap((a, b) => a.info.priority > b.info.priority || (a.info.priority === b.info.priority && a.timestamp < b.timestamp));
  private readonly backoff = new Heap((a, b) => this.backoffExpiry(a) < this.backoffExpiry(b));
  /** Where each known pod is; heap entries whose key maps elsewhere (or to another object) are stale. */
  private readonly where = new Map<string, { where: Where; qp: QueuedPod }>();
  private waiters: Array<(qp: QueuedPod | undefined) => void> = [];
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private closed = false;
  schedulingCycle = 0;
  private moveRequestCycle = -1;

  constructor(opts: QueueOptions = {}) {
    this.now = opts.now ?? Date.now;
    this.initialBackoff = opts.initialBackoffMs ?? 1000;
    this.maxBackoff = opts.maxBackoffMs ?? 10_000;
    this.maxUnschedulable = opts.maxUnschedulableMs ?? 300_000;
  }

  backoffDuration(qp: QueuedPod): number {
    if (qp.attempts === 0) return 0;
    return Math.min(this.initialBackoff * 2 ** (qp.attempts - 1), this.maxBackoff);
  }

  private backoffExpiry(qp: QueuedPod): number {
    return qp.failedAt + this.backoffDuration(qp);
  }

  get size(): { active: number; backoff: number; unschedulable: number } {
    const c = { active: 0, backoff: 0, unschedulable: 0 };
    for (const e of this.where.values()) if (e.where !== 'inflight') c[e.where]++;
    return c;
  }

  has(key: string): boolean {
    return this.where.has(key);
  }

  /** A new pending pod. */
  add(info: PodInfo): void {
    if (this.closed) return;
    const cur = this.where.get(info.key);
    if (cur) {
      cur.qp.info = info;
      return;
    }
    this.toActive({ info, attempts: 0, timestamp: this.now(), failedAt: 0, cycle: -1 });
  }

  /** The pod object changed: keep the newest copy; an update may make it schedulable. */
  update(info: PodInfo): void {
    const cur = this.where.get(info.key);
    if (!cur) return this.add(info);
    cur.qp.info = info;
    if (cur.where === 'unschedulable') this.requeue(cur.qp);
  }

  /** Keep the newest copy of the pod without moving it (a status-only change). */
  refresh(info: PodInfo): void {
    const cur = this.where.get(info.key);
    if (cur) cur.qp.info = info;
  }

  delete(key: string): void {
    this.where.delete(key);
  }

  /** Next pod to schedule, highest priority first; undefined once closed. */
  pop(): Promise<QueuedPod | undefined> {
    this.flushBackoff();
    const qp = this.takeActive();
    if (qp) return Promise.resolve(qp);
    if (this.closed) return Promise.resolve(undefined);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private takeActive(): QueuedPod | undefined {
    for (;;) {
      const qp = this.active.pop();
      if (!qp) return undefined;
      const cur = this.where.get(qp.info.key);
      if (!cur || cur.qp !== qp || cur.where !== 'active') continue;
      return this.startAttempt(qp);
    }
  }

  private startAttempt(qp: QueuedPod): QueuedPod {
    qp.attempts++;
    qp.cycle = ++this.schedulingCycle;
    this.where.set(qp.info.key, { where: 'inflight', qp });
    return qp;
  }

  /** The attempt succeeded (the pod is assumed on a node); the queue forgets it. */
  done(key: string): void {
    const cur = this.where.get(key);
    if (cur?.where === 'inflight') this.where.delete(key);
  }

  /** No node fits: wait for a cluster event, unless one already came during the attempt. */
  addUnschedulable(qp: QueuedPod): void {
    if (!this.isCurrent(qp)) return;
    qp.failedAt = this.now();
    if (this.moveRequestCycle >= qp.cycle) this.toBackoffOrActive(qp);
    else {
      this.where.set(qp.info.key, { where: 'unschedulable', qp });
      this.arm(qp.failedAt + this.maxUnschedulable);
    }
  }

  /** An error (binding failed, API trouble): retry after backoff. */
  addBackoff(qp: QueuedPod): void {
    if (!this.isCurrent(qp)) return;
    qp.failedAt = this.now();
    this.toBackoffOrActive(qp);
  }

  private isCurrent(qp: QueuedPod): boolean {
    const cur = this.where.get(qp.info.key);
    return !this.closed && cur !== undefined && cur.qp === qp;
  }

  /** A cluster event that may make unschedulable pods fit (node added/changed, pod deleted, ...). */
  moveAllToActiveOrBackoff(): void {
    this.moveRequestCycle = this.schedulingCycle;
    for (const e of [...this.where.values()]) if (e.where === 'unschedulable') this.requeue(e.qp);
  }

  private requeue(qp: QueuedPod): void {
    this.toBackoffOrActive(qp);
  }

  private toBackoffOrActive(qp: QueuedPod): void {
    const expiry = this.backoffExpiry(qp);
    if (expiry <= this.now()) this.toActive(qp);
    else {
      this.where.set(qp.info.key, { where: 'backoff', qp });
      this.backoff.push(qp);
      this.arm(expiry);
    }
  }

  private toActive(qp: QueuedPod): void {
    qp.timestamp = this.now();
    this.where.set(qp.info.key, { where: 'active', qp });
    const waiter = this.waiters.shift();
    if (waiter) waiter(this.startAttempt(qp));
    else this.active.push(qp);
  }

  /** Move pods whose backoff ended, and pods unschedulable for too long. */
  flush(): void {
    this.flushBackoff();
    const now = this.now();
    for (const e of [...this.where.values()]) {
      if (e.where === 'unschedulable' && now - e.qp.failedAt >= this.maxUnschedulable) this.toBackoffOrActive(e.qp);
    }
    this.rearm();
  }

  private flushBackoff(): void {
    const now = this.now();
    for (;;) {
      const qp = this.backoff.peek();
      if (!qp) break;
      const cur = this.where.get(qp.info.key);
      if (!cur || cur.qp !== qp || cur.where !== 'backoff') {
        this.backoff.pop();
        continue;
      }
      if (this.backoffExpiry(qp) > now) break;
      this.backoff.pop();
      this.toActive(qp);
    }
  }

  private arm(at: number): void {
    if (this.closed || at >= this.timerAt) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAt = Infinity;
      this.flush();
    }, Math.max(0, at - this.now()) + 1);
    this.timer.unref?.();
  }

  private rearm(): void {
    let next = Infinity;
    for (const e of this.where.values()) {
      if (e.where === 'backoff') next = Math.min(next, this.backoffExpiry(e.qp));
      else if (e.where === 'unschedulable') next = Math.min(next, e.qp.failedAt + this.maxUnschedulable);
    }
    if (next !== Infinity) this.arm(next);
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    for (const w of this.waiters) w(undefined);
    this.waiters = [];
  }
}
