// The API server: fastify over HTTPS. This file owns the transport (TLS, client certificates),
// authentication, the error and not-found catalogs, /version and health; the resource API, OpenAPI
// and everything else register themselves through `plugins`.
import https from 'node:https';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import Fastify, { type FastifyInstance } from 'fastify';
import { ApiError, internalError, unauthorized } from '../api/status.ts';
import { versionInfo } from '../version.ts';
import { logger } from '../util/log.ts';
import { authenticate, isPublicInfoPath, type TokenAuthenticator } from './auth/authenticate.ts';
import { anonymousUser, type UserInfo } from './auth/user.ts';
import { HealthChecks, registerHealthRoutes } from './health.ts';

const log = logger('apiserver');

/** Upstream's request body limit. */
export const maxBodyBytes = 3 * 1024 * 1024;

export interface ApiServerOptions {
  host: string;
  port: number;
  /**
   * More addresses served on the same port, e.g. the cluster bridge's gateway so pods reach the API
   * (through the `kubernetes` Service) while the host-facing listener stays on loopback.
   */
  extraHosts?: string[];
  tls: { certPem: string; keyPem: string; caPem: string };
  health: HealthChecks;
  tokenAuthenticators?: TokenAuthenticator[];
  /**
   * Decides, after authentication and before any body is read, whether the user may make the
   * request: returns the error to answer (403) or undefined. Without one every user is allowed.
   */
  authorize?: (method: string, url: string, user: UserInfo) => ApiError | undefined;
  /** Route groups registered after the core ones (resource API, OpenAPI, ...). */
  plugins?: Array<(app: FastifyInstance) => Promise<void>>;
}

export interface RunningApiServer {
  app: FastifyInstance;
  port: number;
  close(): Promise<void>;
}

function tlsOptions(tls: ApiServerOptions['tls']): https.ServerOptions {
  return {
    cert: tls.certPem,
    key: tls.keyPem,
    ca: tls.caPem,
    // Ask for a client certificate but let requests without one through: they may carry a
    // bearer token or be anonymous requests for public paths. TLS still verifies any cert
    // presented against the cluster CA (socket.authorized).
    requestCert: true,
    rejectUnauthorized: false,
  };
}

function listenError(e: unknown, host: string, port: number): Error {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE') {
    return new Error(
      `port ${port} is already in use on ${host}: another process (maybe another cluster) listens there; ` +
        `choose another with --api-port <port>, or --api-port 0 to pick a free one`,
    );
  }
  if (code === 'EACCES') return new Error(`not allowed to listen on port ${port}: use a port above 1024 with --api-port`);
  if (code === 'EADDRNOTAVAIL') return new Error(`cannot listen on ${host}: no interface of this host has that address (check --bind-address)`);
  return e as Error;
}

export async function buildApiServer(opts: Omit<ApiServerOptions, 'host' | 'port'>): Promise<FastifyInstance> {
  const app = Fastify({
    https: tlsOptions(opts.tls),
    logger: false,
    bodyLimit: maxBodyBytes,
    forceCloseConnections: true,
    return503OnClosing: true,
    routerOptions: { maxParamLength: 1024 },
    // Watches and log follows are long-lived; the default 0 (no timeout) is what we want.
    requestTimeout: 0,
    keepAliveTimeout: 75_000,
  });
  const tokenAuthenticators = opts.tokenAuthenticators ?? [];

  // Upgraded connections (exec, attach, port-forward) leave the HTTP server's bookkeeping, so
  // neither forceCloseConnections nor server.close() ends them: a client that went away without
  // closing its side would keep close() waiting forever. Track them and end them first.
  const upgraded = new Set<Duplex>();
  app.server.on('upgrade', (_req: IncomingMessage, socket: Duplex) => {
    upgraded.add(socket);
    socket.once('close', () => upgraded.delete(socket));
  });
  app.addHook('preClose', async () => {
    for (const socket of upgraded) socket.destroy();
  });

  app.decorateRequest('user', null as never);
  const authorize = opts.authorize;
  app.addHook('onRequest', async (req) => {
    const result = await authenticate(req.raw, tokenAuthenticators);
    if (result.kind === 'user') {
      req.user = result.user;
    } else if (result.kind === 'anonymous' && isPublicInfoPath(req.url)) {
      // Anonymous requests elsewhere keep the 401 (kubectl then asks for credentials); on the
      // public paths they are authorized like anyone else (system:public-info-viewer).
      req.user = anonymousUser;
    } else {
      throw unauthorized();
    }
    const denied = authorize?.(req.method, req.url, req.user);
    if (denied) throw denied;
  });

  app.setErrorHandler((err, req, reply) => {
    let apiErr: ApiError;
    if (err instanceof ApiError) {
      apiErr = err;
    } else if ((err as { code?: string }).code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      apiErr = new ApiError(413, 'RequestEntityTooLarge', 'Request entity too large: limit is 3145728');
    } else if ((err as { code?: string }).code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      apiErr = new ApiError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf`);
    } else if (typeof (err as { statusCode?: number }).statusCode === 'number' && (err as { statusCode: number }).statusCode < 500) {
      apiErr = new ApiError((err as { statusCode: number }).statusCode, 'BadRequest', (err as Error).message);
    } else {
      log.error('request failed', { method: req.method, url: req.url, error: err });
      apiErr = internalError((err as Error).message);
    }
    if (apiErr.code === 401) reply.header('www-authenticate', 'Bearer realm="kubernetes"');
    if (apiErr.details?.retryAfterSeconds !== undefined) reply.header('retry-after', String(apiErr.details.retryAfterSeconds));
    void reply.code(apiErr.code).type('application/json').send(JSON.stringify(apiErr.toStatus()));
  });

  app.setNotFoundHandler((_req, reply) => {
    const status = new ApiError(404, 'NotFound', 'the server could not find the requested resource', {}).toStatus();
    void reply.code(404).type('application/json').send(JSON.stringify(status));
  });

  const version = JSON.stringify(versionInfo(), null, 2);
  const sendVersion = async (_req: unknown, reply: { type(t: string): unknown }) => {
    reply.type('application/json');
    return version;
  };
  app.get('/version', sendVersion);
  app.get('/version/', sendVersion);
  registerHealthRoutes(app, opts.health);

  for (const plugin of opts.plugins ?? []) await plugin(app);
  return app;
}

export async function startApiServer(opts: ApiServerOptions): Promise<RunningApiServer> {
  const app = await buildApiServer(opts);
  try {
    await app.listen({ host: opts.host, port: opts.port });
  } catch (e) {
    await app.close().catch(() => {});
    throw listenError(e, opts.host, opts.port);
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : opts.port;
  const extras: https.Server[] = [];
  try {
    for (const host of opts.extraHosts ?? []) {
      // Same routes, hooks and TLS; upgrades (exec, port-forward) go to the main server's handlers.
      const server = https.createServer(tlsOptions(opts.tls), (req, res) => app.routing(req, res));
      server.on('upgrade', (req, socket, head) => app.server.emit('upgrade', req, socket, head));
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ host, port }, resolve);
      });
      extras.push(server);
    }
  } catch (e) {
    for (const s of extras) s.close();
    await app.close().catch(() => {});
    throw listenError(e, (opts.extraHosts ?? []).find((_, i) => i === extras.length) ?? opts.host, port);
  }
  const close = async () => {
    for (const s of extras) {
      s.closeAllConnections();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    }
    await app.close();
  };
  return { app, port, close };
}
