// What a fake container or exec "runs": a program is an async function over a FakeProcess,
// matched by its argv. Behaviour is data supplied by the test, as kwok's stages are.
import { Duplex, PassThrough, type Readable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';

export interface FakeProcess {
  argv: string[];
  image: string;
  env: Record<string, string>;
  /** The pod's managed files (/etc/hosts, /etc/resolv.conf, /etc/hostname). */
  files: ReadonlyMap<string, string>;
  stdout(data: string | Buffer): void;
  stderr(data: string | Buffer): void;
  /** Ends when the caller closes stdin; already ended when there is none. */
  stdin: Readable;
  /** Aborted by SIGTERM (stopContainer). A program that ignores it is killed after the grace. */
  terminated: AbortSignal;
  /** Serves connections to podIP:port (portForward) while the process lives. */
  listen(port: number, handler: (conn: Duplex) => void): void;
  /** Grows the process's memory; past the container's memory limit it is OOM-killed. */
  allocate(bytes: number): void;
  /** Waits ms; never resolves once the process is killed. */
  sleep(ms: number): Promise<void>;
}

export interface FakeProgram {
  /** Human-readable, for error messages. */
  name: string;
  match(argv: string[], image: string): boolean;
  /** Resolves with the exit code. */
  run(proc: FakeProcess): Promise<number>;
}

/** Thrown by allocate() past the limit; the engine turns it into exit 137 + OOMKilled. */
export class FakeOutOfMemory extends Error {
  override name = 'FakeOutOfMemory';
}

/** What runs when no program matches a container: up until SIGTERM, then exit 0 (kwok's default). */
export const runUntilStopped: FakeProgram = {
  name: 'default',
  match: () => true,
  run: async (proc) => {
    await new Promise((resolve) => proc.terminated.addEventListener('abort', resolve, { once: true }));
    return 0;
  },
};

/** Matches argv exactly, or by a predicate. */
export function program(name: string, match: string[] | ((argv: string[], image: string) => boolean), run: FakeProgram['run']): FakeProgram {
  const matcher = typeof match === 'function' ? match : (argv: string[]) => argv.length === match.length && argv.every((a, i) => a === match[i]);
  return { name, match: matcher, run };
}

/** Two connected byte streams: what one side writes the other reads. */
export function duplexPair(): [Duplex, Duplex] {
  const sides: Duplex[] = [];
  const make = (peer: () => Duplex) =>
    new Duplex({
      read() {},
      write(chunk: Buffer, _enc, cb) {
        peer().push(chunk);
        cb();
      },
      final(cb) {
        peer().push(null);
        cb();
      },
    });
  sides.push(make(() => sides[1]!), make(() => sides[0]!));
  return [sides[0]!, sides[1]!];
}

export interface ProcessHost {
  memoryLimit: number | undefined;
  files: ReadonlyMap<string, string>;
  listen(port: number, handler: (conn: Duplex) => void): void;
  output(stream: 'stdout' | 'stderr', data: Buffer): void;
}

export interface RunningProcess {
  /** Settles with the exit code and whether it was an OOM kill; a kill settles it at once. */
  exit: Promise<{ code: number; oom: boolean }>;
  term(): void;
  kill(): void;
  stdin: PassThrough;
  allocated(): number;
}

export function startProcess(prog: FakeProgram, argv: string[], image: string, env: Record<string, string>, host: ProcessHost): RunningProcess {
  const terminated = new AbortController();
  const killed = new AbortController();
  const stdin = new PassThrough();
  let allocated = 0;
  let settle!: (r: { code: number; oom: boolean }) => void;
  const exit = new Promise<{ code: number; oom: boolean }>((resolve) => (settle = resolve));
  const proc: FakeProcess = {
    argv,
    image,
    env,
    files: host.files,
    stdout: (d) => host.output('stdout', Buffer.from(d)),
    stderr: (d) => host.output('stderr', Buffer.from(d)),
    stdin,
    terminated: terminated.signal,
    listen: (port, handler) => host.listen(port, handler),
    allocate: (bytes) => {
      allocated += bytes;
      if (host.memoryLimit !== undefined && allocated > host.memoryLimit) throw new FakeOutOfMemory(`${allocated} > ${host.memoryLimit}`);
    },
    sleep: (ms) => delay(ms, undefined, { signal: killed.signal }).catch(() => new Promise<void>(() => {})),
  };
  void (async () => {
    // Start on a later tick, as a real process does: the caller finishes wiring it up first.
    await null;
    try {
      settle({ code: await prog.run(proc), oom: false });
    } catch (err) {
      settle(err instanceof FakeOutOfMemory ? { code: 137, oom: true } : { code: 1, oom: false });
    }
  })();
  return {
    exit,
    term: () => terminated.abort(),
    kill: () => {
      killed.abort();
      settle({ code: 137, oom: false });
    },
    stdin,
    allocated: () => allocated,
  };
}
