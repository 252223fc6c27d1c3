// The cluster record set answered question by question (no sockets): one table of cases over one
// snapshot, plus the conversion from API objects and the upstream list from resolv.conf.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DnsRecords, dashedIP, reverseName, snapshotFromKubernetes, hostUpstreams, parseResolvConf } from '../../src/dns/index.ts';
import type { DnsSnapshot, LookupResult, RR } from '../../src/dns/index.ts';

const snapshot: DnsSnapshot = {
  services: [
    { namespace: 'default', name: 'web', clusterIPs: ['10.43.0.20', 'fd00:43::20'], ports: [{ name: 'http', port: 80 }, { name: 'metrics', port: 9090 }, { port: 81 }] },
    { namespace: 'default', name: 'dnsish', clusterIPs: ['10.43.0.21'], ports: [{ name: 'dns', port: 53, protocol: 'UDP' }] },
    { namespace: 'db', name: 'pg', clusterIPs: ['None'], ports: [{ name: 'pg', port: 5432 }] },
    { namespace: 'db', name: 'all', clusterIPs: ['None'], publishNotReadyAddresses: true, ports: [] },
    { namespace: 'db', name: 'empty', clusterIPs: ['None'], ports: [] },
    { namespace: 'default', name: 'ext', type: 'ExternalName', externalName: 'db.example.com.' },
    { namespace: 'default', name: 'alias', type: 'ExternalName', externalName: 'web.default.svc.cluster.local' },
  ],
  endpoints: [
    { namespace: 'db', serviceName: 'pg', addresses: ['10.42.0.11'], hostname: 'pg-0', ready: true, ports: [{ name: 'pg', port: 5432 }] },
    { namespace: 'db', serviceName: 'pg', addresses: ['10.42.0.12'], hostname: 'pg-1', ready: true, ports: [{ name: 'pg', port: 5432 }] },
    { namespace: 'db', serviceName: 'pg', addresses: ['10.42.0.13'], hostname: 'pg-2', ready: false, ports: [{ name: 'pg', port: 5432 }] },
    { namespace: 'db', serviceName: 'pg', addresses: ['10.42.0.14'], ready: true, ports: [{ name: 'pg', port: 5432 }] },
    { namespace: 'db', serviceName: 'all', addresses: ['10.42.0.21'], ready: true },
    { namespace: 'db', serviceName: 'all', addresses: ['10.42.0.22'], ready: false },
    // Endpoints of a ClusterIP service do not get their own names.
    { namespace: 'default', serviceName: 'web', addresses: ['10.42.0.30'], hostname: 'w0', ready: true },
  ],
  pods: [{ namespace: 'default', ips: ['10.42.0.30'] }],
};

function records(opts: ConstructorParameters<typeof DnsRecords>[0] = {}): DnsRecords {
  const r = new DnsRecords({ dnsServiceIP: '10.43.0.10', ...opts });
  r.update(snapshot);
  return r;
}

type Case = [name: string, type: string, expect: { rcode?: 'NOERROR' | 'NXDOMAIN'; data?: unknown[]; forward?: true; soa?: true; chase?: string }];

const cases: Case[] = [
  ['web.default.svc.cluster.local', 'A', { data: ['10.43.0.20'] }],
  ['web.default.svc.cluster.local.', 'A', { data: ['10.43.0.20'] }],
  ['WEB.Default.SVC.cluster.LOCAL', 'A', { data: ['10.43.0.20'] }],
  ['web.default.svc.cluster.local', 'AAAA', { data: ['fd00:43::20'] }],
  ['web.default.svc.cluster.local', 'MX', { rcode: 'NOERROR', data: [], soa: true }],
  ['nope.default.svc.cluster.local', 'A', { rcode: 'NXDOMAIN', soa: true }],
  // What a pod's resolver tries first with ndots:5 and the usual search list.
  ['web.default.svc.cluster.local.default.svc.cluster.local', 'A', { rcode: 'NXDOMAIN', soa: true }],
  ['web.default.svc.cluster.local.svc.cluster.local', 'A', { rcode: 'NXDOMAIN', soa: true }],
  ['web.default.svc.cluster.local.cluster.local', 'A', { rcode: 'NXDOMAIN', soa: true }],
  ['w0.web.default.svc.cluster.local', 'A', { rcode: 'NXDOMAIN', soa: true }],
  // Names that exist only as parents answer NODATA, not NXDOMAIN.
  ['default.svc.cluster.local', 'A', { rcode: 'NOERROR', data: [], soa: true }],
  ['svc.cluster.local', 'A', { rcode: 'NOERROR', data: [], soa: true }],
  ['cluster.local', 'A', { rcode: 'NOERROR', data: [], soa: true }],
  ['cluster.local', 'NS', { data: ['ns.dns.cluster.local'] }],
  ['ns.dns.cluster.local', 'A', { data: ['10.43.0.10'] }],
  ['dns-version.cluster.local', 'TXT', { data: ['1.1.0'] }],
  ['_http._tcp.web.default.svc.cluster.local', 'SRV', { data: [{ priority: 0, weight: 100, port: 80, target: 'web.default.svc.cluster.local' }] }],
  ['_http._udp.web.default.svc.cluster.local', 'SRV', { rcode: 'NXDOMAIN', soa: true }],
  ['_dns._udp.dnsish.default.svc.cluster.local', 'SRV', { data: [{ priority: 0, weight: 100, port: 53, target: 'dnsish.default.svc.cluster.local' }] }],
  ['_tcp.web.default.svc.cluster.local', 'SRV', { rcode: 'NOERROR', data: [], soa: true }],
  // Unnamed ports have no SRV name; the bare service name lists the named ones.
  [
    'web.default.svc.cluster.local',
    'SRV',
    {
      data: [
        { priority: 0, weight: 50, port: 80, target: 'web.default.svc.cluster.local' },
        { priority: 0, weight: 50, port: 9090, target: 'web.default.svc.cluster.local' },
      ],
    },
  ],
  ['pg.db.svc.cluster.local', 'A', { data: ['10.42.0.11', '10.42.0.12', '10.42.0.14'] }],
  ['pg-0.pg.db.svc.cluster.local', 'A', { data: ['10.42.0.11'] }],
  ['pg-2.pg.db.svc.cluster.local', 'A', { rcode: 'NXDOMAIN', soa: true }],
  ['10-42-0-14.pg.db.svc.cluster.local', 'A', { data: ['10.42.0.14'] }],
  [
    '_pg._tcp.pg.db.svc.cluster.local',
    'SRV',
    {
      data: [
        { priority: 0, weight: 33, port: 5432, target: 'pg-0.pg.db.svc.cluster.local' },
        { priority: 0, weight: 33, port: 5432, target: 'pg-1.pg.db.svc.cluster.local' },
        { priority: 0, weight: 33, port: 5432, target: '10-42-0-14.pg.db.svc.cluster.local' },
      ],
    },
  ],
  ['all.db.svc.cluster.local', 'A', { data: ['10.42.0.21', '10.42.0.22'] }],
  ['empty.db.svc.cluster.local', 'A', { rcode: 'NOERROR', data: [], soa: true }],
  ['ext.default.svc.cluster.local', 'A', { data: ['db.example.com'], chase: 'db.example.com' }],
  ['ext.default.svc.cluster.local', 'CNAME', { data: ['db.example.com'] }],
  ['alias.default.svc.cluster.local', 'A', { data: ['web.default.svc.cluster.local'], chase: 'web.default.svc.cluster.local' }],
  ['10-42-0-30.default.pod.cluster.local', 'A', { data: ['10.42.0.30'] }],
  ['10-42-0-99.other.pod.cluster.local', 'A', { data: ['10.42.0.99'] }],
  ['fd00--1.default.pod.cluster.local', 'AAAA', { data: ['fd00::1'] }],
  ['10-42-0-30.default.pod.cluster.local', 'AAAA', { rcode: 'NOERROR', data: [], soa: true }],
  ['not-an-ip.default.pod.cluster.local', 'A', { rcode: 'NXDOMAIN', soa: true }],
  ['20.0.43.10.in-addr.arpa', 'PTR', { data: ['web.default.svc.cluster.local'] }],
  ['11.0.42.10.in-addr.arpa', 'PTR', { data: ['pg-0.pg.db.svc.cluster.local'] }],
  ['14.0.42.10.in-addr.arpa', 'PTR', { data: ['10-42-0-14.pg.db.svc.cluster.local'] }],
  ['99.0.43.10.in-addr.arpa', 'PTR', { forward: true }],
  ['example.com', 'A', { forward: true }],
  ['cluster.localx', 'A', { forward: true }],
];

function dataOf(rrs: RR[]): unknown[] {
  return rrs.map((r) => r.data);
}

describe('DnsRecords.lookup', () => {
  const r = records();
  for (const [name, type, want] of cases) {
    it(`${type} ${name}`, () => {
      const got: LookupResult = r.lookup(name, type);
      if (want.forward) return assert.deepEqual(got, { kind: 'forward' });
      assert.equal(got.kind, 'answer');
      if (got.kind !== 'answer') return;
      assert.equal(got.rcode, want.rcode ?? 'NOERROR');
      if (want.data) assert.deepEqual(dataOf(got.answers), want.data);
      assert.equal(got.chase, want.chase);
      for (const a of got.answers) {
        assert.equal(a.ttl, 5);
        // The owner keeps the asker's spelling (0x20-randomising resolvers compare it).
        assert.equal(a.name, name.replace(/\.$/, ''));
      }
      if (want.soa) {
        assert.equal(got.authorities.length, 1);
        const soa = got.authorities[0]!;
        assert.equal(soa.type, 'SOA');
        assert.equal(soa.name, 'cluster.local');
        assert.equal(soa.ttl, 5);
        assert.deepEqual({ ...(soa.data as object), serial: 0 }, {
          mname: 'ns.dns.cluster.local',
          rname: 'hostmaster.cluster.local',
          serial: 0,
          refresh: 7200,
          retry: 1800,
          expire: 86400,
          minimum: 5,
        });
      } else {
        assert.equal(got.authorities.length, 0);
      }
    });
  }

  it('puts the addresses of SRV targets in the additional section', () => {
    const got = r.lookup('_pg._tcp.pg.db.svc.cluster.local', 'SRV');
    assert.equal(got.kind, 'answer');
    if (got.kind !== 'answer') return;
    assert.deepEqual(
      got.additionals.map((a) => `${a.name} ${a.type} ${String(a.data)}`),
      ['pg-0.pg.db.svc.cluster.local A 10.42.0.11', 'pg-1.pg.db.svc.cluster.local A 10.42.0.12', '10-42-0-14.pg.db.svc.cluster.local A 10.42.0.14'],
    );
  });

  it('verifies pods in verified mode and refuses them when disabled', () => {
    const verified = records({ podMode: 'verified' });
    assert.deepEqual(verified.lookup('10-42-0-30.default.pod.cluster.local', 'A').kind === 'answer' && verified.lookup('10-42-0-30.default.pod.cluster.local', 'A'), {
      kind: 'answer',
      rcode: 'NOERROR',
      answers: [{ name: '10-42-0-30.default.pod.cluster.local', type: 'A', ttl: 5, data: '10.42.0.30' }],
      authorities: [],
      additionals: [],
    });
    const wrongNs = verified.lookup('10-42-0-30.other.pod.cluster.local', 'A');
    assert.equal(wrongNs.kind === 'answer' && wrongNs.rcode, 'NXDOMAIN');
    const disabled = records({ podMode: 'disabled' }).lookup('10-42-0-30.default.pod.cluster.local', 'A');
    assert.equal(disabled.kind === 'answer' && disabled.rcode, 'NXDOMAIN');
  });

  it('follows updates, bumps the SOA serial, and honours another domain and TTL', () => {
    const rec = new DnsRecords({ domain: 'Corp.Example.', ttl: 30 });
    const serial = (rec.soa().data as { serial: number }).serial;
    rec.setServices([{ namespace: 'a', name: 'b', clusterIPs: ['10.43.9.9'] }]);
    const got = rec.lookup('b.a.svc.corp.example', 'A');
    assert.deepEqual(got.kind === 'answer' && got.answers.map((a) => [a.data, a.ttl]), [['10.43.9.9', 30]]);
    assert.ok((rec.soa().data as { serial: number }).serial > serial);
    assert.deepEqual(rec.lookup('b.a.svc.cluster.local', 'A'), { kind: 'forward' });
    rec.setServices([]);
    const gone = rec.lookup('b.a.svc.corp.example', 'A');
    assert.equal(gone.kind === 'answer' && gone.rcode, 'NXDOMAIN');
  });

  it('spells addresses for names and reverse zones', () => {
    assert.equal(dashedIP('10.42.0.5'), '10-42-0-5');
    assert.equal(dashedIP('fd00::1'), 'fd00--1');
    assert.equal(reverseName('10.43.0.1'), '1.0.43.10.in-addr.arpa');
    assert.equal(reverseName('fd00::1'), '1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa');
    assert.equal(reverseName('nope'), undefined);
  });
});

describe('snapshotFromKubernetes', () => {
  it('flattens Services, EndpointSlices and Pods', () => {
    const snap = snapshotFromKubernetes(
      [
        { metadata: { namespace: 'db', name: 'pg' }, spec: { clusterIP: 'None', ports: [{ name: 'pg', port: 5432 }], publishNotReadyAddresses: true } },
        { metadata: { namespace: 'x', name: 'e' }, spec: { type: 'ExternalName', externalName: 'e.example.com' } },
      ],
      [
        {
          addressType: 'IPv4',
          metadata: { namespace: 'db', name: 'pg-abc', labels: { 'kubernetes.io/service-name': 'pg' } },
          ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }],
          endpoints: [
            { addresses: ['10.42.0.11'], hostname: 'pg-0', conditions: { ready: true } },
            { addresses: ['10.42.0.12'], conditions: {} },
            { addresses: ['10.42.0.13'], conditions: { ready: false } },
          ],
        },
        { addressType: 'FQDN', metadata: { namespace: 'db', labels: { 'kubernetes.io/service-name': 'pg' } }, endpoints: [{ addresses: ['a.b'] }] },
      ],
      [{ metadata: { namespace: 'db', name: 'p' }, status: { podIP: '10.42.0.11', podIPs: [{ ip: '10.42.0.11' }] } }, { metadata: { namespace: 'db' } }],
    );
    assert.deepEqual(snap.services[0], {
      namespace: 'db',
      name: 'pg',
      type: 'ClusterIP',
      clusterIPs: ['None'],
      ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }],
      publishNotReadyAddresses: true,
    });
    assert.equal(snap.services[1]!.externalName, 'e.example.com');
    assert.deepEqual(
      snap.endpoints.map((e) => [e.addresses[0], e.ready, e.hostname]),
      [
        ['10.42.0.11', true, 'pg-0'],
        ['10.42.0.12', true, undefined],
        ['10.42.0.13', false, undefined],
      ],
    );
    assert.deepEqual(snap.pods, [{ namespace: 'db', ips: ['10.42.0.11'] }]);
  });
});

describe('upstreams', () => {
  it('parses nameservers, skipping comments, options and junk', () => {
    assert.deepEqual(parseResolvConf('# c\nnameserver 10.0.0.2\nsearch a b\nnameserver fe80::1%eth0\nnameserver nope\n;x\noptions ndots:5\n'), [
      '10.0.0.2',
      'fe80::1',
    ]);
  });

  it("replaces a loopback stub by systemd-resolved's upstream list", () => {
    const files: Record<string, string> = {
      '/etc/resolv.conf': 'nameserver 127.0.0.53\noptions edns0\n',
      '/run/systemd/resolve/resolv.conf': 'nameserver 192.0.2.53\nnameserver 127.0.0.1\nnameserver 198.51.100.53\n',
    };
    assert.deepEqual(hostUpstreams({}, (p) => files[p]), [
      { host: '192.0.2.53', port: 53 },
      { host: '198.51.100.53', port: 53 },
    ]);
    assert.deepEqual(hostUpstreams({}, (p) => (p === '/etc/resolv.conf' ? 'nameserver 127.0.0.53\n' : undefined)), []);
    assert.deepEqual(hostUpstreams({}, (p) => (p === '/etc/resolv.conf' ? 'nameserver 127.0.0.1\nnameserver 192.0.2.1\n' : undefined)), [
      { host: '192.0.2.1', port: 53 },
    ]);
  });
});
