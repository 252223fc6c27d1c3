// Service rules as iptables-restore input: a pure function of the desired state (and of which of our
// chains and jumps already exist), so a sync is one atomic `iptables-restore --noflush` and the
// generated text can be checked against golden files.
//
// The shape follows kube-proxy's iptables mode: a SERVICES chain matches cluster IPs and jumps to
// one SVC chain per service port, which picks an endpoint chain (SEP) with `statistic` rules of
// probability 1/n, 1/(n-1), ... so every endpoint gets an equal share; the SEP chain DNATs.
// Declaring a chain in iptables-restore input flushes it, so every sync rewrites all our chains
// in full inside one transaction, and leaves every other chain of the host alone.
import { isIPv4 } from 'node:net';
import { chainNames } from './naming.ts';
import type { ChainNames } from './naming.ts';

export type ProxyProtocol = 'TCP' | 'UDP' | 'SCTP';

export interface ProxyEndpoint {
  ip: string;
  port: number;
  /** Only ready endpoints receive traffic. */
  ready: boolean;
}

/** One port of one Service (kube-proxy's ServicePortName), with the endpoints for that port. */
export interface ProxyServicePort {
  namespace: string;
  name: string;
  /** The port's name; '' for an unnamed port. */
  portName: string;
  protocol: ProxyProtocol;
  /** Cluster IPs; IPv4 ones are programmed (ip6tables is not done yet). Empty for headless. */
  clusterIPs: string[];
  port: number;
  nodePort?: number;
  externalIPs?: string[];
  loadBalancerIPs?: string[];
  /** sessionAffinity: ClientIP with this timeout (spec default 10800 s); absent means None. */
  sessionAffinityTimeoutSeconds?: number;
  endpoints: ProxyEndpoint[];
}

export interface ProxyState {
  /** The cluster's tag, from clusterTag(clusterName). */
  tag: string;
  podCIDR: string;
  serviceCIDR: string;
  /**
   * The host's default-route interface. Packets to the pod or service CIDR leaving through it have
   * missed every DNAT and would leak cluster addresses onto the host's network, so they are dropped.
   * Without it no egress guard is written.
   */
  egressInterface?: string;
  /** Ranges the egress guard covers; defaults to [podCIDR, serviceCIDR]. */
  egressGuardCIDRs?: string[];
  /** The packet-mark bit that asks for MASQUERADE in POSTROUTING (kube-proxy uses 0x4000 too). */
  masqueradeMark?: number;
  services: ProxyServicePort[];
}

export type TableName = 'nat' | 'filter' | 'mangle';
const TABLES: TableName[] = ['filter', 'nat', 'mangle'];

/** What our chains and jumps look like in the kernel now (from parseIptablesSave). */
export interface ExistingRules {
  /** Chains whose name starts with our tag, per table. */
  chains: Record<TableName, Set<string>>;
  /** Rules outside our chains that jump into them: table → "BUILTIN→TARGET" keys, and their exact text. */
  jumps: Record<TableName, Array<{ chain: string; target: string; rule: string }>>;
}

export function emptyExisting(): ExistingRules {
  return {
    chains: { nat: new Set(), filter: new Set(), mangle: new Set() },
    jumps: { nat: [], filter: [], mangle: [] },
  };
}

/** Read `iptables-save` output and pick out what belongs to the cluster with this tag. */
export function parseIptablesSave(text: string, tag: string): ExistingRules {
  const out = emptyExisting();
  const prefix = tag + '-';
  let table: TableName | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('*')) {
      const name = line.slice(1).trim();
      table = (TABLES as string[]).includes(name) ? (name as TableName) : undefined;
      continue;
    }
    if (!table) continue;
    if (line.startsWith(':')) {
      const chain = line.slice(1).split(' ')[0] ?? '';
      if (chain.startsWith(prefix)) out.chains[table].add(chain);
      continue;
    }
    if (!line.startsWith('-A ')) continue;
    const chain = line.split(' ')[1] ?? '';
    if (chain.startsWith(prefix)) continue;
    const target = /\s-[jg]\s+(\S+)/.exec(line)?.[1];
    if (target?.startsWith(prefix)) out.jumps[table].push({ chain, target, rule: line.slice(3) });
  }
  return out;
}

/** kube-proxy prints statistic probabilities with ten decimals; so do we (stable golden text). */
export function probability(remaining: number): string {
  return (1 / remaining).toFixed(10);
}

function hostCidr(ip: string): string {
  return `${ip}/32`;
}

function protoMatch(p: ProxyProtocol, port: number): string {
  const proto = p.toLowerCase();
  return `-p ${proto} -m ${proto} --dport ${port}`;
}

function comment(text: string): string {
  // Quotes and backslashes would end the comment early in restore input.
  return `-m comment --comment "${text.replace(/["\\]/g, '')}"`;
}

function servicePortKey(sp: ProxyServicePort): string {
  return `${sp.namespace}/${sp.name}:${sp.portName}/${sp.protocol}`;
}

function displayName(sp: ProxyServicePort): string {
  return sp.portName ? `${sp.namespace}/${sp.name}:${sp.portName}` : `${sp.namespace}/${sp.name}`;
}

interface JumpSpec {
  table: TableName;
  chain: string;
  target: string;
  /** Match part of the rule (before -j). */
  match: string;
}

function jumpSpecs(names: ChainNames): JumpSpec[] {
  const c = (what: string) => comment(`nanokube ${names.tag} ${what}`);
  const newOnly = '-m conntrack --ctstate NEW';
  return [
    { table: 'nat', chain: 'PREROUTING', target: names.services, match: c('service portals') },
    { table: 'nat', chain: 'OUTPUT', target: names.services, match: c('service portals') },
    { table: 'nat', chain: 'POSTROUTING', target: names.postrouting, match: c('postrouting rules') },
    { table: 'filter', chain: 'OUTPUT', target: names.services, match: `${newOnly} ${c('services without endpoints')}` },
    { table: 'filter', chain: 'FORWARD', target: names.services, match: `${newOnly} ${c('services without endpoints')}` },
    { table: 'filter', chain: 'INPUT', target: names.external, match: `${newOnly} ${c('node ports without endpoints')}` },
    { table: 'mangle', chain: 'POSTROUTING', target: names.egress, match: c('egress guard') },
  ];
}

/** Rules grouped by chain, written in the order chains were declared (readable diffs and goldens). */
class TableText {
  readonly chains: string[] = [];
  private readonly byChain = new Map<string, string[]>();
  chain(name: string): this {
    if (!this.byChain.has(name)) {
      this.chains.push(name);
      this.byChain.set(name, []);
    }
    return this;
  }
  add(chain: string, rule: string): void {
    this.chain(chain);
    this.byChain.get(chain)!.push(`-A ${chain} ${rule}`);
  }
  get rules(): string[] {
    return this.chains.flatMap((c) => this.byChain.get(c) ?? []);
  }
}

/**
 * The iptables-restore input (for `--noflush`) that makes our chains exactly match `state`.
 * `existing` says which of our chains and jumps are already there: jumps are inserted only when
 * missing (so re-syncing never duplicates them) and chains we no longer need are deleted.
 */
export function buildRules(state: ProxyState, existing: ExistingRules = emptyExisting()): string {
  const names = chainNames(state.tag);
  const mark = `0x${(state.masqueradeMark ?? 0x4000).toString(16)}`;
  const nat = new TableText();
  const filter = new TableText();
  const mangle = new TableText();

  nat.chain(names.services).chain(names.nodePorts).chain(names.postrouting).chain(names.markMasq);
  filter.chain(names.services).chain(names.external);
  mangle.chain(names.egress);

  // Marked packets are masqueraded on the way out; the mark is cleared first so that a packet
  // re-entering the stack (e.g. through a bridge) is not masqueraded twice.
  nat.add(names.postrouting, `-m mark ! --mark ${mark}/${mark} -j RETURN`);
  nat.add(names.postrouting, `-j MARK --xor-mark ${mark}`);
  nat.add(names.postrouting, `${comment('service traffic requiring SNAT')} -j MASQUERADE`);
  nat.add(names.markMasq, `-j MARK --or-mark ${mark}`);

  const services = [...state.services].sort((a, b) => servicePortKey(a).localeCompare(servicePortKey(b)));
  let anyNodePort = false;
  for (const sp of services) {
    const key = servicePortKey(sp);
    const shown = displayName(sp);
    const match = (port: number) => protoMatch(sp.protocol, port);
    const clusterIPs = sp.clusterIPs.filter((ip) => isIPv4(ip));
    const externalIPs = [...(sp.externalIPs ?? []), ...(sp.loadBalancerIPs ?? [])].filter((ip) => isIPv4(ip));
    // Sorted so that the same endpoint set always yields the same rules (no churn, stable affinity).
    const ready = sp.endpoints
      .filter((ep) => ep.ready && isIPv4(ep.ip))
      .sort((a, b) => a.ip.localeCompare(b.ip, 'en', { numeric: true }) || a.port - b.port);

    if (ready.length === 0) {
      // No endpoints: refuse at once rather than let the SYN time out.
      const reject = `${comment(`${shown} has no endpoints`)} -j REJECT --reject-with icmp-port-unreachable`;
      for (const ip of [...clusterIPs, ...externalIPs]) filter.add(names.services, `-d ${hostCidr(ip)} ${match(sp.port)} ${reject}`);
      if (sp.nodePort) filter.add(names.external, `-m addrtype --dst-type LOCAL ${match(sp.nodePort)} ${reject}`);
      continue;
    }

    const svcChain = names.servicePort(key);
    nat.chain(svcChain);
    for (const ip of clusterIPs) {
      nat.add(names.services, `-d ${hostCidr(ip)} ${match(sp.port)} ${comment(`${shown} cluster IP`)} -j ${svcChain}`);
      // Traffic from the host (not from a pod) is masqueraded so replies come back through us.
      nat.add(svcChain, `! -s ${state.podCIDR} -d ${hostCidr(ip)} ${match(sp.port)} ${comment(`${shown} cluster IP`)} -j ${names.markMasq}`);
    }
    if (externalIPs.length > 0 || sp.nodePort) {
      const extChain = names.externalEntry(key);
      nat.chain(extChain);
      // Traffic arriving from outside is masqueraded: the endpoint must answer through us.
      nat.add(extChain, `${comment(`masquerade traffic for ${shown} external destinations`)} -j ${names.markMasq}`);
      nat.add(extChain, `-j ${svcChain}`);
      for (const ip of externalIPs) {
        nat.add(names.services, `-d ${hostCidr(ip)} ${match(sp.port)} ${comment(`${shown} external IP`)} -j ${extChain}`);
      }
      if (sp.nodePort) {
        anyNodePort = true;
        nat.add(names.nodePorts, `${match(sp.nodePort)} ${comment(`${shown} node port`)} -j ${extChain}`);
      }
    }

    const endpointChains = ready.map((ep) => names.endpoint(`${key}/${ep.ip}:${ep.port}`));
    const affinity = sp.sessionAffinityTimeoutSeconds;
    if (affinity !== undefined) {
      // A client seen recently goes back to the endpoint it used (the recent list is named after
      // the endpoint chain, which the DNAT rule below records the client in).
      ready.forEach((_, i) => {
        const sep = endpointChains[i]!;
        nat.add(svcChain, `${comment(`${shown} affinity`)} -m recent --name ${sep} --rcheck --seconds ${affinity} --reap -j ${sep}`);
      });
    }
    ready.forEach((ep, i) => {
      const sep = endpointChains[i]!;
      nat.chain(sep);
      const remaining = ready.length - i;
      const pick = remaining > 1 ? `-m statistic --mode random --probability ${probability(remaining)} ` : '';
      nat.add(svcChain, `${comment(`${shown} -> ${ep.ip}:${ep.port}`)} ${pick}-j ${sep}`);
      // Hairpin: a pod reaching itself through the service must see the reply come from the
      // service, so its own packets are masqueraded.
      nat.add(sep, `-s ${hostCidr(ep.ip)} ${comment(shown)} -j ${names.markMasq}`);
      const recent = affinity !== undefined ? ` -m recent --name ${sep} --set` : '';
      nat.add(sep, `-p ${sp.protocol.toLowerCase()} ${comment(shown)}${recent} -j DNAT --to-destination ${ep.ip}:${ep.port}`);
    });
  }
  if (anyNodePort) {
    // Last in SERVICES, so cluster IPs match first (kube-proxy's order).
    nat.add(names.services, `${comment('node ports; must be last')} -m addrtype --dst-type LOCAL -j ${names.nodePorts}`);
  }

  if (state.egressInterface) {
    // mangle POSTROUTING sees the packet after the nat OUTPUT DNAT and its re-route: a packet that
    // still has a cluster destination here and leaves by the default route missed every service
    // rule. (filter OUTPUT would be wrong: it runs before the re-route and would drop host →
    // ClusterIP traffic that is about to be sent to a pod.)
    for (const cidr of state.egressGuardCIDRs ?? [state.podCIDR, state.serviceCIDR]) {
      mangle.add(names.egress, `-o ${state.egressInterface} -d ${cidr} ${comment('cluster address leaving by the default route')} -j DROP`);
    }
  }

  const jumps = jumpSpecs(names);
  const out: string[] = [];
  for (const [table, text] of [
    ['filter', filter],
    ['nat', nat],
    ['mangle', mangle],
  ] as const) {
    out.push(`*${table}`);
    const stale = [...existing.chains[table]].filter((c) => !text.chains.includes(c)).sort();
    // Declaring a chain flushes it (or creates it). Stale chains are flushed too, then deleted below.
    for (const c of [...text.chains, ...stale]) out.push(`:${c} - [0:0]`);
    for (const j of jumps) {
      if (j.table !== table) continue;
      const present = existing.jumps[table].some((e) => e.chain === j.chain && e.target === j.target);
      if (!present) out.push(`-I ${j.chain} 1 ${j.match} -j ${j.target}`);
    }
    out.push(...text.rules);
    for (const c of stale) out.push(`-X ${c}`);
    out.push('COMMIT');
  }
  return out.join('\n') + '\n';
}

/** iptables-restore input (for `--noflush`) that deletes every jump into our chains, then the chains. */
export function buildRemoval(existing: ExistingRules): string | undefined {
  const out: string[] = [];
  for (const table of TABLES) {
    const chains = [...existing.chains[table]].sort();
    const jumps = existing.jumps[table];
    if (chains.length === 0 && jumps.length === 0) continue;
    out.push(`*${table}`);
    for (const c of chains) out.push(`:${c} - [0:0]`);
    for (const j of jumps) out.push(`-D ${j.rule}`);
    for (const c of chains) out.push(`-X ${c}`);
    out.push('COMMIT');
  }
  return out.length ? out.join('\n') + '\n' : undefined;
}
