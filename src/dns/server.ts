// The cluster DNS server: UDP and TCP on one port, authoritative for the cluster domain from a
// DnsRecords set, forwarding everything else upstream.
import dgram from 'node:dgram';
import net from 'node:net';
import dnsPacket from 'dns-packet';
import type { Packet, Answer, OptAnswer, Question } from 'dns-packet';
import { DnsRecords } from './records.ts';
import type { RR, PodRecordMode } from './records.ts';
import { Forwarder } from './forwarder.ts';
import { hostUpstreams } from './upstreams.ts';
import type { Upstream } from './upstreams.ts';
import { logger } from '../util/log.ts';

const log = logger('dns');

export interface DnsServerOptions {
  /** Address to bind (the bridge gateway in a cluster, 127.0.0.1 in tests). */
  host?: string;
  /** 0 picks a free port shared by UDP and TCP. */
  port?: number;
  domain?: string;
  ttl?: number;
  podMode?: PodRecordMode;
  dnsServiceIP?: string;
  /** Default: the host's resolvers (see hostUpstreams). */
  upstreams?: Upstream[];
  /** Share a record set the caller already fills; otherwise a new empty one is created. */
  records?: DnsRecords;
  forwardTimeoutMs?: number;
  cacheSize?: number;
  maxTcpConnections?: number;
  tcpIdleMs?: number;
  /** Queries being resolved at once; more are dropped (clients retry), bounding memory under floods. */
  maxInFlight?: number;
  signal?: AbortSignal;
}

export interface DnsServerStats {
  queries: number;
  authoritative: number;
  forwarded: number;
  servfail: number;
  truncated: number;
  dropped: number;
}

export interface DnsServer {
  host: string;
  port: number;
  records: DnsRecords;
  forwarder: Forwarder;
  stats: DnsServerStats;
  close(): Promise<void>;
}

const RCODE: Record<string, number> = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 };
/** What we advertise in our own OPT record (the DNS flag day 2020 recommendation). */
const OUR_UDP_PAYLOAD = 1232;
const MAX_UDP_PAYLOAD = 4096;
/** An ExternalName may point at another ExternalName; follow a few, never a loop. */
const MAX_CNAME_CHAIN = 8;

function toAnswer(rr: RR): Answer {
  return { type: rr.type, name: rr.name, ttl: rr.ttl, class: 'IN', data: rr.data };
}

function clientOpt(query: Packet): OptAnswer | undefined {
  const opt = query.additionals?.find((a) => a.type === 'OPT');
  return opt && opt.type === 'OPT' ? (opt as OptAnswer) : undefined;
}

/** The largest UDP answer the client accepts: its EDNS0 buffer size, else the classic 512 bytes. */
export function udpLimit(query: Packet): number {
  const opt = clientOpt(query);
  if (!opt) return 512;
  return Math.min(MAX_UDP_PAYLOAD, Math.max(512, opt.udpPayloadSize ?? 512));
}

function responseFlags(query: Packet, rcode: string, authoritative: boolean): number {
  let flags = dnsPacket.RECURSION_AVAILABLE | (RCODE[rcode] ?? RCODE.SERVFAIL!);
  if (authoritative) flags |= dnsPacket.AUTHORITATIVE_ANSWER;
  if ((query.flags ?? 0) & dnsPacket.RECURSION_DESIRED) flags |= dnsPacket.RECURSION_DESIRED;
  return flags;
}

function withOpt(query: Packet, additionals: Answer[]): Answer[] {
  if (!clientOpt(query)) return additionals;
  const ours: OptAnswer = { type: 'OPT', name: '.', udpPayloadSize: OUR_UDP_PAYLOAD, flags: 0 };
  return [...additionals.filter((a) => a.type !== 'OPT'), ours];
}

function errorResponse(query: Packet, rcode: string): Packet {
  return {
    id: query.id ?? 0,
    type: 'response',
    flags: responseFlags(query, rcode, false),
    questions: query.questions ?? [],
    answers: [],
    authorities: [],
    additionals: withOpt(query, []),
  };
}

/**
 * Fit a response into the client's UDP limit. Additional records are optional, so they go first
 * without TC; if the answer itself does not fit, the client gets TC and an empty answer and retries
 * over TCP (RFC 2181 §9).
 */
export function fitUdp(response: Packet, limit: number): { packet: Packet; truncated: boolean } {
  if (dnsPacket.encodingLength(response) <= limit) return { packet: response, truncated: false };
  const opt = (response.additionals ?? []).filter((a) => a.type === 'OPT');
  const slim: Packet = { ...response, additionals: opt };
  if (dnsPacket.encodingLength(slim) <= limit) return { packet: slim, truncated: false };
  return {
    packet: { ...slim, flags: (response.flags ?? 0) | dnsPacket.TRUNCATED_RESPONSE, answers: [], authorities: [] },
    truncated: true,
  };
}

export async function startDnsServer(opts: DnsServerOptions = {}): Promise<DnsServer> {
  const host = opts.host ?? '127.0.0.1';
  const records =
    opts.records ??
    new DnsRecords({
      ...(opts.domain !== undefined ? { domain: opts.domain } : {}),
      ...(opts.ttl !== undefined ? { ttl: opts.ttl } : {}),
      ...(opts.podMode !== undefined ? { podMode: opts.podMode } : {}),
      ...(opts.dnsServiceIP !== undefined ? { dnsServiceIP: opts.dnsServiceIP } : {}),
    });
  const upstreams = opts.upstreams ?? hostUpstreams();
  const forwarder = new Forwarder(upstreams, {
    ...(opts.forwardTimeoutMs !== undefined ? { timeoutMs: opts.forwardTimeoutMs } : {}),
    ...(opts.cacheSize !== undefined ? { cacheSize: opts.cacheSize } : {}),
  });
  const stats: DnsServerStats = { queries: 0, authoritative: 0, forwarded: 0, servfail: 0, truncated: 0, dropped: 0 };
  const maxInFlight = opts.maxInFlight ?? 2048;
  const closing = new AbortController();
  let inFlight = 0;
  if (upstreams.length === 0) log.warn('no upstream resolvers: names outside the cluster domain will get SERVFAIL');

  /** Resolve a CNAME target for an ExternalName service: in-zone from the records, else upstream. */
  async function chase(target: string, qtype: string, depth: number): Promise<Answer[]> {
    if (depth >= MAX_CNAME_CHAIN) return [];
    const local = records.lookup(target, qtype);
    if (local.kind === 'answer') {
      const answers = local.answers.map(toAnswer);
      if (local.chase) answers.push(...(await chase(local.chase, qtype, depth + 1)));
      return answers;
    }
    const query: Packet = {
      id: 0,
      type: 'query',
      flags: dnsPacket.RECURSION_DESIRED,
      questions: [{ name: target, type: qtype, class: 'IN' }],
    };
    const result = await forwarder.forward(dnsPacket.encode(query), query, closing.signal);
    if (result.kind === 'failed') return [];
    const packet = result.kind === 'cached' ? result.packet : dnsPacket.decode(result.response);
    return (packet.answers ?? []).filter((a) => a.type !== 'OPT');
  }

  type Reply = Buffer | undefined;

  /**
   * Answer one message; undefined means send nothing. `udp` gives the size limit to respect.
   * Cluster names are answered synchronously: no promise per query on the hot path.
   */
  function handle(raw: Buffer, udp: boolean): Reply | Promise<Reply> {
    let query: Packet;
    try {
      query = dnsPacket.decode(raw);
    } catch {
      if (raw.length < 12) return undefined;
      // Echo the id so the client can match the FORMERR to its query.
      return dnsPacket.encode(errorResponse({ id: raw.readUInt16BE(0), flags: 0 }, 'FORMERR'));
    }
    if (query.type === 'response') return undefined;
    stats.queries++;
    const finish = (packet: Packet): Buffer => {
      if (!udp) return dnsPacket.encode(packet);
      const fitted = fitUdp(packet, udpLimit(query));
      if (fitted.truncated) stats.truncated++;
      return dnsPacket.encode(fitted.packet);
    };
    if (query.opcode !== 'QUERY') return finish(errorResponse(query, 'NOTIMP'));
    const question: Question | undefined = query.questions?.[0];
    if (!question || (query.questions?.length ?? 0) !== 1) return finish(errorResponse(query, 'FORMERR'));

    const result = records.lookup(question.name, question.type);
    if (result.kind === 'answer') {
      stats.authoritative++;
      const build = (extra: Answer[]): Buffer =>
        finish({
          id: query.id ?? 0,
          type: 'response',
          flags: responseFlags(query, result.rcode, true),
          questions: query.questions ?? [],
          answers: [...result.answers.map(toAnswer), ...extra],
          authorities: result.authorities.map(toAnswer),
          additionals: withOpt(query, result.additionals.map(toAnswer)),
        });
      if (!result.chase) return build([]);
      return chase(result.chase, question.type, 1).then(build);
    }
    return forward(raw, query, finish, udp);
  }

  async function forward(raw: Buffer, query: Packet, finish: (p: Packet) => Buffer, udp: boolean): Promise<Reply> {
    const forwarded = await forwarder.forward(raw, query, closing.signal);
    if (forwarded.kind === 'failed') {
      stats.servfail++;
      return finish(errorResponse(query, 'SERVFAIL'));
    }
    stats.forwarded++;
    if (forwarded.kind === 'cached') {
      const p = forwarded.packet;
      return finish({ ...p, type: 'response', additionals: withOpt(query, p.additionals ?? []) });
    }
    if (udp && forwarded.response.length > udpLimit(query)) {
      return finish(dnsPacket.decode(forwarded.response));
    }
    return forwarded.response;
  }

  const failed = (raw: Buffer, err: unknown): Reply => {
    log.warn('query failed', { err });
    if (raw.length < 12) return undefined;
    return dnsPacket.encode(errorResponse({ id: raw.readUInt16BE(0), flags: 0 }, 'SERVFAIL'));
  };

  /** handle() with the in-flight bound (which only asynchronous answers can pile up against). */
  function guarded(raw: Buffer, udp: boolean, reply: (r: Reply) => void): void {
    if (inFlight >= maxInFlight) {
      stats.dropped++;
      return;
    }
    let out: Reply | Promise<Reply>;
    try {
      out = handle(raw, udp);
    } catch (err) {
      return reply(failed(raw, err));
    }
    if (!(out instanceof Promise)) return reply(out);
    inFlight++;
    out.then(
      (r) => {
        inFlight--;
        reply(r);
      },
      (err: unknown) => {
        inFlight--;
        reply(failed(raw, err));
      },
    );
  }

  const family = net.isIPv6(host) ? 'udp6' : 'udp4';
  const sockets = new Set<net.Socket>();
  const bind = async (port: number): Promise<{ udp: dgram.Socket; tcp: net.Server }> => {
    const udp = dgram.createSocket(family);
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(port, host, () => {
        udp.off('error', reject);
        resolve();
      });
    });
    const boundPort = udp.address().port;
    const tcp = net.createServer((socket) => serveTcp(socket));
    tcp.maxConnections = opts.maxTcpConnections ?? 256;
    try {
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen(boundPort, host, () => {
          tcp.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      udp.close();
      throw err;
    }
    return { udp, tcp };
  };

  let bound: { udp: dgram.Socket; tcp: net.Server } | undefined;
  const requested = opts.port ?? 0;
  // With port 0 the UDP port the kernel picks may be taken for TCP; a few tries find a shared one.
  for (let attempt = 0; attempt < (requested === 0 ? 8 : 1) && !bound; attempt++) {
    try {
      bound = await bind(requested);
    } catch (err) {
      if (requested !== 0 || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    }
  }
  if (!bound) throw new Error(`dns: no port free for both UDP and TCP on ${host}`);
  const { udp, tcp } = bound;
  const port = udp.address().port;

  udp.on('message', (msg, rinfo) => {
    guarded(msg, true, (resp) => {
      if (resp && !closing.signal.aborted) udp.send(resp, rinfo.port, rinfo.address);
    });
  });
  udp.on('error', (err) => log.warn('udp socket error', { err }));

  function serveTcp(socket: net.Socket): void {
    sockets.add(socket);
    socket.setTimeout(opts.tcpIdleMs ?? 10_000, () => socket.destroy());
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let buffered: Buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffered = buffered.length ? Buffer.concat([buffered, chunk]) : chunk;
      while (buffered.length >= 2) {
        const len = buffered.readUInt16BE(0);
        if (buffered.length < 2 + len) break;
        const msg = Buffer.from(buffered.subarray(2, 2 + len));
        buffered = buffered.subarray(2 + len);
        // Pipelined queries are answered as they complete; the id pairs them up (RFC 7766).
        guarded(msg, false, (resp) => {
          if (!resp || socket.destroyed) return;
          const prefix = Buffer.alloc(2);
          prefix.writeUInt16BE(resp.length);
          socket.write(Buffer.concat([prefix, resp]));
        });
      }
    });
  }

  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= (async () => {
      closing.abort();
      for (const s of sockets) s.destroy();
      await Promise.all([
        new Promise<void>((resolve) => udp.close(() => resolve())),
        new Promise<void>((resolve) => tcp.close(() => resolve())),
      ]);
    })();
    return closed;
  };
  opts.signal?.addEventListener('abort', () => void close(), { once: true });
  if (opts.signal?.aborted) await close();

  log.debug('listening', { host, port, upstreams: upstreams.map((u) => `${u.host}:${u.port}`) });
  return { host, port, records, forwarder, stats, close };
}
