// The DNS server over real sockets on 127.0.0.1: UDP/TCP, EDNS0 and truncation, and forwarding to
// fake upstream servers of this test (also on 127.0.0.1) with retry, SERVFAIL, TCP fallback and cache.
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import { after, describe, it } from 'node:test';
import dnsPacket from 'dns-packet';
import type { Packet, RecordAnswer, OptAnswer } from 'dns-packet';
import { startDnsServer, Forwarder } from '../../src/dns/index.ts';
import type { DnsServer } from '../../src/dns/index.ts';
import { queryDns, buildQuery } from '../../src/dns/client.ts';

interface FakeUpstream {
  port: number;
  queries: Packet[];
  tcpQueries: Packet[];
  close(): Promise<void>;
}

/**
 * A resolver that answers every A question with 192.0.2.1 (TTL `ttl`), or stays silent, or (over
 * UDP) only says "truncated" and gives the answer with 40 records over TCP.
 */
async function fakeUpstream(mode: 'answer' | 'silent' | 'truncate' = 'answer', ttl = 300): Promise<FakeUpstream> {
  const queries: Packet[] = [];
  const tcpQueries: Packet[] = [];
  const udp = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', resolve));
  const port = udp.address().port;
  const answer = (q: Packet, count: number): Packet => ({
    id: q.id ?? 0,
    type: 'response',
    flags: dnsPacket.RECURSION_AVAILABLE | ((q.flags ?? 0) & dnsPacket.RECURSION_DESIRED),
    questions: q.questions ?? [],
    answers: Array.from({ length: count }, (_, i) => ({ type: 'A', name: q.questions![0]!.name, ttl, data: `192.0.2.${i + 1}` })),
  });
  udp.on('message', (msg, rinfo) => {
    const q = dnsPacket.decode(msg);
    queries.push(q);
    if (mode === 'silent') return;
    const resp = mode === 'truncate' ? { ...answer(q, 0), flags: dnsPacket.TRUNCATED_RESPONSE } : answer(q, 1);
    udp.send(dnsPacket.encode(resp), rinfo.port, rinfo.address);
  });
  const tcp = net.createServer((s) => {
    s.on('data', (d: Buffer) => {
      const q = dnsPacket.streamDecode(d);
      tcpQueries.push(q);
      s.write(dnsPacket.streamEncode(answer(q, 40)));
    });
    s.on('error', () => {});
  });
  await new Promise<void>((resolve) => tcp.listen(port, '127.0.0.1', resolve));
  return {
    port,
    queries,
    tcpQueries,
    close: async () => {
      await new Promise<void>((r) => udp.close(() => r()));
      await new Promise<void>((r) => tcp.close(() => r()));
    },
  };
}

/** The answer records (dns-packet's Answer type cannot tell OPT apart by `type` alone). */
const answersOf = (p: Packet): RecordAnswer[] => (p.answers ?? []).filter((a) => a.type !== 'OPT') as RecordAnswer[];

const cleanups: Array<() => Promise<void>> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function server(opts: Parameters<typeof startDnsServer>[0] = {}): Promise<DnsServer> {
  const s = await startDnsServer({ upstreams: [], ...opts });
  cleanups.push(s.close);
  return s;
}

async function upstream(mode?: 'answer' | 'silent' | 'truncate', ttl?: number): Promise<FakeUpstream> {
  const u = await fakeUpstream(mode, ttl);
  cleanups.push(u.close);
  return u;
}

const ask = (s: DnsServer, name: string, type = 'A', extra: { tcp?: boolean; ednsUdpSize?: number; timeoutMs?: number } = {}) =>
  queryDns({ host: '127.0.0.1', port: s.port, name, type, ...extra });

describe('DNS server', () => {
  it('answers cluster names over UDP and TCP, authoritatively, echoing id and question', async () => {
    const s = await server();
    s.records.update({ services: [{ namespace: 'default', name: 'web', clusterIPs: ['10.43.0.20'] }], endpoints: [] });
    for (const tcp of [false, true]) {
      const r = await ask(s, 'Web.Default.svc.cluster.local', 'A', { tcp });
      assert.equal(r.rcode, 'NOERROR');
      assert.equal(r.flag_aa, true);
      assert.equal(r.flag_ra, true);
      assert.equal(r.flag_rd, true);
      assert.deepEqual(r.questions, [{ name: 'Web.Default.svc.cluster.local', type: 'A', class: 'IN' }]);
      assert.deepEqual(answersOf(r).map((a) => [a.name, a.data, a.ttl]), [['Web.Default.svc.cluster.local', '10.43.0.20', 5]]);
    }
    const nx = await ask(s, 'web.default.svc.cluster.local.svc.cluster.local');
    assert.equal(nx.rcode, 'NXDOMAIN');
    assert.deepEqual(nx.authorities!.map((a) => a.type), ['SOA']);
  });

  it('truncates a big UDP answer unless EDNS0 allows it, and gives it whole over TCP', async () => {
    const s = await server();
    const ips = Array.from({ length: 60 }, (_, i) => `10.42.1.${i + 1}`);
    s.records.update({
      services: [{ namespace: 'default', name: 'big', clusterIPs: ['None'] }],
      endpoints: ips.map((ip) => ({ namespace: 'default', serviceName: 'big', addresses: [ip], ready: true })),
    });
    const name = 'big.default.svc.cluster.local';
    const plain = await ask(s, name);
    assert.equal(plain.flag_tc, true);
    assert.equal(plain.answers!.length, 0);
    const small = await ask(s, name, 'A', { ednsUdpSize: 1232 });
    assert.equal(small.flag_tc, true, 'a 1232-byte buffer is too small for 60 records');
    const edns = await ask(s, name, 'A', { ednsUdpSize: 4096 });
    assert.equal(edns.flag_tc, false);
    assert.equal(edns.answers!.filter((a) => a.type === 'A').length, 60);
    const opt = edns.additionals!.find((a) => a.type === 'OPT') as OptAnswer | undefined;
    assert.equal(opt?.udpPayloadSize, 1232, 'our OPT record is in the answer');
    const tcp = await ask(s, name, 'A', { tcp: true });
    assert.equal(tcp.flag_tc, false);
    assert.equal(tcp.answers!.length, 60);
    assert.ok(s.stats.truncated >= 2);
  });

  it('forwards other names upstream, then answers from cache with the TTL counting down', async () => {
    const up = await upstream('answer', 300);
    const s = await server({ upstreams: [{ host: '127.0.0.1', port: up.port }] });
    const first = await ask(s, 'Example.COM');
    assert.equal(first.rcode, 'NOERROR');
    assert.equal(first.flag_aa, false);
    assert.deepEqual(answersOf(first).map((a) => a.data), ['192.0.2.1']);
    assert.equal(up.queries.length, 1);
    assert.equal(up.queries[0]!.flag_rd, true);
    const second = await ask(s, 'example.com');
    assert.equal(up.queries.length, 1, 'the second answer came from the cache');
    assert.equal(second.questions![0]!.name, 'example.com');
    const ttl = answersOf(second)[0]?.ttl;
    assert.ok(ttl !== undefined && ttl <= 300 && ttl >= 298, String(ttl));
    // Another type is another cache entry.
    await ask(s, 'example.com', 'AAAA');
    assert.equal(up.queries.length, 2);
    assert.equal(s.forwarder.stats.cacheHits, 1);
  });

  it('retries once on the next upstream when the first is silent', async () => {
    const silent = await upstream('silent');
    const good = await upstream('answer');
    const s = await server({
      forwardTimeoutMs: 200,
      upstreams: [
        { host: '127.0.0.1', port: silent.port },
        { host: '127.0.0.1', port: good.port },
      ],
    });
    const t0 = performance.now();
    const r = await ask(s, 'retry.example');
    assert.equal(r.rcode, 'NOERROR');
    assert.ok(performance.now() - t0 >= 190, 'waited for the first upstream to time out');
    assert.equal(silent.queries.length, 1);
    assert.equal(good.queries.length, 1);
  });

  it('answers SERVFAIL when every try fails, and when there is no upstream at all', async () => {
    const a = await upstream('silent');
    const b = await upstream('silent');
    const s = await server({
      forwardTimeoutMs: 100,
      upstreams: [
        { host: '127.0.0.1', port: a.port },
        { host: '127.0.0.1', port: b.port },
      ],
    });
    const r = await ask(s, 'down.example');
    assert.equal(r.rcode, 'SERVFAIL');
    assert.deepEqual([a.queries.length, b.queries.length], [1, 1]);
    const none = await server({ upstreams: [] });
    assert.equal((await ask(none, 'x.example')).rcode, 'SERVFAIL');
  });

  it('re-asks over TCP when the upstream UDP answer is truncated', async () => {
    const up = await upstream('truncate');
    const s = await server({ upstreams: [{ host: '127.0.0.1', port: up.port }] });
    const r = await ask(s, 'many.example', 'A', { tcp: true });
    assert.equal(up.tcpQueries.length, 1);
    assert.equal(r.answers!.length, 40);
    // Over UDP without EDNS the 40 records do not fit: the client is told to use TCP.
    const udp = await ask(s, 'many2.example');
    assert.equal(udp.flag_tc, true);
  });

  it('resolves an ExternalName target upstream after the CNAME', async () => {
    const up = await upstream('answer', 60);
    const s = await server({ upstreams: [{ host: '127.0.0.1', port: up.port }] });
    s.records.setServices([{ namespace: 'default', name: 'ext', type: 'ExternalName', externalName: 'db.example.org' }]);
    const r = await ask(s, 'ext.default.svc.cluster.local');
    assert.deepEqual(
      answersOf(r).map((a) => [a.type, a.name, a.data]),
      [
        ['CNAME', 'ext.default.svc.cluster.local', 'db.example.org'],
        ['A', 'db.example.org', '192.0.2.1'],
      ],
    );
  });

  it('rejects garbage with FORMERR and other opcodes with NOTIMP', async () => {
    const s = await server();
    const sock = dgram.createSocket('udp4');
    cleanups.push(() => new Promise((r) => sock.close(() => r())));
    const reply = (buf: Buffer) =>
      new Promise<Packet>((resolve) => {
        sock.once('message', (m) => resolve(dnsPacket.decode(m)));
        sock.send(buf, s.port, '127.0.0.1');
      });
    const garbage = Buffer.from([0x12, 0x34, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0xff]);
    const formerr = await reply(garbage);
    assert.deepEqual([formerr.id, formerr.rcode], [0x1234, 'FORMERR']);
    const status = buildQuery({ name: 'a.cluster.local' }, 7);
    status.writeUInt16BE(status.readUInt16BE(2) | (2 << 11), 2); // opcode STATUS
    const notimp = await reply(status);
    assert.deepEqual([notimp.id, notimp.rcode], [7, 'NOTIMP']);
  });

  it('frees its port on close and on abort', async () => {
    const ac = new AbortController();
    const s = await startDnsServer({ upstreams: [], signal: ac.signal });
    ac.abort();
    await s.close();
    const again = await startDnsServer({ upstreams: [], port: s.port });
    assert.equal(again.port, s.port);
    await again.close();
  });
});

describe('Forwarder cache', () => {
  it('expires entries at their TTL and keeps at most cacheSize', async () => {
    const up = await upstream('answer', 10);
    let now = 1_000_000;
    const f = new Forwarder([{ host: '127.0.0.1', port: up.port }], { cacheSize: 2, now: () => now });
    const q = (name: string) => {
      const raw = buildQuery({ name });
      return f.forward(raw, dnsPacket.decode(raw));
    };
    await q('a.example');
    assert.equal((await q('a.example')).kind, 'cached');
    now += 9_000;
    const aged = await q('a.example');
    assert.equal(aged.kind, 'cached');
    if (aged.kind === 'cached') assert.equal(answersOf(aged.packet)[0]?.ttl, 1);
    now += 1_000;
    assert.equal((await q('a.example')).kind, 'raw', 'expired after 10 s');
    await q('b.example');
    await q('c.example');
    assert.equal(f.stats.cacheEntries, 2);
    assert.equal((await q('a.example')).kind, 'raw', 'the oldest entry was evicted');
  });
});
