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

// etcd: a real server. In CI a missing binary is a failure (the suite must not quietly shrink);
// locally it is skipped with a loud message.
import { before } from 'node:test';
import { EtcdStore } from '../../src/storage/etcd/etcd-store.ts';
import { findEtcd, startEtcd } from './etcd-server.ts';
import type { EtcdServer } from './etcd-server.ts';

const etcdBin = findEtcd();
if (!etcdBin) {
  if (process.env.CI === 'true') throw new Error('etcd binary not found (install Debian etcd-server or set ETCD_BIN): the etcd contract suite must run in CI');
  console.warn('\n*** SKIPPING the etcd contract suite: no etcd binary (install etcd-server or set ETCD_BIN) ***\n');
}
let etcd: EtcdServer | undefined;
if (etcdBin) {
  before(async () => {
    etcd = await startEtcd(etcdBin);
  });
  after(async () => etcd?.stop());
}
storeContract(
  'etcd',
  {
    open: async () => EtcdStore.connect(etcd!.endpoint),
    reopen: async (s) => {
      await s.close();
      return EtcdStore.connect(etcd!.endpoint);
    },
    compact: (s, rev) => s.compact(rev),
  },
  { skip: etcdBin ? false : 'no etcd binary' },
);
