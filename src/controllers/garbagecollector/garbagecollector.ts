// Garbage collector: keeps a graph of ownerReferences over every stored kind (built-in and CRs) and
// deletes dependents whose owners are all gone (background), deletes dependents before their owner
// when the owner carries `foregroundDeletion`, and strips owner references when it carries `orphan`.
// Behaviour follows upstream's GC: dangling owners are verified with a live GET (an informer may not
// have seen a new owner yet), owners are looked up in the dependent's own namespace only, and a
// cluster-scoped dependent naming a namespaced owner is never collected (OwnerRefInvalidNamespace).
import { ClientError, isNotFound, type Client, type KubeObject } from '../../client/types.ts';
import type { SharedInformers } from '../../client/shared-informers.ts';
import { ControllerRunner, type Reconciler, type Request, type Result } from '../../controller/runner.ts';
import type { EventRecorder } from '../../controller/events.ts';
import { logger } from '../../util/log.ts';
import { apiVersionOf, canListWatchDelete, type ResourceCatalog, type ResourceInfo } from './resources.ts';
import { forEachLimit } from './concurrency.ts';

const log = logger('controller/garbagecollector');

export const FINALIZER_ORPHAN = 'orphan';
export const FINALIZER_FOREGROUND = 'foregroundDeletion';

type OwnerRef = NonNullable<KubeObject['metadata']['ownerReferences']>[number];

interface GraphNode {
  uid: string;
  info: ResourceInfo;
  namespace: string | undefined;
  name: string;
  resourceVersion: string | undefined;
  owners: OwnerRef[];
  finalizers: string[];
  deleting: boolean;
}

type OwnerState = 'solid' | 'dangling' | 'waiting';

export interface GarbageCollectorOptions {
  client: Client;
  informers: SharedInformers;
  catalog: ResourceCatalog;
  recorder?: EventRecorder;
  workers?: number;
  /** How often to look for new or removed resources (CRDs) in the catalog. */
  catalogPollMs?: number;
}

/** Resources whose objects never own anything and churn a lot: not tracked (as upstream). */
const IGNORED = new Set(['/events', 'events.k8s.io/events']);

export class GarbageCollector implements Reconciler {
  readonly name = 'garbagecollector';
  private readonly nodes = new Map<string, GraphNode>();
  private readonly dependents = new Map<string, Set<string>>();
  /** Owner uids verified absent; spares a GET per dependent when a big owner goes. */
  private readonly absentOwners = new Set<string>();
  private readonly watched = new Set<string>();
  private readonly runner: ControllerRunner;
  private catalogGeneration = -1;

  constructor(private readonly opts: GarbageCollectorOptions) {
    this.runner = new ControllerRunner(this, opts.workers ?? 8);
  }

  /** Number of objects in the graph (for tests and status). */
  get size(): number {
    return this.nodes.size;
  }

  /** Registers informers for every resource; call before SharedInformers.start or any time after. */
  watchResources(): ResourceInfo[] {
    this.catalogGeneration = this.opts.catalog.generation;
    const added: ResourceInfo[] = [];
    for (const info of this.opts.catalog.all()) {
      const key = `${info.group}/${info.resource}`;
      if (IGNORED.has(key) || this.watched.has(key) || !canListWatchDelete(info)) continue;
      this.watched.add(key);
      added.push(info);
      this.opts.informers.informerFor(info).addHandlers({
        onAdd: (o) => this.observe(info, o),
        onUpdate: (_old, o) => this.observe(info, o),
        onDelete: (o) => this.forget(o),
      });
    }
    return added;
  }

  async run(signal: AbortSignal): Promise<void> {
    this.watchResources();
    await this.opts.informers.waitForSync(signal);
    const poll = setInterval(() => {
      if (this.opts.catalog.generation !== this.catalogGeneration) {
        const added = this.watchResources();
        if (added.length) log.info('tracking new resources', { resources: added.map((i) => `${i.resource}.${i.group}`) });
      }
    }, this.opts.catalogPollMs ?? 2000);
    signal.addEventListener('abort', () => clearInterval(poll), { once: true });
    await this.runner.run(signal);
  }

  private enqueue(uid: string): void {
    this.runner.enqueue({ name: uid });
  }

  private observe(info: ResourceInfo, obj: KubeObject): void {
    const uid = obj.metadata.uid;
    if (!uid) return;
    const old = this.nodes.get(uid);
    const node: GraphNode = {
      uid,
      info,
      namespace: obj.metadata.namespace || undefined,
      name: obj.metadata.name ?? '',
      resourceVersion: obj.metadata.resourceVersion,
      owners: obj.metadata.ownerReferences ?? [],
      finalizers: obj.metadata.finalizers ?? [],
      deleting: !!obj.metadata.deletionTimestamp,
    };
    this.nodes.set(uid, node);
    this.absentOwners.delete(uid);
    for (const o of old?.owners ?? []) {
      if (node.owners.some((n) => n.uid === o.uid && n.blockOwnerDeletion === o.blockOwnerDeletion)) continue;
      if (!node.owners.some((n) => n.uid === o.uid)) this.dependents.get(o.uid)?.delete(uid);
      // A dependent that stopped blocking may let a foreground owner go.
      if (this.nodes.get(o.uid)?.deleting) this.enqueue(o.uid);
    }
    for (const o of node.owners) {
      let set = this.dependents.get(o.uid);
      if (!set) this.dependents.set(o.uid, (set = new Set()));
      set.add(uid);
    }
    const ownersChanged = !old || JSON.stringify(old.owners) !== JSON.stringify(node.owners);
    if (node.owners.length > 0 && ownersChanged) this.enqueue(uid);
    if (node.deleting && (node.finalizers.includes(FINALIZER_ORPHAN) || node.finalizers.includes(FINALIZER_FOREGROUND))) this.enqueue(uid);
  }

  private forget(obj: KubeObject): void {
    const uid = obj.metadata.uid;
    if (!uid) return;
    const node = this.nodes.get(uid);
    this.nodes.delete(uid);
    this.absentOwners.add(uid);
    if (this.absentOwners.size > 100_000) this.absentOwners.delete(this.absentOwners.values().next().value!);
    for (const o of node?.owners ?? []) {
      this.dependents.get(o.uid)?.delete(uid);
      if (this.nodes.get(o.uid)?.deleting) this.enqueue(o.uid);
    }
    const deps = this.dependents.get(uid);
    if (deps) for (const d of deps) this.enqueue(d);
  }

  private dependentsOf(uid: string): GraphNode[] {
    const out: GraphNode[] = [];
    for (const d of this.dependents.get(uid) ?? []) {
      const n = this.nodes.get(d);
      if (n) out.push(n);
    }
    return out;
  }

  async reconcile(req: Request): Promise<Result | void> {
    const node = this.nodes.get(req.name);
    if (!node) return;
    if (node.deleting) {
      if (node.finalizers.includes(FINALIZER_ORPHAN)) return this.orphanDependents(node);
      if (node.finalizers.includes(FINALIZER_FOREGROUND)) return this.deleteDependentsFirst(node);
      return;
    }
    if (node.owners.length > 0) return this.attemptToDelete(node);
  }

  /** `orphan`: every dependent loses its reference to this owner, then the finalizer goes. */
  private async orphanDependents(owner: GraphNode): Promise<void> {
    await forEachLimit(this.dependentsOf(owner.uid), 16, async (dep) => {
      await this.patchOwnerRefs(dep, dep.owners.filter((r) => r.uid !== owner.uid));
    });
    await this.removeFinalizer(owner, FINALIZER_ORPHAN);
  }

  /** `foregroundDeletion`: dependents are deleted; the owner goes once none blocks it any more. */
  private async deleteDependentsFirst(owner: GraphNode): Promise<void> {
    const deps = this.dependentsOf(owner.uid);
    for (const d of deps) if (!d.deleting) this.enqueue(d.uid);
    const blocking = deps.filter((d) => d.owners.some((r) => r.uid === owner.uid && r.blockOwnerDeletion === true));
    if (blocking.length === 0) await this.removeFinalizer(owner, FINALIZER_FOREGROUND);
  }

  private async attemptToDelete(dep: GraphNode): Promise<Result | void> {
    const states = await Promise.all(dep.owners.map((r) => this.ownerState(dep, r)));
    const solid = dep.owners.filter((_, i) => states[i] === 'solid');
    const gone = new Set(dep.owners.filter((_, i) => states[i] !== 'solid').map((r) => r.uid));
    if (solid.length > 0) {
      // Still owned: only references to absent or foreground-deleting owners are dropped.
      if (gone.size > 0) await this.patchOwnerRefs(dep, dep.owners.filter((r) => !gone.has(r.uid)));
      return;
    }
    const waiting = dep.owners.filter((_, i) => states[i] === 'waiting');
    let policy: 'Background' | 'Foreground' | 'Orphan' = 'Background';
    if (dep.finalizers.includes(FINALIZER_ORPHAN)) policy = 'Orphan';
    else if (dep.finalizers.includes(FINALIZER_FOREGROUND)) policy = 'Foreground';
    if (waiting.length > 0 && (this.dependents.get(dep.uid)?.size ?? 0) > 0) {
      // A foreground owner waits for this dependent, which has dependents of its own: delete it in
      // foreground too, and stop it blocking its owners so two waits cannot deadlock.
      if (waiting.some((r) => r.blockOwnerDeletion)) {
        await this.patchOwnerRefs(dep, dep.owners.map((r) => (waiting.includes(r) ? { ...r, blockOwnerDeletion: false } : r)));
      }
      policy = 'Foreground';
    }
    await this.deleteObject(dep, policy);
  }

  private async ownerState(dep: GraphNode, ref: OwnerRef): Promise<OwnerState> {
    const info = this.opts.catalog.byKind(ref.apiVersion, ref.kind);
    // An owner kind we cannot resolve (CRD not installed yet) is never treated as gone.
    if (!info) return 'solid';
    if (info.namespaced && !dep.namespace) {
      this.invalidNamespace(dep, ref);
      return 'solid';
    }
    const namespace = info.namespaced ? dep.namespace : undefined;
    const known = this.nodes.get(ref.uid);
    if (known) {
      if (known.namespace !== namespace) {
        this.invalidNamespace(dep, ref);
        return 'dangling';
      }
      return known.deleting && known.finalizers.includes(FINALIZER_FOREGROUND) ? 'waiting' : 'solid';
    }
    if (this.absentOwners.has(ref.uid)) return 'dangling';
    try {
      const live = await this.opts.client.get(info, ref.name, namespace);
      if (live.metadata.uid !== ref.uid) {
        this.absentOwners.add(ref.uid);
        return 'dangling';
      }
      return live.metadata.deletionTimestamp && (live.metadata.finalizers ?? []).includes(FINALIZER_FOREGROUND) ? 'waiting' : 'solid';
    } catch (e) {
      if (!isNotFound(e)) throw e;
      this.absentOwners.add(ref.uid);
      return 'dangling';
    }
  }

  private invalidNamespace(dep: GraphNode, ref: OwnerRef): void {
    this.opts.recorder?.event(
      { apiVersion: apiVersionOf(dep.info), kind: dep.info.kind, metadata: { name: dep.name, namespace: dep.namespace ?? '', uid: dep.uid } },
      'Warning',
      'OwnerRefInvalidNamespace',
      `ownerRef [${ref.apiVersion}/${ref.kind}, namespace: ${dep.namespace ?? ''}, name: ${ref.name}, uid: ${ref.uid}] does not exist in namespace "${dep.namespace ?? ''}"`,
    );
  }

  private async deleteObject(node: GraphNode, policy: 'Background' | 'Foreground' | 'Orphan'): Promise<void> {
    try {
      await this.opts.client.delete(node.info, node.name, { namespace: node.namespace, propagationPolicy: policy, preconditions: { uid: node.uid } });
    } catch (e) {
      // Gone already, or a new object with the same name (uid precondition): nothing to do.
      if (isNotFound(e) || (e instanceof ClientError && e.code === 409)) return;
      throw e;
    }
  }

  private async patchOwnerRefs(node: GraphNode, owners: OwnerRef[]): Promise<void> {
    try {
      await this.opts.client.patch(
        node.info,
        node.name,
        'merge',
        { metadata: { ownerReferences: owners.length ? owners : null, resourceVersion: node.resourceVersion, uid: node.uid } },
        { namespace: node.namespace },
      );
    } catch (e) {
      if (isNotFound(e)) return;
      throw e; // a conflict retries with the newer object from the informer
    }
  }

  private async removeFinalizer(node: GraphNode, finalizer: string): Promise<void> {
    try {
      await this.opts.client.patch(
        node.info,
        node.name,
        'merge',
        { metadata: { finalizers: node.finalizers.filter((f) => f !== finalizer), resourceVersion: node.resourceVersion, uid: node.uid } },
        { namespace: node.namespace },
      );
    } catch (e) {
      if (isNotFound(e)) return;
      throw e;
    }
  }
}
