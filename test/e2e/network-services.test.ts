// Services end to end on a real cluster: a busybox httpd Deployment behind a NodePort Service,
// reached from a client pod by ClusterIP and by DNS name, from the host on 127.0.0.1:<nodePort>;
// ClusterIP allocation errors as kubectl shows them; `delete` leaves none of the cluster's chains.
// Needs root, Docker and `npm run build` first. Traffic goes only to the cluster's own pods and
// to loopback.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import http from 'node:http';
import { startCluster } from '../helpers/cluster.ts';
import { ensureTestImage, TEST_IMAGE } from '../helpers/docker.ts';
import { waitFor } from '../helpers/wait.ts';
import { clusterTag } from '../../src/proxy/index.ts';

const canRun = process.getuid?.() === 0;

const manifest = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: default}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: httpd
        image: ${TEST_IMAGE}
        command: [sh, -c, 'mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 8080 -h /www']
        ports: [{name: http, containerPort: 8080}]
        readinessProbe: {tcpSocket: {port: 8080}, periodSeconds: 1}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{port: 80, targetPort: http}]
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: default}
spec:
  containers: [{name: c, image: ${TEST_IMAGE}, command: [sleep, '3600']}]
`;

function iptablesSave(): string {
  return ['iptables-nft-save', 'iptables-legacy-save'].map((t) => { try { return execFileSync(t, { encoding: 'utf8' }); } catch { return ''; } }).join('\n');
}

function getLocal(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: '/', timeout: 3000 }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d));
      res.on('end', () => resolve(body.trim()));
    }).on('error', reject);
  });
}

test('Service by ClusterIP, DNS name and NodePort; allocation errors; delete removes the chains', { skip: canRun ? false : 'needs root and Docker', timeout: 300_000 }, async () => {
  await ensureTestImage();
  const cluster = await startCluster();
  const tag = clusterTag(cluster.name);
  try {
    const k = (args: string[], input?: string) => cluster.kubectl(args, input ? { input } : {});
    assert.equal((await k(['apply', '-f', '-'], manifest)).code, 0);
    const svc = JSON.parse((await k(['get', 'svc', 'web', '-o', 'json'])).stdout) as { spec: { clusterIP: string; ports: Array<{ nodePort: number }> } };
    // Each cluster has its own service range; the `kubernetes` Service holds its first address.
    const kubernetesIP = (await k(['get', 'svc', 'kubernetes', '-o', 'jsonpath={.spec.clusterIP}'])).stdout.trim();
    assert.match(kubernetesIP, /^10\.\d+\.0\.1$/);
    assert.equal(svc.spec.clusterIP.split('.').slice(0, 2).join('.'), kubernetesIP.split('.').slice(0, 2).join('.'));
    const nodePort = svc.spec.ports[0]!.nodePort;
    assert.ok(nodePort >= 30000 && nodePort <= 32767);

    // The same IP twice: upstream's message.
    const clash = await k(['create', 'service', 'clusterip', 'clash', '--tcp=80', `--clusterip=${svc.spec.clusterIP}`]);
    assert.notEqual(clash.code, 0);
    assert.match(clash.stderr, new RegExp(`spec.clusterIPs: Invalid value: \\["${svc.spec.clusterIP.replace(/\./g, '\\.')}"\\]: failed to allocate IP ${svc.spec.clusterIP.replace(/\./g, '\\.')}: provided IP is already allocated`));

    await k(['wait', '--for=condition=Available', 'deployment/web', '--timeout=120s']);
    await k(['wait', '--for=condition=Ready', 'pod/client', '--timeout=120s']);
    const fromClient = async (url: string) => (await k(['exec', 'client', '--', 'timeout', '5', 'wget', '-qO-', url])).stdout.trim();
    await waitFor(async () => (await fromClient(`http://${svc.spec.clusterIP}/`)).startsWith('web-'), { what: 'ClusterIP from a pod', timeoutMs: 30_000, intervalMs: 500 });
    await waitFor(async () => (await fromClient('http://web.default.svc.cluster.local/')).startsWith('web-'), { what: 'DNS name from a pod', timeoutMs: 30_000, intervalMs: 500 });
    await waitFor(async () => (await fromClient('http://web/')).startsWith('web-'), { what: 'short name via search path', timeoutMs: 30_000, intervalMs: 500 });
    await waitFor(async () => (await getLocal(nodePort).catch(() => '')).startsWith('web-'), { what: 'NodePort on 127.0.0.1', timeoutMs: 30_000, intervalMs: 500 });
    assert.ok(iptablesSave().includes(tag), 'the cluster has chains while running');
  } finally {
    await cluster.destroy();
  }
  const left = iptablesSave().split('\n').filter((l) => l.includes(tag));
  assert.deepEqual(left, [], `no ${tag} rule after delete`);
});
