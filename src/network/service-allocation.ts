// Puts the ClusterIP/NodePort allocator into one API server: the registry's Service def is replaced
// by a copy whose hooks allocate (so each server, and each test API in one process, has its own
// allocator over its own store), and the store's Services keep the allocator's state current.
import type { KubeObject } from '../api/meta.ts';
import type { Registry, ResourceDef } from '../registry/types.ts';
import type { Store } from '../storage/types.ts';
import { CompactedError } from '../storage/types.ts';
import { listPrefix } from '../apiserver/rest/keys.ts';
import { fromStored } from '../apiserver/rest/objects.ts';
import { logger } from '../util/log.ts';
import { ServiceAllocator, type AllocatorOptions } from './allocator.ts';

const log = logger('network/allocation');

export interface ServiceAllocation {
  allocator: ServiceAllocator;
  stop(): Promise<void>;
}

/** The Service def with allocation added to its create/update hooks. */
export function withAllocation(def: ResourceDef, allocator: ServiceAllocator): ResourceDef {
  // prepareForCreate and validate see the same object; this tells validate which path it is on
  // (validate also runs for updates, before validateUpdate has restored the immutable ClusterIP).
  const creating = new WeakSet<KubeObject>();
  return {
    ...def,
    prepareForCreate(obj, ctx) {
      def.prepareForCreate?.(obj, ctx);
      creating.add(obj);
    },
    validate(obj) {
      const errs = def.validate?.(obj) ?? [];
      if (errs.length > 0 || !creating.has(obj)) return errs;
      return allocator.admitCreate(obj);
    },
    validateUpdate(obj, old) {
      const errs = def.validateUpdate?.(obj, old) ?? [];
      if (errs.length > 0) return errs;
      return allocator.admitUpdate(obj, old);
    },
  };
}

/**
 * Install allocation for `registry`'s Services over `store`: rebuilds from the stored Services
 * before returning (so nothing is handed out twice after a restart), then follows the store.
 */
export async function installServiceAllocation(registry: Registry, store: Store, opts: AllocatorOptions = {}): Promise<ServiceAllocation> {
  const def = registry.byResource('', 'v1', 'services');
  if (!def) throw new Error('the registry serves no core/v1 services');
  const allocator = new ServiceAllocator(opts);
  const prefix = listPrefix(def, undefined);
  const abort = new AbortController();

  const relist = async (): Promise<number> => {
    const items: KubeObject[] = [];
    let cont: string | undefined;
    let revision = 0;
    for (let page = 0; page < 10_000; page++) {
      const r = await store.list(prefix, { limit: 1000, ...(cont ? { continue: cont } : {}) });
      if (!revision) revision = r.revision;
      for (const kv of r.items) items.push(fromStored(def, kv));
      cont = r.continue;
      if (!cont) break;
    }
    allocator.rebuild(items);
    for (const c of allocator.conflicts.splice(0)) log.warn('stored Services conflict', { detail: c });
    return revision;
  };

  let revision = await relist();
  registry.add(withAllocation(def, allocator));

  const follow = async () => {
    let backoff = 50;
    while (!abort.signal.aborted) {
      try {
        for await (const ev of store.watch(prefix, revision, abort.signal)) {
          revision = ev.kv.modRevision;
          const obj = fromStored(def, ev.kv);
          if (ev.type === 'DELETED') allocator.forget(obj);
          else allocator.observe(obj);
        }
        backoff = 50;
      } catch (e) {
        if (abort.signal.aborted) break;
        if (!(e instanceof CompactedError)) log.warn('service watch failed; re-listing', { error: e });
        await new Promise((r) => setTimeout(r, backoff));
        backoff = Math.min(backoff * 2, 5000);
        try {
          revision = await relist();
        } catch (err) {
          log.warn('service re-list failed', { error: err });
        }
      }
    }
  };
  const following = follow();
  return {
    allocator,
    async stop() {
      abort.abort();
      await following;
      registry.add(def);
    },
  };
}
