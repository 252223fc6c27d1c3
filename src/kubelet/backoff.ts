// Per-key exponential back-off for container restarts and image pulls: upstream's numbers (10 s
// initial, doubling to 5 min), and forgotten once a key has been quiet for twice the maximum (so a
// container that ran fine for 10 minutes restarts at once after its next crash).
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

interface Entry {
  backoffMs: number;
  /** When the last back-off period started (the event it was computed from). */
  lastUpdate: number;
}

export class Backoff {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly clock: Clock = systemClock,
    readonly initialMs = 10_000,
    readonly maxMs = 300_000,
  ) {}

  private expired(e: Entry, now: number): boolean {
    return now - e.lastUpdate > 2 * this.maxMs;
  }

  /** Remaining wait (ms) if `key` is still backing off from an event at `since`; 0 when free to go. */
  remaining(key: string, since: number): number {
    const e = this.entries.get(key);
    const now = this.clock.now();
    if (!e || this.expired(e, now)) return 0;
    return Math.max(0, since + e.backoffMs - now);
  }

  /** Current back-off period of `key` (0 when unknown). */
  current(key: string): number {
    return this.entries.get(key)?.backoffMs ?? 0;
  }

  /** Records an attempt made after an event at `since`: starts or doubles the period. */
  next(key: string, since: number): void {
    const e = this.entries.get(key);
    const now = this.clock.now();
    if (!e || this.expired(e, now)) this.entries.set(key, { backoffMs: this.initialMs, lastUpdate: since });
    else this.entries.set(key, { backoffMs: Math.min(e.backoffMs * 2, this.maxMs), lastUpdate: since });
  }

  reset(key: string): void {
    this.entries.delete(key);
  }

  /** Forgets every key starting with `prefix` (a removed pod's). */
  forgetPrefix(prefix: string): void {
    for (const k of [...this.entries.keys()]) if (k.startsWith(prefix)) this.entries.delete(k);
  }
}
