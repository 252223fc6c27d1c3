// Keeps the registry in step with the stored CustomResourceDefinitions, the job upstream's
// apiextensions-apiserver controllers share: register served versions, accept names (or report
// the conflict), mark the CRD Established, and on deletion remove every custom resource before
// letting the CRD go. Runs inside the API server: writes to CRDs call reconcile(name) before the
// reply is sent, so `kubectl apply -f crd.yaml && kubectl get <plural>` works without waiting.
import { isObject, jsonEqual, rfc3339, type KubeObject } from '../../api/meta.ts';
import { ConflictError, NotFoundError, type Store } from '../../storage/types.ts';
import { logger } from '../../util/log.ts';
import type { Registry, ResourceDef } from '../types.ts';
import { CRD_FINALIZER, crdSpec, crdToDefs, type CrdSpec } from './defs.ts';
import { crdOpenApiDoc } from './openapi.ts';

const log = logger('apiserver/crds');

export const CRD_PREFIX = '/registry/apiextensions.k8s.io/customresourcedefinitions/';

interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  lastTransitionTime: string;
  reason: string;
  message: string;
}

export class CrdRegistrar {
  /** Defs registered per CRD name, to unregister exactly those. */
  private readonly registered = new Map<string, ResourceDef[]>();
  private readonly docs = new Map<string, object>();
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: Store,
    private readonly registry: Registry,
    private readonly now: () => number = Date.now,
  ) {}

  /** Registers every stored CRD (server start) and finishes deletions a restart interrupted. */
  async restore(): Promise<void> {
    const list = await this.store.list(CRD_PREFIX);
    for (const kv of list.items) await this.reconcile(kv.key.slice(CRD_PREFIX.length));
  }

  /** Serialized per process: reconciles never interleave. */
  reconcile(name: string): Promise<void> {
    const run = this.queue.then(() => this.reconcileNow(name));
    this.queue = run.catch((e: unknown) => log.error('reconcile failed', { crd: name, err: e as Error }));
    return run;
  }

  /** OpenAPI v3 documents for custom resource group-versions (`apis/<g>/<v>`). */
  openApiDocs(): Map<string, object> {
    return this.docs;
  }

  private async reconcileNow(name: string): Promise<void> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const kv = await this.store.get(CRD_PREFIX + name);
      if (!kv) {
        this.unregister(name);
        return;
      }
      const crd = JSON.parse(kv.value) as KubeObject;
      try {
        if (crd.metadata?.deletionTimestamp) await this.finalize(name, crd, kv.modRevision);
        else await this.establish(name, crd, kv.modRevision);
        return;
      } catch (e) {
        if (e instanceof ConflictError || e instanceof NotFoundError) continue;
        throw e;
      }
    }
  }

  private conflictingNames(name: string, spec: CrdSpec): string | undefined {
    for (const [other, defs] of this.registered) {
      if (other === name) continue;
      for (const d of defs) {
        if (d.group !== spec.group) continue;
        if (d.plural === spec.names.plural) return `"${spec.names.plural}" is already in use`;
        if (d.kind === spec.names.kind) return `"${spec.names.kind}" is already in use`;
        for (const s of spec.names.shortNames ?? []) if (d.shortNames?.includes(s)) return `"${s}" is already in use`;
      }
    }
    // Built-in kinds of the same group (someone defining apps/deployments) cannot be replaced.
    if (!this.registered.has(name)) {
      for (const v of spec.versions) {
        const d = this.registry.byResource(spec.group, v.name, spec.names.plural);
        if (d && !d.custom) return `"${spec.names.plural}" is already in use`;
      }
    }
    return undefined;
  }

  private async establish(name: string, crd: KubeObject, revision: number): Promise<void> {
    const spec = crdSpec(crd);
    const conflict = this.conflictingNames(name, spec);
    const status = isObject(crd.status) ? structuredClone(crd.status) : {};
    const conditions = (Array.isArray(status.conditions) ? status.conditions : []) as Condition[];
    const ts = rfc3339(this.now());
    const setCondition = (c: Omit<Condition, 'lastTransitionTime'>) => {
      const i = conditions.findIndex((x) => x.type === c.type);
      const prev = conditions[i];
      const next = { ...c, lastTransitionTime: prev && prev.status === c.status ? prev.lastTransitionTime : ts };
      if (i >= 0) conditions[i] = next;
      else conditions.push(next);
    };
    if (conflict) {
      setCondition({ type: 'NamesAccepted', status: 'False', reason: 'NameConflict', message: conflict });
      setCondition({ type: 'Established', status: 'False', reason: 'NotAccepted', message: 'not all names are accepted' });
    } else {
      this.register(name, crd);
      setCondition({ type: 'NamesAccepted', status: 'True', reason: 'NoConflicts', message: 'no conflicts found' });
      setCondition({ type: 'Established', status: 'True', reason: 'InitialNamesAccepted', message: 'the initial names have been accepted' });
      const accepted: Record<string, unknown> = { plural: spec.names.plural, singular: spec.names.singular || spec.names.kind.toLowerCase(), kind: spec.names.kind, listKind: spec.names.listKind || `${spec.names.kind}List` };
      if (spec.names.shortNames?.length) accepted.shortNames = spec.names.shortNames;
      if (spec.names.categories?.length) accepted.categories = spec.names.categories;
      status.acceptedNames = accepted;
      const storage = spec.versions.find((v) => v.storage)?.name;
      const stored = Array.isArray(status.storedVersions) ? (status.storedVersions as string[]) : [];
      if (storage && !stored.includes(storage)) stored.push(storage);
      status.storedVersions = stored;
    }
    status.conditions = conditions;
    const updated = structuredClone(crd);
    updated.status = status;
    const meta = updated.metadata!;
    const fins = meta.finalizers ?? [];
    if (!conflict && !fins.includes(CRD_FINALIZER)) meta.finalizers = [...fins, CRD_FINALIZER];
    if (!jsonEqual(updated, crd)) await this.store.update(CRD_PREFIX + name, JSON.stringify(updated), revision);
  }

  /** Deletion: every custom resource goes first, then the finalizer, then the CRD itself. */
  private async finalize(name: string, crd: KubeObject, revision: number): Promise<void> {
    const spec = crdSpec(crd);
    const prefix = `/registry/${spec.group}/${spec.names.plural}/`;
    // Bounded: each pass deletes what it listed; new objects cannot be created once unregistered.
    this.unregister(name);
    for (let pass = 0; pass < 100; pass++) {
      const page = await this.store.list(prefix, { limit: 500 });
      if (page.items.length === 0) break;
      for (const item of page.items) {
        try {
          await this.store.delete(item.key);
        } catch (e) {
          if (!(e instanceof NotFoundError)) throw e;
        }
      }
    }
    const fins = (crd.metadata?.finalizers ?? []).filter((f) => f !== CRD_FINALIZER);
    if (fins.length === 0) {
      await this.store.delete(CRD_PREFIX + name, revision);
      return;
    }
    const updated = structuredClone(crd);
    updated.metadata!.finalizers = fins;
    await this.store.update(CRD_PREFIX + name, JSON.stringify(updated), revision);
  }

  private register(name: string, crd: KubeObject): void {
    const defs = crdToDefs(crd);
    const previous = this.registered.get(name) ?? [];
    // Remove versions no longer served; add()/replace the rest (new schema, columns...).
    for (const d of previous) if (!defs.some((n) => n.version === d.version && n.plural === d.plural)) this.registry.remove(d.group, d.version, d.plural);
    for (const d of defs) this.registry.add(d);
    this.registered.set(name, defs);
    this.rebuildDocs();
  }

  private unregister(name: string): void {
    const defs = this.registered.get(name);
    if (!defs) return;
    for (const d of defs) this.registry.remove(d.group, d.version, d.plural);
    this.registered.delete(name);
    this.rebuildDocs();
  }

  private rebuildDocs(): void {
    this.docs.clear();
    const byGv = new Map<string, ResourceDef[]>();
    for (const defs of this.registered.values()) {
      for (const d of defs) {
        const key = `apis/${d.group}/${d.version}`;
        byGv.set(key, [...(byGv.get(key) ?? []), d]);
      }
    }
    for (const [key, defs] of byGv) this.docs.set(key, crdOpenApiDoc(defs));
  }
}
