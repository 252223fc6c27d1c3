import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync, verify } from 'node:crypto';
import forge from 'node-forge';
import Fastify from 'fastify';
import {
  DEFAULT_ISSUER, ServiceAccountTokens, keyIdFromPublicKey, registerOidcDiscovery, validateTokenRequestSpec, type ServiceAccountTokenLookup,
} from '../../src/apiserver/auth/serviceaccount-tokens.ts';
import {
  bootstrapTokenAuthenticator, bootstrapTokenSecret, generateBootstrapToken, parseBootstrapToken,
} from '../../src/apiserver/auth/bootstrap-tokens.ts';
import type { KubeObject } from '../../src/client/types.ts';

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const privateKeyPem = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
const publicKeyPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();

function decode(token: string): { header: Record<string, unknown>; payload: Record<string, unknown> } {
  const [h, p] = token.split('.');
  return { header: JSON.parse(Buffer.from(h ?? '', 'base64url').toString()), payload: JSON.parse(Buffer.from(p ?? '', 'base64url').toString()) };
}

const obj = (name: string, uid: string, namespace?: string, extra: Record<string, unknown> = {}): KubeObject => ({ metadata: { name, uid, ...(namespace ? { namespace } : {}) }, ...extra });

function world() {
  const objects = {
    sa: new Map<string, KubeObject>([['ns/app', obj('app', 'sa-uid', 'ns')]]),
    pods: new Map<string, KubeObject>([['ns/p', obj('p', 'pod-uid', 'ns')]]),
    secrets: new Map<string, KubeObject>(),
    nodes: new Map<string, KubeObject>([['n1', obj('n1', 'node-uid')]]),
  };
  const lookup: ServiceAccountTokenLookup = {
    serviceAccount: (ns, n) => objects.sa.get(`${ns}/${n}`),
    pod: (ns, n) => objects.pods.get(`${ns}/${n}`),
    secret: (ns, n) => objects.secrets.get(`${ns}/${n}`),
    node: (n) => objects.nodes.get(n),
  };
  return { objects, lookup };
}

test('kid is base64url(sha256(DER SPKI)), computed independently with node-forge', () => {
  const forgeKey = forge.pki.publicKeyFromPem(publicKeyPem);
  const der = forge.asn1.toDer(forge.pki.publicKeyToAsn1(forgeKey)).getBytes();
  const md = forge.md.sha256.create();
  md.update(der);
  const expected = Buffer.from(md.digest().getBytes(), 'binary').toString('base64url');
  assert.equal(keyIdFromPublicKey(publicKeyPem), expected);
  assert.equal(expected.length, 43);
});

test('issued token: header, claims, signature verifiable with the published JWKS', () => {
  let now = 1_700_000_000;
  const t = new ServiceAccountTokens({ privateKeyPem, publicKeyPem, now: () => now });
  const issued = t.issue({ namespace: 'ns', serviceAccount: { name: 'app', uid: 'sa-uid' }, pod: { name: 'p', uid: 'pod-uid' }, node: { name: 'n1', uid: 'node-uid' } });
  const { header, payload } = decode(issued.token);
  assert.deepEqual(header, { alg: 'RS256', kid: t.keyId });
  assert.equal(payload.iss, DEFAULT_ISSUER);
  assert.equal(payload.sub, 'system:serviceaccount:ns:app');
  assert.deepEqual(payload.aud, [DEFAULT_ISSUER]);
  assert.equal(payload.iat, now);
  assert.equal(payload.nbf, now);
  assert.equal(payload.exp, now + 3600);
  assert.match(String(payload.jti), /^[0-9a-f-]{36}$/);
  assert.deepEqual(payload['kubernetes.io'], {
    namespace: 'ns', serviceaccount: { name: 'app', uid: 'sa-uid' }, pod: { name: 'p', uid: 'pod-uid' }, node: { name: 'n1', uid: 'node-uid' },
  });
  assert.equal(issued.expirationTimestamp, new Date((now + 3600) * 1000).toISOString().replace('.000Z', 'Z'));
  const jwk = t.jwks().keys[0];
  assert.equal(jwk?.kid, t.keyId);
  const key = createPublicKey({ key: jwk as never, format: 'jwk' });
  const [h, p, s] = issued.token.split('.');
  assert.equal(verify('sha256', Buffer.from(`${h}.${p}`), key, Buffer.from(s ?? '', 'base64url')), true);
  // Tampering with the payload breaks the signature.
  const forged = `${h}.${Buffer.from(JSON.stringify({ ...payload, sub: 'system:serviceaccount:kube-system:admin' })).toString('base64url')}.${s}`;
  assert.deepEqual(t.verify(forged), { ok: false, foreign: false, reason: 'invalid signature' });
  now += 3600;
  assert.equal(t.verify(issued.token).ok, false, 'expired at exp');
});

test('authenticator: user, groups, extras; bound objects must still exist with the same uid', () => {
  let now = 1_700_000_000;
  const t = new ServiceAccountTokens({ privateKeyPem, publicKeyPem, now: () => now });
  const { objects, lookup } = world();
  const auth = t.authenticator(lookup);
  const issued = t.issue({ namespace: 'ns', serviceAccount: { name: 'app', uid: 'sa-uid' }, pod: { name: 'p', uid: 'pod-uid' }, node: { name: 'n1', uid: 'node-uid' } });
  assert.deepEqual(auth(issued.token), {
    username: 'system:serviceaccount:ns:app',
    uid: 'sa-uid',
    groups: ['system:serviceaccounts', 'system:serviceaccounts:ns'],
    extra: {
      'authentication.kubernetes.io/pod-name': ['p'],
      'authentication.kubernetes.io/pod-uid': ['pod-uid'],
      'authentication.kubernetes.io/node-name': ['n1'],
      'authentication.kubernetes.io/node-uid': ['node-uid'],
      'authentication.kubernetes.io/credential-id': [`JTI=${issued.claims.jti}`],
    },
  });
  // Pod recreated under the same name: new uid, token invalid.
  objects.pods.set('ns/p', obj('p', 'other-uid', 'ns'));
  assert.equal(auth(issued.token), undefined);
  objects.pods.set('ns/p', obj('p', 'pod-uid', 'ns'));
  assert.ok(auth(issued.token));
  // Being deleted: valid during the grace minute, invalid after.
  objects.pods.set('ns/p', { metadata: { name: 'p', uid: 'pod-uid', namespace: 'ns', deletionTimestamp: new Date(now * 1000).toISOString() } });
  assert.ok(auth(issued.token));
  now += 61;
  assert.equal(auth(issued.token), undefined);
  objects.pods.delete('ns/p');
  assert.equal(auth(issued.token), undefined);
  // An unbound token only needs its ServiceAccount.
  const plain = t.issue({ namespace: 'ns', serviceAccount: { name: 'app', uid: 'sa-uid' } });
  assert.equal(auth(plain.token)?.username, 'system:serviceaccount:ns:app');
  assert.equal(auth(plain.token)?.extra?.['authentication.kubernetes.io/pod-name'], undefined);
  objects.sa.set('ns/app', obj('app', 'new-sa-uid', 'ns'));
  assert.equal(auth(plain.token), undefined, 'ServiceAccount recreated');
  objects.sa.delete('ns/app');
  assert.equal(auth(plain.token), undefined);
  // Secret-bound tokens need the secret.
  objects.sa.set('ns/app', obj('app', 'sa-uid', 'ns'));
  const sec = t.issue({ namespace: 'ns', serviceAccount: { name: 'app', uid: 'sa-uid' }, secret: { name: 's', uid: 's-uid' } });
  assert.equal(auth(sec.token), undefined);
  objects.secrets.set('ns/s', obj('s', 's-uid', 'ns'));
  assert.ok(auth(sec.token));
  // Node-bound tokens need the node.
  const nodeBound = t.issue({ namespace: 'ns', serviceAccount: { name: 'app', uid: 'sa-uid' }, node: { name: 'n2', uid: 'n2-uid' } });
  assert.equal(auth(nodeBound.token), undefined);
});

test('audiences: default audience accepted, custom audience refused by the API server authenticator', () => {
  const t = new ServiceAccountTokens({ privateKeyPem, publicKeyPem });
  const { lookup } = world();
  const vault = t.issue({ namespace: 'ns', serviceAccount: { name: 'app', uid: 'sa-uid' }, audiences: ['vault'] });
  assert.deepEqual(decode(vault.token).payload.aud, ['vault']);
  assert.equal(t.authenticator(lookup)(vault.token), undefined);
  assert.ok(t.authenticator(lookup, { audiences: ['vault', DEFAULT_ISSUER] })(vault.token));
  assert.equal(t.verify(vault.token).ok, false);
});

test('tokens from another issuer or key, and non-JWTs, are not ours', () => {
  const t = new ServiceAccountTokens({ privateKeyPem, publicKeyPem });
  const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const t2 = new ServiceAccountTokens({
    privateKeyPem: other.privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
    publicKeyPem: other.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  });
  const foreignKey = t2.issue({ namespace: 'ns', serviceAccount: { name: 'app', uid: 'sa-uid' } });
  assert.deepEqual(t.verify(foreignKey.token), { ok: false, foreign: false, reason: 'unknown key id' });
  const t3 = new ServiceAccountTokens({ privateKeyPem, publicKeyPem, issuer: 'https://elsewhere' });
  const r = t.verify(t3.issue({ namespace: 'ns', serviceAccount: { name: 'app', uid: 'sa-uid' } }).token);
  assert.equal(r.ok, false);
  assert.equal(!r.ok && r.foreign, true);
  assert.equal(t.verify('abcdef.0123456789abcdef').ok, false);
});

test('pod-bound kubelet tokens (3607 s) are extended to a year with warnafter', () => {
  const now = 1_700_000_000;
  const t = new ServiceAccountTokens({ privateKeyPem, publicKeyPem, now: () => now });
  const issued = t.issue({ namespace: 'ns', serviceAccount: { name: 'app', uid: 'sa-uid' }, pod: { name: 'p', uid: 'pod-uid' }, expirationSeconds: 3607 });
  assert.equal(issued.claims.exp, now + 365 * 24 * 3600);
  assert.equal(issued.claims['kubernetes.io'].warnafter, now + 3607);
  assert.equal(issued.expirationTimestamp, new Date((now + 3607) * 1000).toISOString().replace('.000Z', 'Z'));
  const unbound = t.issue({ namespace: 'ns', serviceAccount: { name: 'app', uid: 'sa-uid' }, expirationSeconds: 3607 });
  assert.equal(unbound.claims.exp, now + 3607);
  assert.equal(unbound.claims['kubernetes.io'].warnafter, undefined);
});

test('TokenRequest spec validation', () => {
  assert.deepEqual(validateTokenRequestSpec({}), []);
  assert.deepEqual(validateTokenRequestSpec({ expirationSeconds: 600, audiences: ['a'] }), []);
  assert.deepEqual(validateTokenRequestSpec({ expirationSeconds: 599 }), [
    { type: 'FieldValueInvalid', field: 'spec.expirationSeconds', value: 599, detail: 'may not specify a duration less than 10 minutes' },
  ]);
  assert.equal(validateTokenRequestSpec({ expirationSeconds: 2 ** 32 + 1 })[0]?.detail, 'may not specify a duration larger than 2^32 seconds');
  assert.equal(validateTokenRequestSpec({ boundObjectRef: { kind: 'Deployment', name: 'd' } })[0]?.field, 'spec.boundObjectRef.kind');
  assert.deepEqual(validateTokenRequestSpec({ boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'p', uid: 'u' } }), []);
});

test('OIDC discovery routes', async () => {
  const app = Fastify();
  registerOidcDiscovery(app, { issuer: DEFAULT_ISSUER, publicKeyPem, jwksUri: 'https://127.0.0.1:6443/openid/v1/jwks' });
  const cfg = await app.inject({ method: 'GET', url: '/.well-known/openid-configuration' });
  assert.equal(cfg.statusCode, 200);
  assert.match(String(cfg.headers['content-type']), /^application\/json/);
  assert.deepEqual(cfg.json(), {
    issuer: DEFAULT_ISSUER,
    jwks_uri: 'https://127.0.0.1:6443/openid/v1/jwks',
    response_types_supported: ['id_token'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['RS256'],
  });
  const jwks = await app.inject({ method: 'GET', url: '/openid/v1/jwks' });
  assert.match(String(jwks.headers['content-type']), /^application\/jwk-set\+json/);
  const key = jwks.json().keys[0];
  assert.equal(key.kid, keyIdFromPublicKey(publicKeyPem));
  assert.equal(key.alg, 'RS256');
  assert.equal(key.use, 'sig');
  assert.equal(key.e, 'AQAB');
  await app.close();
});

test('bootstrap tokens: format, secret checks, expiry, usage, extra groups', () => {
  const token = generateBootstrapToken();
  assert.match(token, /^[a-z0-9]{6}\.[a-z0-9]{16}$/);
  assert.notEqual(generateBootstrapToken(), token);
  assert.equal(parseBootstrapToken('ABCDEF.0123456789abcdef'), undefined);
  assert.equal(parseBootstrapToken('abcdef.0123456789abcde'), undefined);
  assert.deepEqual(parseBootstrapToken('abcdef.0123456789abcdef'), { id: 'abcdef', secret: '0123456789abcdef' });

  let now = Date.parse('2025-01-01T00:00:00Z');
  const secret = bootstrapTokenSecret('abcdef.0123456789abcdef', { now, ttlSeconds: 3600 });
  assert.equal(secret.metadata.name, 'bootstrap-token-abcdef');
  assert.equal(secret.metadata.namespace, 'kube-system');
  assert.equal(secret.type, 'bootstrap.kubernetes.io/token');
  const data = secret.data as Record<string, string>;
  assert.equal(Buffer.from(data.expiration ?? '', 'base64').toString(), '2025-01-01T01:00:00Z');
  const store = new Map<string, KubeObject>([['kube-system/bootstrap-token-abcdef', secret]]);
  const auth = bootstrapTokenAuthenticator({ secret: (ns, n) => store.get(`${ns}/${n}`) }, { now: () => now });
  assert.deepEqual(auth('abcdef.0123456789abcdef'), {
    username: 'system:bootstrap:abcdef',
    groups: ['system:bootstrappers', 'system:bootstrappers:kubeadm:default-node-token'],
  });
  assert.equal(auth('abcdef.0123456789abcdeX'), undefined, 'wrong secret');
  assert.equal(auth('abcdef.0123456789abcdee'), undefined, 'wrong secret');
  assert.equal(auth('zzzzzz.0123456789abcdef'), undefined, 'unknown id');
  assert.equal(auth('not-a-token'), undefined);
  now += 3600 * 1000;
  assert.equal(auth('abcdef.0123456789abcdef'), undefined, 'expired');
  now -= 3600 * 1000;
  store.set('kube-system/bootstrap-token-abcdef', { ...secret, type: 'Opaque' });
  assert.equal(auth('abcdef.0123456789abcdef'), undefined, 'wrong type');
  store.set('kube-system/bootstrap-token-abcdef', bootstrapTokenSecret('abcdef.0123456789abcdef', { now, usages: ['signing'] }));
  assert.equal(auth('abcdef.0123456789abcdef'), undefined, 'not for authentication');
  store.set('kube-system/bootstrap-token-abcdef', bootstrapTokenSecret('abcdef.0123456789abcdef', { now, ttlSeconds: 0, extraGroups: [] }));
  assert.deepEqual(auth('abcdef.0123456789abcdef')?.groups, ['system:bootstrappers'], 'no expiry, no extra groups');
  const badGroups = bootstrapTokenSecret('abcdef.0123456789abcdef', { now });
  (badGroups.data as Record<string, string>)['auth-extra-groups'] = Buffer.from('system:masters').toString('base64');
  store.set('kube-system/bootstrap-token-abcdef', badGroups);
  assert.equal(auth('abcdef.0123456789abcdef'), undefined, 'extra groups outside system:bootstrappers: are refused');
  assert.throws(() => bootstrapTokenSecret('abcdef.0123456789abcdef', { extraGroups: ['system:masters'] }));
});
