// Forwarding of names outside the cluster domain: the client's query goes upstream byte for byte
// (EDNS options and DO/CD bits intact) under a fresh id, with a timeout and one retry on the next
// upstream; positive answers are cached for their TTL in a bounded LRU.
import dgram from 'node:dgram';
import net from 'node:net';
import { randomInt } from 'node:crypto';
import dnsPacket from 'dns-packet';
import type { Packet, Answer, RecordAnswer, OptAnswer } from 'dns-packet';
import type { Upstream } from './upstreams.ts';

export interface ForwarderOptions {
  upstreams: Upstream[];
  /** Per attempt. */
  timeoutMs?: number;
  cacheSize?: number;
  /** Upper bound on how long an answer is kept, whatever its TTL says. */
  maxCacheTtl?: number;
  now?: () => number;
}

interface CacheEntry {
  packet: Packet;
  storedAt: number;
  expiresAt: number;
}

export interface ForwardStats {
  forwarded: number;
  cacheHits: number;
  failures: number;
  cacheEntries: number;
}

export type ForwardResult = { kind: 'raw'; response: Buffer } | { kind: 'cached'; packet: Packet } | { kind: 'failed' };

function rewriteId(buf: Buffer, id: number): Buffer {
  const copy = Buffer.from(buf);
  copy.writeUInt16BE(id, 0);
  return copy;
}

function isRecord(a: Answer): a is RecordAnswer {
  return a.type !== 'OPT';
}

export class Forwarder {
  private readonly cache = new Map<string, CacheEntry>();
  private readonly timeoutMs: number;
  private readonly cacheSize: number;
  private readonly maxCacheTtl: number;
  private readonly now: () => number;
  readonly stats: ForwardStats = { forwarded: 0, cacheHits: 0, failures: 0, cacheEntries: 0 };

  constructor(private upstreams: Upstream[], opts: Omit<ForwarderOptions, 'upstreams'> = {}) {
    this.timeoutMs = opts.timeoutMs ?? 2000;
    this.cacheSize = opts.cacheSize ?? 10_000;
    this.maxCacheTtl = opts.maxCacheTtl ?? 3600;
    this.now = opts.now ?? Date.now;
  }

  setUpstreams(upstreams: Upstream[]): void {
    this.upstreams = upstreams;
  }

  private cacheKey(query: Packet): string | undefined {
    const q = query.questions?.[0];
    if (!q) return undefined;
    const flags = query.flags ?? 0;
    const opt = query.additionals?.find((a): a is OptAnswer => a.type === 'OPT');
    const doBit = opt?.flag_do ? 1 : 0;
    const cd = flags & dnsPacket.CHECKING_DISABLED ? 1 : 0;
    return `${q.name.toLowerCase()}|${q.type}|${q.class ?? 'IN'}|${doBit}${cd}`;
  }

  private fromCache(key: string, query: Packet): Packet | undefined {
    const entry = this.cache.get(key);
    if (!entry) return undefined;
    const now = this.now();
    if (now >= entry.expiresAt) {
      this.cache.delete(key);
      return undefined;
    }
    // Refresh LRU position.
    this.cache.delete(key);
    this.cache.set(key, entry);
    const elapsed = Math.floor((now - entry.storedAt) / 1000);
    const age = (list: Answer[] | undefined) =>
      (list ?? []).filter(isRecord).map((a) => ({ ...a, ttl: Math.max(0, (a.ttl ?? 0) - elapsed) }));
    return {
      ...entry.packet,
      id: query.id ?? 0,
      questions: query.questions ?? [],
      answers: age(entry.packet.answers),
      authorities: age(entry.packet.authorities),
      additionals: age(entry.packet.additionals),
    };
  }

  private store(key: string, response: Packet): void {
    if (response.rcode !== 'NOERROR' || response.flag_tc) return;
    const answers = (response.answers ?? []).filter(isRecord);
    if (answers.length === 0) return;
    const ttl = Math.min(this.maxCacheTtl, ...answers.map((a) => a.ttl ?? 0));
    if (ttl <= 0) return;
    const now = this.now();
    this.cache.delete(key);
    this.cache.set(key, { packet: { ...response, additionals: (response.additionals ?? []).filter(isRecord) }, storedAt: now, expiresAt: now + ttl * 1000 });
    while (this.cache.size > this.cacheSize) {
      const oldest = this.cache.keys().next().value;
      if (oldest === undefined) break;
      this.cache.delete(oldest);
    }
    this.stats.cacheEntries = this.cache.size;
  }

  /** Resolve one client query. `raw` is the client's query as received; `query` its decoding. */
  async forward(raw: Buffer, query: Packet, signal?: AbortSignal): Promise<ForwardResult> {
    const key = this.cacheKey(query);
    if (key) {
      const hit = this.fromCache(key, query);
      if (hit) {
        this.stats.cacheHits++;
        return { kind: 'cached', packet: hit };
      }
    }
    const clientId = query.id ?? 0;
    const first = this.upstreams[0];
    if (!first) {
      this.stats.failures++;
      return { kind: 'failed' };
    }
    const attempts = [first, this.upstreams[1] ?? first];
    for (const upstream of attempts) {
      if (signal?.aborted) break;
      const id = randomInt(0, 65536);
      const out = rewriteId(raw, id);
      try {
        let response = await exchangeUdp(upstream, out, id, this.timeoutMs);
        let decoded = dnsPacket.decode(response);
        if (decoded.flag_tc) {
          response = await exchangeTcp(upstream, out, id, this.timeoutMs);
          decoded = dnsPacket.decode(response);
        }
        if (!sameQuestion(query, decoded)) throw new Error('upstream answered another question');
        this.stats.forwarded++;
        if (key) this.store(key, decoded);
        return { kind: 'raw', response: rewriteId(response, clientId) };
      } catch {
        // Timed out, refused or garbled: try the next upstream.
      }
    }
    this.stats.failures++;
    return { kind: 'failed' };
  }
}

function sameQuestion(a: Packet, b: Packet): boolean {
  const qa = a.questions?.[0];
  const qb = b.questions?.[0];
  if (!qa || !qb) return !qa && !qb;
  return qa.name.toLowerCase() === qb.name.toLowerCase() && qa.type === qb.type;
}

/** One UDP exchange on a fresh socket (a random source port per query makes spoofing harder). */
export function exchangeUdp(upstream: Upstream, query: Buffer, id: number, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket(net.isIPv6(upstream.host) ? 'udp6' : 'udp4');
    const timer = setTimeout(() => done(new Error('upstream timeout')), timeoutMs);
    let settled = false;
    const done = (err: Error | undefined, msg?: Buffer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.close();
      if (err || !msg) reject(err ?? new Error('no answer'));
      else resolve(msg);
    };
    socket.on('error', (err) => done(err));
    socket.on('message', (msg, rinfo) => {
      // Ignore anything that is not the upstream answering this id.
      if (msg.length < 12 || msg.readUInt16BE(0) !== id || rinfo.port !== upstream.port) return;
      done(undefined, msg);
    });
    socket.send(query, upstream.port, upstream.host, (err) => {
      if (err) done(err);
    });
  });
}

export function exchangeTcp(upstream: Upstream, query: Buffer, id: number, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: upstream.host, port: upstream.port });
    let buffered: Buffer = Buffer.alloc(0);
    const timer = setTimeout(() => finish(new Error('upstream timeout')), timeoutMs);
    let settled = false;
    const finish = (err: Error | undefined, msg?: Buffer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (err || !msg) reject(err ?? new Error('no answer'));
      else resolve(msg);
    };
    socket.on('error', (err) => finish(err));
    socket.on('close', () => finish(new Error('upstream closed')));
    socket.on('connect', () => {
      const len = Buffer.alloc(2);
      len.writeUInt16BE(query.length);
      socket.write(Buffer.concat([len, query]));
    });
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2) {
        const len = buffered.readUInt16BE(0);
        if (buffered.length < 2 + len) return;
        const msg = buffered.subarray(2, 2 + len);
        buffered = buffered.subarray(2 + len);
        if (msg.length >= 12 && msg.readUInt16BE(0) === id) return finish(undefined, Buffer.from(msg));
      }
    });
  });
}
