// Background compaction: decides how far history may go (the last N revisions AND the last T ms
// are both kept) and walks there in small transactions, yielding to requests between them.

import { logger } from '../../util/log.ts';

const log = logger('storage/compactor');

export interface CompactorDeps {
  historyRevisions: number;
  historyMs: number;
  /** Row ids per transaction. */
  batch: number;
  currentRevision: () => number;
  compactedThrough: () => number;
  /** Compact row ids (from, to] towards target; resolves after the commit. */
  step: (target: number, from: number, to: number) => Promise<number>;
  checkpoint: () => void;
}

export class Compactor {
  /** (revision, time) samples, to find the newest revision older than historyMs. */
  private samples: { revision: number; at: number }[] = [];
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly deps: CompactorDeps) {}

  /** Timer entry: sample the revision and compact what has left both windows. */
  tick(now = Date.now()): void {
    const current = this.deps.currentRevision();
    this.samples.push({ revision: current, at: now });
    // Keep only the newest sample older than the window plus the newer ones.
    const cutoff = now - this.deps.historyMs;
    let oldIdx = -1;
    for (let i = 0; i < this.samples.length; i++) if (this.samples[i]!.at <= cutoff) oldIdx = i;
    if (oldIdx > 0) this.samples = this.samples.slice(oldIdx);
    const byTime = oldIdx >= 0 ? this.samples[0]!.revision : 0;
    const target = Math.min(byTime, current - this.deps.historyRevisions);
    // One walk at a time from the timer: a queue of stale targets would only add work.
    if (this.running || this.stopped) return;
    if (target > this.deps.compactedThrough()) void this.compactTo(target).catch((err) => log.warn('compaction failed', { error: err as Error }));
  }

  /** Compact to target in batches; concurrent calls queue behind the running one. */
  compactTo(target: number): Promise<void> {
    const prev = this.running ?? Promise.resolve();
    const run = prev.catch(() => {}).then(() => this.walk(target));
    const settled: Promise<void> = run.catch(() => {}).finally(() => {
      if (this.running === settled) this.running = undefined;
    });
    this.running = settled;
    return run;
  }

  stop(): void {
    this.stopped = true;
  }

  private async walk(target: number): Promise<void> {
    if (this.stopped) return;
    let from = this.deps.compactedThrough();
    let deleted = 0;
    const started = Date.now();
    // Bounded: each step advances `from` by at least one id towards a fixed target.
    while (from < target && !this.stopped) {
      const to = Math.min(target, from + this.deps.batch);
      deleted += await this.deps.step(target, from, to);
      from = to;
      // Let queued requests run between transactions.
      await new Promise((r) => setImmediate(r));
    }
    if (deleted > 0) {
      log.debug('compacted', { target, deleted, ms: Date.now() - started });
      this.deps.checkpoint();
    }
  }
}
