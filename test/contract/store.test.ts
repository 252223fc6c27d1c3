// Runs the Store contract against every backend.

import { MemoryStore } from '../../src/storage/memory/memory-store.ts';
import { storeContract } from './store-contract.ts';

storeContract('memory', {
  open: async () => new MemoryStore({ ttlSweepMs: 100 }),
  compact: (s, rev) => s.compact(rev),
});

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after } from 'node:test';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nanokube-contract-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
let n = 0;
const sqliteOpts = { ttlSweepMs: 100, compactIntervalMs: 0, checkpointIntervalMs: 0 };
storeContract('sqlite', {
  open: async () => SqliteStore.open(path.join(tmp, `s${n++}.db`), sqliteOpts),
  reopen: async (s) => {
    const file = (s as SqliteStore).file;
    await s.close();
    return SqliteStore.open(file, sqliteOpts);
  },
  compact: (s, rev) => s.compact(rev),
});
