// Throughput and latency of cluster-name answers: the server runs here, a load generator in a child
// process keeps a fixed window of UDP queries in flight against 127.0.0.1 for a fixed count, and
// reports queries/s and latency percentiles. Bounded in count and time; nothing leaves loopback.
// The same generator against a bare UDP echo socket gives the ceiling of this machine's loopback
// path (on the 2-core dev VMs the send syscall dominates), and the server is judged against it.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import dgram from 'node:dgram';
import { describe, it } from 'node:test';
import { startDnsServer } from '../../src/dns/index.ts';
import type { DnsService, DnsEndpoint } from '../../src/dns/index.ts';

const TOTAL = Number(process.env.DNS_LOAD_QUERIES ?? 20_000);
const WINDOW = 16;

// Plain JS so the child starts fast: hand-built queries (id, RD, one question), timing per id.
const LOADGEN = `
const dgram = require('dgram');
const [port, total, windowSize, namesJson] = process.argv.slice(1);
const names = JSON.parse(namesJson);
const encodeName = (n) => Buffer.concat([...n.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])), Buffer.from([0])]);
const types = { A: 1, SRV: 33 };
const sock = dgram.createSocket('udp4');
const started = new Map(); const lat = []; let sent = 0, answered = 0, nx = 0, errors = 0; const t0 = process.hrtime.bigint();
const deadline = setTimeout(() => finish(true), 60000);
function send() {
  if (sent >= +total) return;
  const id = sent % 65536; const [name, type] = names[sent % names.length]; sent++;
  const header = Buffer.alloc(12); header.writeUInt16BE(id, 0); header.writeUInt16BE(0x0100, 2); header.writeUInt16BE(1, 4);
  const q = Buffer.alloc(4); q.writeUInt16BE(types[type], 0); q.writeUInt16BE(1, 2);
  started.set(id, process.hrtime.bigint());
  sock.send(Buffer.concat([header, encodeName(name), q]), +port, '127.0.0.1');
}
sock.on('message', (m) => {
  const id = m.readUInt16BE(0); const s = started.get(id); if (s === undefined) return; started.delete(id);
  lat.push(Number(process.hrtime.bigint() - s) / 1e6); answered++;
  const rcode = m.readUInt16BE(2) & 0xf; if (rcode === 3) nx++; else if (rcode !== 0) errors++;
  if (answered >= +total) finish(false); else send();
});
function finish(timedOut) {
  clearTimeout(deadline);
  const secs = Number(process.hrtime.bigint() - t0) / 1e9; lat.sort((a, b) => a - b);
  const pct = (p) => lat.length ? lat[Math.min(lat.length - 1, Math.floor(lat.length * p))] : NaN;
  console.log(JSON.stringify({ answered, nx, errors, timedOut, secs, qps: answered / secs, p50: pct(0.5), p99: pct(0.99), max: lat[lat.length - 1] }));
  sock.close();
}
sock.bind(0, '127.0.0.1', () => { for (let i = 0; i < +windowSize; i++) send(); });
`;

interface LoadResult {
  answered: number;
  nx: number;
  errors: number;
  timedOut: boolean;
  qps: number;
  p50: number;
  p99: number;
  max: number;
}

function loadgen(port: number, names: Array<[string, string]>): Promise<LoadResult> {
  return new Promise((resolve, reject) =>
    execFile(process.execPath, ['-e', LOADGEN, String(port), String(TOTAL), String(WINDOW), JSON.stringify(names)], { timeout: 90_000 }, (err, stdout) =>
      err ? reject(err) : resolve(JSON.parse(stdout) as LoadResult),
    ),
  );
}

async function echoBaseline(names: Array<[string, string]>): Promise<LoadResult> {
  const sock = dgram.createSocket('udp4');
  sock.on('message', (m, rinfo) => {
    m.writeUInt16BE(m.readUInt16BE(2) | 0x8000, 2);
    sock.send(m, rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', resolve));
  try {
    return await loadgen(sock.address().port, names);
  } finally {
    await new Promise<void>((resolve) => sock.close(() => resolve()));
  }
}

describe('DNS load', () => {
  it(`answers ${TOTAL} cluster queries with ${WINDOW} in flight`, async (t) => {
    const services: DnsService[] = [];
    const endpoints: DnsEndpoint[] = [];
    for (let i = 0; i < 1000; i++) {
      const ns = `ns${i % 20}`;
      services.push({ namespace: ns, name: `svc${i}`, clusterIPs: [`10.43.${Math.floor(i / 250)}.${(i % 250) + 1}`], ports: [{ name: 'http', port: 80 }] });
      if (i % 10 === 0) {
        services.push({ namespace: ns, name: `hl${i}`, clusterIPs: ['None'], ports: [{ name: 'http', port: 80 }] });
        for (let e = 0; e < 3; e++) {
          endpoints.push({ namespace: ns, serviceName: `hl${i}`, addresses: [`10.42.${i % 200}.${e + 1}`], hostname: `hl${i}-${e}`, ready: true, ports: [{ name: 'http', port: 80 }] });
        }
      }
    }
    const server = await startDnsServer({ upstreams: [] });
    try {
      const t0 = performance.now();
      server.records.update({ services, endpoints });
      server.records.zone();
      const compileMs = performance.now() - t0;
      const names: Array<[string, string]> = [];
      for (let i = 0; i < 200; i++) {
        names.push([`svc${i * 5}.ns${(i * 5) % 20}.svc.cluster.local`, 'A']);
        if (i % 4 === 0) names.push([`_http._tcp.svc${i}.ns${i % 20}.svc.cluster.local`, 'SRV']);
        if (i % 4 === 1) names.push([`hl${(i % 100) * 10}.ns${((i % 100) * 10) % 20}.svc.cluster.local`, 'A']);
        if (i % 4 === 2) names.push([`svc${i}.ns${i % 20}.svc.cluster.local.svc.cluster.local`, 'A']);
      }
      const cpu0 = process.cpuUsage();
      const r = await loadgen(server.port, names);
      const cpu = process.cpuUsage(cpu0);
      const cpuPerQueryUs = (cpu.user + cpu.system) / r.answered;
      const echoCpu0 = process.cpuUsage();
      const echo = await echoBaseline(names);
      const echoCpu = process.cpuUsage(echoCpu0);
      const echoCpuPerQueryUs = (echoCpu.user + echoCpu.system) / echo.answered;
      const summary =
        `compile 1100 services: ${compileMs.toFixed(1)} ms; ${r.answered} answers, ${WINDOW} in flight: ` +
        `${Math.round(r.qps)} q/s, p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms, max ${r.max.toFixed(1)} ms; ` +
        `server CPU ${cpuPerQueryUs.toFixed(0)} µs/query (user ${(cpu.user / r.answered).toFixed(0)}); ` +
        `bare UDP echo: ${Math.round(echo.qps)} q/s, p99 ${echo.p99.toFixed(2)} ms, CPU ${echoCpuPerQueryUs.toFixed(0)} µs/query`;
      t.diagnostic(summary);
      console.log(`# dns-load: ${summary}`);
      assert.equal(r.timedOut, false);
      assert.equal(r.answered, TOTAL);
      assert.equal(r.errors, 0);
      assert.ok(r.nx > 0 && r.nx < TOTAL, 'search-path names were NXDOMAIN, the rest answered');
      // Wall-clock rates swing with whatever else the 2 cores run; CPU time per query does not
      // (measured ~100 µs here, ~40 µs of it the bare UDP path). A 10x regression fails.
      assert.ok(cpuPerQueryUs < 1000, `${cpuPerQueryUs} µs of CPU per query`);
      assert.ok(r.p50 < 50, `p50 ${r.p50} ms`);
    } finally {
      await server.close();
    }
  });
});
