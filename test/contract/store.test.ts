// Runs the Store contract against every backend.

import { MemoryStore } from '../../src/storage/memory/memory-store.ts';
import { storeContract } from './store-contract.ts';

storeContract('memory', {
  open: async () => new MemoryStore({ ttlSweepMs: 100 }),
  compact: (s, rev) => s.compact(rev),
});
