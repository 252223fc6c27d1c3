// The Client every component uses to talk to the API: controllers, scheduler and kubelet in the
// server process (over the loopback socket, same pipeline as any HTTP request), and agents on other
// hosts (over HTTPS). Nothing but the API server touches the store.

export interface ResourceRef {
  /** "" for the core group. */
  group: string;
  version: string;
  /** Plural resource name, e.g. "pods". */
  resource: string;
  namespaced: boolean;
}

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  ownerReferences?: Array<{ apiVersion: string; kind: string; name: string; uid: string; controller?: boolean; blockOwnerDeletion?: boolean }>;
  [key: string]: unknown;
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  [key: string]: unknown;
}

export interface ObjectList<T extends KubeObject = KubeObject> {
  apiVersion: string;
  kind: string;
  metadata: { resourceVersion?: string; continue?: string; remainingItemCount?: number };
  items: T[];
}

export interface ListOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
  resourceVersionMatch?: 'Exact' | 'NotOlderThan';
}

export interface WatchOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  resourceVersion?: string;
  allowWatchBookmarks?: boolean;
  timeoutSeconds?: number;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export interface WatchEvent<T extends KubeObject = KubeObject> {
  type: WatchEventType;
  object: T;
}

export interface WriteOptions {
  dryRun?: boolean;
  fieldManager?: string;
}

export interface DeleteOptions {
  gracePeriodSeconds?: number;
  propagationPolicy?: 'Orphan' | 'Background' | 'Foreground';
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: boolean;
}

export type PatchType = 'json' | 'merge' | 'strategic' | 'apply';

export interface PatchOptions extends WriteOptions {
  force?: boolean;
}

export interface Client {
  get<T extends KubeObject>(ref: ResourceRef, name: string, namespace?: string): Promise<T>;
  list<T extends KubeObject>(ref: ResourceRef, opts?: ListOptions): Promise<ObjectList<T>>;
  create<T extends KubeObject>(ref: ResourceRef, obj: T, opts?: WriteOptions): Promise<T>;
  update<T extends KubeObject>(ref: ResourceRef, obj: T, opts?: WriteOptions & { subresource?: string }): Promise<T>;
  patch<T extends KubeObject>(ref: ResourceRef, name: string, type: PatchType, patch: unknown, opts?: PatchOptions & { namespace?: string; subresource?: string }): Promise<T>;
  delete(ref: ResourceRef, name: string, opts?: DeleteOptions & { namespace?: string }): Promise<KubeObject | undefined>;
  /** POST to a subresource (pods/binding, pods/eviction, serviceaccounts/token, ...). */
  createSubresource<T = unknown>(ref: ResourceRef, name: string, subresource: string, body: unknown, namespace?: string): Promise<T>;
  /** A watch stream; ends when the server closes it or the signal aborts. ERROR events are yielded, not thrown. */
  watch<T extends KubeObject>(ref: ResourceRef, opts: WatchOptions, signal: AbortSignal): AsyncIterable<WatchEvent<T>>;
}

/** A failure answered by the API server, carrying its metav1.Status. */
export class ClientError extends Error {
  override name = 'ClientError';
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly status?: Record<string, unknown>,
  ) {
    super(message);
  }
}

export const isNotFound = (e: unknown): boolean => e instanceof ClientError && e.code === 404;
export const isConflict = (e: unknown): boolean => e instanceof ClientError && e.code === 409 && e.reason === 'Conflict';
export const isAlreadyExists = (e: unknown): boolean => e instanceof ClientError && e.code === 409 && e.reason === 'AlreadyExists';
export const isGone = (e: unknown): boolean => e instanceof ClientError && e.code === 410;

/** The URL path of a resource collection or object. */
export function resourcePath(ref: ResourceRef, namespace?: string, name?: string, subresource?: string): string {
  let p = ref.group === '' ? `/api/${ref.version}` : `/apis/${ref.group}/${ref.version}`;
  if (ref.namespaced && namespace) p += `/namespaces/${encodeURIComponent(namespace)}`;
  p += `/${ref.resource}`;
  if (name !== undefined) p += `/${encodeURIComponent(name)}`;
  if (subresource) p += `/${subresource}`;
  return p;
}
