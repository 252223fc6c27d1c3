// `nanokube start`: run the cluster's server in the background, show each start-up step with its
// time, wait until Ready, and hand the user a working kubeconfig.
import fs from 'node:fs';
import net from 'node:net';
import { spawn } from 'node:child_process';
import readline from 'node:readline';
import type { Command } from 'commander';
import { writeClusterRecord } from '../config/cluster-record.ts';
import { selfCommand } from '../util/sea.ts';
import { CliError, checkName, defaultApiPort, defaultClusterName, formatMs, parseDuration, parsePort, viewCluster } from './common.ts';
import type { StatusMessage } from './status-channel.ts';

interface StartOptions {
  name: string;
  apiPort?: string;
  dataDir?: string;
  mergeKubeconfig: boolean;
  timeout: string;
  bindAddress: string;
  nodeName?: string;
  datastoreEndpoint?: string;
}

export function register(program: Command): void {
  program
    .command('start')
    .description('start a cluster in the background and wait until it is ready')
    .option('--name <name>', 'cluster name', defaultClusterName)
    .option('--api-port <port>', `API server port (default ${defaultApiPort}, or the port of the last start; 0 = pick a free port)`)
    .option('--data-dir <dir>', 'where the cluster keeps its state (default <home>/<name>)')
    .option('--no-merge-kubeconfig', 'do not add the cluster to $KUBECONFIG or ~/.kube/config')
    .option('--timeout <duration>', 'how long to wait for Ready', '60s')
    .option('--bind-address <ip>', 'address the API server listens on (0.0.0.0 to let other hosts in, e.g. for workshops or agents)', '127.0.0.1')
    .option('--node-name <name>', 'name of this node (default: the host name)')
    .option('--datastore-endpoint <url>', 'external datastore, e.g. etcd://127.0.0.1:2379 (default: SQLite in the data dir)')
    .action(async (opts: StartOptions) => {
      await start(opts);
    });
}

async function pickFreePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen({ host, port: 0 }, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

async function start(opts: StartOptions): Promise<void> {
  const name = checkName(opts.name);
  const timeoutMs = parseDuration(opts.timeout);
  const view = viewCluster(name, opts.dataDir);
  if (view.pid !== undefined) {
    const where = view.runtime ? ` at ${view.runtime.apiServer}` : '';
    console.log(`Cluster "${name}" is already running (pid ${view.pid})${where}.`);
    return;
  }
  const requested = opts.apiPort !== undefined ? parsePort(opts.apiPort) : (view.record?.apiPort ?? defaultApiPort);
  // A port picked for us is remembered, so a restart keeps the kubeconfig the user already has valid.
  const apiPort = requested === 0 ? await pickFreePort(opts.bindAddress) : requested;
  fs.mkdirSync(view.layout.dataDir, { recursive: true, mode: 0o700 });
  const datastoreEndpoint = opts.datastoreEndpoint ?? view.record?.datastoreEndpoint;
  if (opts.datastoreEndpoint && view.record?.datastoreEndpoint && opts.datastoreEndpoint !== view.record.datastoreEndpoint) {
    throw new CliError(
      `cluster "${name}" keeps its state in ${view.record.datastoreEndpoint}; it cannot move to ${opts.datastoreEndpoint}. ` +
        `Delete it first (nanokube delete --name ${name}) or use another --name.`,
      2,
    );
  }
  const baseRecord = {
    name,
    dataDir: view.dataDir,
    apiPort,
    createdAt: view.record?.createdAt ?? new Date().toISOString(),
    ...(datastoreEndpoint ? { datastoreEndpoint } : {}),
  };
  writeClusterRecord({ ...baseRecord, ...(view.record?.mergedKubeconfig ? { mergedKubeconfig: view.record.mergedKubeconfig } : {}) });

  console.log(`Starting cluster "${name}" (data in ${view.dataDir})`);
  const t0 = performance.now();
  const logFd = fs.openSync(view.layout.logFile, 'a', 0o600);
  const [cmd, ...prefix] = selfCommand();
  const args = [...prefix, 'server', '--name', name, '--data-dir', view.dataDir, '--api-port', String(apiPort), '--bind-address', opts.bindAddress, '--status-fd', '3'];
  if (opts.nodeName) args.push('--node-name', opts.nodeName);
  if (datastoreEndpoint) args.push('--datastore-endpoint', datastoreEndpoint);
  const child = spawn(cmd!, args, { detached: true, stdio: ['ignore', logFd, logFd, 'pipe'], env: process.env });
  fs.closeSync(logFd);

  // Loaded while the server starts; only needed once it is ready.
  const kubeconfigModule = import('../config/kubeconfig.ts');
  const statusStream = child.stdio[3] as NodeJS.ReadableStream;
  type Outcome = Exclude<StatusMessage, { type: 'step' }> | { type: 'exit'; code: number | null } | { type: 'timeout' };
  const outcome = await new Promise<Outcome>((resolve) => {
    const timer = setTimeout(() => resolve({ type: 'timeout' }), timeoutMs);
    const lines = readline.createInterface({ input: statusStream });
    lines.on('line', (line) => {
      let msg: StatusMessage;
      try {
        msg = JSON.parse(line) as StatusMessage;
      } catch {
        return;
      }
      if (msg.type === 'step') {
        console.log(`  ✓ ${msg.name.padEnd(12)} ${formatMs(msg.ms).padStart(8)}${msg.detail ? `  ${msg.detail}` : ''}`);
      } else {
        clearTimeout(timer);
        resolve(msg);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ type: 'exit', code });
    });
  });
  (statusStream as unknown as { destroy(): void }).destroy();

  if (outcome.type !== 'ready') {
    if (outcome.type === 'timeout') {
      child.kill('SIGKILL');
      throw new CliError(`cluster "${name}" did not become ready within ${opts.timeout}; see ${view.layout.logFile}`);
    }
    const why = outcome.type === 'error' ? outcome.message : `the server exited with code ${outcome.code} before it was ready`;
    throw new CliError(`${why}\n(server log: ${view.layout.logFile})`);
  }
  child.unref();

  const record = { ...baseRecord, apiPort: outcome.apiPort };
  let mergedInto: string | undefined;
  if (opts.mergeKubeconfig) {
    const { kubeconfigFileFor, mergeIntoKubeconfig, readKubeconfigFile } = await kubeconfigModule;
    mergedInto = kubeconfigFileFor(`nanokube-${name}`);
    mergeIntoKubeconfig(mergedInto, readKubeconfigFile(view.layout.kubeconfigFile), { makeCurrent: true });
  }
  const previousMerge = view.record?.mergedKubeconfig;
  writeClusterRecord({ ...record, ...((mergedInto ?? previousMerge) ? { mergedKubeconfig: mergedInto ?? previousMerge } : {}) });

  console.log(`Cluster "${name}" is ready at ${outcome.apiServer} (${formatMs(performance.now() - t0)}).`);
  if (mergedInto) {
    console.log(`kubectl now uses context "nanokube-${name}" (added to ${mergedInto}). Try: kubectl get namespaces`);
  } else {
    console.log(`Use it with: kubectl --kubeconfig ${view.layout.kubeconfigFile} get namespaces`);
  }
}
