// ClusterIP and NodePort allocation for Services, run inside the API at create/update time (as
// upstream's Service REST storage does), so a Service is stored with its addresses already set
// and two Services can never be stored with one IP or one node port.
//
// State is in memory and is a cache of what the store holds: rebuilt from the stored Services at
// start, then kept current from the store's watch (which is also how deletes release addresses,
// the registry having no delete hook). An allocation made during a request is "tentative" until
// the watch shows the stored Service carrying it; a tentative one that never shows up (dry run,
// a create that lost a race, a write that failed) is dropped after `tentativeTtlMs`.
import { isIPv4 } from 'node:net';
import type { FieldError } from '../api/status.ts';
import { fieldInvalid } from '../api/status.ts';
import type { KubeObject } from '../api/meta.ts';
import { cidrContains, intToIp, ipToInt, parseCidr, type Cidr } from './ip.ts';

export const DEFAULT_SERVICE_CIDR = '10.43.0.0/16';
export const DEFAULT_NODE_PORT_RANGE = { min: 30000, max: 32767 };

export interface AllocatorOptions {
  serviceCIDR?: string;
  nodePortRange?: { min: number; max: number };
  tentativeTtlMs?: number;
  now?: () => number;
}

interface Holder {
  owner: string;
  confirmed: boolean;
  at: number;
}

/** A table of keys (IP ints or port numbers) held by Service uids. */
class Holdings {
  readonly byKey = new Map<number, Holder>();
  readonly byOwner = new Map<string, Set<number>>();

  holder(key: number): Holder | undefined {
    return this.byKey.get(key);
  }
  take(key: number, owner: string, confirmed: boolean, at: number): void {
    const prev = this.byKey.get(key);
    if (prev && prev.owner !== owner) this.byOwner.get(prev.owner)?.delete(key);
    this.byKey.set(key, { owner, confirmed: confirmed || (prev?.owner === owner && prev.confirmed), at });
    let s = this.byOwner.get(owner);
    if (!s) this.byOwner.set(owner, (s = new Set()));
    s.add(key);
  }
  release(key: number): void {
    const h = this.byKey.get(key);
    if (!h) return;
    this.byKey.delete(key);
    const s = this.byOwner.get(h.owner);
    s?.delete(key);
    if (s && s.size === 0) this.byOwner.delete(h.owner);
  }
  /** Make the owner's confirmed keys exactly `keys`; its tentative keys stay (an update may be in flight). */
  confirm(owner: string, keys: number[], at: number, onConflict: (key: number, other: string) => void): void {
    const want = new Set(keys);
    for (const k of [...(this.byOwner.get(owner) ?? [])]) {
      const h = this.byKey.get(k)!;
      if (h.confirmed && !want.has(k)) this.release(k);
    }
    for (const k of want) {
      const h = this.byKey.get(k);
      if (h && h.owner !== owner && h.confirmed) {
        onConflict(k, h.owner);
        continue;
      }
      this.take(k, owner, true, at);
    }
  }
  releaseOwner(owner: string): void {
    for (const k of [...(this.byOwner.get(owner) ?? [])]) this.release(k);
  }
  expire(before: number): void {
    for (const [k, h] of this.byKey) if (!h.confirmed && h.at < before) this.release(k);
  }
  get size(): number {
    return this.byKey.size;
  }
}

type Obj = Record<string, unknown>;
const objOf = (v: unknown): Obj => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});
const arrOf = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

function wantsClusterIP(spec: Obj): boolean {
  return spec.type !== 'ExternalName' && spec.clusterIP !== 'None';
}

function wantsNodePorts(spec: Obj): boolean {
  return spec.type === 'NodePort' || (spec.type === 'LoadBalancer' && spec.allocateLoadBalancerNodePorts !== false);
}

export class ServiceAllocator {
  readonly range: Cidr;
  readonly nodePorts: { min: number; max: number };
  private readonly ips = new Holdings();
  private readonly ports = new Holdings();
  private readonly ttl: number;
  private readonly now: () => number;
  /** Dynamic addresses come from above this offset first, leaving the low band for chosen ones (upstream's rule). */
  private readonly staticBand: number;
  private ipCursor: number;
  private portCursor: number;
  /** Conflicting stored Services seen while rebuilding (logged by the caller). */
  readonly conflicts: string[] = [];

  constructor(opts: AllocatorOptions = {}) {
    this.range = parseCidr(opts.serviceCIDR ?? DEFAULT_SERVICE_CIDR);
    this.nodePorts = opts.nodePortRange ?? DEFAULT_NODE_PORT_RANGE;
    this.ttl = opts.tentativeTtlMs ?? 60_000;
    this.now = opts.now ?? Date.now;
    this.staticBand = Math.min(Math.max(16, Math.floor(this.range.size / 16)), 256);
    this.ipCursor = this.staticBand;
    this.portCursor = this.nodePorts.min;
  }

  // ---- admission (called from the Service ResourceDef hooks; errors become a 422)

  /** Fill in and reserve the ClusterIP and node ports of a Service being created. */
  admitCreate(svc: KubeObject): FieldError[] {
    this.expire();
    const owner = String(svc.metadata?.uid ?? '');
    const spec = objOf(svc.spec);
    const errs: FieldError[] = [];
    const taken: Array<() => void> = [];
    if (wantsClusterIP(spec)) this.assignClusterIP(spec, owner, errs, taken);
    else if (spec.type === 'ExternalName') {
      delete spec.clusterIP;
      delete spec.clusterIPs;
    } else spec.clusterIPs = ['None'];
    if (errs.length === 0) this.assignNodePorts(spec, owner, undefined, errs, taken);
    // All or nothing: a Service refused for one field keeps nothing it reserved for another.
    if (errs.length > 0) for (const undo of taken) undo();
    return errs;
  }

  /** Node ports for an updated Service (its ClusterIP is immutable; a type change may add ports). */
  admitUpdate(svc: KubeObject, old: KubeObject): FieldError[] {
    this.expire();
    const owner = String(svc.metadata?.uid ?? old.metadata?.uid ?? '');
    const spec = objOf(svc.spec);
    const oldSpec = objOf(old.spec);
    const errs: FieldError[] = [];
    const taken: Array<() => void> = [];
    if (wantsClusterIP(spec) && !spec.clusterIP) this.assignClusterIP(spec, owner, errs, taken); // ExternalName → ClusterIP
    if (!wantsNodePorts(spec)) {
      // Upstream drops node ports when a Service stops needing them (NodePort → ClusterIP).
      for (const p of arrOf(spec.ports)) delete objOf(p).nodePort;
    } else if (errs.length === 0) this.assignNodePorts(spec, owner, oldSpec, errs, taken);
    if (errs.length > 0) for (const undo of taken) undo();
    return errs;
  }

  private assignClusterIP(spec: Obj, owner: string, errs: FieldError[], taken: Array<() => void>): void {
    const asked = typeof spec.clusterIP === 'string' && spec.clusterIP !== '' ? spec.clusterIP : (arrOf(spec.clusterIPs)[0] as string | undefined);
    if (asked) {
      if (!isIPv4(asked)) {
        errs.push(fieldInvalid('spec.clusterIPs[0]', asked, 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)'));
        return;
      }
      const shown = [asked];
      if (!cidrContains(this.range, asked) || ipToInt(asked) === this.range.base || ipToInt(asked) === this.range.base + this.range.size - 1) {
        errs.push(fieldInvalid('spec.clusterIPs', shown, `failed to allocate IP ${asked}: the provided IP (${asked}) is not in the valid range. The range of valid IPs is ${this.range.cidr}`));
        return;
      }
      const n = ipToInt(asked);
      const h = this.ips.holder(n);
      if (h && h.owner !== owner) {
        errs.push(fieldInvalid('spec.clusterIPs', shown, `failed to allocate IP ${asked}: provided IP is already allocated`));
        return;
      }
      this.ips.take(n, owner, false, this.now());
      taken.push(() => this.ips.release(n));
      spec.clusterIP = asked;
      spec.clusterIPs = [asked];
      return;
    }
    const n = this.nextFreeIP();
    if (n === undefined) {
      errs.push({ type: 'InternalError', field: 'spec.clusterIPs', detail: `failed to allocate a serviceIP: range is full (${this.range.cidr})` } as FieldError);
      return;
    }
    this.ips.take(n, owner, false, this.now());
    taken.push(() => this.ips.release(n));
    spec.clusterIP = intToIp(n);
    spec.clusterIPs = [intToIp(n)];
  }

  private nextFreeIP(): number | undefined {
    // Usable offsets are 1 .. size-2; dynamic ones prefer [staticBand, size-2], then the low band.
    const last = this.range.size - 2;
    const upper = last - this.staticBand + 1;
    for (let i = 0; i < upper; i++) {
      const off = this.staticBand + ((this.ipCursor - this.staticBand + i) % upper);
      if (!this.ips.holder(this.range.base + off)) {
        this.ipCursor = off + 1 > last ? this.staticBand : off + 1;
        return this.range.base + off;
      }
    }
    for (let off = 1; off < this.staticBand; off++) if (!this.ips.holder(this.range.base + off)) return this.range.base + off;
    return undefined;
  }

  private assignNodePorts(spec: Obj, owner: string, oldSpec: Obj | undefined, errs: FieldError[], taken: Array<() => void>): void {
    if (!wantsNodePorts(spec)) return;
    const ports = arrOf(spec.ports).map(objOf);
    // A port number used by this Service for one protocol may serve the other too (TCP+UDP on 53).
    const mine = new Set<number>(this.ports.byOwner.get(owner) ?? []);
    const oldPorts = new Set(arrOf(oldSpec?.ports).map((p) => objOf(p).nodePort).filter((v): v is number => typeof v === 'number'));
    ports.forEach((p, i) => {
      if (p.nodePort === undefined || p.nodePort === 0) return;
      const np = p.nodePort;
      const path = `spec.ports[${i}].nodePort`;
      if (typeof np !== 'number' || np < this.nodePorts.min || np > this.nodePorts.max) {
        errs.push(fieldInvalid(path, np, `provided port is not in the valid range. The range of valid ports is ${this.nodePorts.min}-${this.nodePorts.max}`));
        return;
      }
      const h = this.ports.holder(np);
      if (h && h.owner !== owner) {
        errs.push(fieldInvalid(path, np, 'provided port is already allocated'));
        return;
      }
      if (!mine.has(np) && !oldPorts.has(np)) {
        this.ports.take(np, owner, false, this.now());
        taken.push(() => this.ports.release(np));
      }
      mine.add(np);
    });
    if (errs.length > 0) return;
    const chosenHere = new Map<number, number>(); // service port → node port given to its first protocol
    for (const p of ports) {
      if (typeof p.nodePort === 'number' && p.nodePort !== 0) {
        if (typeof p.port === 'number') chosenHere.set(p.port, p.nodePort);
        continue;
      }
      const same = typeof p.port === 'number' ? chosenHere.get(p.port) : undefined;
      if (same !== undefined) {
        p.nodePort = same;
        continue;
      }
      const np = this.nextFreePort();
      if (np === undefined) {
        errs.push({ type: 'InternalError', field: 'spec.ports', detail: `failed to allocate a nodePort: range is full (${this.nodePorts.min}-${this.nodePorts.max})` } as FieldError);
        return;
      }
      this.ports.take(np, owner, false, this.now());
      taken.push(() => this.ports.release(np));
      p.nodePort = np;
      if (typeof p.port === 'number') chosenHere.set(p.port, np);
    }
  }

  private nextFreePort(): number | undefined {
    const span = this.nodePorts.max - this.nodePorts.min + 1;
    for (let i = 0; i < span; i++) {
      const p = this.nodePorts.min + ((this.portCursor - this.nodePorts.min + i) % span);
      if (!this.ports.holder(p)) {
        this.portCursor = p + 1 > this.nodePorts.max ? this.nodePorts.min : p + 1;
        return p;
      }
    }
    return undefined;
  }

  // ---- state from the store

  /** A stored Service (ADDED/MODIFIED, or listed at start): its addresses are confirmed held. */
  observe(svc: KubeObject): void {
    const owner = String(svc.metadata?.uid ?? '');
    if (!owner) return;
    const spec = objOf(svc.spec);
    const ips = arrOf(spec.clusterIPs).length ? arrOf(spec.clusterIPs) : [spec.clusterIP];
    const ipKeys = ips.filter((ip): ip is string => typeof ip === 'string' && isIPv4(ip) && cidrContains(this.range, ip)).map(ipToInt);
    const portKeys = arrOf(spec.ports)
      .map((p) => objOf(p).nodePort)
      .filter((np): np is number => typeof np === 'number' && np >= this.nodePorts.min && np <= this.nodePorts.max);
    const who = `${String(svc.metadata?.namespace)}/${String(svc.metadata?.name)}`;
    const now = this.now();
    this.ips.confirm(owner, ipKeys, now, (k) => this.conflicts.push(`${who}: cluster IP ${intToIp(k)} is held by another Service`));
    this.ports.confirm(owner, portKeys, now, (k) => this.conflicts.push(`${who}: node port ${k} is held by another Service`));
  }

  /** A deleted Service: everything it held is free again. */
  forget(svc: KubeObject): void {
    const owner = String(svc.metadata?.uid ?? '');
    this.ips.releaseOwner(owner);
    this.ports.releaseOwner(owner);
  }

  /** Replace all confirmed state with these Services (start, or after the watch was lost). */
  rebuild(services: KubeObject[]): void {
    const uids = new Set(services.map((s) => String(s.metadata?.uid ?? '')));
    for (const h of [this.ips, this.ports]) {
      for (const owner of [...h.byOwner.keys()]) {
        const keys = h.byOwner.get(owner)!;
        // Owners no longer stored lose their confirmed holdings; tentative ones stay until they expire.
        if (!uids.has(owner)) for (const k of [...keys]) if (h.holder(k)?.confirmed) h.release(k);
      }
    }
    for (const s of services) this.observe(s);
  }

  private expire(): void {
    const before = this.now() - this.ttl;
    this.ips.expire(before);
    this.ports.expire(before);
  }

  isIPAllocated(ip: string): boolean {
    return isIPv4(ip) && this.ips.holder(ipToInt(ip)) !== undefined;
  }
  isNodePortAllocated(port: number): boolean {
    return this.ports.holder(port) !== undefined;
  }
  get allocatedIPs(): number {
    return this.ips.size;
  }
  get allocatedNodePorts(): number {
    return this.ports.size;
  }
}
