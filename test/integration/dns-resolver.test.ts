// A real stub resolver (c-ares, through node:dns Resolver) against our server on 127.0.0.1: it must
// get the same answers a pod's resolver gets from CoreDNS, including a TCP retry after TC.
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { Resolver } from 'node:dns/promises';
import { after, before, describe, it } from 'node:test';
import dnsPacket from 'dns-packet';
import { startDnsServer } from '../../src/dns/index.ts';
import type { DnsServer } from '../../src/dns/index.ts';

let server: DnsServer;
let upstream: dgram.Socket;
let resolver: Resolver;
let upstreamQueries = 0;

before(async () => {
  // A fake upstream of our own: every A question outside the cluster gets 198.51.100.7.
  upstream = dgram.createSocket('udp4');
  upstream.on('message', (msg, rinfo) => {
    upstreamQueries++;
    const q = dnsPacket.decode(msg);
    const name = q.questions?.[0]?.name ?? '';
    const nx = name.startsWith('missing.');
    const resp = dnsPacket.encode({
      id: q.id ?? 0,
      type: 'response',
      flags: dnsPacket.RECURSION_AVAILABLE | (nx ? 3 : 0),
      questions: q.questions ?? [],
      answers: nx ? [] : [{ type: 'A', name, ttl: 120, data: '198.51.100.7' }],
    });
    upstream.send(resp, rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => upstream.bind(0, '127.0.0.1', resolve));
  server = await startDnsServer({ upstreams: [{ host: '127.0.0.1', port: upstream.address().port }], dnsServiceIP: '10.43.0.10' });
  server.records.update({
    services: [
      { namespace: 'default', name: 'web', clusterIPs: ['10.43.0.20'], ports: [{ name: 'http', port: 80 }] },
      { namespace: 'data', name: 'kafka', clusterIPs: ['None'], ports: [{ name: 'broker', port: 9092 }] },
      { namespace: 'default', name: 'search', type: 'ExternalName', externalName: 'search.example.net' },
      { namespace: 'default', name: 'wide', clusterIPs: ['None'] },
    ],
    endpoints: [
      ...[0, 1, 2].map((i) => ({
        namespace: 'data',
        serviceName: 'kafka',
        addresses: [`10.42.0.${10 + i}`],
        hostname: `kafka-${i}`,
        ready: true,
        ports: [{ name: 'broker', port: 9092 }],
      })),
      ...Array.from({ length: 50 }, (_, i) => ({ namespace: 'default', serviceName: 'wide', addresses: [`10.42.3.${i + 1}`], ready: true })),
    ],
  });
  resolver = new Resolver({ timeout: 2000, tries: 1 });
  resolver.setServers([`127.0.0.1:${server.port}`]);
});

after(async () => {
  await server?.close();
  await new Promise<void>((resolve) => (upstream ? upstream.close(() => resolve()) : resolve()));
});

describe('node:dns Resolver against the cluster DNS', () => {
  it('resolves a ClusterIP service with its TTL', async () => {
    assert.deepEqual(await resolver.resolve4('web.default.svc.cluster.local', { ttl: true }), [{ address: '10.43.0.20', ttl: 5 }]);
  });

  it('resolves SRV for a named port, and a StatefulSet-style headless service', async () => {
    assert.deepEqual(await resolver.resolveSrv('_http._tcp.web.default.svc.cluster.local'), [
      { name: 'web.default.svc.cluster.local', port: 80, priority: 0, weight: 100 },
    ]);
    const srv = await resolver.resolveSrv('_broker._tcp.kafka.data.svc.cluster.local');
    assert.deepEqual(srv.map((s) => s.name).sort(), ['kafka-0.kafka.data.svc.cluster.local', 'kafka-1.kafka.data.svc.cluster.local', 'kafka-2.kafka.data.svc.cluster.local']);
    assert.deepEqual(await resolver.resolve4('kafka-1.kafka.data.svc.cluster.local'), ['10.42.0.11']);
  });

  it('reverse-resolves service and endpoint addresses', async () => {
    assert.deepEqual(await resolver.reverse('10.43.0.20'), ['web.default.svc.cluster.local']);
    assert.deepEqual(await resolver.reverse('10.42.0.12'), ['kafka-2.kafka.data.svc.cluster.local']);
  });

  it('gives NXDOMAIN for search-path expansions and NODATA for a missing type', async () => {
    await assert.rejects(resolver.resolve4('web.default.svc.cluster.local.default.svc.cluster.local'), { code: 'ENOTFOUND' });
    await assert.rejects(resolver.resolve6('web.default.svc.cluster.local'), { code: 'ENODATA' });
  });

  it('follows an ExternalName to the upstream answer', async () => {
    assert.deepEqual(await resolver.resolve4('search.default.svc.cluster.local'), ['198.51.100.7']);
    assert.deepEqual(await resolver.resolveCname('search.default.svc.cluster.local'), ['search.example.net']);
  });

  it('forwards outside names, passing NXDOMAIN through', async () => {
    const before = upstreamQueries;
    assert.deepEqual(await resolver.resolve4('www.example.org'), ['198.51.100.7']);
    await assert.rejects(resolver.resolve4('missing.example.org'), { code: 'ENOTFOUND' });
    assert.equal(upstreamQueries, before + 2);
  });

  it('hands a 50-address headless answer to a plain UDP client via TC and TCP', async () => {
    const addrs = await resolver.resolve4('wide.default.svc.cluster.local');
    assert.equal(addrs.length, 50);
    assert.ok(server.stats.truncated >= 1, 'the UDP answer was truncated first');
  });
});
