// Port-forward: each client connection becomes a TCP connection to the pod. Two wire forms:
// SPDY (plain, or tunnelled in WebSocket messages) with an error + data stream pair per connection,
// and client-node's WebSocket channel form (channel 2i data, 2i+1 error, one port each).
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import type { SpdySession, SpdyStream } from './spdy.ts';
import { encodeChannelMessage, portPrefix } from './ws-channel.ts';

/** Opens a connection to `port` inside the pod. */
export type Dial = (port: number) => Promise<Duplex>;

interface Pair {
  error?: SpdyStream;
  data?: SpdyStream;
  /** Error text waiting for the error stream to arrive. */
  pendingError?: string;
}

/** Serves every stream pair the client opens on this SPDY session until it closes. */
export function servePortForwardSpdy(session: SpdySession, dial: Dial, podName: string): void {
  session.setMaxListeners(0);
  const pairs = new Map<string, Pair>();
  session.on('stream', (s: SpdyStream) => {
    s.reply();
    const type = s.headers.streamtype;
    // kubectl numbers its connections; without a requestid the data stream follows its error stream.
    const key = s.headers.requestid ?? String(type === 'data' ? s.id - 2 : s.id);
    const pair = pairs.get(key) ?? {};
    pairs.set(key, pair);
    const forget = () => {
      if ((!pair.error || pair.error.localClosed) && (!pair.data || pair.data.localClosed)) pairs.delete(key);
    };
    if (type === 'error') {
      pair.error = s;
      // The client half-closes it at once and never writes to it.
      s.on('data', () => {});
      if (pair.pendingError !== undefined) {
        s.write(Buffer.from(pair.pendingError));
        s.end();
        forget();
      }
      return;
    }
    if (type !== 'data') {
      s.reset();
      return;
    }
    pair.data = s;
    const port = Number(s.headers.port);
    const fail = (text: string) => {
      if (pair.error) {
        pair.error.write(Buffer.from(text));
        pair.error.end();
      } else {
        pair.pendingError = text;
      }
      s.end();
      forget();
    };
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      fail(`invalid port ${s.headers.port ?? '(none)'}`);
      return;
    }
    void forward(session, s, dial, port).then(
      () => {
        // Our side is done: kubectl waits for EOF on both streams of the pair.
        s.end();
        pair.error?.end();
        forget();
      },
      (e: Error) => fail(`error forwarding port ${port} to pod ${podName}: ${e.message}`),
    );
  });
}

/** Copies bytes both ways until the pod side closes; rejects when it cannot connect. */
async function forward(session: SpdySession, data: SpdyStream, dial: Dial, port: number): Promise<void> {
  // Bytes may arrive while we connect: hold them (and the client) until the socket is there.
  const early: Buffer[] = [];
  let clientDone = false;
  const hold = (d: Buffer) => early.push(d);
  const holdEnd = () => {
    clientDone = true;
  };
  data.on('data', hold);
  data.once('end', holdEnd);
  data.once('reset', holdEnd);
  let socket: Duplex;
  try {
    socket = await dial(port);
  } finally {
    data.off('data', hold);
    data.off('end', holdEnd);
    data.off('reset', holdEnd);
  }
  if (session.closed) {
    socket.destroy();
    return;
  }
  for (const d of early) socket.write(d);
  if (clientDone) socket.end();
  data.on('data', (d: Buffer) => {
    if (!socket.write(d)) {
      data.pause();
      socket.once('drain', () => data.resume());
    }
  });
  data.once('end', () => socket.end());
  data.once('reset', () => socket.destroy());
  const onSessionClose = () => socket.destroy();
  session.once('close', onSessionClose);
  socket.on('data', (d: Buffer) => {
    if (!data.write(d) && !session.closed) {
      socket.pause();
      session.once('drain', () => socket.resume());
    }
  });
  await new Promise<void>((resolve) => {
    socket.once('close', () => resolve());
    socket.once('end', () => resolve());
    socket.once('error', () => resolve());
  });
  session.off('close', onSessionClose);
}

/**
 * client-node's form: `?ports=a&ports=b` on a channel-protocol WebSocket. The first message we send
 * on each channel is the port (2 bytes, little-endian); then channel 2i carries data, 2i+1 errors.
 * Any socket ending ends the whole connection, as one WebSocket serves one connection per port.
 */
export async function servePortForwardChannels(ws: WebSocket, ports: number[], dial: Dial, podName: string): Promise<void> {
  const sockets = new Map<number, Duplex>();
  ws.on('close', () => {
    for (const s of sockets.values()) s.destroy();
  });
  for (let i = 0; i < ports.length; i++) {
    const port = ports[i]!;
    ws.send(encodeChannelMessage(2 * i, portPrefix(port)), { binary: true });
    ws.send(encodeChannelMessage(2 * i + 1, portPrefix(port)), { binary: true });
  }
  // Clients write as soon as the socket opens; hold their bytes until the pod connection exists.
  const early = new Map<number, Buffer[]>();
  ws.on('message', (raw: Buffer) => {
    const channel = raw[0];
    if (channel === undefined || channel % 2 !== 0 || raw.length < 2) return;
    const socket = sockets.get(channel / 2);
    if (!socket) {
      const held = early.get(channel / 2) ?? [];
      held.push(Buffer.from(raw.subarray(1)));
      early.set(channel / 2, held);
      return;
    }
    if (!socket.write(raw.subarray(1))) {
      ws.pause();
      socket.once('drain', () => ws.resume());
    }
  });
  for (let i = 0; i < ports.length; i++) {
    const port = ports[i]!;
    try {
      const socket = await dial(port);
      sockets.set(i, socket);
      for (const d of early.get(i) ?? []) socket.write(d);
      early.delete(i);
      socket.on('data', (d: Buffer) => ws.send(encodeChannelMessage(2 * i, d), { binary: true }));
      socket.once('close', () => ws.close(1000));
      socket.once('error', () => ws.close(1000));
    } catch (e) {
      ws.send(encodeChannelMessage(2 * i + 1, `error forwarding port ${port} to pod ${podName}: ${(e as Error).message}`), { binary: true });
      ws.close(1000);
      return;
    }
  }
}
