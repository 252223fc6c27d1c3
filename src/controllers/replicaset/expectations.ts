// Controller expectations: after asking for N creates or deletes, a controller must not act again
// on its (lagging) informer cache until it has seen those N changes arrive, or it would create the
// same pods twice. Upstream's ControllerExpectations, including the 5-minute escape hatch for a
// watch event that never comes.
import type { Clock } from './podutil.ts';

interface Expectation {
  adds: number;
  /** Uids of pods we asked to delete and have not yet seen go (or get a deletionTimestamp). */
  deletes: Set<string>;
  setAt: number;
}

export class Expectations {
  private readonly byKey = new Map<string, Expectation>();

  constructor(
    private readonly clock: Clock,
    private readonly ttlMs = 5 * 60_000,
  ) {}

  /** True when nothing is outstanding (or the outstanding changes are older than the TTL). */
  satisfied(key: string): boolean {
    const e = this.byKey.get(key);
    if (!e) return true;
    if (e.adds <= 0 && e.deletes.size === 0) return true;
    return this.clock.now() - e.setAt > this.ttlMs;
  }

  expectCreations(key: string, n: number): void {
    this.byKey.set(key, { adds: n, deletes: new Set(), setAt: this.clock.now() });
  }

  expectDeletions(key: string, uids: Iterable<string>): void {
    this.byKey.set(key, { adds: 0, deletes: new Set(uids), setAt: this.clock.now() });
  }

  creationObserved(key: string): void {
    const e = this.byKey.get(key);
    if (e && e.adds > 0) e.adds--;
  }

  /** A create that failed (or was never made) will never be observed. */
  lowerCreations(key: string, n = 1): void {
    const e = this.byKey.get(key);
    if (e) e.adds = Math.max(0, e.adds - n);
  }

  deletionObserved(key: string, uid: string | undefined): void {
    if (uid) this.byKey.get(key)?.deletes.delete(uid);
  }

  forget(key: string): void {
    this.byKey.delete(key);
  }

  /** Outstanding creates + deletes, for tests and logs. */
  pending(key: string): number {
    const e = this.byKey.get(key);
    return e ? e.adds + e.deletes.size : 0;
  }
}
