// `npm run bench -- start`: time from `nanokube start` to Ready (fresh data dir and restart), and the
// server's idle RSS, next to a baseline measured in the same run: a bare Node process that starts a
// fastify HTTPS server answering /readyz (the floor any Node-based server pays).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import https from 'node:https';
import { runNanokube } from '../helpers/cluster.ts';
import { repoRoot } from '../helpers/tools.ts';

const runs = Number(process.env.BENCH_RUNS ?? 5);
const idleSeconds = Number(process.env.BENCH_IDLE_SECONDS ?? 30);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function rssMiB(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb / 1024;
}

async function getOk(url: string, deadlineMs: number): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const req = https.get(url, { rejectUnauthorized: false, timeout: 1000 }, (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      });
      req.on('error', () => resolve(false));
      req.on('timeout', () => req.destroy());
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${url} not ready in ${deadlineMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Baseline: node + fastify over HTTPS with a fresh self-signed cert, until /readyz answers. */
async function baselineOnce(certDir: string): Promise<{ ms: number; pid: number; stop: () => void }> {
  const script = `
    const Fastify = require(${JSON.stringify(path.join(repoRoot, 'node_modules', 'fastify'))});
    const fs = require('fs');
    const app = Fastify({ https: { key: fs.readFileSync(${JSON.stringify(path.join(certDir, 'key.pem'))}), cert: fs.readFileSync(${JSON.stringify(path.join(certDir, 'cert.pem'))}) } });
    app.get('/readyz', async () => 'ok');
    app.listen({ host: '127.0.0.1', port: 0 }).then(() => process.stdout.write(String(app.server.address().port) + '\\n'));
  `;
  const t0 = performance.now();
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve) => child.stdout.once('data', (b: Buffer) => resolve(Number(b.toString().trim()))));
  await getOk(`https://127.0.0.1:${port}/readyz`, 10_000);
  return { ms: performance.now() - t0, pid: child.pid!, stop: () => child.kill('SIGKILL') };
}

export async function main(): Promise<void> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'nanokube-bench-'));
  const env = { ...process.env, NANOKUBE_HOME: home };
  // The baseline serves a certificate made by our own PKI code, so both sides do the same TLS work.
  const { ensurePki } = await import('../../src/pki/index.ts');
  const pki = await ensurePki(path.join(home, 'baseline-pki'), { nodeName: 'bench' });
  const certDir = path.join(home, 'baseline-cert');
  fs.mkdirSync(certDir);
  fs.writeFileSync(path.join(certDir, 'key.pem'), pki.apiServer.keyPem);
  fs.writeFileSync(path.join(certDir, 'cert.pem'), pki.apiServer.certPem);

  const fresh: number[] = [];
  const restart: number[] = [];
  const base: number[] = [];
  try {
    for (let i = 0; i < runs; i++) {
      const b = await baselineOnce(certDir);
      base.push(b.ms);
      b.stop();

      const name = `bench-${i}`;
      let t0 = performance.now();
      let r = await runNanokube(['start', '--name', name, '--api-port', '0', '--no-merge-kubeconfig'], { env });
      if (r.code !== 0) throw new Error(r.stderr);
      fresh.push(performance.now() - t0);
      await runNanokube(['stop', '--name', name], { env });
      t0 = performance.now();
      r = await runNanokube(['start', '--name', name, '--no-merge-kubeconfig'], { env });
      if (r.code !== 0) throw new Error(r.stderr);
      restart.push(performance.now() - t0);
      if (i < runs - 1) await runNanokube(['delete', '--name', name], { env });
    }

    // Idle memory: the last cluster is still running; compare with an idle baseline process.
    const status = JSON.parse((await runNanokube(['status', '--name', `bench-${runs - 1}`, '-o', 'json'], { env })).stdout) as { pid: number };
    const b = await baselineOnce(certDir);
    await new Promise((r) => setTimeout(r, idleSeconds * 1000));
    const serverRss = rssMiB(status.pid);
    const baseRss = rssMiB(b.pid);
    b.stop();
    await runNanokube(['delete', '--name', `bench-${runs - 1}`], { env });

    const f = (ms: number) => `${Math.round(ms)} ms`;
    console.log(`start benchmark, median of ${runs} (machine: ${os.cpus().length} cores, load ${os.loadavg()[0]!.toFixed(2)})`);
    console.log(`  baseline: node + fastify HTTPS to /readyz   ${f(median(base))}`);
    console.log(`  nanokube start, fresh data dir → Ready       ${f(median(fresh))}   ratio ${(median(fresh) / median(base)).toFixed(2)}×`);
    console.log(`  nanokube start, restart → Ready              ${f(median(restart))}   ratio ${(median(restart) / median(base)).toFixed(2)}×`);
    console.log(`  idle RSS after ${idleSeconds} s: server ${serverRss.toFixed(1)} MiB, baseline ${baseRss.toFixed(1)} MiB (ratio ${(serverRss / baseRss).toFixed(2)}×)`);
    console.log(`  all runs (ms): fresh ${fresh.map(Math.round).join(', ')}; restart ${restart.map(Math.round).join(', ')}; baseline ${base.map(Math.round).join(', ')}`);
  } finally {
    for (let i = 0; i < runs; i++) await runNanokube(['delete', '--name', `bench-${i}`], { env }).catch(() => undefined);
    fs.rmSync(home, { recursive: true, force: true });
  }
}
