// Starting real nanokube clusters from tests through the real CLI (bin/nanokube → dist/), each in its
// own NANOKUBE_HOME with a random name and a free API port, and removing them afterwards.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot, runKubectl, type KubectlVersion, type ToolResult } from './tools.ts';

export const nanokubeBin = join(repoRoot, 'bin', 'nanokube');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `bin/nanokube <args>` with a bounded time; never throws for a non-zero exit. */
export function runNanokube(args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number; bin?: string[] } = {}): Promise<CliResult> {
  const [cmd, ...pre] = opts.bin ?? [process.execPath, nanokubeBin];
  return new Promise((resolve, reject) => {
    const child = spawn(cmd!, [...pre, ...args], { env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    const timeoutMs = opts.timeoutMs ?? 90_000;
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({
        code: code ?? (signal ? 128 : 1),
        stdout: Buffer.concat(out).toString(),
        stderr: Buffer.concat(err).toString() + (signal ? `\n[killed by ${signal} after ${timeoutMs} ms]` : ''),
      });
    });
  });
}

export interface TestCluster {
  name: string;
  home: string;
  env: NodeJS.ProcessEnv;
  kubeconfig: string;
  /** Runs a nanokube subcommand against this cluster's home (add --name yourself). */
  cli(args: string[], timeoutMs?: number): Promise<CliResult>;
  kubectl(args: string[], opts?: { version?: KubectlVersion; input?: string; timeoutMs?: number }): Promise<ToolResult>;
  /** Deletes the cluster and its home; safe to call twice. */
  destroy(): Promise<void>;
}

export interface StartOptions {
  /** Extra `start` flags. */
  args?: string[];
  env?: NodeJS.ProcessEnv;
  bin?: string[];
}

/** Starts a fresh cluster; throws with the CLI output when `start` fails. */
export async function startCluster(opts: StartOptions = {}): Promise<TestCluster> {
  const name = `t-${randomBytes(4).toString('hex')}`;
  const home = mkdtempSync(join(tmpdir(), 'nanokube-home-'));
  const env: NodeJS.ProcessEnv = { ...process.env, NANOKUBE_HOME: home, ...opts.env };
  const cli = (args: string[], timeoutMs?: number) => runNanokube(args, { env, timeoutMs, ...(opts.bin ? { bin: opts.bin } : {}) });
  const started = await cli(['start', '--name', name, '--api-port', '0', '--no-merge-kubeconfig', ...(opts.args ?? [])]);
  if (started.code !== 0) {
    await cli(['delete', '--name', name]).catch(() => undefined);
    rmSync(home, { recursive: true, force: true });
    throw new Error(`nanokube start failed (exit ${started.code}):\n${started.stdout}\n${started.stderr}`);
  }
  const kubeconfig = join(home, name, 'kubeconfig.yaml');
  let destroyed = false;
  return {
    name,
    home,
    env,
    kubeconfig,
    cli,
    kubectl: (args, o = {}) =>
      runKubectl(o.version ?? '1.35', args, {
        kubeconfig,
        ...(o.input !== undefined ? { input: o.input } : {}),
        ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}),
      }),
    async destroy() {
      if (destroyed) return;
      destroyed = true;
      const r = await cli(['delete', '--name', name]);
      rmSync(home, { recursive: true, force: true });
      if (r.code !== 0) throw new Error(`nanokube delete failed: ${r.stdout}\n${r.stderr}`);
    },
  };
}
