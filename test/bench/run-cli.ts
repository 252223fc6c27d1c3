// `npm run bench -- run-cli`: wall time of `nanokube run -- true` (start a fresh cluster, run a
// command, delete everything) next to the floor measured in the same run: two bare `node -e 0`
// process starts, one after the other. Goal: run ≤ 3 s. Median of BENCH_RUNS (default 5).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { nanokubeBin } from '../helpers/cluster.ts';

const runs = Number(process.env.BENCH_RUNS ?? 5);
const GOAL_MS = 3000;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function timed(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ ms: number; code: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ ms: performance.now() - t0, code: code ?? -1, stderr });
    });
  });
}

export async function main(): Promise<void> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'nanokube-bench-run-'));
  const env = { ...process.env, NANOKUBE_HOME: home };
  const floor: number[] = [];
  const run: number[] = [];
  try {
    for (let i = 0; i < runs; i++) {
      const a = await timed(process.execPath, ['-e', '0'], env);
      const b = await timed(process.execPath, ['-e', '0'], env);
      floor.push(a.ms + b.ms);
      const r = await timed(process.execPath, [nanokubeBin, 'run', '--', 'true'], env);
      if (r.code !== 0) throw new Error(`nanokube run -- true failed (exit ${r.code}):\n${r.stderr}`);
      run.push(r.ms);
      const left = fs.readdirSync(home);
      if (left.length > 0) throw new Error(`nanokube run left ${left.join(', ')} behind`);
    }
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
  }
  const fmt = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  const m = median(run);
  const f = median(floor);
  console.log(`nanokube run -- true   median ${fmt(m)}   (runs: ${run.map(fmt).join(', ')})`);
  console.log(`2 × node -e 0 (floor)  median ${fmt(f)}   (runs: ${floor.map(fmt).join(', ')})`);
  console.log(`ratio ${(m / f).toFixed(1)}×; goal ≤ ${fmt(GOAL_MS)}: ${m <= GOAL_MS ? 'met' : 'NOT met'}   (load average ${os.loadavg()[0]!.toFixed(1)}, ${os.cpus().length} CPUs)`);
}
