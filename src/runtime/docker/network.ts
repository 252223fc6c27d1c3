// The cluster's pod network: one Docker bridge per cluster with the node's pod CIDR, so the
// kubelet can give every sandbox a fixed IP and the host can reach pods directly.
import type Docker from 'dockerode';
import type { NetworkConfig, NetworkInfo } from '../types.ts';
import { L } from './labels.ts';
import { statusOf } from './streams.ts';

export function networkName(cluster: string): string {
  return `nanokube-${cluster}`;
}

/** First usable address of an IPv4 CIDR: the bridge's own address, by our convention. */
export function firstAddress(cidr: string): string {
  const [base, bits] = cidr.split('/');
  const octets = (base ?? '').split('.').map(Number);
  const prefix = Number(bits);
  if (octets.length !== 4 || octets.some((o) => !(o >= 0 && o <= 255)) || !(prefix >= 0 && prefix <= 30)) {
    throw new Error(`invalid IPv4 CIDR "${cidr}"`);
  }
  const n = ((octets[0]! << 24) | (octets[1]! << 16) | (octets[2]! << 8) | octets[3]!) >>> 0;
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  const first = ((n & mask) >>> 0) + 1;
  return [first >>> 24, (first >>> 16) & 0xff, (first >>> 8) & 0xff, first & 0xff].join('.');
}

function describe(net: Docker.NetworkInspectInfo): NetworkInfo {
  const ipam = net.IPAM?.Config?.[0] ?? {};
  return {
    name: net.Name,
    id: net.Id,
    cidr: ipam.Subnet ?? '',
    gateway: ipam.Gateway ?? '',
    bridge: net.Options?.['com.docker.network.bridge.name'] ?? `br-${net.Id.slice(0, 12)}`,
  };
}

export async function ensureNetwork(docker: Docker, cluster: string, labels: Record<string, string>, config: NetworkConfig): Promise<NetworkInfo> {
  const name = networkName(cluster);
  const gateway = config.gateway ?? firstAddress(config.cidr);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const info = describe((await docker.getNetwork(name).inspect()) as Docker.NetworkInspectInfo);
      if (info.cidr !== config.cidr || info.gateway !== gateway) {
        throw new Error(
          `Docker network ${name} exists with subnet ${info.cidr} gateway ${info.gateway}, not ${config.cidr} gateway ${gateway}; ` +
            `remove it (docker network rm ${name}) or delete the cluster`,
        );
      }
      return info;
    } catch (err) {
      if (statusOf(err) !== 404) throw err;
    }
    try {
      await docker.createNetwork({
        Name: name,
        Driver: 'bridge',
        CheckDuplicate: true,
        IPAM: { Driver: 'default', Config: [{ Subnet: config.cidr, Gateway: gateway }] },
        Labels: { ...labels, [L.cluster]: cluster },
      });
    } catch (err) {
      // Another caller created it meanwhile: inspect again.
      if (statusOf(err) !== 409) throw err;
    }
  }
  throw new Error(`Docker network ${name} could not be created`);
}

export async function removeNetwork(docker: Docker, cluster: string): Promise<void> {
  try {
    await docker.getNetwork(networkName(cluster)).remove();
  } catch (err) {
    if (statusOf(err) !== 404) throw err;
  }
}
