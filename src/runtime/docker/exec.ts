// exec and attach: a hijacked engine connection turned into stdin/stdout/stderr streams.
import type { Duplex } from 'node:stream';
import { PassThrough, Writable } from 'node:stream';
import type Docker from 'dockerode';
import type { ExecOptions, StreamOptions, StreamSession } from '../types.ts';
import { demux, raw } from './logs.ts';

/** Pumps the engine socket into stdout/stderr and exposes stdin; `done` settles when output ends. */
function wire(socket: Duplex, opts: StreamOptions): Omit<StreamSession, 'resize' | 'exitCode'> & { done: Promise<void> } {
  const tty = opts.tty ?? false;
  const stdout = opts.stdout !== false ? new PassThrough() : null;
  const stderr = opts.stderr !== false && !tty ? new PassThrough() : null;
  const done = (async () => {
    try {
      for await (const chunk of tty ? raw(socket) : demux(socket)) {
        const target = chunk.stream === 'stderr' ? stderr : stdout;
        if (target && !target.write(chunk.data)) await new Promise((r) => target.once('drain', r));
      }
    } catch {
      // A reset connection ends the session like a clean end; the exit code tells the rest.
    } finally {
      stdout?.end();
      stderr?.end();
    }
  })();
  const stdin = opts.stdin
    ? new Writable({
        write(chunk: Buffer, _enc, cb) {
          if (socket.destroyed) return cb();
          socket.write(chunk, () => cb());
        },
        // End of stdin is a half-close: the engine then closes the process's stdin.
        final(cb) {
          if (!socket.destroyed) socket.end();
          cb();
        },
      })
    : null;
  return { stdin, stdout, stderr, done, close: () => socket.destroy() };
}

export async function exec(docker: Docker, id: string, opts: ExecOptions): Promise<StreamSession> {
  const tty = opts.tty ?? false;
  const handle = await docker.getContainer(id).exec({
    Cmd: opts.cmd,
    AttachStdin: opts.stdin ?? false,
    AttachStdout: opts.stdout !== false,
    AttachStderr: opts.stderr !== false && !tty,
    Tty: tty,
  });
  const socket = (await handle.start({ hijack: true, stdin: opts.stdin ?? false, Tty: tty })) as unknown as Duplex;
  if (!opts.stdin) socket.end();
  const session = wire(socket, opts);
  const exitCode = session.done.then(async () => {
    // The output can end a moment before the engine records the exit code; ask until it has one.
    for (let i = 0; i < 50; i++) {
      const info = await handle.inspect();
      if (!info.Running && info.ExitCode !== null) return info.ExitCode;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`exec in ${id.slice(0, 12)}: no exit code after the stream ended`);
  });
  exitCode.catch(() => {});
  return {
    ...session,
    exitCode,
    resize: async (w, h) => {
      await handle.resize({ w, h });
    },
  };
}

export async function attach(docker: Docker, id: string, opts: StreamOptions): Promise<StreamSession> {
  const container = docker.getContainer(id);
  const socket = (await container.attach({
    stream: true,
    hijack: true,
    stdin: opts.stdin ?? false,
    stdout: opts.stdout !== false,
    stderr: opts.stderr !== false,
  })) as unknown as Duplex;
  const session = wire(socket, opts);
  let detached = false;
  const exitCode = session.done.then(async () => {
    // Detaching leaves the container running: there is no exit code to wait for.
    if (detached) throw new Error(`detached from ${id.slice(0, 12)} before it exited`);
    return (await container.wait({ condition: 'not-running' })).StatusCode as number;
  });
  exitCode.catch(() => {});
  return {
    ...session,
    close: () => {
      detached = true;
      session.close();
    },
    exitCode,
    resize: async (w, h) => {
      await container.resize({ w, h });
    },
  };
}
