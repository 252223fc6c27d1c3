// Authentication: who is calling. x509 client certificates signed by the cluster CA (CN = user,
// O = groups) are checked by TLS itself (the server is given the CA and asks for a certificate);
// bearer-token authenticators (ServiceAccount JWTs, bootstrap tokens) plug in as `TokenAuthenticator`s.
import type { TLSSocket } from 'node:tls';
import type { IncomingMessage } from 'node:http';
import type { UserInfo } from './user.ts';

/** Returns the user for a token it recognises, undefined for a token it does not know. */
export type TokenAuthenticator = (token: string) => Promise<UserInfo | undefined> | UserInfo | undefined;

export type AuthResult =
  | { kind: 'user'; user: UserInfo }
  | { kind: 'anonymous' }
  | { kind: 'failed' };

const clientAuthOid = '1.3.6.1.5.5.7.3.2';

// Certificate checks happen once per TLS connection, not once per request.
const certUsers = new WeakMap<TLSSocket, UserInfo | null>();

function userFromCertificate(socket: TLSSocket): UserInfo | null {
  const cached = certUsers.get(socket);
  if (cached !== undefined) return cached;
  let user: UserInfo | null = null;
  if (socket.authorized) {
    const cert = socket.getPeerCertificate();
    const cn = cert.subject?.CN;
    const usages = cert.ext_key_usage;
    const clientAuth = !usages || usages.includes(clientAuthOid);
    const commonName = Array.isArray(cn) ? cn[0] : cn;
    if (commonName && clientAuth) {
      const o = cert.subject?.O;
      const orgs = o === undefined ? [] : Array.isArray(o) ? o : [o];
      user = { username: commonName, groups: withAuthenticated(orgs) };
    }
  }
  certUsers.set(socket, user);
  return user;
}

export function withAuthenticated(groups: string[]): string[] {
  return groups.includes('system:authenticated') ? groups : [...groups, 'system:authenticated'];
}

export async function authenticate(req: IncomingMessage, tokenAuthenticators: readonly TokenAuthenticator[]): Promise<AuthResult> {
  const header = req.headers.authorization;
  if (header !== undefined) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match?.[1]) return { kind: 'failed' };
    for (const auth of tokenAuthenticators) {
      const user = await auth(match[1]);
      if (user) return { kind: 'user', user: { ...user, groups: withAuthenticated(user.groups) } };
    }
    // A presented credential that nobody accepts is a failure, never a fallback to anonymous.
    return { kind: 'failed' };
  }
  const socket = req.socket as TLSSocket;
  if (typeof socket.getPeerCertificate === 'function') {
    const user = userFromCertificate(socket);
    if (user) return { kind: 'user', user };
    const presented = socket.getPeerCertificate();
    if (presented && Object.keys(presented).length > 0) return { kind: 'failed' };
  }
  return { kind: 'anonymous' };
}

/** Paths anyone may read, as upstream's system:public-info-viewer role allows. */
export function isPublicInfoPath(url: string): boolean {
  const path = url.split('?', 1)[0] ?? '';
  return (
    path === '/version' ||
    path === '/version/' ||
    path === '/healthz' ||
    path === '/livez' ||
    path === '/readyz' ||
    path.startsWith('/healthz/') ||
    path.startsWith('/livez/') ||
    path.startsWith('/readyz/')
  );
}
