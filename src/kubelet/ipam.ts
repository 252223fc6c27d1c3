// Pod IPs from the node's pod CIDR: one address per pod uid, never two pods on one address.
// Allocations are kept in a small JSON file under the kubelet's dir and re-checked against the
// sandboxes' IP labels at start, so a pod keeps its IP across kubelet and `nanokube` restarts.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

function toInt(ip: string): number {
  const o = ip.split('.').map(Number);
  if (o.length !== 4 || o.some((x) => !(x >= 0 && x <= 255))) throw new Error(`invalid IPv4 address "${ip}"`);
  return ((o[0]! << 24) | (o[1]! << 16) | (o[2]! << 8) | o[3]!) >>> 0;
}

function toIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff].join('.');
}

export function parseCidr(cidr: string): { network: number; size: number } {
  const [base, bits] = cidr.split('/');
  const prefix = Number(bits);
  if (!(prefix >= 8 && prefix <= 30)) throw new Error(`pod CIDR "${cidr}" must be an IPv4 /8 to /30`);
  const mask = (0xffffffff << (32 - prefix)) >>> 0;
  return { network: (toInt(base ?? '') & mask) >>> 0, size: 2 ** (32 - prefix) };
}

interface StateFile {
  cidr: string;
  /** uid → ip */
  pods: Record<string, string>;
  last?: string;
}

export class PodIPAllocator {
  private readonly byUid = new Map<string, string>();
  private readonly byIp = new Map<string, string>();
  private readonly network: number;
  private readonly size: number;
  private last: number;
  private saving: Promise<void> = Promise.resolve();

  /** `file` undefined keeps allocations in memory only (simulated nodes). */
  constructor(
    readonly cidr: string,
    private readonly file?: string,
  ) {
    const { network, size } = parseCidr(cidr);
    this.network = network;
    this.size = size;
    // .1 is the bridge gateway; allocation starts after it.
    this.last = network + 1;
  }

  get gateway(): string {
    return toIp(this.network + 1);
  }

  async load(): Promise<void> {
    if (!this.file) return;
    let state: StateFile;
    try {
      state = JSON.parse(await readFile(this.file, 'utf8')) as StateFile;
    } catch {
      return;
    }
    // A different CIDR means a different node layout: old allocations mean nothing.
    if (state.cidr !== this.cidr) return;
    for (const [uid, ip] of Object.entries(state.pods ?? {})) this.reserve(uid, ip);
    if (state.last && this.inRange(toInt(state.last))) this.last = toInt(state.last);
  }

  private inRange(n: number): boolean {
    // Not the network address, not the gateway, not the broadcast address.
    return n > this.network + 1 && n < this.network + this.size - 1;
  }

  /** Records an address found in use (a sandbox label). Returns false when it clashes or is out of range. */
  reserve(uid: string, ip: string): boolean {
    let n: number;
    try {
      n = toInt(ip);
    } catch {
      return false;
    }
    if (!this.inRange(n)) return false;
    const holder = this.byIp.get(ip);
    if (holder && holder !== uid) return false;
    const previous = this.byUid.get(uid);
    if (previous && previous !== ip) this.byIp.delete(previous);
    this.byUid.set(uid, ip);
    this.byIp.set(ip, uid);
    return true;
  }

  get(uid: string): string | undefined {
    return this.byUid.get(uid);
  }

  /** The pod's address, allocating the next free one after the last handed out (like host-local IPAM). */
  async allocate(uid: string): Promise<string> {
    const have = this.byUid.get(uid);
    if (have) return have;
    const usable = this.size - 3;
    const first = this.network + 2;
    const start = this.last + 1 - first;
    for (let i = 0; i < usable; i++) {
      const n = first + ((((start + i) % usable) + usable) % usable);
      const ip = toIp(n);
      if (this.byIp.has(ip)) continue;
      this.reserve(uid, ip);
      this.last = n;
      await this.save();
      return ip;
    }
    throw new Error(`no free pod IP left in ${this.cidr}`);
  }

  async release(uid: string): Promise<void> {
    const ip = this.byUid.get(uid);
    if (!ip) return;
    this.byUid.delete(uid);
    this.byIp.delete(ip);
    await this.save();
  }

  /** Drops every allocation whose uid is not in `keep`. */
  async retain(keep: ReadonlySet<string>): Promise<void> {
    let changed = false;
    for (const uid of [...this.byUid.keys()]) {
      if (keep.has(uid)) continue;
      this.byIp.delete(this.byUid.get(uid)!);
      this.byUid.delete(uid);
      changed = true;
    }
    if (changed) await this.save();
  }

  allocations(): ReadonlyMap<string, string> {
    return this.byUid;
  }

  private save(): Promise<void> {
    const file = this.file;
    if (!file) return Promise.resolve();
    const state: StateFile = { cidr: this.cidr, pods: Object.fromEntries(this.byUid), last: toIp(this.last) };
    // Writes are chained so a slow one never overwrites a newer state.
    this.saving = this.saving.then(async () => {
      await mkdir(dirname(file), { recursive: true });
      const tmp = `${file}.tmp`;
      await writeFile(tmp, JSON.stringify(state) + '\n', { mode: 0o600 });
      await rename(tmp, file);
    });
    return this.saving;
  }
}
