// `nanokube stop`: stop the server gracefully (SIGTERM, bounded wait, then SIGKILL); data is kept.
import fs from 'node:fs';
import type { Command } from 'commander';
import { processAlive } from '../server/pidfile.ts';
import { checkName, defaultClusterName, formatMs, parseDuration, viewCluster, type ClusterView } from './common.ts';

export function register(program: Command): void {
  program
    .command('stop')
    .description('stop a running cluster, keeping its data')
    .option('--name <name>', 'cluster name', defaultClusterName)
    .option('--timeout <duration>', 'how long to wait for a graceful stop before killing', '30s')
    .action(async (opts: { name: string; timeout: string }) => {
      const view = viewCluster(checkName(opts.name));
      if (view.pid === undefined) {
        console.log(`Cluster "${view.name}" is not running.`);
        return;
      }
      const t0 = performance.now();
      const how = await stopServer(view, parseDuration(opts.timeout));
      console.log(`Cluster "${view.name}" stopped${how === 'killed' ? ' (killed after the timeout)' : ''} in ${formatMs(performance.now() - t0)}.`);
    });
}

async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!processAlive(pid)) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return !processAlive(pid);
}

/** Stops the cluster's server if it runs; returns how. */
export async function stopServer(view: ClusterView, timeoutMs: number): Promise<'not-running' | 'stopped' | 'killed'> {
  const pid = view.pid;
  if (pid === undefined) return 'not-running';
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return 'stopped';
  }
  if (await waitForExit(pid, timeoutMs)) return 'stopped';
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* already gone */
  }
  await waitForExit(pid, 5000);
  // A killed server could not remove its own files.
  fs.rmSync(view.layout.pidFile, { force: true });
  fs.rmSync(view.layout.runtimeFile, { force: true });
  return 'killed';
}
