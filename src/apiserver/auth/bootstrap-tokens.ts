// Bootstrap tokens (`<id>.<secret>`, kubeadm's join tokens; `nanokube token create` makes them):
// backed by Secrets `kube-system/bootstrap-token-<id>` of type bootstrap.kubernetes.io/token.
import { randomInt, timingSafeEqual } from 'node:crypto';
import type { KubeObject } from '../../client/types.ts';
import type { SyncTokenAuthenticator } from './serviceaccount-tokens.ts';
import type { UserInfo } from './user.ts';

export const BOOTSTRAP_TOKEN_SECRET_TYPE = 'bootstrap.kubernetes.io/token';
export const BOOTSTRAP_TOKEN_NAMESPACE = 'kube-system';
export const BOOTSTRAP_TOKEN_SECRET_PREFIX = 'bootstrap-token-';
export const BOOTSTRAPPERS_GROUP = 'system:bootstrappers';
/** kubeadm's default extra group for node join tokens. */
export const DEFAULT_NODE_TOKEN_GROUP = 'system:bootstrappers:kubeadm:default-node-token';

const TOKEN_RE = /^([a-z0-9]{6})\.([a-z0-9]{16})$/;
const EXTRA_GROUP_RE = /^system:bootstrappers:[a-z0-9:-]{0,255}[a-z0-9]$/;
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

export interface BootstrapToken {
  id: string;
  secret: string;
}

export function parseBootstrapToken(token: string): BootstrapToken | undefined {
  const m = TOKEN_RE.exec(token);
  return m ? { id: m[1] ?? '', secret: m[2] ?? '' } : undefined;
}

/** The Secret name a token id lives in. */
export const bootstrapTokenSecretName = (id: string): string => `${BOOTSTRAP_TOKEN_SECRET_PREFIX}${id}`;

/** Reads Secrets from an informer cache (kube-system is enough). */
export interface BootstrapTokenLookup {
  secret(namespace: string, name: string): KubeObject | undefined;
}

function dataField(secret: KubeObject, key: string): string | undefined {
  const data = secret.data as Record<string, string> | undefined;
  const v = data?.[key];
  if (typeof v === 'string') return Buffer.from(v, 'base64').toString('utf8');
  // Not yet normalised by the API (e.g. a fake lookup in tests, or stringData).
  const s = (secret.stringData as Record<string, string> | undefined)?.[key];
  return typeof s === 'string' ? s : undefined;
}

function constantTimeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export interface BootstrapAuthOptions {
  /** Milliseconds since the epoch. */
  now?: () => number;
}

/** The user a bootstrap token stands for, or the reason it was refused (for debug logs). */
export function checkBootstrapToken(secret: KubeObject | undefined, token: BootstrapToken, now: number): string | UserInfo {
  if (!secret) return 'no such token';
  if (secret.type !== BOOTSTRAP_TOKEN_SECRET_TYPE) return 'secret has the wrong type';
  if (secret.metadata.deletionTimestamp) return 'token is being deleted';
  if (dataField(secret, 'token-id') !== token.id) return 'token id does not match';
  const stored = dataField(secret, 'token-secret');
  if (stored === undefined || !constantTimeEqual(stored, token.secret)) return 'token secret does not match';
  const expiration = dataField(secret, 'expiration');
  if (expiration !== undefined) {
    const t = Date.parse(expiration);
    if (Number.isNaN(t) || t <= now) return 'token has expired';
  }
  if (dataField(secret, 'usage-bootstrap-authentication') !== 'true') return 'token is not for authentication';
  const groups = [BOOTSTRAPPERS_GROUP];
  const extra = dataField(secret, 'auth-extra-groups');
  if (extra) {
    for (const g of extra.split(',').map((s) => s.trim()).filter(Boolean)) {
      if (!EXTRA_GROUP_RE.test(g)) return `invalid extra group ${g}`;
      if (!groups.includes(g)) groups.push(g);
    }
  }
  return { username: `system:bootstrap:${token.id}`, groups };
}

export function bootstrapTokenAuthenticator(lookup: BootstrapTokenLookup, opts: BootstrapAuthOptions = {}): SyncTokenAuthenticator {
  const now = opts.now ?? Date.now;
  return (raw: string): UserInfo | undefined => {
    const token = parseBootstrapToken(raw);
    if (!token) return undefined;
    const r = checkBootstrapToken(lookup.secret(BOOTSTRAP_TOKEN_NAMESPACE, bootstrapTokenSecretName(token.id)), token, now());
    return typeof r === 'string' ? undefined : r;
  };
}

function randomString(n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += ALPHABET[randomInt(ALPHABET.length)];
  return s;
}

/** A fresh `<6>.<16>` token from a CSPRNG. */
export function generateBootstrapToken(): string {
  return `${randomString(6)}.${randomString(16)}`;
}

export interface BootstrapTokenSecretOptions {
  /** Default 24 h, as kubeadm; 0 = never expires. */
  ttlSeconds?: number;
  /** Default ['authentication', 'signing']. */
  usages?: string[];
  /** Default [DEFAULT_NODE_TOKEN_GROUP]. */
  extraGroups?: string[];
  description?: string;
  /** Milliseconds since the epoch. */
  now?: number;
}

/** The Secret to create for a token (what `nanokube token create` posts). */
export function bootstrapTokenSecret(token: string, opts: BootstrapTokenSecretOptions = {}): KubeObject {
  const parsed = parseBootstrapToken(token);
  if (!parsed) throw new Error('a bootstrap token has the form [a-z0-9]{6}.[a-z0-9]{16}');
  const data: Record<string, string> = { 'token-id': parsed.id, 'token-secret': parsed.secret };
  if (opts.description) data.description = opts.description;
  const ttl = opts.ttlSeconds ?? 24 * 3600;
  if (ttl > 0) data.expiration = new Date((opts.now ?? Date.now()) + ttl * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  for (const u of opts.usages ?? ['authentication', 'signing']) data[`usage-bootstrap-${u}`] = 'true';
  const groups = opts.extraGroups ?? [DEFAULT_NODE_TOKEN_GROUP];
  for (const g of groups) if (!EXTRA_GROUP_RE.test(g)) throw new Error(`extra group ${g} must start with system:bootstrappers:`);
  if (groups.length) data['auth-extra-groups'] = groups.join(',');
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: BOOTSTRAP_TOKEN_SECRET_TYPE,
    metadata: { name: bootstrapTokenSecretName(parsed.id), namespace: BOOTSTRAP_TOKEN_NAMESPACE },
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  };
}
