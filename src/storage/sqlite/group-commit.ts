// Group commit: writes that arrive while the event loop is busy share one transaction and one fsync.
//
// Why this shape (measured by `npm run bench -- store`; figures at SqliteStoreOptions.synchronous):
// an acknowledged write must survive kill -9 and a power cut, so every commit we acknowledge must
// be fsynced. With synchronous=FULL in WAL mode SQLite fsyncs the WAL on every COMMIT, and the
// fsync dominates the cost of a small write. Running each write immediately inside an open
// transaction and committing once at the end of the current event-loop turn (setImmediate) turns
// N concurrent writes into one fsync, while a lone sequential writer pays no added delay. Promises
// resolve only after COMMIT returns, so nothing is acknowledged before it is on disk.

import fs from 'node:fs';
import { logger } from '../../util/log.ts';
import { StoreError, StoreWriteError } from '../types.ts';
import type { SqliteDb } from './open.ts';

const log = logger('storage/sqlite');

interface Pending {
  resolve: () => void;
  reject: (err: Error) => void;
}

export interface BatcherOptions {
  /** false: every write commits on its own (the baseline the benchmark compares against). */
  groupCommit: boolean;
  /** Set when synchronous=NORMAL: fsync this WAL file ourselves after each commit, before acking. */
  walFileToSync?: string;
  /** Upper bound on writes per transaction, so one batch never holds the loop for long. */
  maxBatch: number;
}

export class WriteBatcher {
  private pending: Pending[] = [];
  private afterCommit: (() => void)[] = [];
  private scheduled = false;
  private walFd: number | undefined;

  constructor(
    private readonly db: SqliteDb,
    private readonly opts: BatcherOptions,
    /** Called after a failed batch was rolled back, to resync in-memory state from the database. */
    private readonly onRollback: () => void,
  ) {}

  /**
   * Run op now inside the current batch's transaction. op must check its preconditions before it
   * writes: a thrown StoreError rejects only this write, and its statements must not have run.
   * onCommitted runs after the batch is durable (feeds the watch hub), before promises resolve.
   */
  run<T>(op: () => T, onCommitted?: (result: T) => void): Promise<T> {
    try {
      if (!this.db.inTransaction) this.db.exec('BEGIN IMMEDIATE');
    } catch (err) {
      return Promise.reject(toWriteError(err));
    }
    let result: T;
    try {
      result = op();
    } catch (err) {
      if (err instanceof StoreError) {
        // The op failed a precondition before writing; the rest of the batch is unaffected.
        if (!this.opts.groupCommit) this.commit();
        return Promise.reject(err);
      }
      // An SQLite failure (disk full, I/O): the transaction may be half-applied or already
      // rolled back by SQLite, so the whole batch fails and nothing of it is acknowledged.
      this.failBatch(err);
      return Promise.reject(toWriteError(err));
    }
    if (onCommitted) this.afterCommit.push(() => onCommitted(result));
    const promise = new Promise<T>((resolve, reject) => this.pending.push({ resolve: () => resolve(result), reject }));
    if (!this.opts.groupCommit || this.pending.length >= this.opts.maxBatch) this.commit();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.commit());
    }
    return promise;
  }

  /** Commit the open batch now (before checkpoints, on close). */
  flush(): void {
    this.commit();
  }

  get inBatch(): boolean {
    return this.db.inTransaction;
  }

  private commit(): void {
    this.scheduled = false;
    if (!this.db.inTransaction) return;
    const pending = this.pending;
    const after = this.afterCommit;
    this.pending = [];
    this.afterCommit = [];
    try {
      this.db.exec('COMMIT');
      if (this.opts.walFileToSync) this.syncWal(this.opts.walFileToSync);
    } catch (err) {
      this.rollbackQuietly();
      const werr = toWriteError(err);
      log.error('commit failed; the batch was rolled back', { writes: pending.length, error: werr.message });
      for (const p of pending) p.reject(werr);
      this.onRollback();
      return;
    }
    for (const fn of after) {
      try {
        fn();
      } catch (err) {
        log.error('after-commit hook failed', { error: err as Error });
      }
    }
    for (const p of pending) p.resolve();
  }

  private failBatch(err: unknown): void {
    this.rollbackQuietly();
    const pending = this.pending;
    this.pending = [];
    this.afterCommit = [];
    const werr = toWriteError(err);
    for (const p of pending) p.reject(werr);
    this.onRollback();
  }

  private rollbackQuietly(): void {
    try {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
    } catch (err) {
      log.error('rollback failed', { error: err as Error });
    }
  }

  private syncWal(walFile: string): void {
    this.walFd ??= fs.openSync(walFile, 'r');
    fs.fsyncSync(this.walFd);
  }

  close(): void {
    this.commit();
    if (this.walFd !== undefined) fs.closeSync(this.walFd);
    this.walFd = undefined;
  }
}

export function toWriteError(err: unknown): StoreWriteError {
  const e = err as { code?: string; message?: string };
  if (e.code === 'SQLITE_FULL') return new StoreWriteError('the disk holding the datastore is full; free space and retry (nothing was written)');
  return new StoreWriteError(`datastore write failed: ${e.code ?? ''} ${e.message ?? String(err)} (nothing was written)`);
}
