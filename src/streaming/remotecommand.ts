// exec and attach, independent of the transport: a runtime StreamSession wired to the client's
// stdin/stdout/stderr/resize channels, ending with the exit status the client turns into its own
// exit code. Adapters below build the channels from a WebSocket or from SPDY streams.
import { PassThrough, Writable, type Readable } from 'node:stream';
import type { WebSocket } from 'ws';
import type { StreamSession } from '../runtime/types.ts';
import type { SpdySession, SpdyStream } from './spdy.ts';
import { Channel, decodeChannelMessage, encodeChannelMessage, parseResize, statusIsJson } from './ws-channel.ts';

export interface CommandOptions {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

export type CommandResult = { exitCode: number } | { error: string };

export interface CommandChannels {
  stdin: Readable | null;
  stdout: Writable | null;
  stderr: Writable | null;
  onResize(listener: (width: number, height: number) => void): void;
  /** Reports the result and closes the connection. */
  finish(result: CommandResult): void;
  /** Settles when the client has gone (or finish closed the connection). */
  closed: Promise<void>;
}

/** The metav1.Status kubectl reads from the error channel (v4+). */
export function commandStatus(result: CommandResult): object {
  if ('error' in result) return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: result.error, reason: 'InternalError', code: 500 };
  if (result.exitCode === 0) return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success' };
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: `command terminated with non-zero exit code: exit status ${result.exitCode}`,
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: String(result.exitCode) }] },
  };
}

/** Pre-v4 protocols carry only error text; a clean exit sends nothing. */
function statusText(result: CommandResult): string | undefined {
  if ('error' in result) return result.error;
  return result.exitCode === 0 ? undefined : `command terminated with non-zero exit code: exit status ${result.exitCode}`;
}

function statusBytes(result: CommandResult, json: boolean): Buffer | undefined {
  if (json) return Buffer.from(JSON.stringify(commandStatus(result)));
  const text = statusText(result);
  return text === undefined ? undefined : Buffer.from(text);
}

/** Copies src into dst; settles once dst has flushed everything (or src failed), so the status goes last. */
function pump(src: Readable | null, dst: Writable | null): Promise<void> {
  if (!src) {
    dst?.end();
    return Promise.resolve();
  }
  if (!dst) {
    src.resume();
    return new Promise((resolve) => {
      src.once('end', resolve);
      src.once('close', resolve);
    });
  }
  src.pipe(dst);
  return new Promise((resolve) => {
    dst.once('finish', resolve);
    dst.once('close', resolve);
    // A source that breaks never ends the pipe: end the copy ourselves.
    src.once('error', () => dst.end());
    src.once('close', () => {
      if (!src.readableEnded) dst.end();
    });
  });
}

/**
 * Runs one exec/attach: opens the runtime session, copies the streams both ways, forwards resizes,
 * and reports the exit code once all output has been sent.
 */
export async function serveCommand(channels: CommandChannels, open: () => Promise<StreamSession>): Promise<void> {
  let session: StreamSession;
  try {
    session = await open();
  } catch (e) {
    channels.finish({ error: (e as Error).message });
    return;
  }
  let gone = false;
  void channels.closed.then(() => {
    gone = true;
    // The client left: stop the process's streams (exec) or detach (attach).
    session.close();
  });
  channels.onResize((w, h) => void session.resize(w, h).catch(() => {}));
  if (channels.stdin) {
    if (session.stdin) channels.stdin.pipe(session.stdin);
    else channels.stdin.resume();
  }
  const output = Promise.all([pump(session.stdout, channels.stdout), pump(session.stderr, channels.stderr)]);
  let result: CommandResult;
  try {
    result = { exitCode: await session.exitCode };
  } catch (e) {
    result = { error: (e as Error).message };
  }
  await output;
  if (!gone) channels.finish(result);
}

/** Writable whose chunks go out through `send` one at a time (the callback is our back-pressure). */
function sender(send: (chunk: Buffer, done: () => void) => void): Writable {
  return new Writable({
    highWaterMark: 256 * 1024,
    write(chunk: Buffer, _enc, cb) {
      send(chunk, () => cb());
    },
  });
}

export function wsCommandChannels(ws: WebSocket, protocol: string, opts: CommandOptions): CommandChannels {
  const stdin = opts.stdin ? new PassThrough() : null;
  const resizeListeners: Array<(w: number, h: number) => void> = [];
  const out = (channel: number) =>
    sender((chunk, done) => {
      if (ws.readyState !== ws.OPEN) return done();
      ws.send(encodeChannelMessage(channel, chunk), { binary: true }, () => done());
    });
  const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
  void closed.then(() => stdin?.end());
  ws.on('message', (raw: Buffer | ArrayBuffer | Buffer[]) => {
    const data = Buffer.isBuffer(raw) ? raw : Array.isArray(raw) ? Buffer.concat(raw) : Buffer.from(raw);
    const m = decodeChannelMessage(data, protocol);
    if (m.kind === 'close') {
      if (m.channel === Channel.stdin) stdin?.end();
      return;
    }
    if (m.kind !== 'data') return;
    if (m.channel === Channel.stdin && stdin && !stdin.writableEnded) {
      if (!stdin.write(m.data)) {
        ws.pause();
        stdin.once('drain', () => ws.resume());
      }
    } else if (m.channel === Channel.resize) {
      const size = parseResize(m.data);
      if (size) for (const l of resizeListeners) l(size.width, size.height);
    }
  });
  ws.on('error', () => ws.terminate());
  return {
    stdin,
    stdout: opts.stdout ? out(Channel.stdout) : null,
    stderr: opts.stderr && !opts.tty ? out(Channel.stderr) : null,
    onResize: (l) => resizeListeners.push(l),
    closed,
    finish(result) {
      if (ws.readyState !== ws.OPEN) return;
      const body = statusBytes(result, statusIsJson(protocol));
      if (body) ws.send(encodeChannelMessage(Channel.error, body), { binary: true });
      // 1000 is the only close kubectl takes as a clean end.
      ws.close(1000);
    },
  };
}

/** How long the client gets to open the streams it announced in the URL (upstream: 30 s). */
const STREAM_WAIT_MS = 30_000;

/**
 * Waits for the client's SPDY streams (error, then stdin/stdout/stderr/resize as requested), answering
 * each SYN_STREAM, and returns them as channels. Rejects when they do not all arrive in time.
 */
export function spdyCommandChannels(session: SpdySession, protocol: string, opts: CommandOptions): Promise<CommandChannels> {
  const expected = new Set(['error']);
  if (opts.stdin) expected.add('stdin');
  if (opts.stdout) expected.add('stdout');
  if (opts.stderr && !opts.tty) expected.add('stderr');
  // Resize streams exist from v3 on; v2 and the first protocol cannot resize.
  if (opts.tty && protocol !== 'v2.channel.k8s.io' && protocol !== 'channel.k8s.io') expected.add('resize');
  const streams = new Map<string, SpdyStream>();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      session.off('stream', onStream);
      session.close();
      reject(new Error(`timed out waiting for client streams (have ${[...streams.keys()].join(', ') || 'none'})`));
    }, STREAM_WAIT_MS);
    const onClose = () => {
      clearTimeout(timer);
      reject(new Error('connection closed before the client opened its streams'));
    };
    session.once('close', onClose);
    const onStream = (s: SpdyStream) => {
      const type = s.headers.streamtype ?? '';
      s.reply();
      if (!expected.has(type) || streams.has(type)) {
        // Not one we asked for: accept and ignore, as upstream does with unknown stream types.
        s.on('data', () => {});
        return;
      }
      streams.set(type, s);
      if (streams.size < expected.size) return;
      clearTimeout(timer);
      session.off('stream', onStream);
      session.off('close', onClose);
      resolve(buildSpdyChannels(session, streams, protocol));
    };
    session.on('stream', onStream);
  });
}

function buildSpdyChannels(session: SpdySession, streams: Map<string, SpdyStream>, protocol: string): CommandChannels {
  const stdinStream = streams.get('stdin');
  const stdin = stdinStream ? new PassThrough() : null;
  if (stdinStream && stdin) {
    stdinStream.on('data', (d: Buffer) => {
      if (!stdin.write(d)) {
        stdinStream.pause();
        stdin.once('drain', () => stdinStream.resume());
      }
    });
    stdinStream.on('end', () => stdin.end());
    stdinStream.on('reset', () => stdin.end());
  }
  const resizeListeners: Array<(w: number, h: number) => void> = [];
  const resize = streams.get('resize');
  if (resize) {
    // Resize events are JSON objects back to back on one stream, without framing.
    let buffered = '';
    resize.on('data', (d: Buffer) => {
      buffered += d.toString();
      for (;;) {
        const end = buffered.indexOf('}');
        if (end < 0) break;
        const size = parseResize(Buffer.from(buffered.slice(0, end + 1)));
        buffered = buffered.slice(end + 1);
        if (size) for (const l of resizeListeners) l(size.width, size.height);
      }
    });
  }
  const out = (s: SpdyStream | undefined) =>
    s
      ? sender((chunk, done) => {
          if (s.write(chunk) || session.closed) done();
          else session.once('drain', done);
        })
      : null;
  const closed = new Promise<void>((resolve) => session.once('close', () => resolve()));
  void closed.then(() => stdin?.end());
  return {
    stdin,
    stdout: out(streams.get('stdout')),
    stderr: out(streams.get('stderr')),
    onResize: (l) => resizeListeners.push(l),
    closed,
    finish(result) {
      if (session.closed) return;
      const error = streams.get('error')!;
      const body = statusBytes(result, statusIsJson(protocol));
      if (body) error.write(body);
      for (const s of streams.values()) s.end();
      session.close();
    },
  };
}
