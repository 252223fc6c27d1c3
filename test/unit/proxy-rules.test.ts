// buildRules is pure: its text for a set of states is pinned by golden files
// (UPDATE_GOLDEN=1 rewrites them), and its properties are checked case by case.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  buildRemoval,
  buildRules,
  chainNames,
  clusterTag,
  defaultRouteInterface,
  detectIptablesBackend,
  emptyExisting,
  MAX_CHAIN_NAME,
  parseIptablesSave,
  probability,
  createIptablesRunner,
} from '../../src/proxy/index.ts';
import type { Exec, ProxyServicePort, ProxyState } from '../../src/proxy/index.ts';

const goldenDir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'proxy');
const tag = clusterTag('golden');

function svc(overrides: Partial<ProxyServicePort> & Pick<ProxyServicePort, 'name'>): ProxyServicePort {
  return { namespace: 'default', portName: 'http', protocol: 'TCP', clusterIPs: ['10.43.0.20'], port: 80, endpoints: [], ...overrides };
}

function base(services: ProxyServicePort[], extra: Partial<ProxyState> = {}): ProxyState {
  return { tag, podCIDR: '10.42.0.0/16', serviceCIDR: '10.43.0.0/16', egressInterface: 'eth0', services, ...extra };
}

const eps = (...ips: string[]) => ips.map((ip) => ({ ip, port: 8080, ready: true }));

const cases: Record<string, ProxyState> = {
  empty: base([]),
  'cluster-ip-three-endpoints': base([svc({ name: 'web', endpoints: [...eps('10.42.0.7', '10.42.0.5', '10.42.0.10'), { ip: '10.42.0.6', port: 8080, ready: false }] })]),
  'no-endpoints-reject': base([
    svc({ name: 'dns', portName: 'dns', protocol: 'UDP', clusterIPs: ['10.43.0.10'], port: 53, endpoints: [] }),
    svc({ name: 'np', clusterIPs: ['10.43.0.30'], nodePort: 30080, endpoints: [] }),
  ]),
  'nodeport-lb-affinity': base([
    svc({
      name: 'shop',
      clusterIPs: ['10.43.0.40'],
      nodePort: 30443,
      loadBalancerIPs: ['172.18.0.100'],
      externalIPs: ['192.0.2.7'],
      sessionAffinityTimeoutSeconds: 10800,
      endpoints: eps('10.42.1.2', '10.42.1.3'),
    }),
  ]),
  'no-egress-interface': base([svc({ name: 'web', endpoints: eps('10.42.0.5') })], { egressInterface: undefined }),
};

describe('buildRules goldens', () => {
  for (const [name, state] of Object.entries(cases)) {
    it(name, () => {
      const text = buildRules(state);
      const file = path.join(goldenDir, `${name}.rules`);
      if (process.env.UPDATE_GOLDEN === '1') {
        fs.mkdirSync(goldenDir, { recursive: true });
        fs.writeFileSync(file, text);
      }
      assert.equal(text, fs.readFileSync(file, 'utf8'));
    });
  }
});

describe('buildRules properties', () => {
  it('uses kube-proxy probabilities 1/n, 1/(n-1), ... with ten decimals, none on the last endpoint', () => {
    assert.equal(probability(3), '0.3333333333');
    assert.equal(probability(2), '0.5000000000');
    const text = buildRules(base([svc({ name: 'web', endpoints: eps('10.42.0.2', '10.42.0.3', '10.42.0.4', '10.42.0.5') })]));
    const probs = [...text.matchAll(/--probability (\S+)/g)].map((m) => m[1]);
    assert.deepEqual(probs, ['0.2500000000', '0.3333333333', '0.5000000000']);
  });

  it('orders endpoints by address so the same set always gives the same text', () => {
    const a = buildRules(base([svc({ name: 'web', endpoints: eps('10.42.0.10', '10.42.0.9') })]));
    const b = buildRules(base([svc({ name: 'web', endpoints: eps('10.42.0.9', '10.42.0.10') })]));
    assert.equal(a, b);
    assert.ok(a.indexOf('10.42.0.9:8080') < a.indexOf('10.42.0.10:8080'));
  });

  it('keeps every chain name within 28 characters and under the cluster tag', () => {
    const text = buildRules(cases['nodeport-lb-affinity']!);
    const chains = [...text.matchAll(/^:(\S+)/gm)].map((m) => m[1]!);
    assert.ok(chains.length > 5);
    for (const c of chains) {
      assert.ok(c.length <= MAX_CHAIN_NAME, c);
      assert.ok(c.startsWith(tag + '-'), c);
    }
    assert.match(tag, /^NK-[A-Z2-7]{6}$/);
    assert.notEqual(clusterTag('a'), clusterTag('b'));
    assert.throws(() => chainNames('KUBE'), /not a cluster tag/);
  });

  it('inserts jumps only when missing and deletes chains it no longer needs', () => {
    const names = chainNames(tag);
    const first = buildRules(base([svc({ name: 'web', endpoints: eps('10.42.0.5') })]));
    assert.equal([...first.matchAll(/^-I /gm)].length, 7);
    // Pretend the kernel now holds what `first` made, as iptables-save would print it.
    const saved = first.replace(/^-I (\S+) 1 /gm, '-A $1 ');
    const existing = parseIptablesSave(saved, tag);
    assert.equal(existing.jumps.nat.length, 3);
    const second = buildRules(base([svc({ name: 'web', endpoints: eps('10.42.0.6') })]), existing);
    assert.doesNotMatch(second, /^-I /m);
    const oldSep = names.endpoint('default/web:http/TCP/10.42.0.5:8080');
    assert.match(second, new RegExp(`^:${oldSep} - \\[0:0\\]$`, 'm'), 'stale chain is flushed');
    assert.match(second, new RegExp(`^-X ${oldSep}$`, 'm'), 'then deleted');
    assert.doesNotMatch(second, new RegExp(`^-A ${oldSep}`, 'm'));
  });

  it('parses only our chains and jumps out of a host dump, and removal undoes exactly them', () => {
    const other = clusterTag('other');
    const dump = [
      '*nat',
      ':PREROUTING ACCEPT [0:0]',
      ':DOCKER - [0:0]',
      `:${tag}-SERVICES - [0:0]`,
      `:${other}-SERVICES - [0:0]`,
      '-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER',
      `-A PREROUTING -m comment --comment "nanokube ${tag} service portals" -j ${tag}-SERVICES`,
      `-A PREROUTING -j ${other}-SERVICES`,
      `-A ${tag}-SERVICES -j RETURN`,
      'COMMIT',
      '*raw',
      `:${tag}-IGNORED - [0:0]`,
      'COMMIT',
    ].join('\n');
    const existing = parseIptablesSave(dump, tag);
    assert.deepEqual([...existing.chains.nat], [`${tag}-SERVICES`]);
    assert.deepEqual(existing.jumps.nat.map((j) => j.chain), ['PREROUTING']);
    assert.equal(
      buildRemoval(existing),
      [
        '*nat',
        `:${tag}-SERVICES - [0:0]`,
        `-D PREROUTING -m comment --comment "nanokube ${tag} service portals" -j ${tag}-SERVICES`,
        `-X ${tag}-SERVICES`,
        'COMMIT',
        '',
      ].join('\n'),
    );
    assert.equal(buildRemoval(emptyExisting()), undefined);
  });

  it('writes the egress guard in mangle POSTROUTING only, for both cluster ranges', () => {
    const text = buildRules(base([]));
    const mangle = text.slice(text.indexOf('*mangle'));
    assert.match(mangle, /-I POSTROUTING 1 .* -j NK-\w+-EGRESS/);
    assert.match(mangle, /-o eth0 -d 10\.42\.0\.0\/16 .*-j DROP/);
    assert.match(mangle, /-o eth0 -d 10\.43\.0\.0\/16 .*-j DROP/);
    assert.equal([...text.matchAll(/-j DROP/g)].length, 2, 'no DROP anywhere else (not in filter OUTPUT)');
  });

  it('skips IPv6 addresses (ip6tables is separate) and strips quotes from comments', () => {
    const text = buildRules(base([svc({ name: 'we"b', clusterIPs: ['fd00::10'], endpoints: eps('fd00::5') })]));
    assert.doesNotMatch(text, /fd00/);
    assert.doesNotMatch(text, /we"b/);
  });
});

describe('iptables plumbing', () => {
  const fakeExec = (outputs: Record<string, { code: number; stdout: string }>): { exec: Exec; calls: string[][] } => {
    const calls: string[][] = [];
    const exec: Exec = async (argv, input) => {
      calls.push(input === undefined ? argv : [...argv, `<<${input}`]);
      const r = outputs[argv.join(' ')] ?? { code: 127, stdout: '' };
      return { ...r, stderr: r.code ? 'failed' : '' };
    };
    return { exec, calls };
  };

  it('detects the backend that holds Docker chains', async () => {
    const docker = '*nat\n:DOCKER - [0:0]\n-A PREROUTING -j DOCKER\nCOMMIT\n';
    const nftDocker = fakeExec({ 'iptables-nft-save': { code: 0, stdout: docker }, 'iptables-legacy-save': { code: 0, stdout: '' } });
    assert.equal((await detectIptablesBackend(nftDocker.exec)).backend, 'nft');
    const legacyDocker = fakeExec({ 'iptables-nft-save': { code: 0, stdout: '' }, 'iptables-legacy-save': { code: 0, stdout: docker } });
    assert.equal((await detectIptablesBackend(legacyDocker.exec)).backend, 'legacy');
    const onlyLegacy = fakeExec({ 'iptables-legacy-save': { code: 0, stdout: '' } });
    assert.equal((await detectIptablesBackend(onlyLegacy.exec)).backend, 'legacy');
    const none = fakeExec({
      'iptables-nft-save': { code: 0, stdout: '' },
      'iptables-legacy-save': { code: 0, stdout: '' },
      'iptables --version': { code: 0, stdout: 'iptables v1.8.7 (legacy)\n' },
    });
    assert.equal((await detectIptablesBackend(none.exec)).backend, 'legacy');
  });

  it('runs restore with the lock wait and --noflush, inside the namespace when asked', async () => {
    const { exec, calls } = fakeExec({ 'ip netns exec nk-x iptables-nft-restore -w 5 --noflush': { code: 0, stdout: '' } });
    await createIptablesRunner({ backend: 'nft', netns: 'nk-x', exec }).restore('*nat\nCOMMIT\n');
    assert.deepEqual(calls, [['ip', 'netns', 'exec', 'nk-x', 'iptables-nft-restore', '-w', '5', '--noflush', '<<*nat\nCOMMIT\n']]);
    await assert.rejects(createIptablesRunner({ backend: 'legacy', exec }).save(), /iptables-legacy-save failed/);
  });

  it('reads the default route interface from /proc/net/route', () => {
    const table = [
      'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT',
      'wlan0\t00000000\t0101A8C0\t0003\t0\t0\t600\t00000000\t0\t0\t0',
      'eth0\t00000000\t0100000A\t0003\t0\t0\t100\t00000000\t0\t0\t0',
      'docker0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0',
    ].join('\n');
    assert.equal(defaultRouteInterface(table), 'eth0');
    assert.equal(defaultRouteInterface(table.split('\n').slice(0, 1).join('\n')), undefined);
  });
});
