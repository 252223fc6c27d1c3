// Choosing the datastore from the configuration: the embedded SQLite file, or an external etcd.

import path from 'node:path';
import { SqliteStore } from './sqlite/sqlite-store.ts';
import type { SqliteStoreOptions } from './sqlite/sqlite-store.ts';
import { StoreError } from './types.ts';
import type { Store } from './types.ts';

export interface StoreConfig {
  dataDir: string;
  /** `etcd://host:port` (several comma-separated endpoints allowed); absent = SQLite in dataDir. */
  endpoint?: string;
  sqlite?: SqliteStoreOptions;
}

export function sqliteFile(dataDir: string): string {
  return path.join(dataDir, 'db', 'state.db');
}

export async function openStore(cfg: StoreConfig): Promise<Store> {
  if (!cfg.endpoint) return SqliteStore.open(sqliteFile(cfg.dataDir), cfg.sqlite);
  if (/^etcd:\/\//i.test(cfg.endpoint)) {
    // Loaded on demand: the gRPC client is heavy and most clusters never use it.
    const { EtcdStore } = await import('./etcd/etcd-store.ts');
    return EtcdStore.connect(cfg.endpoint);
  }
  throw new StoreError(`unsupported datastore endpoint ${cfg.endpoint}: use etcd://host:port, or omit it for the embedded SQLite store`);
}

export type { Store } from './types.ts';
