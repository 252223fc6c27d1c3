// `nanokube server`: run the cluster in the foreground until SIGTERM/SIGINT (what `start` spawns).
import os from 'node:os';
import { Option, type Command } from 'commander';
import { logger } from '../util/log.ts';
import { CliError, checkName, defaultApiPort, defaultClusterName, parsePort, viewCluster } from './common.ts';
import { openStatusChannel } from './status-channel.ts';

const log = logger('server');

interface ServerCommandOptions {
  name: string;
  dataDir?: string;
  apiPort?: string;
  bindAddress: string;
  nodeName?: string;
  datastoreEndpoint?: string;
  statusFd?: string;
  docker: boolean;
}

export function register(program: Command): void {
  program
    .command('server')
    .description('run a cluster in the foreground (what "start" runs in the background)')
    .option('--name <name>', 'cluster name', defaultClusterName)
    .option('--data-dir <dir>', 'where the cluster keeps its state (default <home>/<name>)')
    .option('--api-port <port>', `API server port (default ${defaultApiPort}; 0 = any free port)`)
    .option('--bind-address <ip>', 'address the API server listens on (0.0.0.0 to let other hosts in, e.g. for workshops or agents)', '127.0.0.1')
    .option('--node-name <name>', 'name of this node (default: the host name)')
    .option('--datastore-endpoint <url>', 'external datastore, e.g. etcd://127.0.0.1:2379')
    .option('--no-docker', 'API only: do not require a Docker engine (no pods will run)')
    .addOption(new Option('--status-fd <fd>', 'internal: report start-up progress on this fd').hideHelp())
    .action(async (opts: ServerCommandOptions) => {
      await server(opts);
    });
}

async function server(opts: ServerCommandOptions): Promise<void> {
  const name = checkName(opts.name);
  const view = viewCluster(name, opts.dataDir);
  const statusFd = opts.statusFd !== undefined ? Number(opts.statusFd) : undefined;
  const channel = openStatusChannel(statusFd, (line) => log.info(line));
  // Loading modules before this point counts too: performance.now() is measured from process start.
  channel.step('boot', performance.now(), `node ${process.version}`);
  // The whole server loads only here, so the other commands stay quick to start.
  const { runServer } = await import('../server/run.ts');
  let running;
  try {
    running = await runServer(
      {
        name,
        dataDir: view.dataDir,
        apiPort: opts.apiPort !== undefined ? parsePort(opts.apiPort) : (view.record?.apiPort ?? defaultApiPort),
        bindAddress: opts.bindAddress,
        nodeName: opts.nodeName ?? os.hostname().toLowerCase(),
        requireDocker: opts.docker,
        ...((opts.datastoreEndpoint ?? view.record?.datastoreEndpoint) ? { datastoreEndpoint: opts.datastoreEndpoint ?? view.record?.datastoreEndpoint } : {}),
      },
      channel,
    );
  } catch (e) {
    channel.error((e as Error).message);
    throw new CliError((e as Error).message);
  }
  channel.ready(running.info.apiPort, running.info.apiServer, performance.now());

  await new Promise<void>((resolve) => {
    let stopping = false;
    const onSignal = (sig: NodeJS.Signals) => {
      if (stopping) return;
      stopping = true;
      log.info('stopping', { signal: sig });
      void running.stop().then(resolve, (e) => {
        log.error('stop failed', { error: e });
        resolve();
      });
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
  log.info('stopped');
  // Every component has stopped; do not wait for stray timers of libraries (seen: ~1.7 s) to run out.
  process.exit(process.exitCode ?? 0);
}
