// A minimal DNS client over UDP or TCP: readiness checks of the cluster DNS, and tests.
import { randomInt } from 'node:crypto';
import dnsPacket from 'dns-packet';
import type { Packet, Answer } from 'dns-packet';
import { exchangeTcp, exchangeUdp } from './forwarder.ts';

export interface DnsQuery {
  host: string;
  port: number;
  name: string;
  type?: string;
  tcp?: boolean;
  /** Send an EDNS0 OPT record advertising this UDP buffer size. */
  ednsUdpSize?: number;
  recursionDesired?: boolean;
  timeoutMs?: number;
}

export function buildQuery(q: Omit<DnsQuery, 'host' | 'port' | 'tcp' | 'timeoutMs'>, id = randomInt(0, 65536)): Buffer {
  const additionals: Answer[] = q.ednsUdpSize ? [{ type: 'OPT', name: '.', udpPayloadSize: q.ednsUdpSize, flags: 0 }] : [];
  return dnsPacket.encode({
    id,
    type: 'query',
    flags: q.recursionDesired === false ? 0 : dnsPacket.RECURSION_DESIRED,
    questions: [{ name: q.name, type: q.type ?? 'A', class: 'IN' }],
    additionals,
  });
}

export async function queryDns(q: DnsQuery): Promise<Packet> {
  const id = randomInt(0, 65536);
  const raw = buildQuery(q, id);
  const exchange = q.tcp ? exchangeTcp : exchangeUdp;
  const response = await exchange({ host: q.host, port: q.port }, raw, id, q.timeoutMs ?? 2000);
  return dnsPacket.decode(response);
}
