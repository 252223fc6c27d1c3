// The two Services every cluster has: `kubernetes` (default, 10.43.0.1:443 → the API server) and
// kube-dns (kube-system, 10.43.0.10:53 → our DNS server on the bridge gateway). Neither has a
// selector: their Endpoints are written here, and the mirroring controller makes the slices.
import type { Client } from '../client/types.ts';
import { isAlreadyExists, isNotFound } from '../client/types.ts';
import { endpointsRef, servicesRef, type EndpointsObj, type SvcObj } from './endpoint-model.ts';

export const KUBERNETES_SERVICE_IP = '10.43.0.1';
export const DNS_SERVICE_IP = '10.43.0.10';

async function ensureService(client: Client, svc: SvcObj): Promise<SvcObj> {
  try {
    return await client.get<SvcObj>(servicesRef, svc.metadata.name!, svc.metadata.namespace);
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
  try {
    return await client.create(servicesRef, svc);
  } catch (e) {
    if (!isAlreadyExists(e)) throw e;
    return client.get<SvcObj>(servicesRef, svc.metadata.name!, svc.metadata.namespace);
  }
}

/** Create or correct Endpoints so they hold exactly `subsets` (the server's address can change between starts). */
export async function ensureEndpoints(client: Client, namespace: string, name: string, subsets: EndpointsObj['subsets'], labels: Record<string, string> = {}): Promise<void> {
  for (let attempt = 0; attempt < 5; attempt++) {
    let cur: EndpointsObj | undefined;
    try {
      cur = await client.get<EndpointsObj>(endpointsRef, name, namespace);
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    try {
      if (!cur) {
        await client.create<EndpointsObj>(endpointsRef, { apiVersion: 'v1', kind: 'Endpoints', metadata: { name, namespace, labels }, subsets });
        return;
      }
      if (JSON.stringify(cur.subsets ?? []) === JSON.stringify(subsets ?? [])) return;
      await client.update(endpointsRef, { ...cur, subsets });
      return;
    } catch (e) {
      // A concurrent writer: read again (bounded).
      if (attempt === 4) throw e;
    }
  }
}

export async function ensureKubernetesService(client: Client, apiHost: string, apiPort: number, serviceIP = KUBERNETES_SERVICE_IP): Promise<void> {
  await ensureService(client, {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'kubernetes', namespace: 'default', labels: { component: 'apiserver', provider: 'kubernetes' } },
    spec: { type: 'ClusterIP', clusterIP: serviceIP, ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: apiPort }] },
  });
  await ensureEndpoints(client, 'default', 'kubernetes', [{ addresses: [{ ip: apiHost }], ports: [{ name: 'https', port: apiPort, protocol: 'TCP' }] }]);
}

export async function ensureDnsService(client: Client, dnsHost: string, dnsPort = 53, serviceIP = DNS_SERVICE_IP): Promise<void> {
  await ensureService(client, {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'kube-dns', namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns', 'kubernetes.io/cluster-service': 'true', 'kubernetes.io/name': 'CoreDNS' } },
    spec: {
      type: 'ClusterIP',
      clusterIP: serviceIP,
      ports: [
        { name: 'dns', port: 53, protocol: 'UDP', targetPort: dnsPort },
        { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: dnsPort },
        { name: 'metrics', port: 9153, protocol: 'TCP', targetPort: 9153 },
      ],
    },
  });
  await ensureEndpoints(client, 'kube-system', 'kube-dns', [
    {
      addresses: [{ ip: dnsHost }],
      ports: [
        { name: 'dns', port: dnsPort, protocol: 'UDP' },
        { name: 'dns-tcp', port: dnsPort, protocol: 'TCP' },
      ],
    },
  ]);
}
