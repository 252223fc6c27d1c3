// Services + EndpointSlices (from informers) → the proxy's desired state. Pure, so it is tested
// without iptables and the proxy component only has to call it on each sync.
import type { ProxyEndpoint, ProxyProtocol, ProxyServicePort, ProxyState } from '../proxy/index.ts';
import { LABEL_SERVICE_NAME, type SliceObj, type SvcObj } from './endpoint-model.ts';

export interface ProxyStateInput {
  tag: string;
  podCIDR: string;
  serviceCIDR: string;
  egressInterface?: string;
  services: readonly SvcObj[];
  slices: readonly SliceObj[];
}

const proto = (p: string | undefined): ProxyProtocol => (p === 'UDP' || p === 'SCTP' ? p : 'TCP');

export function buildProxyState(input: ProxyStateInput): ProxyState {
  // Slices by service, once: the per-service lookup is then O(its slices), not O(all slices).
  const slicesBySvc = new Map<string, SliceObj[]>();
  for (const s of input.slices) {
    const name = s.metadata.labels?.[LABEL_SERVICE_NAME];
    if (!name || s.addressType !== 'IPv4') continue;
    const key = `${s.metadata.namespace}/${name}`;
    const list = slicesBySvc.get(key);
    if (list) list.push(s);
    else slicesBySvc.set(key, [s]);
  }
  const services: ProxyServicePort[] = [];
  for (const svc of input.services) {
    const spec = svc.spec;
    if (!spec || spec.type === 'ExternalName') continue;
    const ns = svc.metadata.namespace!;
    const name = svc.metadata.name!;
    const clusterIPs = (spec.clusterIPs ?? (spec.clusterIP ? [spec.clusterIP] : [])).filter((ip) => ip !== 'None' && ip !== '');
    const lbIPs = (svc.status?.loadBalancer?.ingress ?? []).map((i) => i.ip).filter((ip): ip is string => !!ip);
    const slices = slicesBySvc.get(`${ns}/${name}`) ?? [];
    for (const sp of spec.ports ?? []) {
      const portName = sp.name ?? '';
      const protocol = proto(sp.protocol);
      const endpoints: ProxyEndpoint[] = [];
      const seen = new Set<string>();
      for (const slice of slices) {
        const port = (slice.ports ?? []).find((p) => (p.name ?? '') === portName && proto(p.protocol) === protocol);
        if (port?.port === undefined) continue;
        for (const ep of slice.endpoints ?? []) {
          const ip = ep.addresses[0];
          if (!ip) continue;
          // One pod can appear in two slices for a moment while the controller moves it.
          const k = `${ip}:${port.port}`;
          if (seen.has(k)) continue;
          seen.add(k);
          endpoints.push({ ip, port: port.port, ready: ep.conditions?.ready !== false });
        }
      }
      if (clusterIPs.length === 0 && !sp.nodePort) continue; // headless: DNS only
      const out: ProxyServicePort = { namespace: ns, name, portName, protocol, clusterIPs, port: sp.port, endpoints };
      if (sp.nodePort) out.nodePort = sp.nodePort;
      if (spec.externalIPs?.length) out.externalIPs = spec.externalIPs;
      if (lbIPs.length) out.loadBalancerIPs = lbIPs;
      if (spec.sessionAffinity === 'ClientIP') out.sessionAffinityTimeoutSeconds = spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? 10800;
      services.push(out);
    }
  }
  const state: ProxyState = { tag: input.tag, podCIDR: input.podCIDR, serviceCIDR: input.serviceCIDR, services };
  if (input.egressInterface) state.egressInterface = input.egressInterface;
  return state;
}
