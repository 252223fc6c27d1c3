// The loopback connection for in-process components: a plain HTTP server on an abstract Unix socket
// that hands every request to the same fastify routing as the HTTPS port, so controllers, scheduler
// and kubelet go through exactly the pipeline kubectl does (authentication with a loopback token
// per component identity, authorization, admission, validation) without TLS.
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { TokenAuthenticator } from './auth/authenticate.ts';
import type { UserInfo } from './auth/user.ts';

/** In-memory bearer tokens, one per in-process identity; they die with the process. */
export class LoopbackTokens {
  private readonly tokens = new Map<string, UserInfo>();

  issue(user: UserInfo): string {
    const token = `nanokube-loopback.${randomBytes(24).toString('base64url')}`;
    this.tokens.set(token, user);
    return token;
  }

  readonly authenticator: TokenAuthenticator = (token) => this.tokens.get(token);
}

export interface LoopbackServer {
  socketPath: string;
  close(): Promise<void>;
}

export async function startLoopback(app: FastifyInstance): Promise<LoopbackServer> {
  // Abstract socket (Linux): no file to clean up, no path-length trouble with deep data dirs.
  const socketPath = `\0nanokube-${process.pid}-${randomBytes(6).toString('hex')}`;
  const server = http.createServer((req, res) => app.routing(req, res));
  server.keepAliveTimeout = 75_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ path: socketPath }, resolve);
  });
  return {
    socketPath,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
