// Accepting an upgraded connection, WebSocket or SPDY/3.1, with the sub-protocol both sides agree on.
// Node hands every request carrying `Upgrade:` to the server's 'upgrade' event with the raw socket;
// from there we either write a 101 ourselves (SPDY) or let `ws` complete the handshake.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { SpdySession } from './spdy.ts';

/** The port-forward tunnel protocol: SPDY frames carried in WebSocket binary messages. */
export const PORT_FORWARD_TUNNEL = 'SPDY/3.1+portforward.k8s.io';
export const PORT_FORWARD_SPDY = 'portforward.k8s.io';
/** Channel protocols for exec/attach in our order of preference (newest first). */
export const CHANNEL_PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io', 'v3.channel.k8s.io', 'v2.channel.k8s.io', 'channel.k8s.io'] as const;
export type ChannelProtocol = (typeof CHANNEL_PROTOCOLS)[number];
/**
 * Over SPDY kubectl treats v5 like v4 (the close signal is FIN there), so v4 is the newest we agree
 * to; answering v5 would be legal but buys nothing.
 */
export const SPDY_COMMAND_PROTOCOLS = ['v4.channel.k8s.io', 'v3.channel.k8s.io', 'v2.channel.k8s.io', 'channel.k8s.io'] as const;

// `ws` parses Sec-WebSocket-Protocol as a token list and rejects "SPDY/3.1+portforward.k8s.io"
// ('/' is not a token character) with a 400 before asking us. We swap it for a harmless alias on
// the way in and put the real name back into the 101 on the way out.
const TUNNEL_ALIAS = 'spdy31-portforward';
const chosenProtocol = new WeakMap<IncomingMessage, string>();

const wss = new WebSocketServer({
  noServer: true,
  // kubectl and client-node do not negotiate compression; skipping it avoids zlib per message.
  perMessageDeflate: false,
  maxPayload: 64 * 1024 * 1024,
  handleProtocols: (_offered, req) => chosenProtocol.get(req) ?? false,
});
wss.on('headers', (lines, req) => {
  if (chosenProtocol.get(req) !== TUNNEL_ALIAS) return;
  for (let i = 0; i < lines.length; i++) {
    if (/^sec-websocket-protocol:/i.test(lines[i]!)) lines[i] = `Sec-WebSocket-Protocol: ${PORT_FORWARD_TUNNEL}`;
  }
});

export function isWebSocketUpgrade(req: IncomingMessage): boolean {
  return (req.headers.upgrade ?? '').toLowerCase() === 'websocket';
}

export function isSpdyUpgrade(req: IncomingMessage): boolean {
  return (req.headers.upgrade ?? '').toLowerCase().startsWith('spdy/3');
}

/** Values of a header that may be sent several times or comma-joined (Node joins repeats with ", "). */
function headerTokens(value: string | string[] | undefined): string[] {
  const all = Array.isArray(value) ? value.join(',') : (value ?? '');
  return all
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

export function offeredWebSocketProtocols(req: IncomingMessage): string[] {
  return headerTokens(req.headers['sec-websocket-protocol']);
}

/** Picks the first of `supported` the client offers; undefined when there is none. */
export function pickProtocol(offered: readonly string[], supported: readonly string[]): string | undefined {
  return supported.find((p) => offered.includes(p));
}

/** Finishes a WebSocket handshake with `protocol` (one the client offered). */
export function acceptWebSocket(req: IncomingMessage, socket: Duplex, head: Buffer, protocol: string): Promise<WebSocket> {
  if (protocol === PORT_FORWARD_TUNNEL) {
    req.headers['sec-websocket-protocol'] = TUNNEL_ALIAS;
    chosenProtocol.set(req, TUNNEL_ALIAS);
  } else {
    chosenProtocol.set(req, protocol);
  }
  return new Promise((resolve) => wss.handleUpgrade(req, socket, head, (ws) => resolve(ws)));
}

/** Answers the SPDY upgrade with 101 and returns the session reading from the socket. */
export function acceptSpdy(socket: Duplex, head: Buffer, protocol: string): SpdySession {
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: ${protocol}\r\n\r\n`);
  return spdyOverSocket(socket, head);
}

export function offeredSpdyProtocols(req: IncomingMessage): string[] {
  return headerTokens(req.headers['x-stream-protocol-version']);
}

/** A SPDY session whose frames travel over a byte stream (a socket, or a WebSocket stream). */
export function spdyOverSocket(socket: Duplex, head?: Buffer): SpdySession {
  const session = new SpdySession({
    write: (data) => socket.write(data),
    pause: () => socket.pause(),
    resume: () => socket.resume(),
    // end(), not destroy(): the last frames (status, FINs) must still reach the client.
    close: () => socket.end(),
  });
  socket.on('drain', () => session.drained());
  socket.on('data', (d: Buffer) => session.receive(d));
  socket.on('end', () => session.close());
  socket.on('close', () => session.close());
  socket.on('error', () => session.close());
  if (head && head.length > 0) session.receive(head);
  return session;
}

/** Refuses an upgrade with a plain HTTP answer (kubectl then tries the next transport). */
export function refuseUpgrade(socket: Duplex, code: number, body: object | string, extraHeaders: Record<string, string> = {}): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const reason = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed', 500: 'Internal Server Error', 502: 'Bad Gateway' }[code] ?? 'Error';
  const headers = {
    'Content-Type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json',
    'Content-Length': String(Buffer.byteLength(text)),
    Connection: 'close',
    ...extraHeaders,
  };
  const lines = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`);
  if (socket.writable) socket.end(`HTTP/1.1 ${code} ${reason}\r\n${lines.join('')}\r\n${text}`);
  else socket.destroy();
}
