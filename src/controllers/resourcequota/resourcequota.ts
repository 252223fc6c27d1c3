// ResourceQuota controller: recomputes status.hard (= spec.hard) and status.used for each quota
// from the objects in its namespace. Changes to pods, services, configmaps, secrets and PVCs
// requeue the namespace's quotas at once (freed quota shows up quickly); everything else
// (count/<resource> of any kind) is caught by a periodic resync.
import { isNotFound, type Client, type KubeObject, type ResourceRef } from '../../client/types.ts';
import type { SharedInformers } from '../../client/shared-informers.ts';
import type { Informer } from '../../client/informer.ts';
import { ControllerRunner, type Reconciler, type Request, type Result } from '../../controller/runner.ts';
import type { ResourceCatalog } from '../garbagecollector/resources.ts';
import { formatMilli, styleOf, type ResourceList } from './quantity.ts';
import { matchesScopes, resourcesCountedBy, usageFor, type GroupResource } from './usage.ts';

export const resourceQuotasRef: ResourceRef = { group: '', version: 'v1', resource: 'resourcequotas', namespaced: true };
const WATCHED = ['pods', 'services', 'configmaps', 'secrets', 'persistentvolumeclaims'];

/** status.used for `quota` given the namespace's objects of each counted resource. */
export function computeQuotaUsed(quota: KubeObject, objects: ReadonlyMap<string, readonly KubeObject[]>): ResourceList {
  const hard = ((quota.spec ?? {}) as { hard?: ResourceList }).hard ?? {};
  const used: ResourceList = {};
  for (const name of Object.keys(hard).sort()) {
    let total = 0;
    for (const gr of resourcesCountedBy(name)) {
      for (const obj of objects.get(`${gr.group}/${gr.resource}`) ?? []) {
        if (!matchesScopes(quota, gr, obj)) continue;
        total += usageFor(name, gr, obj) ?? 0;
      }
    }
    used[name] = formatMilli(total, styleOf(hard[name]));
  }
  return used;
}

export interface ResourceQuotaControllerOptions {
  client: Client;
  informers: SharedInformers;
  catalog: ResourceCatalog;
  /** Full recount period (upstream: 5 min; shorter here since count/* has no watch). */
  resyncMs?: number;
}

export class ResourceQuotaController implements Reconciler {
  readonly name = 'resourcequota';
  readonly runner = new ControllerRunner(this, 2);
  private readonly quotas: Informer;

  constructor(private readonly opts: ResourceQuotaControllerOptions) {
    this.quotas = opts.informers.informerFor(resourceQuotasRef);
    const enqueue = (q: KubeObject) => this.runner.enqueue({ namespace: q.metadata.namespace!, name: q.metadata.name! });
    this.quotas.addHandlers({ onAdd: enqueue, onUpdate: (o, n) => JSON.stringify(o.spec) !== JSON.stringify(n.spec) && enqueue(n) });
    const onObject = (o: KubeObject) => {
      for (const q of this.quotas.list((q) => q.metadata.namespace === o.metadata.namespace)) enqueue(q);
    };
    for (const resource of WATCHED) {
      opts.informers.informerFor({ group: '', version: 'v1', resource, namespaced: true }).addHandlers({ onAdd: onObject, onUpdate: (_o, n) => onObject(n), onDelete: onObject });
    }
  }

  async run(signal: AbortSignal): Promise<void> {
    await this.quotas.waitForSync(signal);
    await this.runner.run(signal);
  }

  async reconcile(req: Request): Promise<Result | void> {
    const resync = { requeueAfterMs: this.opts.resyncMs ?? 30_000 };
    const quota = this.quotas.get(req.name, req.namespace);
    if (!quota || quota.metadata.deletionTimestamp) return;
    const hard = ((quota.spec ?? {}) as { hard?: ResourceList }).hard ?? {};
    const needed = new Map<string, GroupResource>();
    for (const name of Object.keys(hard)) for (const gr of resourcesCountedBy(name)) needed.set(`${gr.group}/${gr.resource}`, gr);
    const objects = new Map<string, KubeObject[]>();
    for (const [key, gr] of needed) {
      const info = this.opts.catalog.byResource(gr.group, gr.resource);
      if (!info) continue; // count/<resource> of a kind not served (yet): counts 0
      objects.set(key, (await this.opts.client.list(info, { namespace: req.namespace })).items);
    }
    const status = { hard, used: computeQuotaUsed(quota, objects) };
    if (JSON.stringify(quota.status ?? {}) === JSON.stringify(status)) return resync;
    const updated = structuredClone(quota);
    updated.status = status;
    try {
      await this.opts.client.update(resourceQuotasRef, updated, { subresource: 'status' });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    return resync;
  }
}
