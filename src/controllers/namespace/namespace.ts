// Namespace controller: when a namespace is being deleted, delete everything in it (every
// namespaced kind in the catalog, CRs included), report progress in status.conditions the way
// upstream does (NamespaceDeletionContentFailure, NamespaceContentRemaining, ...), and once the
// namespace is empty remove the `kubernetes` finalizer through /finalize so the API server can
// drop it. Also the pure admission check the API server applies to namespace DELETE.
import { isNotFound, type Client, type KubeObject, type ResourceRef } from '../../client/types.ts';
import type { SharedInformers } from '../../client/shared-informers.ts';
import type { Informer } from '../../client/informer.ts';
import { ControllerRunner, type Reconciler, type Request, type Result } from '../../controller/runner.ts';
import { rfc3339 } from '../../api/meta.ts';
import { canListWatchDelete, type ResourceCatalog, type ResourceInfo } from '../garbagecollector/resources.ts';
import { forEachLimit } from '../garbagecollector/concurrency.ts';

export const namespacesRef: ResourceRef = { group: '', version: 'v1', resource: 'namespaces', namespaced: false };
export const KUBERNETES_FINALIZER = 'kubernetes';

/** Namespaces the API refuses to delete (upstream's "immortal" namespaces, plus kube-node-lease here). */
export { IMMORTAL_NAMESPACES, checkNamespaceDelete } from '../../api/system-namespaces.ts';

/**
 * Namespace-lifecycle admission for creating a namespaced object (the API already implements the
 * Terminating part; kept here as the one statement of the rule): the Forbidden message or undefined.
 */
export function checkCreateInNamespace(resource: string, name: string, namespace: KubeObject | undefined, namespaceName: string): string | undefined {
  if (!namespace) return `namespaces "${namespaceName}" not found`;
  const phase = (namespace.status as { phase?: string } | undefined)?.phase;
  if (namespace.metadata.deletionTimestamp || phase === 'Terminating') {
    return `${resource} "${name}" is forbidden: unable to create new content in namespace ${namespaceName} because it is being terminated`;
  }
  return undefined;
}

interface Condition {
  type: string;
  status: 'True' | 'False';
  lastTransitionTime: string;
  reason: string;
  message: string;
}

export interface NamespaceControllerOptions {
  client: Client;
  informers: SharedInformers;
  catalog: ResourceCatalog;
  workers?: number;
  /** Deletes in flight per namespace. */
  deleteConcurrency?: number;
  /** How soon to look again while content with grace periods or finalizers remains. */
  remainingRecheckMs?: number;
  now?: () => number;
}

interface ContentReport {
  remaining: Map<string, number>;
  finalizers: Map<string, number>;
  failures: string[];
}

export class NamespaceController implements Reconciler {
  readonly name = 'namespace';
  readonly runner: ControllerRunner;
  private readonly namespaces: Informer;

  constructor(private readonly opts: NamespaceControllerOptions) {
    this.runner = new ControllerRunner(this, opts.workers ?? 2);
    this.namespaces = opts.informers.informerFor(namespacesRef);
    const onChange = (o: KubeObject) => {
      if (o.metadata.deletionTimestamp) this.runner.enqueue({ name: o.metadata.name! });
    };
    this.namespaces.addHandlers({ onAdd: onChange, onUpdate: (_o, n) => onChange(n) });
  }

  async run(signal: AbortSignal): Promise<void> {
    await this.namespaces.waitForSync(signal);
    await this.runner.run(signal);
  }

  async reconcile(req: Request): Promise<Result | void> {
    let ns: KubeObject;
    try {
      ns = await this.opts.client.get(namespacesRef, req.name);
    } catch (e) {
      if (isNotFound(e)) return;
      throw e;
    }
    if (!ns.metadata.deletionTimestamp) return;
    const specFinalizers = ((ns.spec as { finalizers?: string[] } | undefined)?.finalizers ?? []) as string[];
    if (!specFinalizers.includes(KUBERNETES_FINALIZER)) return;

    const report = await this.deleteContent(req.name);
    ns = await this.updateConditions(ns, report);
    if (report.failures.length === 0 && report.remaining.size === 0) {
      await this.finalize(ns, specFinalizers.filter((f) => f !== KUBERNETES_FINALIZER));
      return;
    }
    return { requeueAfterMs: this.opts.remainingRecheckMs ?? 1000 };
  }

  private namespacedResources(): ResourceInfo[] {
    return this.opts.catalog.all().filter((i) => i.namespaced && canListWatchDelete(i));
  }

  /** One pass: delete what is not yet being deleted, then count what is left (and why). */
  private async deleteContent(namespace: string): Promise<ContentReport> {
    const report: ContentReport = { remaining: new Map(), finalizers: new Map(), failures: [] };
    const limit = this.opts.deleteConcurrency ?? 32;
    await forEachLimit(this.namespacedResources(), 8, async (info) => {
      let items: KubeObject[];
      try {
        items = (await this.opts.client.list(info, { namespace })).items;
      } catch (e) {
        report.failures.push(`${info.resource}.${info.group}: ${(e as Error).message}`);
        return;
      }
      const stillThere: KubeObject[] = [];
      await forEachLimit(items, limit, async (item) => {
        if (item.metadata.deletionTimestamp) {
          stillThere.push(item);
          return;
        }
        try {
          const res = await this.opts.client.delete(info, item.metadata.name!, {
            namespace,
            propagationPolicy: 'Background',
            preconditions: { uid: item.metadata.uid! },
          });
          // Kinds that keep the object (grace period, finalizers) answer with it, marked for deletion.
          if (res && res.metadata?.deletionTimestamp && res.metadata.uid === item.metadata.uid) stillThere.push(res);
        } catch (e) {
          if (isNotFound(e)) return;
          report.failures.push(`${info.resource}.${info.group} "${item.metadata.name}": ${(e as Error).message}`);
        }
      });
      if (stillThere.length > 0) {
        const label = `${info.resource}${info.group ? `.${info.group}` : '.'}`;
        report.remaining.set(label, stillThere.length);
        for (const o of stillThere) for (const f of o.metadata.finalizers ?? []) report.finalizers.set(f, (report.finalizers.get(f) ?? 0) + 1);
      }
    });
    return report;
  }

  private async updateConditions(ns: KubeObject, report: ContentReport): Promise<KubeObject> {
    const now = rfc3339(this.opts.now?.() ?? Date.now());
    const sorted = (m: Map<string, number>) => [...m].sort(([a], [b]) => (a < b ? -1 : 1));
    const desired: Array<Omit<Condition, 'lastTransitionTime'>> = [
      { type: 'NamespaceDeletionDiscoveryFailure', status: 'False', reason: 'ResourcesDiscovered', message: 'All resources successfully discovered' },
      { type: 'NamespaceDeletionGroupVersionParsingFailure', status: 'False', reason: 'ParsedGroupVersions', message: 'All legacy kube types successfully parsed' },
      report.failures.length
        ? { type: 'NamespaceDeletionContentFailure', status: 'True', reason: 'ContentDeletionFailed', message: `Failed to delete all resource types, ${report.failures.length} remaining: ${report.failures.slice(0, 5).join(', ')}` }
        : { type: 'NamespaceDeletionContentFailure', status: 'False', reason: 'ContentDeleted', message: 'All content successfully deleted, may be waiting on finalization' },
      report.remaining.size
        ? { type: 'NamespaceContentRemaining', status: 'True', reason: 'SomeResourcesRemain', message: `Some resources are remaining: ${sorted(report.remaining).map(([r, n]) => `${r} has ${n} resource instances`).join(', ')}` }
        : { type: 'NamespaceContentRemaining', status: 'False', reason: 'ContentRemoved', message: 'All content successfully removed' },
      report.finalizers.size
        ? { type: 'NamespaceFinalizersRemaining', status: 'True', reason: 'SomeFinalizersRemain', message: `Some content in the namespace has finalizers remaining: ${sorted(report.finalizers).map(([f, n]) => `${f} in ${n} resource instances`).join(', ')}` }
        : { type: 'NamespaceFinalizersRemaining', status: 'False', reason: 'ContentHasNoFinalizers', message: 'All content-preserving finalizers finished' },
    ];
    const status = (ns.status ?? {}) as { phase?: string; conditions?: Condition[] };
    const current = status.conditions ?? [];
    const next: Condition[] = desired.map((d) => {
      const old = current.find((c) => c.type === d.type);
      if (old && old.status === d.status && old.reason === d.reason && old.message === d.message) return old;
      return { ...d, lastTransitionTime: old && old.status === d.status ? old.lastTransitionTime : now };
    });
    if (JSON.stringify(next) === JSON.stringify(current)) return ns;
    const updated = structuredClone(ns);
    updated.status = { ...status, phase: 'Terminating', conditions: next };
    try {
      return await this.opts.client.update(namespacesRef, updated, { subresource: 'status' });
    } catch (e) {
      if (isNotFound(e)) return ns;
      throw e;
    }
  }

  private async finalize(ns: KubeObject, finalizers: string[]): Promise<void> {
    const body = structuredClone(ns);
    body.spec = { ...((body.spec as object | undefined) ?? {}), finalizers };
    try {
      await this.opts.client.update(namespacesRef, body, { subresource: 'finalize' });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
}
