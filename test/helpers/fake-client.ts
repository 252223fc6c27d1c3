// An in-memory Client for tests and benchmarks: objects per resource, one revision counter,
// list + watch from a revision (with an event log), merge patches (also on pods/status), delete,
// and pods/binding with the API server's rules (conflict when already bound). Hooks let a test
// make a write fail once (e.g. a racing binding).

import { ClientError, type Client, type DeleteOptions, type KubeObject, type ListOptions, type ObjectList, type PatchType, type ResourceRef, type WatchEvent, type WatchOptions } from '../../src/client/types.ts';

type Stored = KubeObject & { spec?: Record<string, unknown>; status?: Record<string, unknown> };

interface LogEntry {
  rv: number;
  resource: string;
  event: WatchEvent;
}

function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> = target && typeof target === 'object' && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [k, v] of Object.entries(patch as Record<string, unknown>)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

const keyOf = (ref: ResourceRef, ns: string | undefined, name: string) => `${ref.resource}|${ref.namespaced ? (ns ?? 'default') : ''}|${name}`;

export class FakeClient implements Client {
  private rv = 0;
  private readonly objects = new Map<string, Stored>();
  private readonly log: LogEntry[] = [];
  private readonly watchers = new Set<{ resource: string; ns?: string; push: (e: WatchEvent) => void }>();
  private uid = 0;
  /** Called before every binding; throw to make it fail. */
  beforeBind?: (pod: Stored, node: string) => void;
  readonly calls = { bindings: 0, patches: 0, creates: 0, deletes: 0 };

  private bump(resource: string, type: WatchEvent['type'], obj: Stored): void {
    const entry = { rv: this.rv, resource, event: { type, object: structuredClone(obj) } };
    this.log.push(entry);
    if (this.log.length > 200_000) this.log.splice(0, 100_000);
    for (const w of this.watchers) {
      if (w.resource === resource && (!w.ns || w.ns === obj.metadata.namespace)) w.push(entry.event);
    }
  }

  private store(ref: ResourceRef, obj: Stored, type: 'ADDED' | 'MODIFIED'): Stored {
    this.rv++;
    obj.metadata.resourceVersion = String(this.rv);
    this.objects.set(keyOf(ref, obj.metadata.namespace, obj.metadata.name ?? ''), obj);
    this.bump(ref.resource, type, obj);
    return structuredClone(obj);
  }

  private find(ref: ResourceRef, name: string, ns?: string): Stored {
    const o = this.objects.get(keyOf(ref, ns, name));
    if (!o) throw new ClientError(404, 'NotFound', `${ref.resource} "${name}" not found`);
    return o;
  }

  /** The stored object, not a copy (tests read it directly). */
  peek<T = Stored>(ref: ResourceRef, name: string, ns?: string): T | undefined {
    return this.objects.get(keyOf(ref, ns, name)) as T | undefined;
  }

  all<T = Stored>(ref: ResourceRef): T[] {
    return [...this.objects.entries()].filter(([k]) => k.startsWith(`${ref.resource}|`)).map(([, v]) => v as T);
  }

  async get<T extends KubeObject>(ref: ResourceRef, name: string, namespace?: string): Promise<T> {
    return structuredClone(this.find(ref, name, namespace)) as unknown as T;
  }

  async list<T extends KubeObject>(ref: ResourceRef, opts: ListOptions = {}): Promise<ObjectList<T>> {
    const items = this.all(ref).filter((o) => !opts.namespace || o.metadata.namespace === opts.namespace);
    return { apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: String(this.rv) }, items: items.map((o) => structuredClone(o)) as unknown as T[] };
  }

  async create<T extends KubeObject>(ref: ResourceRef, obj: T): Promise<T> {
    this.calls.creates++;
    const o = structuredClone(obj) as unknown as Stored;
    if (ref.namespaced) o.metadata.namespace ??= 'default';
    if (!o.metadata.name && o.metadata.generateName) o.metadata.name = `${o.metadata.generateName}${(++this.uid).toString(36)}`;
    if (this.objects.has(keyOf(ref, o.metadata.namespace, o.metadata.name ?? ''))) throw new ClientError(409, 'AlreadyExists', `${ref.resource} "${o.metadata.name}" already exists`);
    o.metadata.uid ??= `uid-${++this.uid}`;
    o.metadata.creationTimestamp ??= new Date().toISOString();
    return this.store(ref, o, 'ADDED') as unknown as T;
  }

  async update<T extends KubeObject>(ref: ResourceRef, obj: T): Promise<T> {
    const cur = this.find(ref, obj.metadata.name ?? '', obj.metadata.namespace);
    if (obj.metadata.resourceVersion && obj.metadata.resourceVersion !== cur.metadata.resourceVersion) throw new ClientError(409, 'Conflict', 'the object has been modified');
    return this.store(ref, structuredClone(obj) as unknown as Stored, 'MODIFIED') as unknown as T;
  }

  async patch<T extends KubeObject>(ref: ResourceRef, name: string, type: PatchType, patch: unknown, opts: { namespace?: string; subresource?: string } = {}): Promise<T> {
    this.calls.patches++;
    if (type !== 'merge') throw new ClientError(415, 'UnsupportedMediaType', `fake client: only merge patches (got ${type})`);
    const cur = this.find(ref, name, opts.namespace);
    let p = patch as Record<string, unknown>;
    // pods/status ignores everything but status, as the API server does.
    if (opts.subresource === 'status') p = { status: p.status };
    const next = mergePatch(structuredClone(cur), p) as Stored;
    return this.store(ref, next, 'MODIFIED') as unknown as T;
  }

  async delete(ref: ResourceRef, name: string, opts: DeleteOptions & { namespace?: string } = {}): Promise<KubeObject | undefined> {
    this.calls.deletes++;
    const cur = this.find(ref, name, opts.namespace);
    this.objects.delete(keyOf(ref, opts.namespace, name));
    this.rv++;
    cur.metadata.resourceVersion = String(this.rv);
    this.bump(ref.resource, 'DELETED', cur);
    return structuredClone(cur);
  }

  async createSubresource<T = unknown>(ref: ResourceRef, name: string, subresource: string, body: unknown, namespace?: string): Promise<T> {
    if (ref.resource !== 'pods' || subresource !== 'binding') throw new ClientError(404, 'NotFound', `fake client: no ${ref.resource}/${subresource}`);
    this.calls.bindings++;
    const pod = this.find(ref, name, namespace);
    const node = (body as { target: { name: string } }).target.name;
    this.beforeBind?.(pod, node);
    const spec = (pod.spec ??= {});
    if (spec.nodeName) throw new ClientError(409, 'Conflict', `pod ${name} is already assigned to node "${String(spec.nodeName)}"`);
    if (pod.metadata.deletionTimestamp) throw new ClientError(409, 'Conflict', `pod ${name} is being deleted, cannot be assigned to a host`);
    const next = structuredClone(pod);
    next.spec!.nodeName = node;
    const status = (next.status ??= {});
    const conds = ((status.conditions as { type: string }[] | undefined) ?? []).filter((c) => c.type !== 'PodScheduled');
    conds.push({ type: 'PodScheduled', status: 'True', lastTransitionTime: new Date().toISOString() } as never);
    status.conditions = conds;
    this.store(ref, next, 'MODIFIED');
    return { kind: 'Status', apiVersion: 'v1', status: 'Success', code: 201 } as T;
  }

  watch<T extends KubeObject>(ref: ResourceRef, opts: WatchOptions, signal: AbortSignal): AsyncIterable<WatchEvent<T>> {
    const from = Number(opts.resourceVersion ?? this.rv);
    const pending: WatchEvent[] = this.log.filter((e) => e.rv > from && e.resource === ref.resource && (!opts.namespace || e.event.object.metadata.namespace === opts.namespace)).map((e) => e.event);
    let wake: (() => void) | undefined;
    const w = {
      resource: ref.resource,
      ...(opts.namespace ? { ns: opts.namespace } : {}),
      push: (e: WatchEvent) => {
        pending.push(e);
        wake?.();
      },
    };
    this.watchers.add(w);
    const watchers = this.watchers;
    return {
      async *[Symbol.asyncIterator]() {
        const onAbort = () => wake?.();
        signal.addEventListener('abort', onAbort, { once: true });
        try {
          while (!signal.aborted) {
            const e = pending.shift();
            if (e) {
              yield e as WatchEvent<T>;
              continue;
            }
            await new Promise<void>((r) => (wake = r));
            wake = undefined;
          }
        } finally {
          watchers.delete(w);
          signal.removeEventListener('abort', onAbort);
        }
      },
    };
  }
}
