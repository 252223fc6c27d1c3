// Opening the SQLite file safely: classify every failure into a StoreOpenError that names the file
// and says what to do, and refuse to treat an existing foreign or damaged file as an empty store.

import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { sqliteNativeBinding } from '../../util/sea.ts';
import { StoreOpenError } from '../types.ts';
import { META, SCHEMA_VERSION, schemaSql } from './schema.ts';

export type SqliteDb = Database.Database;

export interface OpenedFiles {
  writer: SqliteDb;
  reader: SqliteDb;
}

export function openDatabase(file: string, opts: { synchronous: 'FULL' | 'NORMAL'; integrityCheck: boolean }): OpenedFiles {
  const existed = fs.existsSync(file) && fs.statSync(file).size > 0;
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
  } catch (err) {
    throw classify(file, err);
  }
  const nativeBinding = sqliteNativeBinding();
  const dbOpts: Database.Options = nativeBinding ? { nativeBinding } : {};
  let writer: SqliteDb | undefined;
  let reader: SqliteDb | undefined;
  try {
    writer = new Database(file, dbOpts);
    // A short busy timeout: another process holding the file should fail start-up quickly and clearly.
    writer.pragma('busy_timeout = 2000');
    if (existed) checkExisting(file, writer, opts.integrityCheck);
    writer.pragma('journal_mode = WAL');
    writer.pragma(`synchronous = ${opts.synchronous}`);
    writer.exec(schemaSql);
    // A real write proves the file, its directory (for -wal/-shm) and the disk accept writes now,
    // rather than on the first API request.
    writer
      .prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value')
      .run(META.schemaVersion, SCHEMA_VERSION);
    // Reads use their own connection: they see only committed data, never a batch still waiting
    // for its fsync (a value that could vanish in a crash must not be served).
    reader = new Database(file, { ...dbOpts, readonly: true });
    reader.pragma('busy_timeout = 2000');
    reader.prepare('SELECT count(*) FROM meta').get();
    return { writer, reader };
  } catch (err) {
    reader?.close();
    writer?.close();
    throw err instanceof StoreOpenError ? err : classify(file, err);
  }
}

function checkExisting(file: string, db: SqliteDb, integrityCheck: boolean): void {
  const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[];
  if (!tables.includes('kv') || !tables.includes('meta')) {
    throw new StoreOpenError(
      file,
      'foreign',
      'The file exists but is not a nanokube datastore; move it away or choose another --data-dir. It was not modified.',
      `tables: ${tables.join(', ') || 'none'}`,
    );
  }
  const version = db.prepare('SELECT value FROM meta WHERE key = ?').pluck().get(META.schemaVersion) as number | undefined;
  if (version !== undefined && version > SCHEMA_VERSION) {
    throw new StoreOpenError(file, 'foreign', 'It was written by a newer nanokube; upgrade nanokube to use it.', `schema ${version}`);
  }
  if (integrityCheck) {
    const result = db.pragma('quick_check(1)', { simple: true });
    if (result !== 'ok') throw new StoreOpenError(file, 'corrupt', corruptHint(file), String(result));
  }
}

function corruptHint(file: string): string {
  return `The database is damaged. Stop nanokube, keep a copy of ${file}*, then try \`sqlite3 ${file} .recover | sqlite3 recovered.db\`, or delete the cluster (\`nanokube delete\`) to start fresh.`;
}

/** Map a better-sqlite3 / fs error to what the user must do. */
export function classify(file: string, err: unknown): StoreOpenError {
  const e = err as { code?: string; message?: string };
  const code = e.code ?? '';
  const msg = e.message ?? String(err);
  if (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB') return new StoreOpenError(file, 'corrupt', corruptHint(file), msg);
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return new StoreOpenError(file, 'locked', 'Another process holds the database; stop the other nanokube server using this data dir (`nanokube stop`) and retry.', msg);
  }
  if (code.startsWith('SQLITE_READONLY') || code === 'EROFS' || code === 'EACCES' || code === 'EPERM') {
    return new StoreOpenError(file, 'readonly', `Make ${file} and its directory writable (nanokube also writes ${path.basename(file)}-wal and -shm next to it), or choose another --data-dir.`, msg);
  }
  if (code === 'SQLITE_FULL' || code === 'ENOSPC') return new StoreOpenError(file, 'full', `The disk holding ${path.dirname(file)} is full; free space and retry.`, msg);
  if (code.startsWith('SQLITE_CANTOPEN')) {
    return new StoreOpenError(file, 'readonly', `SQLite cannot create or open the file or its -wal/-shm companions; check that ${path.dirname(file)} exists and is writable.`, msg);
  }
  return new StoreOpenError(file, 'io', 'Check the disk and the file permissions, then retry.', msg);
}
