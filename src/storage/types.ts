// The Store contract: an etcd-like key/value log that the API server (and only it) uses.
//
// Revisions are one cluster-wide, strictly increasing counter. Every write (create, update,
// delete) gets the next revision; an object's resourceVersion is the revision of its last write.
// Values are JSON text: the store never parses them, the API layer does.

export interface KeyValue {
  key: string;
  /** JSON text of the object (without metadata.resourceVersion: the API layer sets it from modRevision). */
  value: string;
  /** Revision at which this key was (last) created. */
  createRevision: number;
  /** Revision of the write that produced this value (for a DELETED event: the tombstone's revision). */
  modRevision: number;
  /** Unix seconds after which the key expires (objects created with a TTL, e.g. Events); 0 = never. */
  expiresAt?: number;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface WatchEvent {
  type: WatchEventType;
  /** For DELETED: the last value before deletion, with modRevision = the deletion's revision. */
  kv: KeyValue;
  /** The value before this write (absent for ADDED). */
  prevKv?: KeyValue;
}

export interface ListOptions {
  /** Maximum number of items; 0 or undefined = all. */
  limit?: number;
  /** Opaque token from a previous page; resumes at the same revision. */
  continue?: string;
  /** Read at this revision (a consistent snapshot); undefined = the current revision. */
  revision?: number;
}

export interface ListResult {
  items: KeyValue[];
  /** The revision the list was read at (the list's resourceVersion). */
  revision: number;
  /** Set when more items remain. */
  continue?: string;
  /** How many items remain after this page, when known. */
  remaining?: number;
}

export interface WriteOptions {
  /** Seconds until the key expires and is deleted by the store (a DELETED event is emitted). */
  ttlSeconds?: number;
}

export interface Store {
  get(key: string): Promise<KeyValue | undefined>;
  list(prefix: string, opts?: ListOptions): Promise<ListResult>;
  /** Throws KeyExistsError when the key exists. */
  create(key: string, value: string, opts?: WriteOptions): Promise<KeyValue>;
  /** Compare-and-swap on modRevision. Throws NotFoundError or ConflictError. */
  update(key: string, value: string, expectedRevision: number, opts?: WriteOptions): Promise<KeyValue>;
  /** Returns the deleted value (modRevision = tombstone revision). Throws NotFoundError or ConflictError. */
  delete(key: string, expectedRevision?: number): Promise<KeyValue>;
  /**
   * Events for keys under prefix with revision > fromRevision, in revision order, without gaps.
   * Throws CompactedError (on first iteration) when fromRevision is older than the kept history,
   * and WatchOverflowError when the consumer falls too far behind. Ends when signal aborts.
   */
  watch(prefix: string, fromRevision: number, signal: AbortSignal): AsyncIterable<WatchEvent>;
  currentRevision(): Promise<number>;
  /** Drop superseded history at or below revision. */
  compact(revision: number): Promise<void>;
  count(prefix: string): Promise<number>;
  close(): Promise<void>;
}

export class StoreError extends Error {
  override name = 'StoreError';
}

export class KeyExistsError extends StoreError {
  override name = 'KeyExistsError';
  constructor(readonly key: string) {
    super(`key ${key} already exists`);
  }
}

export class NotFoundError extends StoreError {
  override name = 'NotFoundError';
  constructor(readonly key: string) {
    super(`key ${key} not found`);
  }
}

export class ConflictError extends StoreError {
  override name = 'ConflictError';
  constructor(
    readonly key: string,
    readonly expectedRevision: number,
    /** The current value, when the key still exists. */
    readonly current?: KeyValue,
  ) {
    super(`key ${key}: expected revision ${expectedRevision}, found ${current?.modRevision ?? 'none'}`);
  }
}

export class CompactedError extends StoreError {
  override name = 'CompactedError';
  constructor(
    readonly requestedRevision: number,
    readonly compactRevision: number,
    readonly currentRevision: number,
  ) {
    super(`too old resource version: ${requestedRevision} (${currentRevision})`);
  }
}

export class WatchOverflowError extends StoreError {
  override name = 'WatchOverflowError';
  constructor(readonly bufferSize: number) {
    super(`watcher fell behind by more than ${bufferSize} events and was closed; re-watch from the last revision seen`);
  }
}

/** The data file cannot be opened safely (corrupt, locked, read-only, full disk). Never start empty instead. */
export class StoreOpenError extends StoreError {
  override name = 'StoreOpenError';
  constructor(
    readonly file: string,
    readonly reason: 'corrupt' | 'locked' | 'readonly' | 'full' | 'io' | 'foreign',
    /** What the user should do next. */
    readonly hint: string,
    readonly causeMessage?: string,
  ) {
    super(`cannot open datastore ${file}: ${reason}${causeMessage ? ` (${causeMessage})` : ''}. ${hint}`);
  }
}

/** A write failed for a reason outside the caller's control (disk full, I/O error); nothing was written. */
export class StoreWriteError extends StoreError {
  override name = 'StoreWriteError';
}
