// Reaching the kubelet that runs a pod. The server's own node is served in-process (same handler
// object the kubelet's HTTPS port uses, minus a TLS hop and a second copy of every byte); any other
// node is reached at its advertised address and kubeletEndpoint port with the API server's kubelet
// client certificate, as upstream does. Upgrades are proxied as raw bytes after the kubelet's 101.
import https from 'node:https';
import tls from 'node:tls';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { ApiError } from '../../api/status.ts';
import type { Store } from '../../storage/types.ts';
import type { Registry } from '../../registry/index.ts';
import { fromStored } from '../rest/objects.ts';
import { objectKey } from '../rest/keys.ts';
import type { KubeletStreamingServer } from '../../kubeletserver/server.ts';

export interface KubeletClientTls {
  certPem: string;
  keyPem: string;
  caPem: string;
}

export type KubeletTarget = { kind: 'local'; server: KubeletStreamingServer } | { kind: 'remote'; host: string; port: number; tls: KubeletClientTls };

export type KubeletLocator = (nodeName: string) => Promise<KubeletTarget>;

interface NodeView {
  status?: {
    addresses?: Array<{ type?: string; address?: string }>;
    daemonEndpoints?: { kubeletEndpoint?: { Port?: number } };
  };
}

/** Finds kubelets from Node objects; `local` names the node whose kubelet lives in this process. */
export function nodeKubeletLocator(opts: { store: Store; registry: Registry; local?: { nodeName: string; server: KubeletStreamingServer }; clientTls?: KubeletClientTls }): KubeletLocator {
  return async (nodeName) => {
    if (opts.local && opts.local.nodeName === nodeName) return { kind: 'local', server: opts.local.server };
    const def = opts.registry.byResource('', 'v1', 'nodes');
    const kv = def ? await opts.store.get(objectKey(def, undefined, nodeName)) : undefined;
    if (!def || !kv) throw new ApiError(503, 'ServiceUnavailable', `node "${nodeName}" not found`);
    const node = fromStored(def, kv) as NodeView;
    const addresses = node.status?.addresses ?? [];
    const address = (addresses.find((a) => a.type === 'InternalIP') ?? addresses.find((a) => a.type === 'Hostname'))?.address;
    const port = node.status?.daemonEndpoints?.kubeletEndpoint?.Port;
    if (!address || !port) throw new ApiError(503, 'ServiceUnavailable', `node "${nodeName}" has no kubelet endpoint yet`);
    if (!opts.clientTls) throw new ApiError(503, 'ServiceUnavailable', `no kubelet client certificate to reach node "${nodeName}"`);
    return { kind: 'remote', host: address, port, tls: opts.clientTls };
  };
}

const tlsOptions = (t: { tls: KubeletClientTls }) => ({
  cert: t.tls.certPem,
  key: t.tls.keyPem,
  ca: t.tls.caPem,
  // The chain must come from the cluster CA; node addresses are not always in the serving cert.
  checkServerIdentity: () => undefined,
});

/** Sends a plain request (logs) to the kubelet and copies its answer, status and all. */
export function proxyRequest(target: KubeletTarget, path: string, req: IncomingMessage, res: ServerResponse): void {
  if (target.kind === 'local') {
    req.url = path;
    target.server.handleRequest(req, res);
    return;
  }
  const upstream = https.request({ host: target.host, port: target.port, path, method: 'GET', ...tlsOptions(target) }, (answer) => {
    res.writeHead(answer.statusCode ?? 502, { 'Content-Type': answer.headers['content-type'] ?? 'text/plain' });
    res.flushHeaders();
    answer.pipe(res);
  });
  res.once('close', () => upstream.destroy());
  upstream.on('error', (e) => {
    if (res.headersSent) return void res.destroy();
    res.writeHead(502, { 'Content-Type': 'application/json' }).end(
      JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: `error talking to the kubelet: ${e.message}`, reason: 'InternalError', code: 502 }),
    );
  });
  upstream.end();
}

/** Headers that describe the client's hop (credentials, routing) rather than the upgrade itself. */
const hopHeaders = new Set(['host', 'authorization', 'content-length', 'proxy-authorization']);

/** Hands an upgrade request to the kubelet; after its 101 both sides talk directly through us. */
export function proxyUpgrade(target: KubeletTarget, path: string, req: IncomingMessage, socket: Duplex, head: Buffer): void {
  if (target.kind === 'local') {
    req.url = path;
    target.server.handleUpgrade(req, socket, head);
    return;
  }
  const upstream = tls.connect({ host: target.host, port: target.port, ...tlsOptions(target) });
  upstream.setNoDelay(true);
  upstream.once('secureConnect', () => {
    const lines = [`${req.method ?? 'GET'} ${path} HTTP/1.1`, `Host: ${target.host}:${target.port}`];
    for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
      if (!hopHeaders.has(req.rawHeaders[i]!.toLowerCase())) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
    }
    upstream.write(lines.join('\r\n') + '\r\n\r\n');
    if (head.length) upstream.write(head);
    upstream.pipe(socket);
    socket.pipe(upstream);
  });
  const done = () => {
    upstream.destroy();
    socket.destroy();
  };
  upstream.once('error', done);
  socket.once('error', done);
  upstream.once('close', () => socket.end());
  socket.once('close', () => upstream.end());
}
