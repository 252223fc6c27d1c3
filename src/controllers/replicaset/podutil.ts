// What every workload controller shares: resource refs, owner references, pods stamped from a
// template, readiness/availability rules, the name hash, slow-start batches and the clock.
import type { Pod, PodTemplateSpec } from 'kubernetes-types/core/v1.js';
import type { Client, KubeObject, ObjectMeta, ResourceRef } from '../../client/types.ts';

export const refs = {
  pods: { group: '', version: 'v1', resource: 'pods', namespaced: true },
  nodes: { group: '', version: 'v1', resource: 'nodes', namespaced: false },
  pvcs: { group: '', version: 'v1', resource: 'persistentvolumeclaims', namespaced: true },
  replicationcontrollers: { group: '', version: 'v1', resource: 'replicationcontrollers', namespaced: true },
  replicasets: { group: 'apps', version: 'v1', resource: 'replicasets', namespaced: true },
  deployments: { group: 'apps', version: 'v1', resource: 'deployments', namespaced: true },
  statefulsets: { group: 'apps', version: 'v1', resource: 'statefulsets', namespaced: true },
  daemonsets: { group: 'apps', version: 'v1', resource: 'daemonsets', namespaced: true },
  controllerrevisions: { group: 'apps', version: 'v1', resource: 'controllerrevisions', namespaced: true },
  jobs: { group: 'batch', version: 'v1', resource: 'jobs', namespaced: true },
  cronjobs: { group: 'batch', version: 'v1', resource: 'cronjobs', namespaced: true },
  events: { group: '', version: 'v1', resource: 'events', namespaced: true },
} as const satisfies Record<string, ResourceRef>;

/** Milliseconds since the epoch; injectable so tests can drive CronJobs and deadlines. */
export interface Clock {
  now(): number;
}
export const systemClock: Clock = { now: () => Date.now() };

/** A pod as the controllers read it (kubernetes-types with our metadata type). */
export type PodObject = KubeObject & Omit<Pod, 'metadata'> & { metadata: ObjectMeta };
export type OwnerReference = NonNullable<ObjectMeta['ownerReferences']>[number];

export function controllerRefOf(o: KubeObject): OwnerReference | undefined {
  return o.metadata.ownerReferences?.find((r) => r.controller === true);
}

export function ownerRefTo(owner: KubeObject, apiVersion: string, kind: string): OwnerReference {
  return { apiVersion, kind, name: owner.metadata.name ?? '', uid: owner.metadata.uid ?? '', controller: true, blockOwnerDeletion: true };
}

export function nsKey(namespace: string | undefined, name: string | undefined): string {
  return `${namespace ?? ''}/${name ?? ''}`;
}
export const keyOf = (o: KubeObject): string => nsKey(o.metadata.namespace, o.metadata.name);

/**
 * A new pod from a template, as upstream's pod control builds it: template labels, annotations,
 * finalizers and spec, the controller's ownerReference, nodeName left empty for the scheduler.
 */
export function podFromTemplate(template: PodTemplateSpec | undefined, owner: KubeObject, ownerRef: OwnerReference, name?: { name?: string; generateName?: string }): PodObject {
  const tpl = structuredClone(template ?? {});
  const meta: ObjectMeta = {
    namespace: owner.metadata.namespace,
    ...(name?.name ? { name: name.name } : { generateName: name?.generateName ?? `${owner.metadata.name}-` }),
    labels: { ...(tpl.metadata?.labels ?? {}) },
    annotations: { ...(tpl.metadata?.annotations ?? {}) },
    ownerReferences: [ownerRef],
  };
  if (tpl.metadata?.finalizers?.length) meta.finalizers = [...tpl.metadata.finalizers];
  if (Object.keys(meta.annotations ?? {}).length === 0) delete meta.annotations;
  return { apiVersion: 'v1', kind: 'Pod', metadata: meta, spec: tpl.spec ?? { containers: [] } };
}

export function isPodTerminal(p: PodObject): boolean {
  const phase = p.status?.phase;
  return phase === 'Succeeded' || phase === 'Failed';
}

/** Counted by ReplicaSets: not finished and not being deleted (upstream's FilterActivePods). */
export function isPodActive(p: PodObject): boolean {
  return !isPodTerminal(p) && !p.metadata.deletionTimestamp;
}

export function podReadyCondition(p: PodObject) {
  return p.status?.conditions?.find((c) => c.type === 'Ready');
}

export function isPodReady(p: PodObject): boolean {
  return podReadyCondition(p)?.status === 'True';
}

/** Ready for at least minReadySeconds (measured from the Ready condition's transition). */
export function isPodAvailable(p: PodObject, minReadySeconds: number, now: number): boolean {
  const c = podReadyCondition(p);
  if (c?.status !== 'True') return false;
  if (minReadySeconds <= 0) return true;
  const since = c.lastTransitionTime ? Date.parse(c.lastTransitionTime) : NaN;
  return Number.isFinite(since) && since + minReadySeconds * 1000 <= now;
}

/** When a ready pod becomes available, or undefined if it is not ready or already available. */
export function msUntilAvailable(p: PodObject, minReadySeconds: number, now: number): number | undefined {
  const c = podReadyCondition(p);
  if (c?.status !== 'True' || minReadySeconds <= 0 || !c.lastTransitionTime) return undefined;
  const at = Date.parse(c.lastTransitionTime) + minReadySeconds * 1000;
  return at > now ? at - now : undefined;
}

// --- hashing: names that stay the same across restarts (pod-template-hash, ControllerRevisions)

/** JSON with object keys sorted, so equal values always hash the same. */
export function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) return `[${v.map((x) => (x === undefined ? 'null' : canonicalJson(x))).join(',')}]`;
  const entries = Object.entries(v as Record<string, unknown>)
    .filter(([, x]) => x !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonicalJson(x)}`).join(',')}}`;
}

export function fnv32a(text: string, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (const b of Buffer.from(text, 'utf8')) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

// Upstream renders the 32-bit hash as decimal and maps each digit through an alphabet without
// vowels (rand.SafeEncodeString), which is why names look like web-5d4f8b7c9.
const SAFE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';
export function safeEncode(s: string): string {
  let out = '';
  for (const ch of s) out += SAFE_ALPHABET[ch.charCodeAt(0) % SAFE_ALPHABET.length];
  return out;
}

/**
 * The hash that names a ReplicaSet or ControllerRevision: FNV-32a over canonical JSON (upstream
 * hashes Go's printed struct, which we cannot reproduce byte for byte; what matters is that the
 * same template always gives the same name), with the collision count mixed in as upstream does.
 */
export function computeHash(value: unknown, collisionCount?: number): string {
  let text = canonicalJson(value);
  if (collisionCount !== undefined && collisionCount !== null) text += `\u0000${collisionCount}`;
  return safeEncode(String(fnv32a(text)));
}

/** Template equality ignoring the pod-template-hash label the Deployment controller adds. */
export function templatesEqualIgnoringHash(a: PodTemplateSpec | undefined, b: PodTemplateSpec | undefined): boolean {
  const strip = (t: PodTemplateSpec | undefined) => {
    const c = structuredClone(t ?? {});
    if (c.metadata?.labels) {
      delete c.metadata.labels['pod-template-hash'];
      if (Object.keys(c.metadata.labels).length === 0) delete c.metadata.labels;
    }
    if (c.metadata && Object.keys(c.metadata).length === 0) delete c.metadata;
    return canonicalJson(c);
  };
  return strip(a) === strip(b);
}

// --- int-or-percent (maxSurge, maxUnavailable)

export function resolveIntOrPercent(v: number | string | undefined, total: number, roundUp: boolean, fallback: number | string): number {
  const val = v ?? fallback;
  if (typeof val === 'number') return val;
  const m = /^(\d+)%$/.exec(val);
  if (!m) {
    const n = Number(val);
    return Number.isFinite(n) ? n : 0;
  }
  const x = (Number(m[1]) * total) / 100;
  return roundUp ? Math.ceil(x) : Math.floor(x);
}

// --- creating many pods

/**
 * Upstream's slow start: calls in batches of 1, 2, 4, ... so a failing create (quota, admission,
 * bad template) costs one call, not hundreds. Stops after the first batch with an error and
 * returns how many calls succeeded; the calls never made are `count - attempted`.
 */
export async function slowStartBatch(count: number, initialBatch: number, call: () => Promise<void>): Promise<{ succeeded: number; attempted: number; error?: unknown }> {
  let remaining = count;
  let succeeded = 0;
  let attempted = 0;
  for (let batch = Math.min(remaining, initialBatch); batch > 0; batch = Math.min(2 * batch, remaining)) {
    const results = await Promise.allSettled(Array.from({ length: batch }, () => call()));
    attempted += batch;
    remaining -= batch;
    let error: unknown;
    for (const r of results) {
      if (r.status === 'fulfilled') succeeded++;
      else error ??= r.reason;
    }
    if (error !== undefined) return { succeeded, attempted, error };
  }
  return { succeeded, attempted };
}

/** PUT a new status through the status subresource (a 409 means our cache was stale: requeue). */
export async function writeStatus<T extends KubeObject>(client: Client, ref: ResourceRef, obj: T, status: unknown): Promise<T> {
  const body = { ...structuredClone(obj), status } as T;
  return client.update<T>(ref, body, { subresource: 'status' });
}

export function rfc3339(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

export function annotationsOf(o: KubeObject): Record<string, string> {
  return o.metadata.annotations ?? {};
}
