// The cluster lifecycle through the real CLI and real kubectl 1.35 and 1.32:
// start → use → stop → start → delete, plus the failure modes a new user meets first.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { runNanokube, startCluster, type TestCluster } from '../helpers/cluster.ts';
import { runKubectl } from '../helpers/tools.ts';

function readKubeconfig(file: string) {
  return YAML.parse(fs.readFileSync(file, 'utf8')) as {
    'current-context'?: string;
    clusters: Array<{ name: string; cluster: { server: string; 'certificate-authority-data': string } }>;
    contexts: Array<{ name: string }>;
    users: Array<{ name: string }>;
  };
}

function httpsGet(url: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { ca, timeout: 10_000 }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

test('start, use with kubectl 1.35 and 1.32, stop, start again, delete', async () => {
  const cluster: TestCluster = await startCluster();
  try {
    const dataDir = path.join(cluster.home, cluster.name);
    assert.ok(fs.existsSync(cluster.kubeconfig), 'start writes <data>/kubeconfig.yaml');

    for (const version of ['1.35', '1.32'] as const) {
      const v = await cluster.kubectl(['version', '-o', 'json'], { version });
      assert.equal(v.code, 0, v.stderr);
      const info = JSON.parse(v.stdout) as { serverVersion: { major: string; minor: string; gitVersion: string } };
      assert.equal(info.serverVersion.major, '1');
      assert.equal(info.serverVersion.minor, '32');
      assert.match(info.serverVersion.gitVersion, /^v1\.32\.\d+/);
      const ready = await cluster.kubectl(['get', '--raw', '/readyz'], { version });
      assert.equal(ready.code, 0, ready.stderr);
      assert.equal(ready.stdout.trim(), 'ok');
    }
    const verbose = await cluster.kubectl(['get', '--raw', '/readyz?verbose']);
    assert.match(verbose.stdout, /\[\+\]etcd ok/);
    assert.match(verbose.stdout, /readyz check passed/);

    // Starting a running cluster is not an error.
    const again = await cluster.cli(['start', '--name', cluster.name]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /already running/);

    const status = await cluster.cli(['status', '--name', cluster.name, '-o', 'json']);
    assert.equal(status.code, 0, status.stderr);
    const s = JSON.parse(status.stdout) as Record<string, unknown>;
    assert.equal(s.name, cluster.name);
    assert.equal(s.state, 'running');
    assert.equal(typeof s.pid, 'number');
    assert.match(String(s.apiServer), /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(s.dataDir, dataDir);
    assert.ok(s.version);

    const stopped = await cluster.cli(['stop', '--name', cluster.name]);
    assert.equal(stopped.code, 0, stopped.stderr);
    const down = await cluster.kubectl(['get', '--raw', '/readyz'], { timeoutMs: 20_000 });
    assert.notEqual(down.code, 0, 'kubectl must fail against a stopped cluster');
    assert.match(down.stderr, /refused|Unable to connect/i);
    const st = JSON.parse((await cluster.cli(['status', '--name', cluster.name, '-o', 'json'])).stdout) as { state: string };
    assert.equal(st.state, 'stopped');

    // Restart: same port, same kubeconfig, same PKI.
    const restarted = await cluster.cli(['start', '--name', cluster.name, '--no-merge-kubeconfig']);
    assert.equal(restarted.code, 0, restarted.stderr);
    const back = await cluster.kubectl(['get', '--raw', '/readyz']);
    assert.equal(back.code, 0, back.stderr);

    const list = await cluster.cli(['list']);
    assert.match(list.stdout, new RegExp(`${cluster.name}\\s+running`));

    await cluster.destroy();
    assert.equal(fs.existsSync(dataDir), false, 'delete removes the data dir');
  } finally {
    await cluster.destroy().catch(() => undefined);
  }
});

test('only public paths answer without a client certificate', async () => {
  const cluster = await startCluster();
  try {
    const kc = readKubeconfig(cluster.kubeconfig);
    const server = kc.clusters[0]!.cluster.server;
    const ca = Buffer.from(kc.clusters[0]!.cluster['certificate-authority-data'], 'base64').toString();
    for (const p of ['/version', '/healthz', '/livez', '/readyz']) {
      const r = await httpsGet(server + p, ca);
      assert.equal(r.status, 200, `${p} is public`);
    }
    for (const p of ['/api', '/apis', '/api/v1/namespaces', '/metrics', '/openapi/v3']) {
      const r = await httpsGet(server + p, ca);
      assert.equal(r.status, 401, `${p} needs credentials`);
      const status = JSON.parse(r.body) as { kind: string; reason: string; code: number };
      assert.equal(status.kind, 'Status');
      assert.equal(status.reason, 'Unauthorized');
      assert.equal(status.code, 401);
    }
  } finally {
    await cluster.destroy();
  }
});

test('kubeconfig merge keeps unrelated entries and delete removes only ours', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nanokube-kc-'));
  const kubeconfig = path.join(dir, 'config');
  const existing = {
    apiVersion: 'v1',
    kind: 'Config',
    'current-context': 'other',
    clusters: [{ name: 'other', cluster: { server: 'https://127.0.0.1:1' } }],
    users: [{ name: 'other', user: { token: 'abc' } }],
    contexts: [{ name: 'other', context: { cluster: 'other', user: 'other' } }],
  };
  fs.writeFileSync(kubeconfig, YAML.stringify(existing));
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'nanokube-home-'));
  const env = { ...process.env, NANOKUBE_HOME: home, KUBECONFIG: kubeconfig };
  const name = `t-merge-${process.pid}`;
  try {
    const r = await runNanokube(['start', '--name', name, '--api-port', '0'], { env });
    assert.equal(r.code, 0, r.stderr);
    const merged = readKubeconfig(kubeconfig);
    assert.equal(merged['current-context'], `nanokube-${name}`);
    assert.deepEqual(merged.contexts.map((c) => c.name).sort(), [`nanokube-${name}`, 'other']);
    const otherCluster = merged.clusters.find((c) => c.name === 'other');
    assert.deepEqual(otherCluster, existing.clusters[0]);
    // kubectl follows the merged current context.
    const v = await runKubectl('1.35', ['get', '--raw', '/readyz'], { kubeconfig });
    assert.equal(v.code, 0, v.stderr);

    const d = await runNanokube(['delete', '--name', name], { env });
    assert.equal(d.code, 0, d.stderr);
    const after = readKubeconfig(kubeconfig);
    assert.deepEqual(after.contexts.map((c) => c.name), ['other']);
    assert.deepEqual(after.clusters.map((c) => c.name), ['other']);
    assert.deepEqual(after.users.map((c) => c.name), ['other']);
  } finally {
    await runNanokube(['delete', '--name', name], { env });
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(home, { recursive: true, force: true });
  }
});

test('start fails clearly when Docker is not reachable', async () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'nanokube-home-'));
  try {
    const env = { ...process.env, NANOKUBE_HOME: home, DOCKER_HOST: `unix://${home}/no-docker.sock` };
    const r = await runNanokube(['start', '--name', 'nodocker', '--api-port', '0', '--no-merge-kubeconfig'], { env });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Docker is not reachable/);
    assert.match(r.stderr, /no-docker\.sock/);
    const s = await runNanokube(['status', '--name', 'nodocker', '-o', 'json'], { env });
    assert.equal((JSON.parse(s.stdout) as { state: string }).state, 'stopped', 'no server left running');
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
  }
});

test('start fails clearly when the API port is busy', async () => {
  const blocker = net.createServer();
  await new Promise<void>((resolve) => blocker.listen({ host: '0.0.0.0', port: 0 }, resolve));
  const port = (blocker.address() as net.AddressInfo).port;
  // Cluster names are host-wide for Docker objects: never a fixed name in tests that may run in parallel.
  const busyName = `t-busy-${process.pid}`;
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'nanokube-home-'));
  try {
    const env = { ...process.env, NANOKUBE_HOME: home };
    const r = await runNanokube(['start', '--name', busyName, '--api-port', String(port), '--no-merge-kubeconfig'], { env });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, new RegExp(`port ${port} is already in use`));
    assert.match(r.stderr, /--api-port/);
  } finally {
    blocker.close();
    // A failed first start may already have claimed the cluster's Docker network: delete cleans up.
    await runNanokube(['delete', '--name', busyName], { env: { ...process.env, NANOKUBE_HOME: home } });
    fs.rmSync(home, { recursive: true, force: true });
  }
});
