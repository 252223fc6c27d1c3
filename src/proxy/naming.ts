// Names of the iptables chains a cluster owns. Every name starts with the cluster's tag
// (NK-XXXXXX, from a hash of the cluster name), so two clusters on one host never touch each
// other's chains and `delete` can find everything that is ours by prefix.
import { createHash } from 'node:crypto';

/** iptables rejects chain names longer than this (XT_EXTENSION_MAXNAMELEN 29, minus the NUL). */
export const MAX_CHAIN_NAME = 28;

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

function base32(bytes: Uint8Array): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1;
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

function hashOf(text: string, length: number): string {
  return base32(createHash('sha256').update(text).digest()).slice(0, length);
}

/** `NK-` plus 6 base32 characters of the cluster name's hash: 9 characters. */
export function clusterTag(clusterName: string): string {
  return 'NK-' + hashOf(clusterName, 6);
}

export function isClusterTag(tag: string): boolean {
  return /^NK-[A-Z2-7]{6}$/.test(tag);
}

export interface ChainNames {
  tag: string;
  /** nat: entry from PREROUTING and OUTPUT; filter: REJECT for services without endpoints. */
  services: string;
  /** nat: NodePorts, reached for packets addressed to a local address. */
  nodePorts: string;
  /** nat: the MASQUERADE of marked packets, from POSTROUTING. */
  postrouting: string;
  /** nat: sets the masquerade mark. */
  markMasq: string;
  /** filter: REJECT for NodePorts without endpoints, from INPUT. */
  external: string;
  /** mangle: the egress guard, from POSTROUTING. */
  egress: string;
  /** nat: one per service port. */
  servicePort(key: string): string;
  /** nat: one per service port and endpoint. */
  endpoint(key: string): string;
  /** nat: external entry (NodePort, external and load-balancer IPs) of a service port. */
  externalEntry(key: string): string;
}

export function chainNames(tag: string): ChainNames {
  if (!isClusterTag(tag)) throw new Error(`not a cluster tag: ${JSON.stringify(tag)} (expected NK- and 6 base32 characters)`);
  // tag (9) + '-' + 'SVC-' (4) leaves 14 characters of hash within 28.
  const hashed = (kind: string, key: string) => `${tag}-${kind}-${hashOf(`${tag}/${key}`, MAX_CHAIN_NAME - tag.length - kind.length - 2)}`;
  return {
    tag,
    services: `${tag}-SERVICES`,
    nodePorts: `${tag}-NODEPORTS`,
    postrouting: `${tag}-POSTROUTING`,
    markMasq: `${tag}-MARK-MASQ`,
    external: `${tag}-EXTERNAL`,
    egress: `${tag}-EGRESS`,
    servicePort: (key) => hashed('SVC', key),
    endpoint: (key) => hashed('SEP', key),
    externalEntry: (key) => hashed('EXT', key),
  };
}
