// EndpointSlice mirroring controller: Services without a selector have Endpoints written by hand
// (or by us, for `kubernetes` and kube-dns); consumers of EndpointSlices (proxy, DNS) need them as
// slices too. Each subset becomes slices (≤100 endpoints), not-ready addresses with ready=false, at
// most 1000 addresses mirrored; Endpoints labelled skip-mirror are left alone.
import type { Endpoint as SliceEndpoint, EndpointPort } from 'kubernetes-types/discovery/v1.js';
import type { EndpointAddress } from 'kubernetes-types/core/v1.js';
import type { Client } from '../client/types.ts';
import type { SharedInformers } from '../client/shared-informers.ts';
import type { Informer } from '../client/informer.ts';
import type { Reconciler, Request, Result } from '../controller/runner.ts';
import {
  endpointSlicesRef,
  endpointsRef,
  LABEL_MANAGED_BY,
  LABEL_SERVICE_NAME,
  LABEL_SKIP_MIRROR,
  MANAGED_BY_MIRRORING,
  MAX_ENDPOINTS_ADDRESSES,
  portsKey,
  servicesRef,
  SliceTracker,
  writeSlices,
  type DesiredGroup,
  type EndpointsObj,
  type SliceObj,
  type SvcObj,
} from './endpoint-model.ts';

export class EndpointSliceMirroringController implements Reconciler {
  readonly name = 'endpointslicemirroring';
  readonly services: Informer<SvcObj>;
  readonly endpoints: Informer<EndpointsObj>;
  readonly slices: Informer<SliceObj>;
  private readonly tracker: SliceTracker;

  constructor(private readonly opts: { client: Client; informers: SharedInformers; maxEndpointsPerSlice?: number }) {
    this.services = opts.informers.informerFor<SvcObj>(servicesRef);
    this.endpoints = opts.informers.informerFor<EndpointsObj>(endpointsRef);
    this.slices = opts.informers.informerFor<SliceObj>(endpointSlicesRef);
    this.tracker = new SliceTracker(this.slices);
  }

  watch(enqueue: (req: Request) => void): void {
    const key = (o: { metadata: { namespace?: string; name?: string } }) => enqueue({ namespace: o.metadata.namespace!, name: o.metadata.name! });
    this.services.addHandlers({ onAdd: key, onUpdate: (_o, n) => key(n), onDelete: key });
    this.endpoints.addHandlers({ onAdd: key, onUpdate: (_o, n) => key(n), onDelete: key });
    const forSlice = (s: SliceObj) => {
      if (s.metadata.labels?.[LABEL_MANAGED_BY] !== MANAGED_BY_MIRRORING) return;
      const svc = s.metadata.labels[LABEL_SERVICE_NAME];
      if (svc) enqueue({ namespace: s.metadata.namespace!, name: svc });
    };
    this.slices.addHandlers({ onUpdate: (_o, n) => forSlice(n), onDelete: forSlice });
  }

  async reconcile(req: Request): Promise<Result | void> {
    const ns = req.namespace!;
    const k = `${ns}/${req.name}`;
    if (!this.tracker.caughtUp(k)) return { requeueAfterMs: 20 };
    const svc = this.services.get(req.name, ns);
    const eps = this.endpoints.get(req.name, ns);
    const mirror = svc && eps && (!svc.spec?.selector || Object.keys(svc.spec.selector).length === 0) && eps.metadata.labels?.[LABEL_SKIP_MIRROR] !== 'true';
    const base = { client: this.opts.client, slices: this.slices, serviceName: req.name, namespace: ns, managedBy: MANAGED_BY_MIRRORING, tracker: this.tracker };
    if (!mirror) {
      await writeSlices({ ...base, owner: eps ?? { metadata: {} }, labels: {}, groups: [] });
      return;
    }
    const groups = new Map<string, DesiredGroup>();
    let budget = MAX_ENDPOINTS_ADDRESSES;
    for (const subset of eps.subsets ?? []) {
      const ports: EndpointPort[] = (subset.ports ?? []).map((p) => ({ name: p.name ?? '', port: p.port, protocol: p.protocol ?? 'TCP', ...(p.appProtocol ? { appProtocol: p.appProtocol } : {}) }));
      const key = portsKey(ports);
      let g = groups.get(key);
      if (!g) groups.set(key, (g = { ports, endpoints: [] }));
      const add = (a: EndpointAddress, ready: boolean) => {
        if (budget <= 0) return;
        budget--;
        const ep: SliceEndpoint = { addresses: [a.ip], conditions: { ready } };
        if (a.hostname) ep.hostname = a.hostname;
        if (a.nodeName) ep.nodeName = a.nodeName;
        if (a.targetRef) ep.targetRef = a.targetRef;
        g!.endpoints.push(ep);
      };
      for (const a of subset.addresses ?? []) add(a, true);
      for (const a of subset.notReadyAddresses ?? []) add(a, false);
    }
    const labels: Record<string, string> = { ...(eps.metadata.labels ?? {}) };
    delete labels[LABEL_SERVICE_NAME];
    delete labels[LABEL_MANAGED_BY];
    await writeSlices({
      ...base,
      owner: eps,
      labels,
      groups: [...groups.values()],
      ownerReference: { apiVersion: 'v1', kind: 'Endpoints', name: eps.metadata.name!, uid: eps.metadata.uid!, controller: true, blockOwnerDeletion: true },
      ...(this.opts.maxEndpointsPerSlice ? { maxPerSlice: this.opts.maxEndpointsPerSlice } : {}),
    });
  }
}
