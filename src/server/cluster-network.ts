// Each cluster's address ranges: pods (a /16, this node's /24 inside it) and services (a /16).
// The first cluster on a host gets k3s' defaults (10.42/16 pods, 10.43/16 services); another
// cluster running at the same time gets the next free pair, so two clusters never share a bridge
// subnet or a ClusterIP and their iptables rules never claim each other's traffic. The choice is
// made once, at the first start, and kept in <data>/network.json so restarts keep every IP.
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { dockerHttpTarget } from '../runtime/docker/connect.ts';
import { writeFileAtomic } from '../util/fs.ts';

export interface ClusterNetwork {
  /** All pods of the cluster, e.g. 10.42.0.0/16. */
  clusterCIDR: string;
  /** This (the server's) node's pods, e.g. 10.42.0.0/24; extra nodes get 10.42.N.0/24. */
  nodePodCIDR: string;
  serviceCIDR: string;
  /** The `kubernetes` Service: first address of the service range. */
  kubernetesServiceIP: string;
  /** kube-dns: the tenth address, as upstream's convention. */
  dnsServiceIP: string;
}

/** Label on the cluster's Docker network so other clusters see which service range it holds. */
export const serviceCidrLabel = 'nanokube.service-cidr';
export const clusterCidrLabel = 'nanokube.cluster-cidr';

const candidates = 30;

export function clusterNetworkFor(index: number): ClusterNetwork {
  const podOctet = 42 + 2 * index;
  const svcOctet = podOctet + 1;
  return {
    clusterCIDR: `10.${podOctet}.0.0/16`,
    nodePodCIDR: `10.${podOctet}.0.0/24`,
    serviceCIDR: `10.${svcOctet}.0.0/16`,
    kubernetesServiceIP: `10.${svcOctet}.0.1`,
    dnsServiceIP: `10.${svcOctet}.0.10`,
  };
}

function ipToInt(ip: string): number {
  const o = ip.split('.').map(Number);
  return (((o[0] ?? 0) << 24) | ((o[1] ?? 0) << 16) | ((o[2] ?? 0) << 8) | (o[3] ?? 0)) >>> 0;
}

function range(cidr: string): [number, number] {
  const [base, bits] = cidr.split('/');
  const prefix = Number(bits);
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  const start = (ipToInt(base ?? '0.0.0.0') & mask) >>> 0;
  return [start, start + 2 ** (32 - prefix) - 1];
}

export function cidrsOverlap(a: string, b: string): boolean {
  const [a0, a1] = range(a);
  const [b0, b1] = range(b);
  return a0 <= b1 && b0 <= a1;
}

/** Subnets already in use on this host: Docker networks (and the service ranges other clusters record on theirs) and host interfaces. */
export async function usedSubnets(env: NodeJS.ProcessEnv = process.env): Promise<string[]> {
  const used: string[] = [];
  for (const addrs of Object.values(os.networkInterfaces())) {
    for (const a of addrs ?? []) if (a.family === 'IPv4' && !a.internal && a.cidr) used.push(a.cidr);
  }
  const networks = await dockerGet<Array<{ IPAM?: { Config?: Array<{ Subnet?: string }> }; Labels?: Record<string, string> }>>('/networks', env);
  for (const n of networks) {
    for (const c of n.IPAM?.Config ?? []) if (c.Subnet && c.Subnet.includes('.')) used.push(c.Subnet);
    const svc = n.Labels?.[serviceCidrLabel];
    const pods = n.Labels?.[clusterCidrLabel];
    if (svc) used.push(svc);
    if (pods) used.push(pods);
  }
  return used;
}

/** The first free pair at or after candidate `from`, with its index. */
export function chooseClusterNetwork(used: readonly string[], from = 0): { index: number; net: ClusterNetwork } | undefined {
  for (let index = from; index < candidates; index++) {
    const net = clusterNetworkFor(index);
    if (!used.some((u) => cidrsOverlap(u, net.clusterCIDR) || cidrsOverlap(u, net.serviceCIDR))) return { index, net };
  }
  return undefined;
}

function networkFile(dataDir: string): string {
  return path.join(dataDir, 'network.json');
}

export function readClusterNetwork(dataDir: string): ClusterNetwork | undefined {
  try {
    return JSON.parse(fs.readFileSync(networkFile(dataDir), 'utf8')) as ClusterNetwork;
  } catch {
    return undefined;
  }
}

/**
 * The cluster's ranges: the recorded ones, or a free pair claimed by creating the cluster's Docker
 * bridge network now (two clusters starting at once: Docker refuses the second overlapping subnet,
 * and that one moves on to the next pair).
 */
export async function ensureClusterNetwork(opts: { cluster: string; dataDir: string; useDocker: boolean; env?: NodeJS.ProcessEnv }): Promise<ClusterNetwork> {
  const recorded = readClusterNetwork(opts.dataDir);
  if (recorded) return recorded;
  if (!opts.useDocker) {
    const net = clusterNetworkFor(0);
    writeFileAtomic(networkFile(opts.dataDir), JSON.stringify(net, null, 2) + '\n', 0o600);
    return net;
  }
  const used = await usedSubnets(opts.env);
  let from = 0;
  for (let attempt = 0; attempt < candidates; attempt++) {
    const choice = chooseClusterNetwork(used, from);
    if (!choice) break;
    const { net } = choice;
    const created = await createBridge(opts.cluster, net, opts.env);
    if (created === 'ok') {
      writeFileAtomic(networkFile(opts.dataDir), JSON.stringify(net, null, 2) + '\n', 0o600);
      return net;
    }
    if (created === 'exists') {
      throw new Error(`Docker network nanokube-${opts.cluster} already exists but ${networkFile(opts.dataDir)} is missing; remove it with "docker network rm nanokube-${opts.cluster}" or "nanokube delete --name ${opts.cluster}"`);
    }
    // Taken by a cluster that started at the same moment: try the next pair.
    from = choice.index + 1;
  }
  throw new Error('no free address range for the cluster network (10.42.0.0/16 to 10.101.0.0/16 are all in use); delete unused clusters or Docker networks');
}

/** The node bridge's own address: the first of its /24 (where DNS and the pods' route to the API live). */
export function gatewayOf(nodePodCIDR: string): string {
  return nodePodCIDR.replace(/\.0\/24$/, '.1');
}

async function createBridge(cluster: string, net: ClusterNetwork, env?: NodeJS.ProcessEnv): Promise<'ok' | 'overlap' | 'exists'> {
  const gateway = gatewayOf(net.nodePodCIDR);
  const body = JSON.stringify({
    Name: `nanokube-${cluster}`,
    Driver: 'bridge',
    CheckDuplicate: true,
    IPAM: { Driver: 'default', Config: [{ Subnet: net.nodePodCIDR, Gateway: gateway }] },
    Labels: { 'nanokube.cluster': cluster, [serviceCidrLabel]: net.serviceCIDR, [clusterCidrLabel]: net.clusterCIDR },
  });
  const { status, text } = await dockerRequest('POST', '/networks/create', body, env);
  if (status === 201 || status === 200) return 'ok';
  if (status === 409) return 'exists';
  if (/overlap/i.test(text)) return 'overlap';
  throw new Error(`Docker refused to create network nanokube-${cluster}: HTTP ${status} ${text.trim()}`);
}

function dockerRequest(method: string, urlPath: string, body: string | undefined, env?: NodeJS.ProcessEnv): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { ...dockerHttpTarget(env), path: urlPath, method, timeout: 15_000, headers: body ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : {} },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`Docker did not answer ${method} ${urlPath} within 15 s`)));
    req.on('error', reject);
    req.end(body);
  });
}

async function dockerGet<T>(urlPath: string, env?: NodeJS.ProcessEnv): Promise<T> {
  const { status, text } = await dockerRequest('GET', urlPath, undefined, env);
  if (status !== 200) throw new Error(`Docker GET ${urlPath}: HTTP ${status} ${text.trim()}`);
  return JSON.parse(text) as T;
}
