// Turn API objects (Services, EndpointSlices, Pods) into the DNS record model, so the controller
// that will feed the server only has to list from its informers and call records.update().
import type { Service, Pod } from 'kubernetes-types/core/v1.d.ts';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.d.ts';
import type { DnsSnapshot, DnsService, DnsEndpoint, DnsProtocol, DnsServicePort } from './records.ts';

const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

function protocol(p: string | undefined): DnsProtocol {
  return p === 'UDP' || p === 'SCTP' ? p : 'TCP';
}

export function snapshotFromKubernetes(services: Service[], slices: EndpointSlice[], pods: Pod[] = []): DnsSnapshot {
  const dnsServices: DnsService[] = [];
  for (const svc of services) {
    const namespace = svc.metadata?.namespace;
    const name = svc.metadata?.name;
    if (!namespace || !name) continue;
    const spec = svc.spec ?? {};
    const clusterIPs = spec.clusterIPs ?? (spec.clusterIP ? [spec.clusterIP] : []);
    const entry: DnsService = {
      namespace,
      name,
      type: (spec.type as DnsService['type']) ?? 'ClusterIP',
      clusterIPs,
      ports: (spec.ports ?? []).map((p) => ({ ...(p.name ? { name: p.name } : {}), port: p.port, protocol: protocol(p.protocol) })),
      publishNotReadyAddresses: spec.publishNotReadyAddresses ?? false,
    };
    if (spec.externalName) entry.externalName = spec.externalName;
    dnsServices.push(entry);
  }

  const endpoints: DnsEndpoint[] = [];
  for (const slice of slices) {
    const namespace = slice.metadata?.namespace;
    const serviceName = slice.metadata?.labels?.[SERVICE_NAME_LABEL];
    if (!namespace || !serviceName) continue;
    if (slice.addressType !== 'IPv4' && slice.addressType !== 'IPv6') continue;
    const ports: DnsServicePort[] = (slice.ports ?? [])
      .filter((p) => p.port !== undefined)
      .map((p) => ({ ...(p.name ? { name: p.name } : {}), port: p.port!, protocol: protocol(p.protocol) }));
    for (const ep of slice.endpoints) {
      // A nil ready condition means ready (EndpointSlice API contract).
      const entry: DnsEndpoint = { namespace, serviceName, addresses: ep.addresses, ready: ep.conditions?.ready !== false, ports };
      if (ep.hostname) entry.hostname = ep.hostname;
      endpoints.push(entry);
    }
  }

  const dnsPods = pods
    .filter((p) => p.metadata?.namespace && (p.status?.podIPs?.length || p.status?.podIP))
    .map((p) => ({
      namespace: p.metadata!.namespace!,
      ips: (p.status?.podIPs?.map((x) => x.ip) ?? [p.status?.podIP]).filter((ip): ip is string => !!ip),
    }));

  return { services: dnsServices, endpoints, pods: dnsPods };
}
