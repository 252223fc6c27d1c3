// The cluster DNS record set: a model a controller fills from Services/EndpointSlices/Pods, compiled
// into a name index, and the pure lookup that answers one question from it (Kubernetes DNS spec 1.1.0,
// with CoreDNS' kubernetes-plugin choices where the spec leaves room).
import { isIPv4, isIPv6 } from 'node:net';

export type DnsProtocol = 'TCP' | 'UDP' | 'SCTP';

export interface DnsServicePort {
  name?: string;
  port: number;
  protocol?: DnsProtocol;
}

export interface DnsService {
  namespace: string;
  name: string;
  type?: 'ClusterIP' | 'NodePort' | 'LoadBalancer' | 'ExternalName';
  /** spec.clusterIPs; empty or ['None'] means headless. */
  clusterIPs?: string[];
  externalName?: string;
  ports?: DnsServicePort[];
  publishNotReadyAddresses?: boolean;
}

/** One endpoint of a service, flattened from an EndpointSlice (ports = the slice's ports). */
export interface DnsEndpoint {
  namespace: string;
  serviceName: string;
  addresses: string[];
  hostname?: string;
  ready: boolean;
  ports?: DnsServicePort[];
}

export interface DnsPod {
  namespace: string;
  ips: string[];
}

export interface DnsSnapshot {
  services: DnsService[];
  endpoints: DnsEndpoint[];
  pods?: DnsPod[];
}

/** CoreDNS' `pods` option: k3s and kubeadm ship `pods insecure`. */
export type PodRecordMode = 'disabled' | 'insecure' | 'verified';

export interface RecordOptions {
  domain?: string;
  ttl?: number;
  podMode?: PodRecordMode;
  /** Address that `ns.dns.<domain>` (the NS target) resolves to, normally the kube-dns ClusterIP. */
  dnsServiceIP?: string;
}

export interface SrvRecord {
  priority: number;
  weight: number;
  port: number;
  target: string;
}

export interface RR {
  name: string;
  type: 'A' | 'AAAA' | 'CNAME' | 'SRV' | 'PTR' | 'SOA' | 'NS' | 'TXT';
  ttl: number;
  data: unknown;
}

export type LookupResult =
  | {
      kind: 'answer';
      rcode: 'NOERROR' | 'NXDOMAIN';
      answers: RR[];
      authorities: RR[];
      additionals: RR[];
      /** An ExternalName CNAME whose target the server still has to resolve (in-zone or upstream). */
      chase?: string;
    }
  | { kind: 'forward' };

interface NameNode {
  a: string[];
  aaaa: string[];
  srv: SrvRecord[];
  /** On a service name: the SRV records of all its named ports, for SRV asked of the bare name. */
  srvAll: SrvRecord[];
  cname?: string;
  txt: string[];
  ns: string[];
}

export const DEFAULT_DOMAIN = 'cluster.local';
/** CoreDNS' kubernetes plugin default TTL (its README: "The default is 5 seconds"). */
export const DEFAULT_TTL = 5;

function emptyNode(): NameNode {
  return { a: [], aaaa: [], srv: [], srvAll: [], txt: [], ns: [] };
}

export function normalizeName(name: string): string {
  let n = name.toLowerCase();
  while (n.endsWith('.')) n = n.slice(0, -1);
  return n;
}

/** 10.42.0.5 → 10-42-0-5; fd00::1 → fd00--1 (the form used in pod and endpoint names). */
export function dashedIP(ip: string): string {
  return ip.replace(/[.:]/g, '-');
}

function ipFromDashed(label: string): { ip: string; family: 4 | 6 } | undefined {
  const v4 = label.replace(/-/g, '.');
  if (isIPv4(v4)) return { ip: v4, family: 4 };
  const v6 = label.replace(/-/g, ':');
  if (isIPv6(v6)) return { ip: v6, family: 6 };
  return undefined;
}

/** The in-addr.arpa / ip6.arpa owner name for an address (no trailing dot). */
export function reverseName(ip: string): string | undefined {
  if (isIPv4(ip)) return ip.split('.').reverse().join('.') + '.in-addr.arpa';
  if (!isIPv6(ip)) return undefined;
  const [head = '', tail] = ip.split('::');
  const groups = (s: string) => (s ? s.split(':') : []);
  const h = groups(head);
  const t = tail === undefined ? [] : groups(tail);
  const missing = 8 - h.length - t.length;
  const all = [...h, ...Array<string>(tail === undefined ? 0 : missing).fill('0'), ...t];
  const nibbles = all.map((g) => g.padStart(4, '0')).join('');
  return nibbles.split('').reverse().join('.') + '.ip6.arpa';
}

function isHeadless(svc: DnsService): boolean {
  const ips = svc.clusterIPs ?? [];
  return ips.length === 0 || ips[0] === 'None';
}

function protoLabel(p: DnsProtocol | undefined): string {
  return '_' + (p ?? 'TCP').toLowerCase();
}

/** A compiled, immutable view of one snapshot: every owner name (lower case) → its records. */
export class CompiledZone {
  readonly names = new Map<string, NameNode>();
  readonly reverse = new Map<string, string[]>();
  readonly podIPs = new Set<string>(); // "ns/ip" for verified pod mode

  constructor(
    readonly domain: string,
    snapshot: DnsSnapshot,
    dnsServiceIP: string | undefined,
  ) {
    this.node(domain).ns.push(`ns.dns.${domain}`);
    this.node(`dns-version.${domain}`).txt.push('1.1.0');
    if (dnsServiceIP) this.addAddress(this.node(`ns.dns.${domain}`), dnsServiceIP);
    this.node(`svc.${domain}`);
    this.node(`pod.${domain}`);

    const endpointsBySvc = new Map<string, DnsEndpoint[]>();
    for (const ep of snapshot.endpoints) {
      const key = `${ep.namespace}/${ep.serviceName}`;
      let list = endpointsBySvc.get(key);
      if (!list) endpointsBySvc.set(key, (list = []));
      list.push(ep);
    }
    for (const svc of snapshot.services) this.addService(svc, endpointsBySvc.get(`${svc.namespace}/${svc.name}`) ?? []);
    for (const pod of snapshot.pods ?? []) for (const ip of pod.ips) this.podIPs.add(`${pod.namespace}/${ip}`);
  }

  /** Get or create the node for a name, creating its ancestors as empty non-terminals (they answer NODATA). */
  private node(name: string): NameNode {
    const lower = name.toLowerCase();
    let n = this.names.get(lower);
    if (n) return n;
    n = emptyNode();
    this.names.set(lower, n);
    const dot = lower.indexOf('.');
    if (dot > 0 && lower.endsWith('.' + this.domain)) {
      this.node(lower.slice(dot + 1));
    }
    return n;
  }

  private addAddress(n: NameNode, ip: string): void {
    if (isIPv4(ip)) n.a.push(ip);
    else if (isIPv6(ip)) n.aaaa.push(ip);
  }

  private addPtr(ip: string, target: string): void {
    const r = reverseName(ip);
    if (!r) return;
    const list = this.reverse.get(r);
    if (!list) this.reverse.set(r, [target]);
    else if (!list.includes(target)) list.push(target);
  }

  private addService(svc: DnsService, endpoints: DnsEndpoint[]): void {
    const svcName = `${svc.name}.${svc.namespace}.svc.${this.domain}`.toLowerCase();
    const svcNode = this.node(svcName);
    if (svc.type === 'ExternalName') {
      if (svc.externalName) svcNode.cname = normalizeName(svc.externalName);
      return;
    }
    const namedPorts = (svc.ports ?? []).filter((p) => p.name);
    if (!isHeadless(svc)) {
      for (const ip of svc.clusterIPs ?? []) {
        this.addAddress(svcNode, ip);
        this.addPtr(ip, svcName);
      }
      for (const p of namedPorts) {
        const srvName = `_${p.name}.${protoLabel(p.protocol)}.${svcName}`.toLowerCase();
        const record = { priority: 0, weight: 100, port: p.port, target: svcName };
        this.node(srvName).srv.push(record);
        svcNode.srvAll.push(record);
      }
      return;
    }
    // Headless: the service name lists the endpoints themselves; each endpoint also gets its own
    // name (hostname, else dashed IP), and SRV targets point at those per-endpoint names.
    const visible = endpoints.filter((ep) => ep.ready || svc.publishNotReadyAddresses);
    const srvByName = new Map<string, SrvRecord[]>();
    for (const ep of visible) {
      for (const ip of ep.addresses) {
        const label = ep.hostname ? ep.hostname.toLowerCase() : dashedIP(ip);
        const epName = `${label}.${svcName}`;
        this.addAddress(svcNode, ip);
        this.addAddress(this.node(epName), ip);
        this.addPtr(ip, epName);
        for (const p of ep.ports ?? []) {
          if (!p.name) continue;
          const srvName = `_${p.name}.${protoLabel(p.protocol)}.${svcName}`.toLowerCase();
          let list = srvByName.get(srvName);
          if (!list) srvByName.set(srvName, (list = []));
          if (!list.some((r) => r.target === epName && r.port === p.port)) {
            list.push({ priority: 0, weight: 0, port: p.port, target: epName });
          }
        }
      }
    }
    for (const [srvName, list] of srvByName) {
      this.node(srvName).srv.push(...list);
      svcNode.srvAll.push(...list);
    }
  }

  isPod(namespace: string, ip: string): boolean {
    return this.podIPs.has(`${namespace}/${ip}`);
  }
}

function srvWeights(records: SrvRecord[]): SrvRecord[] {
  // CoreDNS spreads a weight of 100 over the records of one priority: floor(100 / n) each.
  const weight = Math.floor(100 / Math.max(records.length, 1));
  return records.map((r) => ({ ...r, weight }));
}

export class DnsRecords {
  readonly domain: string;
  readonly ttl: number;
  readonly podMode: PodRecordMode;
  private dnsServiceIP: string | undefined;
  private snapshot: DnsSnapshot = { services: [], endpoints: [], pods: [] };
  private compiled: CompiledZone | undefined;
  /** SOA serial: seconds since the epoch of the last change, as CoreDNS does. */
  private serial = Math.floor(Date.now() / 1000);

  constructor(opts: RecordOptions = {}) {
    this.domain = normalizeName(opts.domain ?? DEFAULT_DOMAIN);
    this.ttl = Math.max(0, Math.min(3600, opts.ttl ?? DEFAULT_TTL));
    this.podMode = opts.podMode ?? 'insecure';
    this.dnsServiceIP = opts.dnsServiceIP;
  }

  /** Replace everything at once. Compilation is lazy, so a burst of updates costs one rebuild. */
  update(snapshot: DnsSnapshot): void {
    this.snapshot = { services: snapshot.services, endpoints: snapshot.endpoints, pods: snapshot.pods ?? [] };
    this.changed();
  }

  setServices(services: DnsService[]): void {
    this.snapshot = { ...this.snapshot, services };
    this.changed();
  }

  setEndpoints(endpoints: DnsEndpoint[]): void {
    this.snapshot = { ...this.snapshot, endpoints };
    this.changed();
  }

  setPods(pods: DnsPod[]): void {
    this.snapshot = { ...this.snapshot, pods };
    this.changed();
  }

  setDnsServiceIP(ip: string | undefined): void {
    this.dnsServiceIP = ip;
    this.changed();
  }

  private changed(): void {
    this.compiled = undefined;
    this.serial = Math.max(this.serial + 1, Math.floor(Date.now() / 1000)) >>> 0;
  }

  zone(): CompiledZone {
    if (!this.compiled) this.compiled = new CompiledZone(this.domain, this.snapshot, this.dnsServiceIP);
    return this.compiled;
  }

  /** True for names this server answers itself (the cluster domain); everything else is forwarded. */
  isAuthoritativeFor(name: string): boolean {
    const n = normalizeName(name);
    return n === this.domain || n.endsWith('.' + this.domain);
  }

  soa(): RR {
    return {
      name: this.domain,
      type: 'SOA',
      ttl: this.ttl,
      data: {
        mname: `ns.dns.${this.domain}`,
        rname: `hostmaster.${this.domain}`,
        serial: this.serial,
        refresh: 7200,
        retry: 1800,
        expire: 86400,
        minimum: this.ttl,
      },
    };
  }

  /**
   * Answer one question. `qname` keeps the asker's spelling in the owner names of the answer
   * (DNS names are case-insensitive, and some resolvers check the echo of their 0x20 mixing).
   */
  lookup(qname: string, qtype: string): LookupResult {
    const name = normalizeName(qname);
    const owner = qname.endsWith('.') ? qname.slice(0, -1) : qname;
    const type = qtype.toUpperCase();
    const zone = this.zone();

    if (name.endsWith('.in-addr.arpa') || name.endsWith('.ip6.arpa')) {
      const targets = zone.reverse.get(name);
      // Unknown addresses fall through to upstream, like `fallthrough in-addr.arpa ip6.arpa`.
      if (!targets) return { kind: 'forward' };
      if (type !== 'PTR' && type !== 'ANY') return this.noData();
      return this.reply(targets.map((t) => ({ name: owner, type: 'PTR', ttl: this.ttl, data: t })));
    }
    if (!this.isAuthoritativeFor(name)) return { kind: 'forward' };

    const podSuffix = `.pod.${this.domain}`;
    if (name.endsWith(podSuffix)) return this.lookupPod(name.slice(0, -podSuffix.length), owner, type);

    const node = zone.names.get(name);
    if (!node) return this.nxdomain();

    if (node.cname) {
      const cname: RR = { name: owner, type: 'CNAME', ttl: this.ttl, data: node.cname };
      if (type === 'CNAME') return this.reply([cname]);
      return { ...this.reply([cname]), chase: node.cname };
    }

    const answers: RR[] = [];
    const additionals: RR[] = [];
    const want = (t: string) => type === t || type === 'ANY';
    if (want('A')) for (const ip of node.a) answers.push({ name: owner, type: 'A', ttl: this.ttl, data: ip });
    if (want('AAAA')) for (const ip of node.aaaa) answers.push({ name: owner, type: 'AAAA', ttl: this.ttl, data: ip });
    if (want('TXT')) for (const t of node.txt) answers.push({ name: owner, type: 'TXT', ttl: this.ttl, data: t });
    if (want('NS')) for (const t of node.ns) answers.push({ name: owner, type: 'NS', ttl: this.ttl, data: t });
    if (want('SOA') && name === this.domain) answers.push({ ...this.soa(), name: owner });
    if (want('SRV')) {
      // A bare service name asked for SRV lists every named port (CoreDNS treats the missing
      // _port._proto labels as wildcards).
      const srv = node.srv.length ? node.srv : node.srvAll;
      for (const r of srvWeights(srv)) {
        answers.push({ name: owner, type: 'SRV', ttl: this.ttl, data: { ...r } });
        const target = zone.names.get(r.target);
        if (target) {
          for (const ip of target.a) additionals.push({ name: r.target, type: 'A', ttl: this.ttl, data: ip });
          for (const ip of target.aaaa) additionals.push({ name: r.target, type: 'AAAA', ttl: this.ttl, data: ip });
        }
      }
    }
    if (answers.length === 0) return this.noData();
    return { kind: 'answer', rcode: 'NOERROR', answers, authorities: [], additionals };
  }

  private lookupPod(prefix: string, owner: string, type: string): LookupResult {
    if (this.podMode === 'disabled') return this.nxdomain();
    const labels = prefix.split('.');
    if (labels.length !== 2) return this.nxdomain();
    const [ipLabel = '', namespace = ''] = labels;
    const parsed = ipFromDashed(ipLabel);
    if (!parsed) return this.nxdomain();
    if (this.podMode === 'verified' && !this.zone().isPod(namespace, parsed.ip)) return this.nxdomain();
    const rrType = parsed.family === 4 ? 'A' : 'AAAA';
    if (type !== rrType && type !== 'ANY') return this.noData();
    return this.reply([{ name: owner, type: rrType, ttl: this.ttl, data: parsed.ip }]);
  }

  private reply(answers: RR[]): LookupResult & { kind: 'answer' } {
    return { kind: 'answer', rcode: 'NOERROR', answers, authorities: [], additionals: [] };
  }

  private noData(): LookupResult {
    return { kind: 'answer', rcode: 'NOERROR', answers: [], authorities: [this.soa()], additionals: [] };
  }

  private nxdomain(): LookupResult {
    return { kind: 'answer', rcode: 'NXDOMAIN', answers: [], authorities: [this.soa()], additionals: [] };
  }
}
