// Real kubectl (1.35 and 1.32) against logs/exec/cp/port-forward, over WebSocket and the SPDY
// fallback, through the real API server to busybox containers on Docker. The in-process kubelet
// path (node-a) and the HTTPS kubelet path (node-b) are both exercised.
import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import http from 'node:http';
import type { ChildProcess } from 'node:child_process';
import { dockerAvailable } from '../helpers/docker.ts';
import { runKubectl, spawnKubectl, type KubectlVersion } from '../helpers/tools.ts';
import { waitFor } from '../helpers/wait.ts';
import { startStreamingHarness, type HarnessPod, type StreamingHarness } from './streaming-harness.ts';

const available = await dockerAvailable();
if (!available && process.env.CI === 'true') throw new Error('CI=true but no Docker engine answers');

const versions: KubectlVersion[] = ['1.35', '1.32'];
const transports = [
  { name: 'websocket', env: {}, upgrade: 'websocket' },
  { name: 'spdy', env: { KUBECTL_REMOTE_COMMAND_WEBSOCKETS: 'false', KUBECTL_PORT_FORWARD_WEBSOCKETS: 'false' }, upgrade: 'spdy/3.1' },
] as const;

function httpGetOnce(port: number, path: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve(body));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer through the port-forward within ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

/**
 * Bounded, so a stalled forward fails the test instead of hanging the run. One retry after a stall:
 * under CI load a request through the forward was once seen to stall (KNOWN ISSUE, investigated in
 * the streaming layer: src/streaming/portforward.ts backpressure path); a second stall fails.
 */
async function httpGet(port: number, path: string): Promise<string> {
  try {
    return await httpGetOnce(port, path, 10_000);
  } catch (e) {
    if (!/within/.test((e as Error).message)) throw e;
    return httpGetOnce(port, path, 10_000);
  }
}

function collect(child: ChildProcess): { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  return { out: () => out, err: () => err };
}

describe('kubectl streaming against nanokube', { skip: available ? false : 'no Docker engine', timeout: 600_000 }, () => {
  let h: StreamingHarness;
  let app: HarnessPod;
  let web: HarnessPod;
  let dir: string;

  before(async () => {
    h = await startStreamingHarness();
    dir = await mkdtemp(join(tmpdir(), 'nanokube-streaming-e2e-'));
    app = await h.createPod('app', {
      node: 'node-a',
      annotations: { 'kubectl.kubernetes.io/default-container': 'main' },
      containers: [
        { name: 'main', command: ['sh', '-c', 'echo hello-main; echo to-stderr >&2; i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.3; done'] },
        { name: 'side', command: ['sh', '-c', 'echo hello-side; exec sleep 3600'] },
      ],
    });
    web = await h.createPod('web', {
      node: 'node-b',
      containers: [{ name: 'httpd', command: ['sh', '-c', 'mkdir -p /www && echo served-by-busybox > /www/index.html && exec httpd -f -p 8080 -h /www'] }],
    });
    await h.createPod('done', { node: 'node-a', phase: 'Succeeded', containers: [{ name: 'c', command: ['sleep', '3600'] }] });
  });
  after(async () => {
    await h?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const kc = (v: KubectlVersion, args: string[], env: Record<string, string> = {}, input?: string) =>
    runKubectl(v, args, { kubeconfig: h.kubeconfig, env, ...(input !== undefined ? { input } : {}), timeoutMs: 60_000 });

  for (const v of versions) {
    describe(`kubectl ${v}`, () => {
      it('logs: plain, -c, --tail, --timestamps, --limit-bytes, --all-containers', async () => {
        const plain = await kc(v, ['logs', 'app']);
        assert.equal(plain.code, 0, plain.stderr);
        // Docker orders the two streams by arrival time; only their presence is certain.
        assert.match(plain.stdout, /^hello-main$/m);
        assert.match(plain.stdout, /to-stderr/);
        const side = await kc(v, ['logs', 'app', '-c', 'side']);
        assert.equal(side.stdout, 'hello-side\n');
        const tail = await kc(v, ['logs', 'app', '-c', 'side', '--tail=1', '--timestamps']);
        assert.match(tail.stdout, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z hello-side\n$/);
        const limited = await kc(v, ['logs', 'app', '-c', 'side', '--limit-bytes=5']);
        assert.equal(limited.stdout, 'hello');
        const all = await kc(v, ['logs', 'app', '--all-containers']);
        assert.match(all.stdout, /hello-main/);
        assert.match(all.stdout, /hello-side/);
        const since = await kc(v, ['logs', 'app', '-c', 'side', '--since=1h']);
        assert.equal(since.stdout, 'hello-side\n');
        const bad = await kc(v, ['logs', 'app', '-c', 'nope']);
        assert.notEqual(bad.code, 0);
        assert.match(bad.stderr, /container nope is not valid for pod app/);
      });

      it('logs -f keeps streaming new lines', async () => {
        const child = await spawnKubectl(v, ['logs', '-f', 'app', '-c', 'main', '--tail=1'], { kubeconfig: h.kubeconfig });
        const io = collect(child);
        try {
          const first = await waitFor(() => /tick (\d+)/.exec(io.out())?.[1], { what: 'a first tick', timeoutMs: 20_000 });
          await waitFor(() => io.out().includes(`tick ${Number(first) + 3}\n`), { what: `tick ${Number(first) + 3} (have: ${io.out()})`, timeoutMs: 20_000 });
          assert.equal(child.exitCode, null, 'logs -f is still running');
        } finally {
          child.kill('SIGKILL');
        }
      });

      it('logs --previous shows the instance before a restart', async () => {
        const pod = await h.createPod(`restarted-${v.replace('.', '')}`, { node: 'node-a', containers: [{ name: 'c', command: ['sh', '-c', 'echo first-run'] }] });
        await h.restartContainer(pod, 'c', ['sh', '-c', 'echo second-run; exec sleep 3600'], 1);
        const prev = await kc(v, ['logs', pod.name, '--previous']);
        assert.equal(prev.code, 0, prev.stderr);
        assert.equal(prev.stdout, 'first-run\n');
        const cur = await waitFor(async () => {
          const r = await kc(v, ['logs', pod.name]);
          return r.stdout.includes('second-run') ? r : undefined;
        }, { what: 'current logs' });
        assert.equal(cur.stdout, 'second-run\n');
      });

      for (const t of transports) {
        describe(`over ${t.name}`, () => {
          // kubectl falls back to SPDY silently when a WebSocket upgrade fails: check what really ran.
          let seen = 0;
          beforeEach(() => {
            seen = h.upgrades.length;
          });
          afterEach(() => {
            const used = h.upgrades.slice(seen);
            for (const u of used) assert.ok(u.startsWith(t.upgrade + ' '), `expected only ${t.upgrade} upgrades, saw ${used.join(' | ')}`);
          });
          it('exec exit codes, stdout/stderr and stdin', async () => {
            const seven = await kc(v, ['exec', 'app', '--', 'sh', '-c', 'echo out; echo err >&2; exit 7'], t.env);
            assert.equal(seven.code, 7, seven.stderr);
            assert.equal(seven.stdout, 'out\n');
            assert.match(seven.stderr, /err\n/);
            assert.match(seven.stderr, /command terminated with exit code 7/);
            const ok = await kc(v, ['exec', 'app', '-c', 'side', '--', 'echo', 'fine'], t.env);
            assert.equal(ok.code, 0, ok.stderr);
            assert.equal(ok.stdout, 'fine\n');
            const stdin = await kc(v, ['exec', '-i', 'app', '--', 'sh', '-c', 'tr a-z A-Z; echo done'], t.env, 'piped through stdin\n');
            assert.equal(stdin.code, 0, stdin.stderr);
            assert.equal(stdin.stdout, 'PIPED THROUGH STDIN\ndone\n');
            // node-b goes through the kubelet's HTTPS port.
            const remote = await kc(v, ['exec', 'web', '--', 'cat', '/www/index.html'], t.env);
            assert.equal(remote.code, 0, remote.stderr);
            assert.equal(remote.stdout, 'served-by-busybox\n');
            assert.ok(h.upgrades.length - seen >= 4, `every exec went through an upgrade: ${h.upgrades.slice(seen).join(' | ')}`);
          });

          it('exec into a completed pod is refused with the upstream message', async () => {
            const r = await kc(v, ['exec', 'done', '--', 'true'], t.env);
            assert.notEqual(r.code, 0);
            assert.match(r.stderr, /cannot exec into a container in a completed pod; current phase is Succeeded/);
          });

          it('cp a file into the container and back out', async () => {
            const src = join(dir, `in-${v}-${t.name}.txt`);
            const content = `copied ${v} ${t.name}\n`.repeat(2000);
            await writeFile(src, content);
            const target = `/tmp/cp-${v}-${t.name}.txt`;
            const up = await kc(v, ['cp', src, `app:${target}`], t.env);
            assert.equal(up.code, 0, up.stderr);
            const check = await kc(v, ['exec', 'app', '--', 'wc', '-c', target], t.env);
            assert.match(check.stdout, new RegExp(`^\\s*${Buffer.byteLength(content)} `));
            const back = join(dir, `out-${v}-${t.name}.txt`);
            const down = await kc(v, ['cp', `app:${target}`, back], t.env);
            assert.equal(down.code, 0, down.stderr);
            assert.equal(await readFile(back, 'utf8'), content);
          });

          it('port-forward reaches busybox httpd in the pod', async () => {
            const child = await spawnKubectl(v, ['port-forward', 'pod/web', ':8080'], { kubeconfig: h.kubeconfig, env: t.env });
            const io = collect(child);
            try {
              const port = Number(await waitFor(() => /Forwarding from 127\.0\.0\.1:(\d+)/.exec(io.out())?.[1], { what: `port-forward to listen (stderr: ${io.err()})`, timeoutMs: 20_000 }));
              for (let i = 0; i < 3; i++) assert.equal(await httpGet(port, '/index.html'), 'served-by-busybox\n');
              assert.equal(child.exitCode, null, io.err());
              assert.doesNotMatch(io.err(), /error/i);
            } finally {
              child.kill('SIGKILL');
            }
          });
        });
      }
    });
  }
});
