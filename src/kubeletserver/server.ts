// The kubelet's streaming server: /containerLogs, /exec, /attach and /portForward backed by a
// NodeRuntime. The API server reaches it over HTTPS (or calls it in-process for its own node) after
// its own checks; this side only knows runtime containers and sandboxes.
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { createWebSocketStream } from 'ws';
import type { NodeRuntime } from '../runtime/types.ts';
import {
  acceptSpdy,
  acceptWebSocket,
  CHANNEL_PROTOCOLS,
  isSpdyUpgrade,
  isWebSocketUpgrade,
  offeredSpdyProtocols,
  offeredWebSocketProtocols,
  pickProtocol,
  PORT_FORWARD_SPDY,
  PORT_FORWARD_TUNNEL,
  refuseUpgrade,
  spdyOverSocket,
  SPDY_COMMAND_PROTOCOLS,
} from '../streaming/upgrade.ts';
import { serveCommand, spdyCommandChannels, wsCommandChannels, type CommandOptions } from '../streaming/remotecommand.ts';
import { servePortForwardChannels, servePortForwardSpdy, type Dial } from '../streaming/portforward.ts';
import { findRunningContainer, findSandbox, KubeletError, type ContainerRef } from './lookup.ts';
import { openLogs, parseLogParams } from './logs.ts';
import { logger } from '../util/log.ts';

const log = logger('kubeletserver');

type Route =
  | { kind: 'logs' | 'exec' | 'attach'; ref: ContainerRef }
  | { kind: 'portForward'; namespace: string; pod: string; uid?: string };

/** /<kind>/<ns>/<pod>/[<uid>/]<container>, or /portForward/<ns>/<pod>[/<uid>]. */
export function parseRoute(pathname: string): Route | undefined {
  const parts = pathname.split('/').slice(1).map(decodeURIComponent);
  const [head, namespace, pod, ...rest] = parts;
  if (!namespace || !pod) return undefined;
  if (head === 'portForward') {
    if (rest.length > 1) return undefined;
    return rest[0] ? { kind: 'portForward', namespace, pod, uid: rest[0] } : { kind: 'portForward', namespace, pod };
  }
  const kind = head === 'containerLogs' ? 'logs' : head === 'exec' || head === 'attach' ? head : undefined;
  if (!kind) return undefined;
  if (rest.length === 1 && rest[0]) return { kind, ref: { namespace, pod, container: rest[0] } };
  if (rest.length === 2 && rest[0] && rest[1]) return { kind, ref: { namespace, pod, uid: rest[0], container: rest[1] } };
  return undefined;
}

function statusBody(code: number, message: string): string {
  const reason = { 400: 'BadRequest', 403: 'Forbidden', 404: 'NotFound', 405: 'MethodNotAllowed' }[code] ?? 'InternalError';
  return JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code });
}

function sendError(res: ServerResponse, code: number, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(code, { 'Content-Type': 'application/json' }).end(statusBody(code, message));
}

const flag = (q: URLSearchParams, ...names: string[]) => names.some((n) => q.get(n) === 'true' || q.get(n) === '1');

/** Which streams an exec/attach asks for; the kubelet's names (input/output/error) and the API's both work. */
export function commandOptions(q: URLSearchParams): CommandOptions {
  const tty = flag(q, 'tty');
  return { stdin: flag(q, 'input', 'stdin'), stdout: flag(q, 'output', 'stdout'), stderr: flag(q, 'error', 'stderr') && !tty, tty };
}

export class KubeletStreamingServer {
  constructor(private readonly runtime: NodeRuntime) {}

  /** Plain requests: logs, and clear refusals for streaming paths asked without an upgrade. */
  handleRequest(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://kubelet');
    const route = parseRoute(url.pathname);
    if (!route) return sendError(res, 404, `no handler for ${url.pathname}`);
    if (route.kind !== 'logs') return sendError(res, 400, 'Upgrade request required');
    if (req.method !== 'GET') return sendError(res, 405, `method ${req.method} not allowed`);
    void this.serveLogs(route.ref, url.searchParams, req, res).catch((e: Error) => {
      sendError(res, e instanceof KubeletError ? e.code : 500, e.message);
    });
  }

  private async serveLogs(ref: ContainerRef, q: URLSearchParams, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const params = parseLogParams(q);
    const abort = new AbortController();
    res.once('close', () => abort.abort());
    req.once('close', () => {
      if (!res.writableFinished) abort.abort();
    });
    const chunks = await openLogs(this.runtime, ref, params, abort.signal);
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Transfer-Encoding': 'chunked' });
    // kubectl logs -f waits for the headers before it prints anything.
    res.flushHeaders();
    try {
      for await (const chunk of chunks) {
        if (abort.signal.aborted) break;
        if (!res.write(chunk)) await new Promise<void>((r) => {
          res.once('drain', r);
          res.once('close', r);
        });
      }
    } catch (e) {
      if (!abort.signal.aborted) log.warn('log stream failed', { container: `${ref.namespace}/${ref.pod}/${ref.container}`, err: e as Error });
    }
    res.end();
  }

  /** Upgraded requests: exec/attach/portForward over WebSocket or SPDY. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    const url = new URL(req.url ?? '/', 'http://kubelet');
    const route = parseRoute(url.pathname);
    if (!route || route.kind === 'logs') return refuseUpgrade(socket, 404, statusBody(404, `no streaming handler for ${url.pathname}`));
    if (route.kind === 'portForward') return void this.portForward(route, url.searchParams, req, socket, head);
    return void this.command(route.kind, route.ref, url.searchParams, req, socket, head);
  }

  private async command(kind: 'exec' | 'attach', ref: ContainerRef, q: URLSearchParams, req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const opts = commandOptions(q);
    const cmd = q.getAll('command');
    if (kind === 'exec' && cmd.length === 0) return refuseUpgrade(socket, 400, statusBody(400, 'you must specify at least 1 command'));
    if (!opts.stdin && !opts.stdout && !opts.stderr) return refuseUpgrade(socket, 400, statusBody(400, 'you must specify at least 1 of stdin, stdout, stderr'));
    const open = async () => {
      const c = await findRunningContainer(this.runtime, ref);
      return kind === 'exec' ? this.runtime.exec(c.id, { cmd, ...opts }) : this.runtime.attach(c.id, opts);
    };
    if (isWebSocketUpgrade(req)) {
      const protocol = pickProtocol(offeredWebSocketProtocols(req), CHANNEL_PROTOCOLS);
      // Any non-101 makes kubectl retry over SPDY, which is what an unknown protocol should do.
      if (!protocol) return refuseUpgrade(socket, 400, statusBody(400, `unable to negotiate a channel protocol; offered: ${offeredWebSocketProtocols(req).join(', ') || '(none)'}`));
      const ws = await acceptWebSocket(req, socket, head, protocol);
      return serveCommand(wsCommandChannels(ws, protocol, opts), open);
    }
    if (isSpdyUpgrade(req)) {
      const protocol = pickProtocol(offeredSpdyProtocols(req), SPDY_COMMAND_PROTOCOLS);
      if (!protocol) {
        return refuseUpgrade(socket, 403, statusBody(403, 'unable to upgrade: unable to negotiate protocol'), {
          'X-Accepted-Stream-Protocol-Versions': SPDY_COMMAND_PROTOCOLS.join(', '),
        });
      }
      const session = acceptSpdy(socket, head, protocol);
      let channels;
      try {
        channels = await spdyCommandChannels(session, protocol, opts);
      } catch (e) {
        log.debug('exec streams not opened', { err: e as Error });
        return;
      }
      return serveCommand(channels, open);
    }
    refuseUpgrade(socket, 400, statusBody(400, `unsupported upgrade ${req.headers.upgrade ?? ''}`));
  }

  private async portForward(route: { namespace: string; pod: string; uid?: string }, q: URLSearchParams, req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const podName = `${route.namespace}/${route.pod}`;
    // The sandbox is looked up per connection: a pod restarting between connections is followed.
    const dial: Dial = async (port) => {
      const sandbox = await findSandbox(this.runtime, route.namespace, route.pod, route.uid);
      return this.runtime.portForward(sandbox.id, port);
    };
    if (isWebSocketUpgrade(req)) {
      const offered = offeredWebSocketProtocols(req);
      if (offered.includes(PORT_FORWARD_TUNNEL)) {
        const ws = await acceptWebSocket(req, socket, head, PORT_FORWARD_TUNNEL);
        // The tunnel carries a SPDY byte stream in binary messages with arbitrary boundaries.
        const stream = createWebSocketStream(ws);
        stream.on('error', () => stream.destroy());
        servePortForwardSpdy(spdyOverSocket(stream), dial, podName);
        return;
      }
      const protocol = pickProtocol(offered, CHANNEL_PROTOCOLS);
      const ports = q.getAll('ports').flatMap((p) => p.split(',')).map(Number);
      if (!protocol) return refuseUpgrade(socket, 400, statusBody(400, 'unable to negotiate a port-forward protocol'));
      if (ports.length === 0 || ports.some((p) => !Number.isInteger(p) || p < 1 || p > 65535)) {
        return refuseUpgrade(socket, 400, statusBody(400, 'query parameter "ports" must hold one or more ports in 1-65535'));
      }
      const ws = await acceptWebSocket(req, socket, head, protocol);
      return servePortForwardChannels(ws, ports, dial, podName);
    }
    if (isSpdyUpgrade(req)) {
      if (!offeredSpdyProtocols(req).includes(PORT_FORWARD_SPDY)) {
        return refuseUpgrade(socket, 403, statusBody(403, 'unable to upgrade: unable to negotiate protocol'), { 'X-Accepted-Stream-Protocol-Versions': PORT_FORWARD_SPDY });
      }
      servePortForwardSpdy(acceptSpdy(socket, head, PORT_FORWARD_SPDY), dial, podName);
      return;
    }
    refuseUpgrade(socket, 400, statusBody(400, `unsupported upgrade ${req.headers.upgrade ?? ''}`));
  }
}

export interface KubeletServerListenOptions {
  host: string;
  port: number;
  /** Serving cert/key, and the CA whose client certificates (the API server's) are let in. */
  tls: { certPem: string; keyPem: string; caPem: string };
}

export interface RunningKubeletServer {
  port: number;
  close(): Promise<void>;
}

/** Serves the handlers over HTTPS; only clients with a certificate from the cluster CA get in. */
export async function startKubeletServer(handler: KubeletStreamingServer, opts: KubeletServerListenOptions): Promise<RunningKubeletServer> {
  const server = https.createServer({ cert: opts.tls.certPem, key: opts.tls.keyPem, ca: opts.tls.caPem, requestCert: true, rejectUnauthorized: true }, (req, res) =>
    handler.handleRequest(req, res),
  );
  // Upgraded sockets are no longer the server's: track them so close() can end them.
  const upgraded = new Set<Duplex>();
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    upgraded.add(socket);
    socket.once('close', () => upgraded.delete(socket));
    handler.handleUpgrade(req, socket, head);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : opts.port;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of upgraded) s.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
