// A SPDY/3.1 server session, just enough for kubectl's exec/attach/port-forward: streams opened by
// the client (SYN_STREAM -> SYN_REPLY), DATA with FIN, RST_STREAM, PING echo, GOAWAY. No flow
// control: Go's spdystream never sends WINDOW_UPDATE, so honouring windows would stall at 64 KiB.
// Back-pressure comes from the transport instead (the caller pauses its socket).
import { EventEmitter } from 'node:events';
import zlib from 'node:zlib';
import { spdyDictionary } from '../../embedded/spdy/dictionary.ts';

export const FLAG_FIN = 0x01;

export const FrameType = {
  synStream: 1,
  synReply: 2,
  rstStream: 3,
  settings: 4,
  ping: 6,
  goAway: 7,
  headers: 8,
  windowUpdate: 9,
} as const;

export const RstStatus = { protocolError: 1, invalidStream: 2, refusedStream: 3, cancel: 5, internalError: 6 } as const;

export type Frame =
  | { kind: 'data'; streamId: number; flags: number; data: Buffer }
  | { kind: 'control'; type: number; flags: number; payload: Buffer };

/** A frame header is 8 bytes whatever the kind. */
const HEADER = 8;
/** Go's client sends at most 32 KiB per DATA frame; we keep to the same size when sending. */
export const MAX_DATA = 32 * 1024;
/** Far above anything kubectl sends; a bigger length means a broken peer, not a big frame. */
const MAX_FRAME = 16 * 1024 * 1024 - 1;

export function encodeDataFrame(streamId: number, data: Buffer, fin = false): Buffer {
  const out = Buffer.allocUnsafe(HEADER + data.length);
  out.writeUInt32BE(streamId & 0x7fffffff, 0);
  out.writeUInt32BE(((fin ? FLAG_FIN : 0) << 24) | data.length, 4);
  data.copy(out, HEADER);
  return out;
}

export function encodeControlFrame(type: number, flags: number, payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(HEADER + payload.length);
  out.writeUInt16BE(0x8003, 0);
  out.writeUInt16BE(type, 2);
  out.writeUInt32BE(((flags & 0xff) << 24) | payload.length, 4);
  payload.copy(out, HEADER);
  return out;
}

/** Cuts a byte stream (arbitrary chunk boundaries) into frames. */
export class FrameReader {
  private buffered: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Frame[] {
    let buf = this.buffered.length ? Buffer.concat([this.buffered, chunk]) : chunk;
    const frames: Frame[] = [];
    while (buf.length >= HEADER) {
      const length = buf.readUInt32BE(4) & 0xffffff;
      if (length > MAX_FRAME) throw new Error(`SPDY frame of ${length} bytes`);
      if (buf.length < HEADER + length) break;
      const flags = buf[4]!;
      const body = buf.subarray(HEADER, HEADER + length);
      if (buf[0]! & 0x80) {
        const version = buf.readUInt16BE(0) & 0x7fff;
        if (version !== 3) throw new Error(`unsupported SPDY version ${version}`);
        frames.push({ kind: 'control', type: buf.readUInt16BE(2), flags, payload: body });
      } else {
        frames.push({ kind: 'data', streamId: buf.readUInt32BE(0) & 0x7fffffff, flags, data: body });
      }
      buf = buf.subarray(HEADER + length);
    }
    // Keep the remainder in its own buffer so a large chunk is not held alive by a small tail.
    this.buffered = buf.length ? Buffer.from(buf) : Buffer.alloc(0);
    return frames;
  }
}

export type HeaderList = Array<[name: string, value: string]>;

/** The uncompressed name/value block: u32 count, then u32-length-prefixed names and values. */
export function encodeHeaderBlock(headers: HeaderList): Buffer {
  const parts: Buffer[] = [u32(headers.length)];
  for (const [name, value] of headers) {
    const n = Buffer.from(name.toLowerCase());
    const v = Buffer.from(value);
    parts.push(u32(n.length), n, u32(v.length), v);
  }
  return Buffer.concat(parts);
}

export function decodeHeaderBlock(block: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let at = 0;
  const read = () => {
    if (at + 4 > block.length) throw new Error('truncated SPDY header block');
    const len = block.readUInt32BE(at);
    at += 4;
    if (at + len > block.length) throw new Error('truncated SPDY header block');
    const s = block.toString('utf8', at, at + len);
    at += len;
    return s;
  };
  if (block.length < 4) throw new Error('truncated SPDY header block');
  const count = block.readUInt32BE(0);
  at = 4;
  for (let i = 0; i < count; i++) {
    const name = read();
    out[name.toLowerCase()] = read();
  }
  return out;
}

function u32(n: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

/**
 * One zlib stream per direction for the life of the connection (the spec's shared compression
 * context), primed with the SPDY/3 dictionary; each block ends with a sync flush so the peer can
 * decode it without waiting for more. Calls are serialised: the context is order-sensitive.
 */
export class HeaderCodec {
  private readonly engine: zlib.Deflate | zlib.Inflate;
  private chain: Promise<unknown> = Promise.resolve();
  private readonly chunks: Buffer[] = [];
  private failure: Error | undefined;

  constructor(direction: 'compress' | 'decompress') {
    this.engine = direction === 'compress' ? zlib.createDeflate({ dictionary: spdyDictionary }) : zlib.createInflate({ dictionary: spdyDictionary });
    this.engine.on('data', (c: Buffer) => this.chunks.push(c));
    this.engine.on('error', (e) => {
      this.failure = e;
    });
  }

  run(input: Buffer): Promise<Buffer> {
    const result = this.chain.then(
      () =>
        new Promise<Buffer>((resolve, reject) => {
          if (this.failure) return reject(this.failure);
          this.engine.write(input);
          this.engine.flush(zlib.constants.Z_SYNC_FLUSH, () => {
            if (this.failure) return reject(this.failure);
            const out = Buffer.concat(this.chunks);
            this.chunks.length = 0;
            resolve(out);
          });
        }),
    );
    this.chain = result.catch(() => {});
    return result;
  }

  close(): void {
    this.engine.close();
  }
}

/** A stream opened by the client. Emits 'data' (Buffer), 'end' (peer FIN) and 'reset' (RST_STREAM). */
export class SpdyStream extends EventEmitter {
  /** Set once we have sent FIN (or the stream was reset). */
  localClosed = false;
  remoteClosed = false;

  constructor(
    private readonly session: SpdySession,
    readonly id: number,
    readonly headers: Record<string, string>,
  ) {
    super();
  }

  /** Answers the SYN_STREAM; the client waits for this before using the stream. */
  reply(headers: HeaderList = []): void {
    this.session.sendReply(this.id, headers);
  }

  /** Returns false when the transport is backed up: wait for the session's 'drain'. */
  write(data: Buffer): boolean {
    if (this.localClosed) return true;
    let ok = true;
    for (let at = 0; at < data.length; at += MAX_DATA) {
      ok = this.session.send(encodeDataFrame(this.id, data.subarray(at, at + MAX_DATA))) && ok;
    }
    return ok;
  }

  /** Half-closes our side with an empty DATA frame carrying FIN. */
  end(): void {
    if (this.localClosed) return;
    this.localClosed = true;
    this.session.send(encodeDataFrame(this.id, Buffer.alloc(0), true));
    this.session.maybeForget(this);
  }

  reset(status: number = RstStatus.cancel): void {
    if (this.localClosed && this.remoteClosed) return;
    this.localClosed = true;
    this.remoteClosed = true;
    const p = Buffer.allocUnsafe(8);
    p.writeUInt32BE(this.id, 0);
    p.writeUInt32BE(status, 4);
    this.session.send(encodeControlFrame(FrameType.rstStream, 0, p));
    this.session.maybeForget(this);
  }

  pause(): void {
    this.session.pauseInput();
  }

  resume(): void {
    this.session.resumeInput();
  }
}

export interface SpdyTransport {
  /** Writes bytes to the peer; false = buffer full, call session.drained() on 'drain'. */
  write(data: Buffer): boolean;
  /** Stop/restart reading from the peer (back-pressure towards the client). */
  pause(): void;
  resume(): void;
  /** Closes the connection. */
  close(): void;
}

/**
 * Server side of one SPDY connection. Feed it bytes with receive(); it emits 'stream' for each
 * SYN_STREAM (after its headers are decoded), 'drain' when the transport drained, 'close' once.
 */
export class SpdySession extends EventEmitter {
  private readonly reader = new FrameReader();
  private readonly inflater = new HeaderCodec('decompress');
  private readonly deflater = new HeaderCodec('compress');
  private readonly streams = new Map<number, SpdyStream>();
  private readonly pending: Frame[] = [];
  private draining = false;
  /** Outgoing frames queued behind a header block that is still being compressed. */
  private outChain: Promise<void> | null = null;
  private pauses = 0;
  closed = false;

  constructor(private readonly transport: SpdyTransport) {
    super();
  }

  receive(chunk: Buffer): void {
    if (this.closed) return;
    try {
      for (const f of this.reader.push(chunk)) this.pending.push(f);
    } catch (e) {
      this.fail(e as Error);
      return;
    }
    if (!this.draining) void this.drainFrames();
  }

  /** The transport ended or broke: every stream ends with it. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.streams.values()) {
      s.remoteClosed = true;
      s.localClosed = true;
      s.emit('reset', RstStatus.cancel);
    }
    this.streams.clear();
    this.inflater.close();
    this.deflater.close();
    this.transport.close();
    this.emit('close');
  }

  drained(): void {
    this.emit('drain');
  }

  send(frame: Buffer): boolean {
    if (this.closed) return true;
    if (this.outChain) {
      this.chainOut(async () => {
        this.transport.write(frame);
      });
      return true;
    }
    return this.transport.write(frame);
  }

  sendReply(streamId: number, headers: HeaderList): void {
    const block = this.deflater.run(encodeHeaderBlock(headers));
    this.chainOut(async () => {
      const compressed = await block;
      this.transport.write(encodeControlFrame(FrameType.synReply, 0, Buffer.concat([u32(streamId), compressed])));
    });
  }

  pauseInput(): void {
    if (this.pauses++ === 0) this.transport.pause();
  }

  resumeInput(): void {
    if (this.pauses > 0 && --this.pauses === 0) this.transport.resume();
  }

  maybeForget(s: SpdyStream): void {
    if (s.localClosed && s.remoteClosed) this.streams.delete(s.id);
  }

  private chainOut(step: () => Promise<void>): void {
    const next = (this.outChain ?? Promise.resolve()).then(step).catch((e: Error) => this.fail(e));
    this.outChain = next;
    void next.then(() => {
      if (this.outChain === next) this.outChain = null;
    });
  }

  private fail(err: Error): void {
    this.emit('protocolError', err);
    this.close();
  }

  private async drainFrames(): Promise<void> {
    this.draining = true;
    try {
      while (this.pending.length > 0 && !this.closed) {
        const frame = this.pending.shift()!;
        const wait = this.handle(frame);
        if (wait) await wait;
      }
    } catch (e) {
      this.fail(e as Error);
    } finally {
      this.draining = false;
    }
  }

  /** Returns a promise only for frames whose header block must be inflated first. */
  private handle(frame: Frame): Promise<void> | undefined {
    if (frame.kind === 'data') {
      const s = this.streams.get(frame.streamId);
      if (!s || s.remoteClosed) return undefined;
      if (frame.data.length) s.emit('data', Buffer.from(frame.data));
      if (frame.flags & FLAG_FIN) {
        s.remoteClosed = true;
        s.emit('end');
        this.maybeForget(s);
      }
      return undefined;
    }
    const p = frame.payload;
    switch (frame.type) {
      case FrameType.synStream:
        return this.onSynStream(frame.flags, p);
      case FrameType.headers:
        // Header updates carry nothing kubectl needs, but must pass through the shared context.
        return this.inflater.run(p.subarray(4)).then(() => {});
      case FrameType.rstStream: {
        const s = this.streams.get(p.readUInt32BE(0) & 0x7fffffff);
        if (s) {
          s.remoteClosed = true;
          s.localClosed = true;
          this.streams.delete(s.id);
          s.emit('reset', p.readUInt32BE(4));
        }
        return undefined;
      }
      case FrameType.ping:
        // Client pings have odd ids; the answer is the same frame.
        this.send(encodeControlFrame(FrameType.ping, 0, Buffer.from(p)));
        return undefined;
      case FrameType.goAway:
        this.close();
        return undefined;
      default:
        // SETTINGS, WINDOW_UPDATE, SYN_REPLY (we open no streams) and unknown types: nothing to do.
        return undefined;
    }
  }

  private async onSynStream(flags: number, p: Buffer): Promise<void> {
    const id = p.readUInt32BE(0) & 0x7fffffff;
    const headers = decodeHeaderBlock(await this.inflater.run(p.subarray(10)));
    if (this.closed) return;
    const s = new SpdyStream(this, id, headers);
    this.streams.set(id, s);
    if (flags & FLAG_FIN) s.remoteClosed = true;
    this.emit('stream', s);
    if (s.remoteClosed) s.emit('end');
  }
}
