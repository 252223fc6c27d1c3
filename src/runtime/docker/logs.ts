// Container logs, and the demultiplexer for Docker's framed stdout/stderr format (used by logs,
// exec and attach of containers without a tty).
import { Readable } from 'node:stream';
import type Docker from 'dockerode';
import type { LogChunk, LogOptions, LogStream } from '../types.ts';

const HEADER = 8;

/**
 * Splits Docker's multiplexed stream: each frame is [stream, 0, 0, 0, size (u32 BE)] + payload,
 * stream 1 = stdout, 2 = stderr (0 = stdin echo, reported as stdout). Frames may straddle chunks.
 */
export async function* demux(source: AsyncIterable<Buffer | string>): AsyncGenerator<LogChunk> {
  let pending: Buffer = Buffer.alloc(0);
  for await (const raw of source) {
    const chunk = typeof raw === 'string' ? Buffer.from(raw) : raw;
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    while (pending.length >= HEADER) {
      const size = pending.readUInt32BE(4);
      if (pending.length < HEADER + size) break;
      const stream: LogStream = pending[0] === 2 ? 'stderr' : 'stdout';
      const data = pending.subarray(HEADER, HEADER + size);
      pending = pending.subarray(HEADER + size);
      if (data.length) yield { stream, data: Buffer.from(data) };
    }
  }
}

export async function* raw(source: AsyncIterable<Buffer | string>): AsyncGenerator<LogChunk> {
  for await (const chunk of source) {
    yield { stream: 'stdout', data: typeof chunk === 'string' ? Buffer.from(chunk) : chunk };
  }
}

export async function* containerLogs(docker: Docker, id: string, options: LogOptions, signal?: AbortSignal): AsyncGenerator<LogChunk> {
  const container = docker.getContainer(id);
  const info = await container.inspect();
  const which = options.stream ?? 'all';
  const query = {
    follow: options.follow ?? false,
    stdout: which !== 'stderr',
    stderr: which !== 'stdout',
    timestamps: options.timestamps ?? false,
    ...(options.since ? { since: options.since.getTime() / 1000 } : {}),
    ...(options.tail !== undefined ? { tail: options.tail } : {}),
    ...(signal ? { abortSignal: signal } : {}),
  };
  // dockerode answers a Buffer without follow and a stream with it; the overloads need the literal.
  const body: Readable = query.follow
    ? ((await container.logs({ ...query, follow: true })) as unknown as Readable)
    : Readable.from([(await container.logs({ ...query, follow: false })) as unknown as Buffer]);
  const onAbort = () => body.destroy();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const frames = info.Config.Tty ? raw(body) : demux(body);
    for await (const chunk of frames) yield chunk;
  } catch (err) {
    if (!signal?.aborted) throw err;
  } finally {
    signal?.removeEventListener('abort', onAbort);
    body.destroy();
  }
}
