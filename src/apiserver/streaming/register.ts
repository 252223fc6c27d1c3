// pods/log, exec, attach and portforward on the API server. Logs are a plain GET (a subresource
// handler for registerApi); exec/attach/portforward arrive as upgrades, which Node delivers to the
// server's 'upgrade' event with the raw socket instead of a request, so they are authenticated,
// authorized and checked here before being handed to the pod's kubelet.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { ApiError, badRequest, forbidden, methodNotAllowed, unauthorized } from '../../api/status.ts';
import type { Store } from '../../storage/types.ts';
import type { Registry } from '../../registry/index.ts';
import type { SubresourceHandler } from '../api.ts';
import { authenticate, type TokenAuthenticator } from '../auth/authenticate.ts';
import type { Decision, RequestAttributes } from '../auth/rbac.ts';
import { refuseUpgrade } from '../../streaming/upgrade.ts';
import { logger } from '../../util/log.ts';
import { getPod, preflight, type StreamKind } from './preflight.ts';
import { proxyRequest, proxyUpgrade, type KubeletLocator } from './kubelet.ts';

const log = logger('apiserver/streaming');

export interface StreamingDeps {
  store: Store;
  registry: Registry;
  kubelets: KubeletLocator;
  /** The same token authenticators the server's request hook uses (client certs need none). */
  tokenAuthenticators?: readonly TokenAuthenticator[];
  /** Authorization for upgrades (normal requests are authorized by the server's hooks). */
  authorize?: (attrs: RequestAttributes) => Decision | Promise<Decision>;
}

const seg = encodeURIComponent;

function kubeletPath(kind: StreamKind, namespace: string, pod: string, uid: string, container: string, query: string): string {
  const base = kind === 'log' ? 'containerLogs' : kind === 'portforward' ? 'portForward' : kind;
  const tail = kind === 'portforward' ? '' : `/${seg(container)}`;
  return `/${base}/${seg(namespace)}/${seg(pod)}/${seg(uid)}${tail}${query ? `?${query}` : ''}`;
}

/** Handlers for registerApi's `subresources`: logs, and clear refusals for non-upgrade exec & co. */
export function streamingSubresources(deps: StreamingDeps): [string, SubresourceHandler][] {
  const log: SubresourceHandler = async ({ req, method, request, reply }) => {
    if (method !== 'GET') throw methodNotAllowed(method.toLowerCase(), 'pods/log');
    const q = new URL(request.url, 'http://x').searchParams;
    const pod = await getPod(deps.store, deps.registry, req.namespace ?? '', req.name ?? '');
    const checked = preflight(pod, 'log', { container: q.get('container') ?? '', previous: q.get('previous') === 'true' });
    const target = await deps.kubelets(checked.nodeName);
    q.delete('container');
    reply.hijack();
    proxyRequest(target, kubeletPath('log', pod.metadata.namespace, pod.metadata.name, pod.metadata.uid, checked.container, q.toString()), request.raw, reply.raw);
  };
  const needsUpgrade: SubresourceHandler = async () => {
    throw badRequest('Upgrade request required');
  };
  return [
    ['/pods/log', log],
    ['/pods/exec', needsUpgrade],
    ['/pods/attach', needsUpgrade],
    ['/pods/portforward', needsUpgrade],
  ];
}

const UPGRADE_PATH = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/(exec|attach|portforward)$/;

/** Listens for exec/attach/portforward upgrades on the app's server. */
export function registerStreaming(app: FastifyInstance, deps: StreamingDeps): void {
  // Upgraded sockets leave the HTTP server's bookkeeping: close() would wait for them forever.
  const open = new Set<Duplex>();
  app.addHook('onClose', async () => {
    for (const s of open) s.destroy();
  });
  app.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    open.add(socket);
    socket.once('close', () => open.delete(socket));
    socket.on('error', () => socket.destroy());
    handleUpgrade(deps, req, socket, head).catch((e: Error) => {
      const err = e instanceof ApiError ? e : new ApiError(500, 'InternalError', `Internal error occurred: ${e.message}`);
      if (err.code >= 500) log.warn('streaming upgrade failed', { url: req.url, err: e });
      refuseUpgrade(socket, err.code, err.toStatus(), err.code === 401 ? { 'WWW-Authenticate': 'Bearer realm="kubernetes"' } : {});
    });
  });
}

async function handleUpgrade(deps: StreamingDeps, req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://x');
  const m = UPGRADE_PATH.exec(url.pathname);
  if (!m) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource', {});
  const namespace = decodeURIComponent(m[1]!);
  const name = decodeURIComponent(m[2]!);
  const kind = m[3] as 'exec' | 'attach' | 'portforward';
  const auth = await authenticate(req, deps.tokenAuthenticators ?? []);
  if (auth.kind !== 'user') throw unauthorized();
  if (deps.authorize) {
    // The WebSocket handshake is a GET, SPDY a POST: upstream maps them to get and create.
    const verb = req.method === 'GET' ? 'get' : 'create';
    const attrs: RequestAttributes = { user: auth.user, verb, isResourceRequest: true, apiGroup: '', apiVersion: 'v1', resource: 'pods', subresource: kind, namespace, name, path: url.pathname };
    const decision = await deps.authorize(attrs);
    if (!decision.allowed) {
      throw forbidden({ group: '', resource: `pods/${kind}` }, name, `User "${auth.user.username}" cannot ${verb} resource "pods/${kind}" in API group "" in the namespace "${namespace}"`);
    }
  }
  const pod = await getPod(deps.store, deps.registry, namespace, name);
  const checked = preflight(pod, kind, { container: url.searchParams.get('container') ?? '' });
  const target = await deps.kubelets(checked.nodeName);
  url.searchParams.delete('container');
  proxyUpgrade(target, kubeletPath(kind, namespace, name, pod.metadata.uid, checked.container, url.searchParams.toString()), req, socket, head);
}
