// Resource API benchmark, each figure next to its ceiling, in one run:
//   GET of one ConfigMap over HTTPS (concurrency 16) vs a bare fastify HTTPS route sending the same bytes;
//   create throughput over HTTPS vs the store's own create ceiling (same concurrency, same store kind);
//   LIST of 1k and 10k ConfigMaps (JSON and Table);
//   watch event latency (p50/p99) with 100 watchers.
// `npm run bench -- api [--quick]`. The load generator runs in a worker thread so that it does not
// share the server's event loop.
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import Fastify from 'fastify';
import { ensurePki } from '../../src/pki/index.ts';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.ts';
import type { Store } from '../../src/storage/types.ts';
import { startApiServer } from '../../src/apiserver/server.ts';
import { HealthChecks } from '../../src/apiserver/health.ts';
import { apiPlugins } from '../../src/server/plugins.ts';
import { builtinRegistry } from '../../src/registry/index.ts';

const CONCURRENCY = 16;
const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};
const fmt = (n: number) => (n >= 100 ? n.toFixed(0) : n.toFixed(2));

interface Tls {
  ca: string;
  cert: string;
  key: string;
}

/** The load generator: `concurrency` keep-alive loops for `durationMs`, in a worker thread. */
const LOAD_WORKER = `
const https = require('node:https');
const { parentPort, workerData } = require('node:worker_threads');
const { url, tls, concurrency, durationMs, method, bodyFor } = workerData;
const agent = new https.Agent({ keepAlive: true, maxSockets: concurrency, ...tls });
let done = 0, failed = 0, seq = 0;
const lat = [];
const deadline = Date.now() + durationMs;
function one() {
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const body = bodyFor ? bodyFor.replace('$N', String(seq++)) : undefined;
    const req = https.request(url, { method, agent, headers: body ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : {} }, (res) => {
      res.on('data', () => {});
      res.on('end', () => {
        if (res.statusCode >= 300) failed++; else done++;
        lat.push(Number(process.hrtime.bigint() - t0) / 1e6);
        resolve();
      });
    });
    req.on('error', () => { failed++; resolve(); });
    req.end(body);
  });
}
async function loop() { while (Date.now() < deadline) await one(); }
Promise.all(Array.from({ length: concurrency }, loop)).then(() => {
  agent.destroy();
  parentPort.postMessage({ done, failed, lat });
});
`;

async function load(url: string, tls: Tls, durationMs: number, method = 'GET', bodyFor?: string): Promise<{ rps: number; p50: number; p99: number; failed: number }> {
  const worker = new Worker(LOAD_WORKER, { eval: true, workerData: { url, tls, concurrency: CONCURRENCY, durationMs, method, bodyFor } });
  const r = await new Promise<{ done: number; failed: number; lat: number[] }>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  await worker.terminate();
  return { rps: (r.done / durationMs) * 1000, p50: pct(r.lat, 50), p99: pct(r.lat, 99), failed: r.failed };
}

function request(url: string, tls: Tls, agent: https.Agent, opts: { method?: string; body?: string; accept?: string } = {}): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {};
    if (opts.body) headers['content-type'] = 'application/json';
    if (opts.accept) headers.accept = opts.accept;
    const req = https.request(url, { method: opts.method ?? 'GET', agent, headers, ...tls }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

async function storeCreateCeiling(store: Store, n: number): Promise<number> {
  const value = JSON.stringify({ kind: 'ConfigMap', apiVersion: 'v1', metadata: { name: 'x', namespace: 'ceiling' }, data: { a: 'b' } });
  let next = 0;
  const t0 = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (let i = next++; i < n; i = next++) await store.create(`/registry/configmaps/ceiling/c-${i}`, value);
    }),
  );
  return (n / ms(t0)) * 1000;
}

async function fill(store: Store, namespace: string, n: number): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      for (let i = next++; i < n; i = next++) {
        const name = `cm-${String(i).padStart(5, '0')}`;
        const obj = {
          kind: 'ConfigMap',
          apiVersion: 'v1',
          metadata: { name, namespace, uid: `00000000-0000-0000-0000-${String(i).padStart(12, '0')}`, creationTimestamp: '2025-01-01T00:00:00Z', labels: { app: 'bench', n: String(i % 10) } },
          data: { key: 'v'.repeat(200) },
        };
        await store.create(`/registry/configmaps/${namespace}/${name}`, JSON.stringify(obj));
      }
    }),
  );
}

export async function main(args: string[]): Promise<void> {
  const quick = args.includes('--quick');
  const seconds = quick ? 2 : 5;
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'nanokube-bench-api-'));
  const pki = await ensurePki(path.join(root, 'pki'), { nodeName: 'bench' });
  const tls: Tls = { ca: pki.ca.certPem, cert: pki.admin.certPem, key: pki.admin.keyPem };
  const store = SqliteStore.open(path.join(root, 'state.db'), { compactIntervalMs: 0, ttlSweepMs: 0 });
  const health = new HealthChecks();
  const api = await startApiServer({
    host: '127.0.0.1',
    port: 0,
    tls: { certPem: pki.apiServer.certPem, keyPem: pki.apiServer.keyPem, caPem: pki.ca.certPem },
    health,
    plugins: apiPlugins({ store, registry: builtinRegistry() }),
  });
  const base = `https://127.0.0.1:${api.port}`;
  let handshakes = 0;
  api.app.server.on('secureConnection', () => handshakes++);
  const agent = new https.Agent({ keepAlive: true, maxSockets: 256, ...tls });
  const rows: string[] = [];
  const row = (what: string, value: string, ceiling: string, ratio: string, goal: string) => rows.push([what.padEnd(44), value.padStart(14), ceiling.padStart(14), ratio.padStart(8), goal].join('  '));
  try {
    for (const ns of ['default', 'bench', 'l1k', 'l10k', 'watch']) {
      await request(`${base}/api/v1/namespaces`, tls, agent, { method: 'POST', body: JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } }) });
    }

    // 1. GET one object vs a bare HTTPS route with the same bytes.
    const created = await request(`${base}/api/v1/namespaces/bench/configmaps`, tls, agent, {
      method: 'POST',
      body: JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'one' }, data: { greeting: 'hello', pad: 'x'.repeat(512) } }),
    });
    if (created.status !== 201) throw new Error(`create failed: ${created.status} ${created.body.toString()}`);
    const getUrl = `${base}/api/v1/namespaces/bench/configmaps/one`;
    const sameBytes = (await request(getUrl, tls, agent)).body;
    const bare = Fastify({ https: { cert: pki.apiServer.certPem, key: pki.apiServer.keyPem, ca: pki.ca.certPem, requestCert: true, rejectUnauthorized: false }, logger: false });
    bare.get('/api/v1/namespaces/bench/configmaps/one', async (_req, reply) => reply.type('application/json').send(sameBytes));
    await bare.listen({ host: '127.0.0.1', port: 0 });
    const bareAddr = bare.server.address();
    const barePort = typeof bareAddr === 'object' && bareAddr ? bareAddr.port : 0;
    const ours = await load(getUrl, tls, seconds * 1000);
    const ceiling = await load(`https://127.0.0.1:${barePort}/api/v1/namespaces/bench/configmaps/one`, tls, seconds * 1000);
    await bare.close();
    rows.push(`  (TLS handshakes so far: ${handshakes})`);
    row(`GET configmap, c=${CONCURRENCY} (req/s)`, fmt(ours.rps), fmt(ceiling.rps), (ours.rps / ceiling.rps).toFixed(2), '>= 0.5x');
    row('  latency p50 / p99 (ms)', `${fmt(ours.p50)}/${fmt(ours.p99)}`, `${fmt(ceiling.p50)}/${fmt(ceiling.p99)}`, '', '');

    // 2. Create throughput vs the store's ceiling (same store, same concurrency).
    const createLoad = await load(`${base}/api/v1/namespaces/bench/configmaps`, tls, seconds * 1000, 'POST', JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c-$N' }, data: { a: 'b' } }));
    const storeRate = await storeCreateCeiling(store, Math.max(2000, Math.round(createLoad.rps * seconds)));
    row(`create configmap, c=${CONCURRENCY} (obj/s)`, fmt(createLoad.rps), fmt(storeRate), (createLoad.rps / storeRate).toFixed(2), '>= 0.5x (vs store.create)');
    // A second ceiling: a bare HTTPS route that only parses the body and calls store.create.
    const bareCreate = Fastify({ https: { cert: pki.apiServer.certPem, key: pki.apiServer.keyPem, ca: pki.ca.certPem, requestCert: true, rejectUnauthorized: false }, logger: false });
    bareCreate.post('/c', async (req, reply) => {
      const body = req.body as { metadata: { name: string } };
      const kv = await store.create(`/registry/configmaps/bare/${body.metadata.name}`, JSON.stringify(body));
      return reply.code(201).type('application/json').send(kv.value);
    });
    await bareCreate.listen({ host: '127.0.0.1', port: 0 });
    const bcAddr = bareCreate.server.address();
    const bareRate = await load(`https://127.0.0.1:${typeof bcAddr === 'object' && bcAddr ? bcAddr.port : 0}/c`, tls, seconds * 1000, 'POST', JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c-$N' }, data: { a: 'b' } }));
    await bareCreate.close();
    row('  same vs bare HTTPS POST + store.create', fmt(createLoad.rps), fmt(bareRate.rps), (createLoad.rps / bareRate.rps).toFixed(2), '');
    if (createLoad.failed > 0) rows.push(`  (${createLoad.failed} creates failed)`);

    // 3. LIST 1k and 10k.
    await fill(store, 'l1k', 1000);
    await fill(store, 'l10k', 10_000);
    for (const [ns, n] of [['l1k', 1000], ['l10k', 10_000]] as const) {
      for (const [label, accept] of [['JSON', 'application/json'], ['Table', 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json']] as const) {
        const times: number[] = [];
        let bytes = 0;
        for (let i = 0; i < (quick ? 3 : 7); i++) {
          const t0 = process.hrtime.bigint();
          const r = await request(`${base}/api/v1/namespaces/${ns}/configmaps`, tls, agent, { accept });
          times.push(ms(t0));
          bytes = r.body.length;
          if (r.status !== 200) throw new Error(`list ${ns}: ${r.status}`);
        }
        const goal = n === 10_000 && label === 'JSON' ? '<= 150 ms' : '';
        // Ceiling: the store's own read of the same rows (no API work at all).
        const storeTimes: number[] = [];
        for (let i = 0; i < 3; i++) {
          const t0 = process.hrtime.bigint();
          await store.list(`/registry/configmaps/${ns}/`);
          storeTimes.push(ms(t0));
        }
        const med = pct(times, 50);
        const storeMed = pct(storeTimes, 50);
        row(`LIST ${n} configmaps, ${label} (median ms)`, fmt(med), fmt(storeMed), (storeMed / med).toFixed(2), `${goal} (${(bytes / 1e6).toFixed(1)} MB)`);
      }
    }

    // 4. Watch latency with 100 watchers: time from the write call to each watcher's line.
    const watchers = 100;
    const rv = JSON.parse((await request(`${base}/api/v1/namespaces/watch/configmaps`, tls, agent)).body.toString()) as { metadata: { resourceVersion: string } };
    const sent = new Map<string, number>();
    const latencies: number[] = [];
    const watchAgent = new https.Agent({ keepAlive: true, maxSockets: watchers + 8, ...tls });
    const streams = await Promise.all(
      Array.from(
        { length: watchers },
        () =>
          new Promise<import('node:http').ClientRequest>((resolve, reject) => {
            const req = https.request(`${base}/api/v1/namespaces/watch/configmaps?watch=1&resourceVersion=${rv.metadata.resourceVersion}`, { agent: watchAgent, ...tls }, (res) => {
              let buf = '';
              res.on('data', (c: Buffer) => {
                const now = performance.now();
                buf += c.toString();
                let nl: number;
                while ((nl = buf.indexOf('\n')) >= 0) {
                  const line = buf.slice(0, nl);
                  buf = buf.slice(nl + 1);
                  const name = /"name":"(w-\d+)"/.exec(line)?.[1];
                  const t = name ? sent.get(name) : undefined;
                  if (t !== undefined) latencies.push(now - t);
                  const c = name ? committed.get(name) : undefined;
                  if (c !== undefined) fromCommit.push(now - c);
                }
              });
              resolve(req);
            });
            req.on('error', reject);
            req.end();
          }),
      ),
    );
    // Commit times from a direct store watch: latency = line received - event committed, the part
    // the API adds (the end-to-end figure below also counts the POST's own round trip and fsync).
    const committed = new Map<string, number>();
    const commitAbort = new AbortController();
    const currentRev = await store.currentRevision();
    void (async () => {
      for await (const ev of store.watch('/registry/configmaps/watch/', currentRev, commitAbort.signal)) {
        committed.set(ev.kv.key.slice(ev.kv.key.lastIndexOf('/') + 1), performance.now());
      }
    })().catch(() => undefined);
    const fromCommit: number[] = [];
    const events = quick ? 50 : 200;
    for (let i = 0; i < events; i++) {
      const name = `w-${i}`;
      sent.set(name, performance.now());
      await request(`${base}/api/v1/namespaces/watch/configmaps`, tls, agent, { method: 'POST', body: JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name } }) });
    }
    const deadline = Date.now() + 10_000;
    while (latencies.length < events * watchers && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const s of streams) s.destroy();
    watchAgent.destroy();
    commitAbort.abort();
    row(`watch commit->client, ${watchers} watchers (p50/p99 ms)`, `${fmt(pct(fromCommit, 50))}/${fmt(pct(fromCommit, 99))}`, '', '', `p99 <= 20 ms`);
    row(`watch POST->client, ${watchers} watchers (p50/p99 ms)`, `${fmt(pct(latencies, 50))}/${fmt(pct(latencies, 99))}`, '', '', `(${latencies.length}/${events * watchers} events)`);
  } finally {
    agent.destroy();
    await api.close();
    await store.close();
    fs.rmSync(root, { recursive: true, force: true });
  }
  console.log(['what'.padEnd(44), 'nanokube'.padStart(14), 'ceiling'.padStart(14), 'ratio'.padStart(8), 'goal'].join('  '));
  for (const r of rows) console.log(r);
}
