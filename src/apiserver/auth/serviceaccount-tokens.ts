// ServiceAccount tokens: RS256 JWTs issued by TokenRequest (`kubectl create token`, the kubelet's
// projected volumes) and checked by a TokenAuthenticator, plus the OIDC discovery documents that
// in-cluster verifiers fetch. Claims, key id and bound-object checks follow kube-apiserver.
import { createHash, createPrivateKey, createPublicKey, randomUUID, sign, verify, type KeyObject } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { FieldError } from '../../api/status.ts';
import type { KubeObject } from '../../client/types.ts';

/** A TokenAuthenticator (assignable to one) that answers synchronously, from caches. */
export type SyncTokenAuthenticator = (token: string) => UserInfo | undefined;
import type { UserInfo } from './user.ts';

export const DEFAULT_ISSUER = 'https://kubernetes.default.svc.cluster.local';
export const DEFAULT_EXPIRATION_SECONDS = 3600;
export const MIN_EXPIRATION_SECONDS = 600;
export const MAX_EXPIRATION_SECONDS = 2 ** 32;
/** The kubelet asks for this odd duration; such pod-bound tokens are issued for a year and carry `warnafter`. */
export const WARN_ONLY_EXPIRATION_SECONDS = 3607;
const EXTENDED_EXPIRATION_SECONDS = 365 * 24 * 3600;
/** Objects deleted longer ago than this invalidate the tokens bound to them (upstream's grace). */
const DELETION_GRACE_SECONDS = 60;
/** Clock skew tolerated on `nbf`/`iat`. */
const LEEWAY_SECONDS = 60;

const SA_PREFIX = 'system:serviceaccount:';
export const EXTRA_POD_NAME = 'authentication.kubernetes.io/pod-name';
export const EXTRA_POD_UID = 'authentication.kubernetes.io/pod-uid';
export const EXTRA_NODE_NAME = 'authentication.kubernetes.io/node-name';
export const EXTRA_NODE_UID = 'authentication.kubernetes.io/node-uid';
export const EXTRA_CREDENTIAL_ID = 'authentication.kubernetes.io/credential-id';

interface Ref {
  name: string;
  uid: string;
}

/** The `kubernetes.io` private claim block. */
export interface KubernetesClaims {
  namespace: string;
  serviceaccount: Ref;
  pod?: Ref;
  secret?: Ref;
  node?: Ref;
  warnafter?: number;
}

export interface ServiceAccountClaims {
  iss: string;
  sub: string;
  aud: string[];
  exp: number;
  iat: number;
  nbf: number;
  jti: string;
  'kubernetes.io': KubernetesClaims;
}

/** What a TokenRequest resolves to once the API handler has looked up the ServiceAccount and bound object. */
export interface IssueRequest {
  namespace: string;
  serviceAccount: Ref;
  /** Default: the issuer (the API server's own audience). */
  audiences?: string[];
  /** Default 3600; validate with validateTokenRequestSpec first. */
  expirationSeconds?: number;
  pod?: Ref;
  secret?: Ref;
  /** The node a bound pod runs on, or the node a Node-bound token names. */
  node?: Ref;
}

export interface IssuedToken {
  token: string;
  /** RFC 3339, for TokenRequest status.expirationTimestamp (the requested lifetime, even when extended). */
  expirationTimestamp: string;
  claims: ServiceAccountClaims;
}

/** Spec of an authentication.k8s.io/v1 TokenRequest as the API receives it. */
export interface TokenRequestSpec {
  audiences?: string[] | null;
  expirationSeconds?: number | null;
  boundObjectRef?: { kind?: string; apiVersion?: string; name?: string; uid?: string } | null;
}

/** Field errors for a TokenRequest spec (render with api/status `invalid('TokenRequest', 'authentication.k8s.io', name, errors)`). */
export function validateTokenRequestSpec(spec: TokenRequestSpec): FieldError[] {
  const errors: FieldError[] = [];
  const exp = spec.expirationSeconds ?? DEFAULT_EXPIRATION_SECONDS;
  if (exp < MIN_EXPIRATION_SECONDS) {
    errors.push({ type: 'FieldValueInvalid', field: 'spec.expirationSeconds', value: exp, detail: 'may not specify a duration less than 10 minutes' });
  } else if (exp > MAX_EXPIRATION_SECONDS) {
    errors.push({ type: 'FieldValueInvalid', field: 'spec.expirationSeconds', value: exp, detail: 'may not specify a duration larger than 2^32 seconds' });
  }
  const ref = spec.boundObjectRef;
  if (ref) {
    if (!['Pod', 'Secret', 'Node'].includes(ref.kind ?? '')) {
      errors.push({ type: 'FieldValueNotSupported', field: 'spec.boundObjectRef.kind', value: ref.kind ?? '', supported: ['Node', 'Pod', 'Secret'] });
    }
    if (!ref.name) errors.push({ type: 'FieldValueRequired', field: 'spec.boundObjectRef.name' });
  }
  return errors;
}

const b64url = (b: Buffer | string): string => Buffer.from(b).toString('base64url');

/** base64url(SHA-256(DER SubjectPublicKeyInfo)), as kube-apiserver derives `kid`. */
export function keyIdFromPublicKey(publicKeyPem: string): string {
  const der = createPublicKey(publicKeyPem).export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('base64url');
}

export interface ServiceAccountTokenOptions {
  privateKeyPem: string;
  publicKeyPem: string;
  issuer?: string;
  /** Seconds since the epoch; tests pass a fake clock. */
  now?: () => number;
  /** Upstream's --service-account-extend-token-expiration (default true). */
  extendExpiration?: boolean;
}

/** The current objects tokens may be bound to; back it with informer caches (never the store per request). */
export interface ServiceAccountTokenLookup {
  serviceAccount(namespace: string, name: string): KubeObject | undefined;
  pod?(namespace: string, name: string): KubeObject | undefined;
  secret?(namespace: string, name: string): KubeObject | undefined;
  node?(name: string): KubeObject | undefined;
}

export interface AuthenticatorOptions {
  /** Audiences the API server accepts (upstream --api-audiences); default [issuer]. */
  audiences?: string[];
  /** Extra issuers accepted besides our own (e.g. after an issuer change). */
  acceptedIssuers?: string[];
}

export type VerifyResult = { ok: true; claims: ServiceAccountClaims } | { ok: false; foreign: boolean; reason: string };

export class ServiceAccountTokens {
  readonly issuer: string;
  readonly keyId: string;
  private readonly privateKey: KeyObject;
  private readonly publicKey: KeyObject;
  private readonly publicKeyPem: string;
  private readonly now: () => number;
  private readonly extend: boolean;
  /** Signature checks cost ~30 µs; a token presented again is only re-checked for expiry and bindings. */
  private readonly verified = new Map<string, ServiceAccountClaims>();

  constructor(opts: ServiceAccountTokenOptions) {
    this.issuer = opts.issuer ?? DEFAULT_ISSUER;
    this.privateKey = createPrivateKey(opts.privateKeyPem);
    this.publicKey = createPublicKey(opts.publicKeyPem);
    this.publicKeyPem = opts.publicKeyPem;
    this.keyId = keyIdFromPublicKey(opts.publicKeyPem);
    this.now = opts.now ?? (() => Math.floor(Date.now() / 1000));
    this.extend = opts.extendExpiration ?? true;
  }

  issue(req: IssueRequest): IssuedToken {
    const now = this.now();
    const requested = req.expirationSeconds ?? DEFAULT_EXPIRATION_SECONDS;
    const k8s: KubernetesClaims = { namespace: req.namespace, serviceaccount: { name: req.serviceAccount.name, uid: req.serviceAccount.uid } };
    if (req.pod) k8s.pod = { ...req.pod };
    if (req.secret) k8s.secret = { ...req.secret };
    if (req.node) k8s.node = { ...req.node };
    let lifetime = requested;
    if (this.extend && req.pod && requested === WARN_ONLY_EXPIRATION_SECONDS) {
      lifetime = EXTENDED_EXPIRATION_SECONDS;
      k8s.warnafter = now + requested;
    }
    const claims: ServiceAccountClaims = {
      aud: req.audiences && req.audiences.length ? [...req.audiences] : [this.issuer],
      exp: now + lifetime,
      iat: now,
      iss: this.issuer,
      jti: randomUUID(),
      'kubernetes.io': k8s,
      nbf: now,
      sub: `${SA_PREFIX}${req.namespace}:${req.serviceAccount.name}`,
    };
    const header = b64url(JSON.stringify({ alg: 'RS256', kid: this.keyId }));
    const payload = b64url(JSON.stringify(claims));
    const signature = sign('sha256', Buffer.from(`${header}.${payload}`), this.privateKey);
    return {
      token: `${header}.${payload}.${b64url(signature)}`,
      expirationTimestamp: new Date((now + requested) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      claims,
    };
  }

  /** Signature, issuer, time window and audience; `foreign` means "not one of ours" (let other authenticators try). */
  verify(token: string, opts: AuthenticatorOptions = {}): VerifyResult {
    let claims = this.verified.get(token);
    if (!claims) {
      const parts = token.split('.');
      if (parts.length !== 3) return { ok: false, foreign: true, reason: 'not a JWT' };
      const [h, p, s] = parts as [string, string, string];
      let header: { alg?: string; kid?: string };
      let body: ServiceAccountClaims;
      try {
        header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8')) as typeof header;
        body = JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as ServiceAccountClaims;
      } catch {
        return { ok: false, foreign: true, reason: 'not a JWT' };
      }
      const issuers = [this.issuer, ...(opts.acceptedIssuers ?? [])];
      if (typeof body !== 'object' || body === null || !issuers.includes(body.iss)) return { ok: false, foreign: true, reason: 'issuer not ours' };
      if (header.alg !== 'RS256') return { ok: false, foreign: false, reason: `unsupported alg ${String(header.alg)}` };
      if (header.kid !== undefined && header.kid !== this.keyId) return { ok: false, foreign: false, reason: 'unknown key id' };
      if (!verify('sha256', Buffer.from(`${h}.${p}`), this.publicKey, Buffer.from(s, 'base64url'))) {
        return { ok: false, foreign: false, reason: 'invalid signature' };
      }
      claims = body;
      if (this.verified.size >= 4096) this.verified.clear();
      this.verified.set(token, claims);
    }
    const now = this.now();
    if (typeof claims.exp !== 'number' || now >= claims.exp) return { ok: false, foreign: false, reason: 'token has expired' };
    if (typeof claims.nbf === 'number' && now + LEEWAY_SECONDS < claims.nbf) return { ok: false, foreign: false, reason: 'token not valid yet' };
    if (typeof claims.iat === 'number' && now + LEEWAY_SECONDS < claims.iat) return { ok: false, foreign: false, reason: 'token issued in the future' };
    const accepted = opts.audiences ?? [this.issuer];
    const aud = Array.isArray(claims.aud) ? claims.aud : typeof claims.aud === 'string' ? [claims.aud] : [];
    if (!aud.some((a) => accepted.includes(a))) return { ok: false, foreign: false, reason: 'token audiences is invalid for the target audiences' };
    if (!claims['kubernetes.io']?.serviceaccount || !claims.sub?.startsWith(SA_PREFIX)) return { ok: false, foreign: false, reason: 'not a service account token' };
    return { ok: true, claims };
  }

  /**
   * A TokenAuthenticator for the server: verifies the token, then that the ServiceAccount (and any
   * bound pod, secret or node) still exists with the uid the token names.
   */
  authenticator(lookup: ServiceAccountTokenLookup, opts: AuthenticatorOptions = {}): SyncTokenAuthenticator {
    return (token: string): UserInfo | undefined => {
      const v = this.verify(token, opts);
      if (!v.ok) return undefined;
      return this.userFor(v.claims, lookup);
    };
  }

  /** The user a verified token stands for, or undefined when what it is bound to is gone. */
  userFor(claims: ServiceAccountClaims, lookup: ServiceAccountTokenLookup): UserInfo | undefined {
    const k8s = claims['kubernetes.io'];
    const ns = k8s.namespace;
    const now = this.now();
    const live = (obj: KubeObject | undefined, ref: Ref): boolean => {
      if (!obj || obj.metadata.uid !== ref.uid) return false;
      const dt = obj.metadata.deletionTimestamp;
      return !dt || Date.parse(dt) / 1000 > now - DELETION_GRACE_SECONDS;
    };
    if (!live(lookup.serviceAccount(ns, k8s.serviceaccount.name), k8s.serviceaccount)) return undefined;
    if (k8s.pod && !(lookup.pod && live(lookup.pod(ns, k8s.pod.name), k8s.pod))) return undefined;
    if (k8s.secret && !(lookup.secret && live(lookup.secret(ns, k8s.secret.name), k8s.secret))) return undefined;
    // A pod-bound token also names its node; only tokens bound to the node itself are checked against it.
    if (k8s.node && !k8s.pod && !(lookup.node && live(lookup.node(k8s.node.name), k8s.node))) return undefined;
    const extra: Record<string, string[]> = {};
    if (k8s.pod) {
      extra[EXTRA_POD_NAME] = [k8s.pod.name];
      extra[EXTRA_POD_UID] = [k8s.pod.uid];
    }
    if (k8s.node) {
      extra[EXTRA_NODE_NAME] = [k8s.node.name];
      if (k8s.node.uid) extra[EXTRA_NODE_UID] = [k8s.node.uid];
    }
    if (claims.jti) extra[EXTRA_CREDENTIAL_ID] = [`JTI=${claims.jti}`];
    const user: UserInfo = {
      username: claims.sub,
      uid: k8s.serviceaccount.uid,
      groups: ['system:serviceaccounts', `system:serviceaccounts:${ns}`],
    };
    if (Object.keys(extra).length) user.extra = extra;
    return user;
  }

  /** The JWKS document (`/openid/v1/jwks`). */
  jwks(): { keys: Array<Record<string, string>> } {
    const jwk = createPublicKey(this.publicKeyPem).export({ format: 'jwk' }) as { kty: string; n: string; e: string };
    return { keys: [{ use: 'sig', kty: jwk.kty, kid: this.keyId, alg: 'RS256', n: jwk.n, e: jwk.e }] };
  }

  /** The discovery document (`/.well-known/openid-configuration`). */
  openidConfiguration(jwksUri?: string): Record<string, unknown> {
    return {
      issuer: this.issuer,
      jwks_uri: jwksUri ?? `${this.issuer}/openid/v1/jwks`,
      response_types_supported: ['id_token'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['RS256'],
    };
  }
}

export interface OidcDiscoveryOptions {
  issuer: string;
  publicKeyPem: string;
  /** Where verifiers fetch keys; default `<issuer>/openid/v1/jwks` (upstream uses the API server's external address). */
  jwksUri?: string;
}

/**
 * Serves `/.well-known/openid-configuration` and `/openid/v1/jwks`. They sit behind the normal
 * authentication and authorization (the default system:service-account-issuer-discovery role
 * grants them to every ServiceAccount).
 */
export function registerOidcDiscovery(app: FastifyInstance, opts: OidcDiscoveryOptions): void {
  const jwk = createPublicKey(opts.publicKeyPem).export({ format: 'jwk' }) as { kty: string; n: string; e: string };
  const jwks = JSON.stringify({ keys: [{ use: 'sig', kty: jwk.kty, kid: keyIdFromPublicKey(opts.publicKeyPem), alg: 'RS256', n: jwk.n, e: jwk.e }] });
  const config = JSON.stringify({
    issuer: opts.issuer,
    jwks_uri: opts.jwksUri ?? `${opts.issuer}/openid/v1/jwks`,
    response_types_supported: ['id_token'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['RS256'],
  });
  app.get('/.well-known/openid-configuration', async (_req, reply) => {
    reply.header('cache-control', 'public, max-age=3600').type('application/json');
    return config;
  });
  app.get('/openid/v1/jwks', async (_req, reply) => {
    reply.header('cache-control', 'public, max-age=3600').type('application/jwk-set+json');
    return jwks;
  });
}
