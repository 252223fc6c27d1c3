// The proxy's rules applied for real, inside network namespaces made by this test: a "node"
// namespace with a bridge to two "pod" namespaces, and a default route over a veth into an
// "upstream" namespace that plays the host's outside network (it forwards nothing; a counting rule
// there shows what reached it). Traffic goes only between these namespaces.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import {
  buildRules,
  chainNames,
  clusterTag,
  createIptablesRunner,
  defaultRouteInterface,
  detectIptablesBackend,
  removeClusterRules,
  syncProxyRules,
} from '../../src/proxy/index.ts';
import type { IptablesRunner, ProxyServicePort, ProxyState } from '../../src/proxy/index.ts';
import { waitFor } from '../helpers/wait.ts';

const id = randomBytes(3).toString('hex');
const nodeNs = `nk-test-${id}-node`;
const podNs = [`nk-test-${id}-p1`, `nk-test-${id}-p2`];
const upstreamNs = `nk-test-${id}-up`;
const podIPs = ['10.42.0.2', '10.42.0.3'];
const EGRESS_IF = 'nkeg0';
const tag = clusterTag(`proxy-test-${id}`);
const names = chainNames(tag);

const canRun = (() => {
  try {
    return process.getuid?.() === 0 && !!execFileSync('which', ['ip', 'iptables-nft-restore']);
  } catch {
    return false;
  }
})();

function sh(...argv: string[]): string {
  return execFileSync(argv[0]!, argv.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
}
const inNode = (...argv: string[]) => sh('ip', '-n', nodeNs, ...argv);

const servers: ChildProcess[] = [];
let runner: IptablesRunner;

function servicePort(clusterIP: string, endpoints: Array<{ ip: string; ready?: boolean }>, extra: Partial<ProxyServicePort> = {}): ProxyServicePort {
  return {
    namespace: 'default',
    name: `svc-${clusterIP.split('.').pop()}`,
    portName: 'http',
    protocol: 'TCP',
    clusterIPs: [clusterIP],
    port: 80,
    endpoints: endpoints.map((e) => ({ ip: e.ip, port: 8080, ready: e.ready ?? true })),
    ...extra,
  };
}

function state(services: ProxyServicePort[], egress = true): ProxyState {
  return {
    tag,
    podCIDR: '10.42.0.0/16',
    serviceCIDR: '10.43.0.0/16',
    ...(egress ? { egressInterface: EGRESS_IF } : {}),
    services,
  };
}

interface Probe {
  outcome: 'data' | 'refused' | 'eperm' | 'timeout' | 'error';
  data?: string;
  code?: string;
  ms: number;
}

// Runs in the node namespace: `count` sequential TCP connections, each reading what the server says.
const PROBE_SCRIPT = `
const net = require('net');
const [ip, port, timeout, count] = process.argv.slice(1);
const one = () => new Promise((resolve) => {
  const t0 = Date.now();
  const s = net.connect({ host: ip, port: +port });
  let d = '';
  const done = (o) => { s.destroy(); resolve({ ...o, ms: Date.now() - t0 }); };
  s.setTimeout(+timeout, () => done({ outcome: 'timeout' }));
  s.on('data', (c) => (d += c));
  s.on('end', () => done({ outcome: 'data', data: d.trim() }));
  s.on('error', (e) => done({ outcome: e.code === 'ECONNREFUSED' ? 'refused' : e.code === 'EPERM' ? 'eperm' : 'error', code: e.code }));
});
(async () => { const out = []; for (let i = 0; i < +count; i++) out.push(await one()); console.log(JSON.stringify(out)); })();
`;

function probe(ns: string, ip: string, port: number, count = 1, timeoutMs = 1500): Probe[] {
  const out = execFileSync('ip', ['netns', 'exec', ns, process.execPath, '-e', PROBE_SCRIPT, ip, String(port), String(timeoutMs), String(count)], {
    encoding: 'utf8',
    timeout: count * timeoutMs + 10_000,
  });
  return JSON.parse(out) as Probe[];
}

function startPodServer(ns: string, reply: string): Promise<ChildProcess> {
  const script = `require('net').createServer((s) => s.end(${JSON.stringify(reply + '\n')})).listen(8080, '0.0.0.0', () => console.log('ready'))`;
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  servers.push(child);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server in ${ns} did not start`)), 10_000);
    child.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.on('exit', (code) => reject(new Error(`server in ${ns} exited with ${code}`)));
  });
}

/** Packets to the service range that arrived in the upstream namespace (its counting rule). */
function leakedPackets(): number {
  const save = sh('ip', 'netns', 'exec', upstreamNs, `iptables-${runner.backend}-save`, '-c', '-t', 'mangle');
  const m = /^\[(\d+):\d+\] -A PREROUTING -d 10\.43\.0\.0\/16/m.exec(save);
  if (!m) throw new Error('counting rule missing in the upstream namespace:\n' + save);
  return Number(m[1]);
}

function egressDropCount(): number {
  const save = sh('ip', 'netns', 'exec', nodeNs, `iptables-${runner.backend}-save`, '-c', '-t', 'mangle');
  let total = 0;
  for (const line of save.split('\n')) {
    const m = /^\[(\d+):\d+\] -A (\S+) .* -j DROP/.exec(line);
    if (m && m[2] === names.egress) total += Number(m[1]);
  }
  return total;
}

function ourChains(): string[] {
  const save = sh('ip', 'netns', 'exec', nodeNs, `iptables-${runner.backend}-save`);
  return save.split('\n').filter((l) => l.includes('NK-'));
}

describe('proxy rules in a network namespace', { skip: canRun ? false : 'needs root, iproute2 and iptables' }, () => {
  before(async () => {
    const { backend } = await detectIptablesBackend();
    runner = createIptablesRunner({ backend, netns: nodeNs });
    sh('ip', 'netns', 'add', nodeNs);
    inNode('link', 'set', 'lo', 'up');
    inNode('link', 'add', 'nkbr0', 'type', 'bridge');
    inNode('addr', 'add', '10.42.0.1/24', 'dev', 'nkbr0');
    inNode('link', 'set', 'nkbr0', 'up');
    // The default route leads into the upstream namespace, which counts what arrives for the
    // service range and, not forwarding, goes no further.
    sh('ip', 'netns', 'add', upstreamNs);
    inNode('link', 'add', EGRESS_IF, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', upstreamNs);
    inNode('addr', 'add', '192.0.2.1/24', 'dev', EGRESS_IF);
    inNode('link', 'set', EGRESS_IF, 'up');
    sh('ip', '-n', upstreamNs, 'addr', 'add', '192.0.2.254/24', 'dev', 'eth0');
    sh('ip', '-n', upstreamNs, 'link', 'set', 'eth0', 'up');
    sh('ip', '-n', upstreamNs, 'link', 'set', 'lo', 'up');
    execFileSync('ip', ['netns', 'exec', upstreamNs, `iptables-${runner.backend}-restore`], {
      input: '*mangle\n-A PREROUTING -d 10.43.0.0/16\nCOMMIT\n',
    });
    inNode('route', 'add', 'default', 'via', '192.0.2.254', 'dev', EGRESS_IF);
    for (const [i, ns] of podNs.entries()) {
      sh('ip', 'netns', 'add', ns);
      inNode('link', 'add', `nkv${i}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
      inNode('link', 'set', `nkv${i}`, 'master', 'nkbr0', 'up');
      sh('ip', '-n', ns, 'link', 'set', 'lo', 'up');
      sh('ip', '-n', ns, 'addr', 'add', `${podIPs[i]}/24`, 'dev', 'eth0');
      sh('ip', '-n', ns, 'link', 'set', 'eth0', 'up');
      sh('ip', '-n', ns, 'route', 'add', 'default', 'via', '10.42.0.1');
    }
    await Promise.all([startPodServer(podNs[0]!, 'pod1'), startPodServer(podNs[1]!, 'pod2')]);
  });

  after(() => {
    for (const s of servers) s.kill('SIGKILL');
    for (const ns of [...podNs, nodeNs, upstreamNs]) {
      try {
        sh('ip', 'netns', 'del', ns);
      } catch {
        // already gone
      }
    }
  });

  it('finds the default route interface of the namespace', () => {
    assert.equal(defaultRouteInterface(sh('ip', 'netns', 'exec', nodeNs, 'cat', '/proc/net/route')), EGRESS_IF);
  });

  it('reaches the pod through its ClusterIP', async () => {
    // Without rules the SYN goes out the default route and nothing answers.
    const [none] = probe(nodeNs, '10.43.1.10', 80, 1, 300);
    assert.notEqual(none!.outcome, 'data', JSON.stringify(none));
    await syncProxyRules(runner, state([servicePort('10.43.1.10', [{ ip: podIPs[0]! }])]));
    const [r] = probe(nodeNs, '10.43.1.10', 80);
    assert.deepEqual([r!.outcome, r!.data], ['data', 'pod1']);
  });

  it('refuses a service without endpoints at once (REJECT), and ignores not-ready endpoints', async () => {
    await syncProxyRules(
      runner,
      state([servicePort('10.43.1.10', [{ ip: podIPs[0]! }]), servicePort('10.43.1.11', [{ ip: podIPs[1]!, ready: false }])]),
    );
    const [r] = probe(nodeNs, '10.43.1.11', 80, 1, 3000);
    assert.equal(r!.outcome, 'refused');
    assert.ok(r!.ms < 1000, `refusal took ${r!.ms} ms`);
  });

  it('switches traffic when the endpoint set changes, without duplicating jumps', async () => {
    await syncProxyRules(runner, state([servicePort('10.43.1.10', [{ ip: podIPs[1]! }])]));
    const results = probe(nodeNs, '10.43.1.10', 80, 3);
    assert.deepEqual(
      results.map((r) => r.data),
      ['pod2', 'pod2', 'pod2'],
    );
    // Four syncs so far: still exactly one jump per hook.
    const jumps = ourChains().filter((l) => /^-A (PREROUTING|OUTPUT|POSTROUTING|INPUT|FORWARD) /.test(l));
    assert.equal(jumps.length, 7, jumps.join('\n'));
    // The no-endpoints service is gone, and so is its REJECT.
    assert.equal(probe(nodeNs, '10.43.1.11', 80, 1, 300)[0]!.outcome, 'timeout');
  });

  it('spreads connections over both endpoints', async () => {
    await syncProxyRules(runner, state([servicePort('10.43.1.10', [{ ip: podIPs[0]! }, { ip: podIPs[1]! }])]));
    const results = probe(nodeNs, '10.43.1.10', 80, 40);
    const counts = new Map<string, number>();
    for (const r of results) counts.set(r.data ?? r.outcome, (counts.get(r.data ?? r.outcome) ?? 0) + 1);
    // With p = 1/2 each, one pod getting all 40 has probability 2^-39.
    assert.deepEqual([...counts.keys()].sort(), ['pod1', 'pod2'], JSON.stringify([...counts]));
  });

  it('keeps a client on one endpoint with ClientIP session affinity', async () => {
    await syncProxyRules(
      runner,
      state([servicePort('10.43.1.10', [{ ip: podIPs[0]! }, { ip: podIPs[1]! }], { sessionAffinityTimeoutSeconds: 60 })]),
    );
    const results = probe(nodeNs, '10.43.1.10', 80, 20);
    assert.equal(new Set(results.map((r) => r.data)).size, 1, JSON.stringify(results.map((r) => r.data)));
  });

  it('drops cluster-range packets that would leave by the default route (mangle POSTROUTING)', async () => {
    const services = [servicePort('10.43.1.10', [{ ip: podIPs[0]! }])];
    // Control: without the guard, a packet to an unknown service IP leaves by the default route.
    await syncProxyRules(runner, state(services, false));
    const before = leakedPackets();
    probe(nodeNs, '10.43.7.7', 80, 1, 300);
    await waitFor(() => leakedPackets() > before, { timeoutMs: 2000, what: 'the leaked SYN in the upstream namespace' });

    await syncProxyRules(runner, state(services, true));
    const leakedBefore = leakedPackets();
    const dropsBefore = egressDropCount();
    const [r] = probe(nodeNs, '10.43.7.7', 80, 1, 500);
    // TCP keeps retransmitting a dropped SYN, so the client only sees a timeout; the counters tell.
    assert.equal(r!.outcome, 'timeout', JSON.stringify(r));
    assert.ok(egressDropCount() > dropsBefore, 'the DROP counter moved');
    assert.equal(leakedPackets(), leakedBefore, 'nothing left by the default route');
    // Host → ClusterIP is DNATed before mangle POSTROUTING, so the guard must not break it.
    assert.equal(probe(nodeNs, '10.43.1.10', 80)[0]!.data, 'pod1');
  });

  it('reaches the pod from another pod, through the node', async () => {
    sh('ip', 'netns', 'exec', nodeNs, 'sysctl', '-qw', 'net.ipv4.ip_forward=1');
    await syncProxyRules(runner, state([servicePort('10.43.1.10', [{ ip: podIPs[1]! }])]));
    const [r] = probe(podNs[0]!, '10.43.1.10', 80);
    assert.deepEqual([r!.outcome, r!.data], ['data', 'pod2']);
  });

  it('lets a pod reach itself through its own ClusterIP (hairpin masquerade)', async () => {
    // With br_netfilter the DNATed packet is bridged back out of the port it came in by, which the
    // bridge only does with hairpin_mode on (the kubelet's job for sandboxes, see design.md).
    sh('ip', 'netns', 'exec', nodeNs, 'sh', '-c', 'echo 1 > /sys/class/net/nkv0/brport/hairpin_mode');
    await syncProxyRules(runner, state([servicePort('10.43.1.10', [{ ip: podIPs[0]! }])]));
    const [r] = probe(podNs[0]!, '10.43.1.10', 80);
    assert.deepEqual([r!.outcome, r!.data], ['data', 'pod1'], JSON.stringify(r));
  });

  it('removes every chain and jump, and a second removal finds nothing', async () => {
    assert.ok(ourChains().length > 0);
    assert.equal(await removeClusterRules(runner, tag), true);
    assert.deepEqual(ourChains(), []);
    assert.equal(await removeClusterRules(runner, tag), false);
    // And a fresh sync after removal works again (jumps re-inserted).
    const applied = await syncProxyRules(runner, state([servicePort('10.43.1.10', [{ ip: podIPs[0]! }])]));
    assert.match(applied.input, /-I PREROUTING 1 /);
    assert.equal(probe(nodeNs, '10.43.1.10', 80)[0]!.data, 'pod1');
    await removeClusterRules(runner, tag);
    assert.deepEqual(ourChains(), []);
  });

  it('syncs 1000 services with 2 endpoints each in one transaction', async (t) => {
    const many: ProxyServicePort[] = [];
    for (let i = 0; i < 1000; i++) {
      many.push(servicePort(`10.43.${10 + Math.floor(i / 250)}.${(i % 250) + 1}`, [{ ip: `10.42.${1 + (i % 200)}.2` }, { ip: `10.42.${1 + (i % 200)}.3` }], { name: `many-${i}` }));
    }
    const t0 = performance.now();
    const built = buildRules(state(many));
    const buildMs = performance.now() - t0;
    const first = await syncProxyRules(runner, state(many));
    // Change one endpoint of every tenth service: every chain is rewritten, 200 stale SEP chains go.
    const changed = many.map((sp, i) => (i % 10 ? sp : { ...sp, endpoints: [{ ip: '10.42.250.9', port: 8080, ready: true }] }));
    const second = await syncProxyRules(runner, state(changed));
    const lines = built.split('\n').length;
    const summary = `1000 services: build ${buildMs.toFixed(1)} ms (${lines} lines), first sync ${first.durationMs.toFixed(0)} ms, resync ${second.durationMs.toFixed(0)} ms`;
    t.diagnostic(summary);
    console.log(`# proxy-scale: ${summary}`);
    assert.equal([...second.input.matchAll(/^-X /gm)].length, 200);
    const chains = ourChains().filter((l) => l.startsWith(':'));
    assert.equal(chains.length, 4 + 2 + 1 + 1000 + 900 * 2 + 100, 'base chains + SVC + SEP');
    assert.ok(second.durationMs < 20_000);
    // The sample service still answers after the large resync.
    await syncProxyRules(runner, state([servicePort('10.43.1.10', [{ ip: podIPs[0]! }])]));
    assert.equal(probe(nodeNs, '10.43.1.10', 80)[0]!.data, 'pod1');
  });

  it('has every unit golden accepted by the kernel (iptables-restore --test)', () => {
    const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'proxy');
    const goldens = fs.readdirSync(dir).filter((f) => f.endsWith('.rules'));
    assert.ok(goldens.length >= 4);
    for (const f of [...goldens.map((g) => fs.readFileSync(path.join(dir, g), 'utf8')), buildRules(state([]))]) {
      execFileSync('ip', ['netns', 'exec', nodeNs, `iptables-${runner.backend}-restore`, '--test', '--noflush'], { input: f });
    }
  });
});
