// Endpoints controller (the v1 Endpoints API that older clients still read): for every Service
// with a selector, one Endpoints object whose subsets group ready and not-ready pod addresses by
// port mapping. Terminating pods are left out (unless publishNotReadyAddresses), and past 1000
// addresses the object is truncated and annotated, as upstream does.
import type { EndpointAddress, EndpointPort, EndpointSubset } from 'kubernetes-types/core/v1.js';
import type { Client } from '../client/types.ts';
import { isAlreadyExists, isConflict, isNotFound } from '../client/types.ts';
import type { SharedInformers } from '../client/shared-informers.ts';
import type { Informer } from '../client/informer.ts';
import type { Reconciler, Request, Result } from '../controller/runner.ts';
import {
  compareIPs,
  endpointsRef,
  isHeadless,
  LABEL_HEADLESS,
  MAX_ENDPOINTS_ADDRESSES,
  podHostname,
  podPorts,
  podReady,
  podsRef,
  podUsable,
  portsKey,
  enqueueServicesForPods,
  selects,
  servicesRef,
  type EndpointsObj,
  type PodObj,
  type SvcObj,
} from './endpoint-model.ts';

export const OVER_CAPACITY_ANNOTATION = 'endpoints.kubernetes.io/over-capacity';

export class EndpointsController implements Reconciler {
  readonly name = 'endpoints';
  readonly services: Informer<SvcObj>;
  readonly pods: Informer<PodObj>;
  readonly endpoints: Informer<EndpointsObj>;

  constructor(private readonly opts: { client: Client; informers: SharedInformers }) {
    this.services = opts.informers.informerFor<SvcObj>(servicesRef);
    this.pods = opts.informers.informerFor<PodObj>(podsRef);
    this.endpoints = opts.informers.informerFor<EndpointsObj>(endpointsRef);
  }

  watch(enqueue: (req: Request) => void): void {
    enqueueServicesForPods(this.services, this.pods, enqueue);
  }

  async reconcile(req: Request): Promise<Result | void> {
    try {
      await this.sync(req);
    } catch (e) {
      // Our cache was behind our own last write: look again shortly instead of backing off.
      if (isAlreadyExists(e) || isConflict(e)) return { requeueAfterMs: 20 };
      throw e;
    }
  }

  private async sync(req: Request): Promise<void> {
    const ns = req.namespace!;
    const svc = this.services.get(req.name, ns);
    const current = this.endpoints.get(req.name, ns);
    if (!svc) {
      // The Service is gone: so are its Endpoints (upstream deletes them; manual ones too).
      if (current) await this.opts.client.delete(endpointsRef, req.name, { namespace: ns }).catch((e: unknown) => { if (!isNotFound(e)) throw e; });
      return;
    }
    // Without a selector the user owns the Endpoints.
    if (!svc.spec?.selector || Object.keys(svc.spec.selector).length === 0 || svc.spec.type === 'ExternalName') return;

    const tolerateUnready = svc.spec.publishNotReadyAddresses === true;
    const groups = new Map<string, { ports: EndpointPort[]; ready: EndpointAddress[]; notReady: EndpointAddress[] }>();
    let total = 0;
    for (const pod of this.pods.list((p) => p.metadata.namespace === ns && selects(svc.spec?.selector, p.metadata.labels))) {
      if (!podUsable(pod)) continue;
      if (pod.metadata.deletionTimestamp && !tolerateUnready) continue;
      const slicePorts = podPorts(svc, pod);
      if (!slicePorts) continue;
      const ports: EndpointPort[] = slicePorts.map((p) => ({ ...(p.name ? { name: p.name } : {}), port: p.port!, protocol: p.protocol ?? 'TCP', ...(p.appProtocol ? { appProtocol: p.appProtocol } : {}) }));
      const addr: EndpointAddress = { ip: pod.status!.podIP!, targetRef: { kind: 'Pod', namespace: ns, name: pod.metadata.name!, uid: pod.metadata.uid! } };
      if (pod.spec?.nodeName) addr.nodeName = pod.spec.nodeName;
      const hostname = podHostname(svc, pod);
      if (hostname) addr.hostname = hostname;
      const key = portsKey(slicePorts);
      let g = groups.get(key);
      if (!g) groups.set(key, (g = { ports, ready: [], notReady: [] }));
      (tolerateUnready || podReady(pod) ? g.ready : g.notReady).push(addr);
      total++;
    }
    const byIP = (a: EndpointAddress, b: EndpointAddress) => compareIPs(a.ip, b.ip);
    let budget = MAX_ENDPOINTS_ADDRESSES;
    const subsets: EndpointSubset[] = [];
    for (const g of [...groups.values()].sort((a, b) => portsKey(a.ports).localeCompare(portsKey(b.ports)))) {
      // Truncation keeps ready addresses first.
      const ready = g.ready.sort(byIP).slice(0, budget);
      budget -= ready.length;
      const notReady = g.notReady.sort(byIP).slice(0, budget);
      budget -= notReady.length;
      if (ready.length + notReady.length === 0) continue;
      const subset: EndpointSubset = { ports: g.ports };
      if (ready.length) subset.addresses = ready;
      if (notReady.length) subset.notReadyAddresses = notReady;
      subsets.push(subset);
    }
    const labels: Record<string, string> = { ...(svc.metadata.labels ?? {}) };
    if (isHeadless(svc)) labels[LABEL_HEADLESS] = '';
    const annotations: Record<string, string> = {};
    if (total > MAX_ENDPOINTS_ADDRESSES) annotations[OVER_CAPACITY_ANNOTATION] = 'truncated';

    const body: EndpointsObj = {
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { name: req.name, namespace: ns, labels, ...(Object.keys(annotations).length ? { annotations } : {}) },
      subsets,
    };
    if (!current) {
      await this.opts.client.create(endpointsRef, body);
      return;
    }
    const same =
      JSON.stringify(current.subsets ?? []) === JSON.stringify(subsets) &&
      JSON.stringify(current.metadata.labels ?? {}) === JSON.stringify(labels) &&
      (current.metadata.annotations?.[OVER_CAPACITY_ANNOTATION] ?? '') === (annotations[OVER_CAPACITY_ANNOTATION] ?? '');
    if (same) return;
    const next = structuredClone(current);
    next.subsets = subsets;
    next.metadata.labels = labels;
    const ann = { ...(next.metadata.annotations ?? {}) };
    delete ann[OVER_CAPACITY_ANNOTATION];
    next.metadata.annotations = { ...ann, ...annotations };
    // resourceVersion from the cache: a conflict means a newer state exists; the runner retries.
    await this.opts.client.update(endpointsRef, next);
  }
}
