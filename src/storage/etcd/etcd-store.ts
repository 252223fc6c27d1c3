// Placeholder until the etcd backend lands (same contract as the SQLite store).
import { StoreError } from '../types.ts';
import type { Store } from '../types.ts';

export class EtcdStore {
  static async connect(endpoint: string): Promise<Store> {
    throw new StoreError(`etcd datastore (${endpoint}) is not implemented yet`);
  }
}
