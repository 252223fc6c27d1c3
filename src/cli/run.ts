// `nanokube run -- CMD ARGS...`: a throwaway cluster around one command, for CI jobs and scripts.
// Start a fresh cluster under a unique name on a free port, run CMD with KUBECONFIG pointing at it,
// then delete the cluster whatever happened (CMD failed, a signal, a timeout) and exit with CMD's
// code. Starting and deleting go through the `start` and `delete` commands themselves, so `run`
// always cleans up exactly what `delete` does (data dir, Docker objects, iptables chains).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import type { Command } from 'commander';
import { selfCommand } from '../util/sea.ts';
import { CliError, checkName, parseDuration, viewCluster } from './common.ts';

interface RunOptions {
  name?: string;
  timeout?: string;
  keepOnFailure?: boolean;
  startTimeout: string;
}

/** Exit codes of our own, in the ranges shells and coreutils' `timeout` use, so CI logs read the same. */
export const EXIT_TIMEOUT = 124;
export const EXIT_CLUSTER_FAILED = 125;
const EXIT_NOT_EXECUTABLE = 126;
const EXIT_NOT_FOUND = 127;

/** How long CMD gets to exit after the forwarded signal (or the timeout's SIGTERM) before SIGKILL. */
const KILL_GRACE_MS = 10_000;
const LOG_TAIL_LINES = 50;
const FORWARDED_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

export function register(program: Command): void {
  program
    .command('run')
    .description("start a fresh cluster, run a command with KUBECONFIG set to it, then delete the cluster; exits with the command's code")
    .usage('[options] -- <command> [args...]')
    .argument('<command...>', 'the command to run and its arguments (put them after --)')
    // Options after the command belong to it: `nanokube run kubectl get pods -o yaml` works without --.
    .passThroughOptions()
    .option('--name <name>', 'cluster name (default: run-<random>, so parallel jobs never collide)')
    .option('--timeout <duration>', `stop the command after this long and exit with ${EXIT_TIMEOUT}, e.g. 10m`)
    .option('--keep-on-failure', 'keep the cluster when the command fails, to debug it (prints how to delete it)')
    .option('--start-timeout <duration>', 'how long to wait for the cluster to be ready', '60s')
    .addHelpText(
      'after',
      `
The command gets KUBECONFIG=<the cluster's kubeconfig> and NANOKUBE_CLUSTER=<name>; your own kubeconfig is
never changed. Start-up and clean-up messages go to stderr; the command's stdio is passed through.
Exit codes: the command's own; 128+n when it died of signal n; ${EXIT_TIMEOUT} on --timeout; ${EXIT_CLUSTER_FAILED} when the
cluster could not start; ${EXIT_NOT_FOUND} when the command does not exist.

Example: nanokube run --timeout 10m -- kubectl apply -f k8s/ --wait`,
    )
    .action(async (command: string[], opts: RunOptions) => {
      process.exitCode = await run(command, opts);
    });
}

function signalNumber(signal: NodeJS.Signals): number {
  return os.constants.signals[signal] ?? 0;
}

/** Runs another nanokube command with its output on our stderr; resolves with its exit code. */
function nanokube(args: string[], onSpawn?: (child: ChildProcess) => void): Promise<number> {
  const [cmd, ...prefix] = selfCommand();
  return new Promise((resolve) => {
    // Its own process group: a Ctrl-C on the terminal must not kill `start` half-way or `delete`
    // half-way; we decide what happens on a signal.
    const child = spawn(cmd!, [...prefix, ...args], { stdio: ['ignore', 2, 2], detached: true, env: process.env });
    onSpawn?.(child);
    child.once('error', () => resolve(1));
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 + signalNumber(signal) : 1)));
  });
}

/** The last `lines` lines of a file, reading only its end. */
export function tailOfFile(file: string, lines: number): string[] {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return [];
  }
  try {
    const size = fs.fstatSync(fd).size;
    const length = Math.min(size, 256 * 1024);
    const buf = Buffer.alloc(length);
    fs.readSync(fd, buf, 0, length, size - length);
    const all = buf.toString('utf8').split('\n');
    if (all.at(-1) === '') all.pop();
    // The first line may be cut in the middle when we did not read from the start.
    if (length < size) all.shift();
    return all.slice(-lines);
  } finally {
    fs.closeSync(fd);
  }
}

function printLogTail(name: string, logFile: string): void {
  const tail = tailOfFile(logFile, LOG_TAIL_LINES);
  if (tail.length === 0) return;
  process.stderr.write(`--- last ${tail.length} lines of the server log of cluster "${name}" ---\n${tail.join('\n')}\n--- end of server log ---\n`);
}

async function run(command: string[], opts: RunOptions): Promise<number> {
  if (command.length === 0) throw new CliError('nothing to run: nanokube run [options] -- <command> [args...]', 2);
  const name = checkName(opts.name ?? `run-${randomBytes(4).toString('hex')}`);
  const timeoutMs = opts.timeout !== undefined ? parseDuration(opts.timeout) : undefined;
  parseDuration(opts.startTimeout);
  const before = viewCluster(name);
  if (before.record || fs.existsSync(before.dataDir)) {
    // `run` deletes its cluster at the end: never adopt (and then delete) one the user made.
    throw new CliError(`cluster "${name}" already exists; nanokube run starts and deletes its own cluster: pick another --name or leave it out`, 2);
  }

  let received: NodeJS.Signals | undefined;
  let starting: ChildProcess | undefined;
  let commandChild: ChildProcess | undefined;
  let killTimer: NodeJS.Timeout | undefined;
  const hardKill = (child: ChildProcess) => {
    killTimer ??= setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS);
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (received) {
      // A second signal: the user is in a hurry. Clean-up still runs.
      commandChild?.kill('SIGKILL');
      starting?.kill('SIGKILL');
      return;
    }
    received = signal;
    process.stderr.write(`nanokube run: got ${signal}${commandChild ? ', passing it to the command' : ''}; the cluster will be deleted\n`);
    if (commandChild) {
      commandChild.kill(signal);
      hardKill(commandChild);
    }
    // While the cluster starts we let `start` finish (it is bounded by --start-timeout): killing it
    // half-way could leave a server that `delete` cannot find yet.
  };
  for (const s of FORWARDED_SIGNALS) process.on(s, onSignal);

  let exitCode = EXIT_CLUSTER_FAILED;
  let keep = false;
  try {
    const startCode = await nanokube(
      ['start', '--name', name, '--api-port', '0', '--no-merge-kubeconfig', '--timeout', opts.startTimeout],
      (c) => (starting = c),
    );
    starting = undefined;
    const view = viewCluster(name);
    if (received) return (exitCode = 128 + signalNumber(received));
    if (startCode !== 0) {
      printLogTail(name, view.layout.logFile);
      process.stderr.write(`nanokube run: cluster "${name}" did not start (exit ${startCode}); the command was not run\n`);
      return (exitCode = EXIT_CLUSTER_FAILED);
    }

    const env = { ...process.env, KUBECONFIG: view.layout.kubeconfigFile, NANOKUBE_CLUSTER: name };
    let timedOut = false;
    exitCode = await new Promise<number>((resolve) => {
      const child = spawn(command[0]!, command.slice(1), { stdio: 'inherit', env });
      commandChild = child;
      const timer =
        timeoutMs !== undefined
          ? setTimeout(() => {
              timedOut = true;
              process.stderr.write(`nanokube run: the command did not finish within ${opts.timeout}; stopping it\n`);
              child.kill('SIGTERM');
              hardKill(child);
            }, timeoutMs)
          : undefined;
      child.once('error', (e: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        process.stderr.write(`nanokube run: cannot run ${command[0]}: ${e.message}\n`);
        resolve(e.code === 'ENOENT' ? EXIT_NOT_FOUND : EXIT_NOT_EXECUTABLE);
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        resolve(timedOut ? EXIT_TIMEOUT : (code ?? 128 + (signal ? signalNumber(signal) : 0)));
      });
    });
    commandChild = undefined;
    clearTimeout(killTimer);
    if (exitCode !== 0) {
      printLogTail(name, view.layout.logFile);
      keep = opts.keepOnFailure === true && received === undefined;
    }
    return exitCode;
  } finally {
    if (keep) {
      const view = viewCluster(name);
      process.stderr.write(
        `nanokube run: the command failed (exit ${exitCode}); cluster "${name}" is kept for debugging:\n` +
          `  export KUBECONFIG=${view.layout.kubeconfigFile}\n` +
          `  nanokube delete --name ${name}    # when done\n`,
      );
    } else {
      const deleted = await nanokube(['delete', '--name', name]);
      if (deleted !== 0) process.stderr.write(`nanokube run: deleting cluster "${name}" failed (exit ${deleted}); run: nanokube delete --name ${name}\n`);
    }
    for (const s of FORWARDED_SIGNALS) process.off(s, onSignal);
  }
}
