// EndpointSlice controller: for every Service with a selector, slices (≤100 endpoints each, one
// set per distinct port mapping) listing the selected pods with ready/serving/terminating, the
// pod as targetRef, its node and zone, and its hostname when the pod's subdomain names the Service.
import type { EndpointConditions, Endpoint as SliceEndpoint, EndpointPort } from 'kubernetes-types/discovery/v1.js';
import type { Client, KubeObject } from '../client/types.ts';
import type { SharedInformers } from '../client/shared-informers.ts';
import type { Informer } from '../client/informer.ts';
import type { Reconciler, Request, Result } from '../controller/runner.ts';
import {
  compareIPs,
  endpointSlicesRef,
  isHeadless,
  LABEL_HEADLESS,
  LABEL_MANAGED_BY,
  LABEL_SERVICE_NAME,
  MANAGED_BY_CONTROLLER,
  nodesRef,
  ownerRef,
  podHostname,
  podPorts,
  podReady,
  podsRef,
  podUsable,
  portsKey,
  enqueueServicesForPods,
  selects,
  servicesRef,
  writeSlices,
  SliceTracker,
  type DesiredGroup,
  type PodObj,
  type SliceObj,
  type SvcObj,
} from './endpoint-model.ts';

export interface EndpointSliceControllerOptions {
  client: Client;
  informers: SharedInformers;
  maxEndpointsPerSlice?: number;
}

export class EndpointSliceController implements Reconciler {
  readonly name = 'endpointslice';
  readonly services: Informer<SvcObj>;
  readonly pods: Informer<PodObj>;
  readonly slices: Informer<SliceObj>;
  readonly nodes: Informer<KubeObject>;
  private readonly tracker: SliceTracker;

  constructor(private readonly opts: EndpointSliceControllerOptions) {
    this.services = opts.informers.informerFor<SvcObj>(servicesRef);
    this.pods = opts.informers.informerFor<PodObj>(podsRef);
    this.slices = opts.informers.informerFor<SliceObj>(endpointSlicesRef);
    this.nodes = opts.informers.informerFor(nodesRef);
    this.tracker = new SliceTracker(this.slices);
  }

  /** Wire informer events to `enqueue` (the runner's). */
  watch(enqueue: (req: Request) => void): void {
    enqueueServicesForPods(this.services, this.pods, enqueue);
    // Someone else changed or deleted one of our slices: put it back.
    const forSlice = (s: SliceObj) => {
      if (s.metadata.labels?.[LABEL_MANAGED_BY] !== MANAGED_BY_CONTROLLER) return;
      const svc = s.metadata.labels[LABEL_SERVICE_NAME];
      if (svc) enqueue({ namespace: s.metadata.namespace!, name: svc });
    };
    this.slices.addHandlers({ onUpdate: (_o, n) => forSlice(n), onDelete: forSlice });
  }

  async reconcile(req: Request): Promise<Result | void> {
    const ns = req.namespace!;
    if (!this.tracker.caughtUp(`${ns}/${req.name}`)) return { requeueAfterMs: 20 };
    const svc = this.services.get(req.name, ns);
    const ours = svc && svc.spec?.selector && Object.keys(svc.spec.selector).length > 0 && svc.spec.type !== 'ExternalName' && !svc.metadata.deletionTimestamp;
    if (!svc || !ours) {
      // No selector (mirroring's job), ExternalName or gone: no slices of ours. A deleted Service's
      // slices also go by owner reference; deleting here is just faster.
      await writeSlices({ client: this.opts.client, slices: this.slices, owner: svc ?? { metadata: {} }, serviceName: req.name, namespace: ns, managedBy: MANAGED_BY_CONTROLLER, labels: {}, groups: [], tracker: this.tracker });
      return;
    }
    const groups = new Map<string, DesiredGroup>();
    const publishNotReady = svc.spec?.publishNotReadyAddresses === true;
    for (const pod of this.pods.list((p) => p.metadata.namespace === ns && selects(svc.spec?.selector, p.metadata.labels))) {
      if (!podUsable(pod)) continue;
      const ports = podPorts(svc, pod);
      if (!ports) continue;
      const ready = podReady(pod);
      const terminating = !!pod.metadata.deletionTimestamp;
      const conditions: EndpointConditions = {
        // Upstream: ready never true while terminating; publishNotReadyAddresses forces it.
        ready: publishNotReady || (ready && !terminating),
        serving: ready,
        terminating,
      };
      const ep: SliceEndpoint = {
        addresses: [pod.status!.podIP!],
        conditions,
        targetRef: { kind: 'Pod', namespace: ns, name: pod.metadata.name!, uid: pod.metadata.uid! },
      };
      const hostname = podHostname(svc, pod);
      if (hostname) ep.hostname = hostname;
      const nodeName = pod.spec?.nodeName;
      if (nodeName) {
        ep.nodeName = nodeName;
        const zone = this.nodes.get(nodeName)?.metadata.labels?.['topology.kubernetes.io/zone'];
        if (zone) ep.zone = zone;
      }
      const key = portsKey(ports);
      let g = groups.get(key);
      if (!g) groups.set(key, (g = { ports, endpoints: [] }));
      g.endpoints.push(ep);
    }
    for (const g of groups.values()) g.endpoints.sort((a, b) => compareIPs(a.addresses[0]!, b.addresses[0]!));
    // With no endpoints upstream keeps one empty placeholder slice.
    const desired = groups.size > 0 ? [...groups.values()] : [{ ports: [] as EndpointPort[], endpoints: [] }];
    const labels: Record<string, string> = { ...(svc.metadata.labels ?? {}) };
    delete labels[LABEL_SERVICE_NAME];
    delete labels[LABEL_MANAGED_BY];
    if (isHeadless(svc)) labels[LABEL_HEADLESS] = '';
    await writeSlices({
      client: this.opts.client,
      slices: this.slices,
      owner: svc,
      serviceName: req.name,
      namespace: ns,
      managedBy: MANAGED_BY_CONTROLLER,
      labels,
      groups: desired,
      ownerReference: ownerRef(svc),
      tracker: this.tracker,
      ...(this.opts.maxEndpointsPerSlice ? { maxPerSlice: this.opts.maxEndpointsPerSlice } : {}),
    });
  }
}
