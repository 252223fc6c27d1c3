// Start-up and write faults: corrupt, foreign, locked, read-only files and a full disk must give a
// clear StoreOpenError / StoreWriteError, never an empty store over existing data, never half a write.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.ts';
import { StoreOpenError, StoreWriteError } from '../../src/storage/types.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nanokube-faults-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const opts = { compactIntervalMs: 0, checkpointIntervalMs: 0, ttlSweepMs: 0 };
const hash = (f: string) => createHash('sha256').update(fs.readFileSync(f)).digest('hex');
let n = 0;
const fresh = () => {
  const dir = path.join(tmp, `d${n++}`);
  fs.mkdirSync(dir);
  return path.join(dir, 'state.db');
};

function expectOpenError(file: string, reason: StoreOpenError['reason']): StoreOpenError {
  let err: unknown;
  try {
    SqliteStore.open(file, opts).close();
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof StoreOpenError, `expected StoreOpenError, got ${String(err)}`);
  assert.equal(err.reason, reason, err.message);
  assert.ok(err.message.includes(file), 'the message names the file');
  assert.ok(err.hint.length > 20, 'the message says what to do');
  return err;
}

async function seed(file: string, keys = 50): Promise<void> {
  const s = SqliteStore.open(file, opts);
  for (let i = 0; i < keys; i++) await s.create(`/k/${i}`, JSON.stringify({ i, pad: 'p'.repeat(500) }));
  await s.close();
}

let isRoot = false;
try {
  isRoot = process.getuid?.() === 0 && fs.existsSync('/bin/mount');
} catch {
  isRoot = false;
}
const mounts: string[] = [];
after(() => {
  for (const m of mounts) {
    try {
      execFileSync('umount', ['-l', m]);
    } catch {
      // already gone
    }
  }
});
function tmpfs(size: string): string {
  const dir = path.join(tmp, `mnt${n++}`);
  fs.mkdirSync(dir);
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir]);
  mounts.push(dir);
  return dir;
}
function unmount(dir: string): void {
  execFileSync('umount', [dir]);
  mounts.splice(mounts.indexOf(dir), 1);
}

describe('SQLite store faults', () => {
  it('garbage instead of a database → corrupt, file untouched', () => {
    const file = fresh();
    fs.writeFileSync(file, Buffer.alloc(16384, 0x5a));
    const before = hash(file);
    expectOpenError(file, 'corrupt');
    assert.equal(hash(file), before);
  });

  it('damaged pages inside a real database → corrupt', async () => {
    const file = fresh();
    await seed(file, 200);
    const fd = fs.openSync(file, 'r+');
    // Leave the header and schema page alone; scribble over b-tree pages.
    fs.writeSync(fd, Buffer.alloc(8192, 0xff), 0, 8192, 4096 * 3);
    fs.closeSync(fd);
    expectOpenError(file, 'corrupt');
  });

  it('a SQLite file of another program → foreign, not adopted', () => {
    const file = fresh();
    const db = new Database(file);
    db.exec('CREATE TABLE other (x)');
    db.close();
    const before = hash(file);
    expectOpenError(file, 'foreign');
    assert.equal(hash(file), before);
  });

  it('a second store on the same file → locked', async () => {
    const file = fresh();
    const first = SqliteStore.open(file, opts);
    try {
      const err = expectOpenError(file, 'locked');
      assert.match(err.message, new RegExp(`process ${process.pid}`));
    } finally {
      await first.close();
    }
    SqliteStore.open(file, opts).close();
  });

  it('another process holding a write lock → locked', async () => {
    const file = fresh();
    await seed(file, 1);
    const other = new Database(file);
    other.exec('BEGIN EXCLUSIVE');
    try {
      expectOpenError(file, 'locked');
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }
  });

  it('a read-only file system → readonly, data intact', { skip: isRoot ? false : 'needs root for mount' }, async () => {
    const dir = tmpfs('8m');
    const file = path.join(dir, 'state.db');
    await seed(file, 20);
    execFileSync('mount', ['-o', 'remount,ro', dir]);
    expectOpenError(file, 'readonly');
    execFileSync('mount', ['-o', 'remount,rw', dir]);
    const s = SqliteStore.open(file, opts);
    assert.equal(await s.count('/k/'), 20);
    await s.close();
    unmount(dir);
  });

  it('a full disk → StoreWriteError, and after more space nothing half-written', { skip: isRoot ? false : 'needs root for mount' }, async () => {
    const dir = tmpfs('1m');
    const file = path.join(dir, 'state.db');
    const s = SqliteStore.open(file, opts);
    const acked = new Map<string, number>();
    const failed: string[] = [];
    const value = JSON.stringify({ pad: 'f'.repeat(8000) });
    let writeError: unknown;
    // Bounded: 1 MiB cannot hold 400 writes of 8 KB.
    for (let i = 0; i < 400 && !writeError; i++) {
      // Batches of 4 concurrent writes share a transaction: a failure must fail all of them.
      const batch = [0, 1, 2, 3].map((j) => `/full/${i}-${j}`);
      const results = await Promise.allSettled(batch.map((k) => s.create(k, value)));
      results.forEach((r, j) => {
        if (r.status === 'fulfilled') acked.set(batch[j]!, r.value.modRevision);
        else {
          failed.push(batch[j]!);
          writeError = r.reason;
        }
      });
    }
    assert.ok(writeError instanceof StoreWriteError, `expected StoreWriteError, got ${String(writeError)}`);
    assert.match((writeError as Error).message, /full/);
    assert.ok(acked.size > 0);
    // The store stays usable for reads while the disk is full.
    assert.equal(await s.count('/full/'), acked.size);
    await s.close().catch(() => {});
    execFileSync('mount', ['-o', 'remount,size=16m', dir]);
    const again = SqliteStore.open(file, opts);
    try {
      for (const [key, rev] of acked) assert.equal((await again.get(key))?.modRevision, rev, `acknowledged ${key} lost`);
      for (const key of failed) assert.equal(await again.get(key), undefined, `failed write ${key} is visible`);
      assert.equal(await again.count('/full/'), acked.size);
      // And it accepts writes again, continuing the revision sequence.
      const kv = await again.create('/full/after', '{}');
      assert.ok(kv.modRevision > Math.max(...acked.values()));
    } finally {
      await again.close();
    }
    unmount(dir);
  });
});
