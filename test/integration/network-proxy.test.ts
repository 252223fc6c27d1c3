// The proxy component end to end inside a network namespace: API objects (real resource API) →
// endpoint controllers → ServiceProxy → iptables in the namespace → a TCP connection to the
// ClusterIP reaches a "pod" (another namespace on a bridge). Never touches the host's rules.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { startTestApi, type TestApi } from '../helpers/api.ts';
import { waitFor } from '../helpers/wait.ts';
import { clusterTag, createIptablesRunner, detectIptablesBackend, type IptablesRunner } from '../../src/proxy/index.ts';
import { startNetworkControllers } from '../../src/network/controllers.ts';
import { ServiceProxy } from '../../src/network/service-proxy.ts';
import { podsRef, servicesRef } from '../../src/network/endpoint-model.ts';

const id = randomBytes(3).toString('hex');
const nodeNs = `nk-np-${id}-node`;
const podNs = `nk-np-${id}-pod`;
const tag = clusterTag(`network-proxy-test-${id}`);
const canRun = (() => {
  try {
    return process.getuid?.() === 0 && !!execFileSync('which', ['ip', 'iptables-nft-restore']);
  } catch {
    return false;
  }
})();

const sh = (...argv: string[]) => execFileSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
const CONNECT = `const s=require('net').connect(+process.argv[2],process.argv[1]);let d='';s.setTimeout(1500,()=>{console.log('timeout');process.exit(0)});s.on('data',x=>d+=x);s.on('end',()=>{console.log(d.trim()||'empty');process.exit(0)});s.on('error',e=>{console.log(e.code);process.exit(0)});`;
const connectFromNode = (ip: string, port: number) => sh('ip', 'netns', 'exec', nodeNs, process.execPath, '-e', CONNECT, ip, String(port)).trim();

describe('service proxy component in a network namespace', { skip: canRun ? false : 'needs root, iproute2 and iptables' }, () => {
  let api: TestApi;
  let runner: IptablesRunner;
  let server: ChildProcess;
  const abort = new AbortController();
  let proxy: ServiceProxy;
  let proxyDone: Promise<void>;
  let controllersDone: Promise<void>;
  const ourRules = () => sh('ip', 'netns', 'exec', nodeNs, `iptables-${runner.backend}-save`).split('\n').filter((l) => l.includes(tag));

  before(async () => {
    runner = createIptablesRunner({ backend: (await detectIptablesBackend()).backend, netns: nodeNs });
    sh('ip', 'netns', 'add', nodeNs);
    sh('ip', '-n', nodeNs, 'link', 'set', 'lo', 'up');
    sh('ip', '-n', nodeNs, 'link', 'add', 'nkbr0', 'type', 'bridge');
    sh('ip', '-n', nodeNs, 'addr', 'add', '10.42.0.1/24', 'dev', 'nkbr0');
    sh('ip', '-n', nodeNs, 'link', 'set', 'nkbr0', 'up');
    // A host has a default route; this namespace needs some route for the service range to pass
    // routing before the nat OUTPUT DNAT (it points at the bridge, where nothing answers for it).
    sh('ip', '-n', nodeNs, 'route', 'add', '10.43.0.0/16', 'dev', 'nkbr0');
    sh('ip', 'netns', 'add', podNs);
    sh('ip', '-n', nodeNs, 'link', 'add', 'nkv0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', podNs);
    sh('ip', '-n', nodeNs, 'link', 'set', 'nkv0', 'master', 'nkbr0', 'up');
    sh('ip', '-n', podNs, 'link', 'set', 'lo', 'up');
    sh('ip', '-n', podNs, 'addr', 'add', '10.42.0.2/24', 'dev', 'eth0');
    sh('ip', '-n', podNs, 'link', 'set', 'eth0', 'up');
    sh('ip', '-n', podNs, 'route', 'add', 'default', 'via', '10.42.0.1');
    server = spawn('ip', ['netns', 'exec', podNs, process.execPath, '-e', `require('net').createServer(s=>s.end('pod1\\n')).listen(8080,()=>console.log('ready'))`], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      server.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
      server.on('exit', (c) => reject(new Error(`pod server exited ${c}`)));
    });

    api = await startTestApi();
    const client = api.newClient('network-test');
    const controllers = await startNetworkControllers({ client }, abort.signal);
    controllersDone = controllers.done;
    proxy = new ServiceProxy({ client, informers: controllers.informers, runner, tag, podCIDR: '10.42.0.0/16', serviceCIDR: '10.43.0.0/16', minIntervalMs: 50, loadBalancerListeners: false });
    proxyDone = proxy.run(abort.signal);
  });

  after(async () => {
    abort.abort();
    await proxyDone;
    await controllersDone;
    await api?.close();
    server?.kill('SIGKILL');
    for (const ns of [podNs, nodeNs]) execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
  });

  it('a Service becomes reachable on its ClusterIP and NodePort; deleting it refuses; stop removes every chain', async () => {
    const c = api.client;
    await c.create(podsRef, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', namespace: 'default', labels: { app: 'web' } }, spec: { nodeName: 'n', containers: [{ name: 'c', image: 'x' }] } });
    await c.patch(podsRef, 'web', 'merge', { status: { phase: 'Running', podIP: '10.42.0.2', conditions: [{ type: 'Ready', status: 'True' }] } }, { namespace: 'default', subresource: 'status' });
    const t0 = performance.now();
    await c.create(servicesRef, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'default' }, spec: { type: 'NodePort', clusterIP: '10.43.0.20', ports: [{ port: 80, targetPort: 8080, nodePort: 30080 }], selector: { app: 'web' } } });
    await waitFor(() => connectFromNode('10.43.0.20', 80) === 'pod1', { what: 'ClusterIP to answer', timeoutMs: 10_000, intervalMs: 20 }).catch((e: unknown) => {
      console.log('# probe:', connectFromNode('10.43.0.20', 80), 'direct:', connectFromNode('10.42.0.2', 8080), 'stats', JSON.stringify(proxy.stats));
      console.log(ourRules().join('\n').replace(/^/gm, '# '));
      throw e;
    });
    const reachableMs = performance.now() - t0;
    assert.equal(connectFromNode('10.42.0.1', 30080), 'pod1', 'NodePort on a local address');
    assert.ok(proxy.stats.lastLatencyMs < 5000, `sync latency ${proxy.stats.lastLatencyMs} ms`);
    console.log(`# service create → reachable: ${reachableMs.toFixed(0)} ms; last sync ${proxy.stats.lastSyncMs.toFixed(1)} ms, change→applied ${proxy.stats.lastLatencyMs.toFixed(1)} ms, syncs ${proxy.stats.syncs}`);

    // A burst of 50 Services is applied in a few syncs, not 50.
    const before = proxy.stats.syncs;
    await Promise.all(Array.from({ length: 50 }, (_, i) => c.create(servicesRef, { apiVersion: 'v1', kind: 'Service', metadata: { name: `b${i}`, namespace: 'default' }, spec: { clusterIP: `10.43.1.${i + 1}`, ports: [{ port: 80 }], selector: { app: 'none' } } })));
    await waitFor(() => ourRules().some((l) => l.includes('10.43.1.50/32')), { what: 'burst applied', timeoutMs: 10_000, intervalMs: 20 });
    assert.ok(proxy.stats.syncs - before < 25, `coalesced: ${proxy.stats.syncs - before} syncs for 50 creates (plus their slices)`);

    await c.delete(servicesRef, 'web', { namespace: 'default' });
    await waitFor(() => !ourRules().some((l) => l.includes('10.43.0.20/32')), { what: 'rules for the deleted Service removed', timeoutMs: 10_000, intervalMs: 20 });
    assert.notEqual(connectFromNode('10.43.0.20', 80), 'pod1');

    abort.abort();
    await proxyDone;
    assert.deepEqual(ourRules(), [], 'no chain or jump of ours left after stop');
  });
});
