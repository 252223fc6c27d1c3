// What the Endpoints and EndpointSlice controllers agree on: which pods back a Service, with which
// conditions and ports, and the slice writer both slice controllers use.
import type { Pod, Service, ServicePort, Endpoints } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice, Endpoint as SliceEndpoint, EndpointPort } from 'kubernetes-types/discovery/v1.js';
import type { Client, KubeObject, ResourceRef } from '../client/types.ts';
import { isNotFound } from '../client/types.ts';
import type { Informer } from '../client/informer.ts';

export const servicesRef: ResourceRef = { group: '', version: 'v1', resource: 'services', namespaced: true };
export const podsRef: ResourceRef = { group: '', version: 'v1', resource: 'pods', namespaced: true };
export const nodesRef: ResourceRef = { group: '', version: 'v1', resource: 'nodes', namespaced: false };
export const endpointsRef: ResourceRef = { group: '', version: 'v1', resource: 'endpoints', namespaced: true };
export const endpointSlicesRef: ResourceRef = { group: 'discovery.k8s.io', version: 'v1', resource: 'endpointslices', namespaced: true };

export const LABEL_SERVICE_NAME = 'kubernetes.io/service-name';
export const LABEL_MANAGED_BY = 'endpointslice.kubernetes.io/managed-by';
export const LABEL_HEADLESS = 'service.kubernetes.io/headless';
export const LABEL_SKIP_MIRROR = 'endpointslice.kubernetes.io/skip-mirror';
export const MANAGED_BY_CONTROLLER = 'endpointslice-controller.k8s.io';
export const MANAGED_BY_MIRRORING = 'endpointslicemirroring-controller.k8s.io';
/** Upstream's default --max-endpoints-per-slice. */
export const MAX_ENDPOINTS_PER_SLICE = 100;
/** Upstream truncates Endpoints (and mirrors at most) this many addresses. */
export const MAX_ENDPOINTS_ADDRESSES = 1000;

export type SvcObj = Service & KubeObject;
export type PodObj = Pod & KubeObject;
export type SliceObj = EndpointSlice & KubeObject;
export type EndpointsObj = Endpoints & KubeObject;

/**
 * Both endpoint controllers reconcile per Service: a Service change enqueues it, and a pod change
 * enqueues every Service in the pod's namespace that selects the pod (before or after the change).
 */
export function enqueueServicesForPods(services: Informer<SvcObj>, pods: Informer<PodObj>, enqueue: (req: { namespace: string; name: string }) => void): void {
  const svcKey = (s: KubeObject) => enqueue({ namespace: s.metadata.namespace!, name: s.metadata.name! });
  services.addHandlers({ onAdd: svcKey, onUpdate: (_o, n) => svcKey(n), onDelete: svcKey });
  const forPod = (...changed: PodObj[]) => {
    const ns = changed[0]?.metadata.namespace;
    for (const s of services.list((s) => s.metadata.namespace === ns)) {
      if (changed.some((p) => selects(s.spec?.selector, p.metadata.labels))) svcKey(s);
    }
  };
  pods.addHandlers({ onAdd: (p) => forPod(p), onUpdate: (o, n) => forPod(o, n), onDelete: (p) => forPod(p) });
}

export function selects(selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  if (!selector || Object.keys(selector).length === 0) return false;
  for (const [k, v] of Object.entries(selector)) if (labels?.[k] !== v) return false;
  return true;
}

export function isHeadless(svc: Service): boolean {
  return svc.spec?.clusterIP === 'None';
}

export function podReady(pod: Pod): boolean {
  return (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

/** Pods that can be endpoints at all: an IP, not finished. */
export function podUsable(pod: Pod): boolean {
  const phase = pod.status?.phase;
  return !!pod.status?.podIP && phase !== 'Succeeded' && phase !== 'Failed';
}

/** The container port a service port's targetPort names (or the number itself). */
export function resolveTargetPort(sp: ServicePort, pod: Pod): number | undefined {
  const tp = sp.targetPort ?? sp.port;
  if (typeof tp === 'number') return tp;
  if (/^\d+$/.test(tp)) return Number(tp);
  for (const c of pod.spec?.containers ?? []) {
    for (const p of c.ports ?? []) if (p.name === tp && (p.protocol ?? 'TCP') === (sp.protocol ?? 'TCP')) return p.containerPort;
  }
  return undefined;
}

/** The endpoint ports of `pod` for `svc`, or undefined when a named port is missing (pod skipped, as upstream). */
export function podPorts(svc: Service, pod: Pod): EndpointPort[] | undefined {
  const out: EndpointPort[] = [];
  for (const sp of svc.spec?.ports ?? []) {
    const port = resolveTargetPort(sp, pod);
    if (port === undefined) return undefined;
    const ep: EndpointPort = { name: sp.name ?? '', port, protocol: sp.protocol ?? 'TCP' };
    if (sp.appProtocol) ep.appProtocol = sp.appProtocol;
    out.push(ep);
  }
  return out;
}

export function portsKey(ports: readonly EndpointPort[]): string {
  return ports.map((p) => `${p.name ?? ''}/${p.protocol ?? 'TCP'}/${p.port ?? ''}/${p.appProtocol ?? ''}`).sort().join(',');
}

/** Hostname for DNS: StatefulSet-style pods whose subdomain names this Service. */
export function podHostname(svc: Service, pod: Pod): string | undefined {
  const h = pod.spec?.hostname;
  return h && pod.spec?.subdomain === svc.metadata?.name && pod.metadata?.namespace === svc.metadata?.namespace ? h : undefined;
}

export function compareIPs(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

export function ownerRef(svc: SvcObj): NonNullable<KubeObject['metadata']['ownerReferences']>[number] {
  return { apiVersion: 'v1', kind: 'Service', name: svc.metadata.name!, uid: svc.metadata.uid!, controller: true, blockOwnerDeletion: true };
}

export interface DesiredGroup {
  ports: EndpointPort[];
  endpoints: SliceEndpoint[];
}

function sliceEqual(a: SliceObj, want: { labels: Record<string, string>; ports: EndpointPort[]; endpoints: SliceEndpoint[] }): boolean {
  return JSON.stringify(a.metadata.labels ?? {}) === JSON.stringify(want.labels) && JSON.stringify(a.ports ?? []) === JSON.stringify(want.ports) && JSON.stringify(a.endpoints ?? []) === JSON.stringify(want.endpoints);
}

/**
 * Make the slices labelled for (service, managedBy) hold exactly `groups`, ≤ maxPerSlice endpoints
 * each. Existing slices with the same ports are rewritten in place (fewer watch events for the
 * proxy and DNS than delete + create); extra ones are deleted. Returns the number of writes.
 */
export async function writeSlices(opts: {
  client: Client;
  slices: Informer<SliceObj>;
  owner: SvcObj | EndpointsObj;
  serviceName: string;
  namespace: string;
  managedBy: string;
  labels: Record<string, string>;
  groups: DesiredGroup[];
  ownerReference?: ReturnType<typeof ownerRef>;
  maxPerSlice?: number;
  tracker?: SliceTracker;
}): Promise<number> {
  const track = (name: string, rv: string | undefined) => opts.tracker?.wrote(`${opts.namespace}/${opts.serviceName}`, opts.namespace, name, rv);
  const max = opts.maxPerSlice ?? MAX_ENDPOINTS_PER_SLICE;
  const existing = opts.slices
    .list((s) => s.metadata.namespace === opts.namespace && s.metadata.labels?.[LABEL_SERVICE_NAME] === opts.serviceName && s.metadata.labels?.[LABEL_MANAGED_BY] === opts.managedBy)
    .sort((a, b) => (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''));
  const byPorts = new Map<string, SliceObj[]>();
  for (const s of existing) {
    const k = portsKey(s.ports ?? []);
    byPorts.set(k, [...(byPorts.get(k) ?? []), s]);
  }
  const labels = { ...opts.labels, [LABEL_SERVICE_NAME]: opts.serviceName, [LABEL_MANAGED_BY]: opts.managedBy };
  let writes = 0;
  for (const g of opts.groups) {
    const reuse = byPorts.get(portsKey(g.ports)) ?? [];
    byPorts.delete(portsKey(g.ports));
    // Stable packing, as upstream's slice reconciler: an endpoint stays in the slice that already
    // holds it; new ones fill slices with room, then new slices. Re-chunking a sorted list instead
    // would move endpoints between slices on every change, and a reader between two slice writes
    // would see an endpoint twice (or not at all).
    const key = (ep: SliceEndpoint) => ep.addresses[0] ?? '';
    const wanted = new Map(g.endpoints.map((ep) => [key(ep), ep] as const));
    const plan: Array<{ old?: SliceObj; endpoints: SliceEndpoint[] }> = [];
    for (const old of reuse) {
      const kept: SliceEndpoint[] = [];
      for (const ep of old.endpoints ?? []) {
        const want = wanted.get(key(ep));
        if (want && kept.length < max) {
          kept.push(want);
          wanted.delete(key(ep));
        }
      }
      plan.push({ old, endpoints: kept });
    }
    const rest = [...wanted.values()];
    for (const p of plan) while (p.endpoints.length < max && rest.length > 0) p.endpoints.push(rest.shift()!);
    while (rest.length > 0) plan.push({ endpoints: rest.splice(0, max) });
    // Empty slices go, but a group keeps one (upstream's placeholder when nothing is ready).
    const nonEmpty = plan.filter((p) => p.endpoints.length > 0);
    const keep = nonEmpty.length > 0 ? nonEmpty : plan.slice(0, 1).concat(plan.length === 0 ? [{ endpoints: [] }] : []);
    reuse.length = 0;
    for (const p of plan) if (p.old && !keep.includes(p)) reuse.push(p.old);
    for (const p of keep) {
      const chunk = p.endpoints.sort((a, b) => compareIPs(key(a), key(b)));
      const want = { labels, ports: g.ports, endpoints: chunk };
      const old = p.old;
      if (old) {
        if (sliceEqual(old, want)) continue;
        const next = structuredClone(old);
        next.metadata.labels = labels;
        next.ports = g.ports;
        next.endpoints = chunk;
        const done = await opts.client.update(endpointSlicesRef, next);
        track(done.metadata.name!, done.metadata.resourceVersion);
      } else {
        const slice: SliceObj = {
          apiVersion: 'discovery.k8s.io/v1',
          kind: 'EndpointSlice',
          metadata: {
            generateName: `${opts.serviceName.slice(0, 57)}-`,
            namespace: opts.namespace,
            labels,
            ...(opts.ownerReference ? { ownerReferences: [opts.ownerReference] } : {}),
          },
          addressType: 'IPv4',
          ports: g.ports,
          endpoints: chunk,
        };
        const done = await opts.client.create(endpointSlicesRef, slice);
        track(done.metadata.name!, done.metadata.resourceVersion);
      }
      writes++;
    }
    for (const extra of reuse) byPorts.set(`extra:${extra.metadata.name}`, [extra]);
  }
  for (const stale of [...byPorts.values()].flat()) {
    try {
      await opts.client.delete(endpointSlicesRef, stale.metadata.name!, { namespace: opts.namespace });
      track(stale.metadata.name!, undefined);
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    writes++;
  }
  return writes;
}

/**
 * Our own slice writes the informer has not shown yet. Reconciling from a cache that lags behind
 * our last write would create a second slice for the same endpoints, so a Service whose writes are
 * not yet visible waits (upstream's EndpointSliceTracker solves the same staleness).
 */
export class SliceTracker {
  private readonly pending = new Map<string, { at: number; writes: Array<{ namespace: string; name: string; rv: string | undefined }> }>();
  constructor(
    private readonly slices: Informer<SliceObj>,
    /** Give up waiting after this long (a lost watch re-lists anyway). */
    private readonly maxWaitMs = 5000,
  ) {}
  wrote(key: string, namespace: string, name: string, rv: string | undefined): void {
    let p = this.pending.get(key);
    if (!p) this.pending.set(key, (p = { at: Date.now(), writes: [] }));
    p.writes.push({ namespace, name, rv });
  }
  /** True when the cache shows every write we made for this Service. */
  caughtUp(key: string): boolean {
    const p = this.pending.get(key);
    if (!p) return true;
    const seen = p.writes.every((w) => {
      const cur = this.slices.get(w.name, w.namespace);
      if (w.rv === undefined) return cur === undefined;
      return cur !== undefined && Number(cur.metadata.resourceVersion) >= Number(w.rv);
    });
    if (seen || Date.now() - p.at > this.maxWaitMs) {
      this.pending.delete(key);
      return true;
    }
    return false;
  }
}
