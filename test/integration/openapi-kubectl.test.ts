// The proof that matters for OpenAPI: real kubectl (1.35 and 1.32) against a small HTTPS fixture
// server that serves /version, aggregated discovery, our OpenAPI plugin and stub object endpoints.
// `kubectl explain` must print field trees and `create -f`/`apply -f` must get past kubectl's
// OpenAPI-based validation step (which otherwise fails with "failed to download openapi").
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import type { FastifyInstance } from 'fastify';
import forge from 'node-forge';
import { registerOpenApi } from '../../src/apiserver/openapi/plugin.ts';
import { runKubectl } from '../helpers/tools.ts';
import type { KubectlVersion } from '../helpers/tools.ts';

const VERSIONS: KubectlVersion[] = ['1.35', '1.32'];

/** A self-signed serving certificate for 127.0.0.1 (Node's crypto makes the key, forge the cert). */
function selfSignedCert(): { key: string; cert: string } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKey);
  cert.serialNumber = '01';
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + 24 * 3600 * 1000);
  const subject = [{ name: 'commonName', value: 'openapi-test' }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, keyCertSign: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }, { type: 2, value: 'localhost' }] },
  ]);
  cert.sign(forge.pki.privateKeyFromPem(privateKey), forge.md.sha256.create());
  return { key: privateKey, cert: forge.pki.certificateToPem(cert) };
}

const VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];
const AGGREGATED = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';

function discovery(items: unknown[]) {
  return { kind: 'APIGroupDiscoveryList', apiVersion: 'apidiscovery.k8s.io/v2', metadata: {}, items };
}

const coreDiscovery = discovery([
  {
    metadata: { name: '' },
    versions: [
      {
        version: 'v1',
        freshness: 'Current',
        resources: [
          {
            resource: 'configmaps',
            singularResource: 'configmap',
            scope: 'Namespaced',
            responseKind: { group: '', version: 'v1', kind: 'ConfigMap' },
            verbs: VERBS,
            shortNames: ['cm'],
          },
        ],
      },
    ],
  },
]);

const groupsDiscovery = discovery([
  {
    metadata: { name: 'apps' },
    versions: [
      {
        version: 'v1',
        freshness: 'Current',
        resources: [
          {
            resource: 'deployments',
            singularResource: 'deployment',
            scope: 'Namespaced',
            responseKind: { group: 'apps', version: 'v1', kind: 'Deployment' },
            verbs: VERBS,
            shortNames: ['deploy'],
            categories: ['all'],
            subresources: [
              { subresource: 'status', responseKind: { group: 'apps', version: 'v1', kind: 'Deployment' }, verbs: ['get', 'patch', 'update'] },
              { subresource: 'scale', responseKind: { group: 'autoscaling', version: 'v1', kind: 'Scale' }, verbs: ['get', 'patch', 'update'] },
            ],
          },
        ],
      },
    ],
  },
]);

const notFoundStatus = (name: string, resource: string) => ({
  kind: 'Status',
  apiVersion: 'v1',
  metadata: {},
  status: 'Failure',
  message: `${resource} "${name}" not found`,
  reason: 'NotFound',
  details: { name, kind: resource },
  code: 404,
});

interface Fixture {
  app: FastifyInstance;
  requests: string[];
  dir: string;
  kubeconfig: string;
}

let fixture: Fixture;
let cacheDirs = 0;

/** A fresh kubectl cache: docs served with a hash are cached as immutable, so reuse would hide fetches. */
function freshCache(): string {
  return join(fixture.dir, `kube-cache-${++cacheDirs}`);
}

before(async () => {
  const { key, cert } = selfSignedCert();
  const requests: string[] = [];
  const app = Fastify({ https: { key, cert } });
  app.addHook('onRequest', async (request) => {
    requests.push(`${request.method} ${request.url} accept=${request.headers.accept ?? ''}`);
  });
  // kubectl's apply sends JSON; some requests carry +json suffix types.
  app.addContentTypeParser(/^application\/.*\+json/, { parseAs: 'string' }, (_req, body, done) => {
    try {
      done(null, JSON.parse(String(body)));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
  app.get('/version', async () => ({
    major: '1',
    minor: '32',
    gitVersion: 'v1.32.4',
    gitCommit: '0000000',
    gitTreeState: 'clean',
    buildDate: '2025-01-01T00:00:00Z',
    goVersion: 'go1.23.6',
    compiler: 'gc',
    platform: 'linux/amd64',
  }));
  app.get('/api', async (_req, reply) => reply.type(AGGREGATED).send(JSON.stringify(coreDiscovery)));
  app.get('/apis', async (_req, reply) => reply.type(AGGREGATED).send(JSON.stringify(groupsDiscovery)));
  await registerOpenApi(app, {
    groupVersions: () => [
      { group: '', version: 'v1' },
      { group: 'apps', version: 'v1' },
    ],
  });
  // Stub object endpoints: nothing exists yet; creates echo the object back.
  const echoCreate = async (request: { body: unknown }, reply: { code: (n: number) => { send: (b: unknown) => unknown } }) => {
    const obj = structuredClone(request.body) as { metadata?: Record<string, unknown> };
    obj.metadata = { namespace: 'default', uid: '6d1c0e5a-0000-4000-8000-000000000001', resourceVersion: '1', creationTimestamp: '2025-01-01T00:00:00Z', ...obj.metadata };
    return reply.code(201).send(obj);
  };
  app.get('/api/v1/namespaces/:ns/configmaps/:name', async (req, reply) =>
    reply.code(404).send(notFoundStatus((req.params as { name: string }).name, 'configmaps')),
  );
  app.get('/apis/apps/v1/namespaces/:ns/deployments/:name', async (req, reply) =>
    reply.code(404).send(notFoundStatus((req.params as { name: string }).name, 'deployments')),
  );
  app.post('/api/v1/namespaces/:ns/configmaps', echoCreate);
  app.post('/apis/apps/v1/namespaces/:ns/deployments', echoCreate);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');

  const dir = mkdtempSync(join(tmpdir(), 'nanokube-openapi-'));
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(
    kubeconfig,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        { name: 'fixture', cluster: { server: `https://127.0.0.1:${address.port}`, 'certificate-authority-data': Buffer.from(cert).toString('base64') } },
      ],
      users: [{ name: 'fixture', user: { token: 'any-token' } }],
      contexts: [{ name: 'fixture', context: { cluster: 'fixture', user: 'fixture', namespace: 'default' } }],
      'current-context': 'fixture',
    }),
  );
  writeFileSync(
    join(dir, 'cm.yaml'),
    'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: demo\ndata:\n  a: "1"\n',
  );
  writeFileSync(
    join(dir, 'deploy.yaml'),
    [
      'apiVersion: apps/v1',
      'kind: Deployment',
      'metadata:',
      '  name: web',
      'spec:',
      '  replicas: 1',
      '  selector:',
      '    matchLabels: {app: web}',
      '  template:',
      '    metadata:',
      '      labels: {app: web}',
      '    spec:',
      '      containers:',
      '      - name: web',
      '        image: nginx',
      '        ports:',
      '        - containerPort: 80',
      '',
    ].join('\n'),
  );
  fixture = { app, requests, dir, kubeconfig };
});

after(async () => {
  await fixture?.app.close();
  if (fixture) rmSync(fixture.dir, { recursive: true, force: true });
});

for (const version of VERSIONS) {
  test(`kubectl ${version} explain deployment.spec.strategy prints the field tree from /openapi/v3`, async () => {
    fixture.requests.length = 0;
    const res = await runKubectl(version, ['explain', 'deployment.spec.strategy'], { kubeconfig: fixture.kubeconfig, cacheDir: freshCache() });
    assert.equal(res.code, 0, `${res.stdout}\n${res.stderr}`);
    assert.match(res.stdout, /GROUP:\s+apps/);
    assert.match(res.stdout, /KIND:\s+Deployment/);
    assert.match(res.stdout, /FIELD:\s+strategy <DeploymentStrategy>/);
    assert.match(res.stdout, /rollingUpdate\s+<RollingUpdateDeployment>/);
    assert.match(res.stdout, /type\s+<string>/);
    assert.ok(fixture.requests.some((r) => r.startsWith('GET /openapi/v3 ') || r.startsWith('GET /openapi/v3?')), fixture.requests.join('\n'));
    // client-go asks for JSON only (JSON is all we serve), keeping the index's hash and adding a timeout.
    const docRequest = fixture.requests.find((r) => r.startsWith('GET /openapi/v3/apis/apps/v1?hash='));
    assert.ok(docRequest, fixture.requests.join('\n'));
    assert.match(docRequest, /&timeout=\d+s accept=application\/json$/);
  });

  test(`kubectl ${version} explain --recursive walks nested refs (pod.spec.containers.ports)`, async () => {
    const res = await runKubectl(version, ['explain', 'pods.spec.containers.ports', '--recursive'], { kubeconfig: fixture.kubeconfig, cacheDir: freshCache() });
    // pods are not in the fixture's discovery: kubectl must say so rather than fail on OpenAPI.
    assert.notEqual(res.code, 0);
    assert.doesNotMatch(res.stderr, /openapi/i);
    const deploy = await runKubectl(version, ['explain', 'deployments.spec.template.spec.containers.ports', '--recursive'], {
      kubeconfig: fixture.kubeconfig,
      cacheDir: freshCache(),
    });
    assert.equal(deploy.code, 0, deploy.stderr);
    assert.match(deploy.stdout, /containerPort\s+<integer> -required-/);
    assert.match(deploy.stdout, /protocol\s+<string>/);
  });

  test(`kubectl ${version} create -f --dry-run=server passes OpenAPI validation and sends fieldValidation=Strict`, async () => {
    fixture.requests.length = 0;
    const res = await runKubectl(version, ['create', '-f', join(fixture.dir, 'cm.yaml'), '--dry-run=server', '-o', 'name'], {
      kubeconfig: fixture.kubeconfig,
      cacheDir: freshCache(),
    });
    assert.equal(res.code, 0, `${res.stdout}\n${res.stderr}\n${fixture.requests.join('\n')}`);
    assert.equal(res.stdout.trim(), 'configmap/demo');
    assert.doesNotMatch(res.stderr, /failed to download openapi/);
    const post = fixture.requests.find((r) => r.startsWith('POST /api/v1/namespaces/default/configmaps'));
    assert.ok(post, fixture.requests.join('\n'));
    assert.match(post, /fieldValidation=Strict/);
    assert.match(post, /dryRun=All/);
    assert.ok(fixture.requests.some((r) => r.startsWith('GET /openapi/v3/api/v1?hash=')), fixture.requests.join('\n'));
    // v3 answered with a fieldValidation parameter, so kubectl never falls back to v2.
    assert.equal(fixture.requests.some((r) => r.startsWith('GET /openapi/v2')), false, fixture.requests.join('\n'));
  });

  test(`kubectl ${version} apply -f (client-side) creates a Deployment after OpenAPI validation`, async () => {
    fixture.requests.length = 0;
    const res = await runKubectl(version, ['apply', '-f', join(fixture.dir, 'deploy.yaml')], { kubeconfig: fixture.kubeconfig, cacheDir: freshCache() });
    assert.equal(res.code, 0, `${res.stdout}\n${res.stderr}\n${fixture.requests.join('\n')}`);
    assert.match(res.stdout, /deployment.apps\/web created/);
    assert.ok(fixture.requests.some((r) => r.startsWith('GET /openapi/v3/apis/apps/v1?hash=')), fixture.requests.join('\n'));
    const post = fixture.requests.find((r) => r.startsWith('POST /apis/apps/v1/namespaces/default/deployments'));
    assert.ok(post, fixture.requests.join('\n'));
    assert.match(post, /fieldValidation=Strict/);
  });
}

test('kubectl keeps a hashed document in its HTTP cache and only re-reads the index', async () => {
  const cacheDir = freshCache();
  const first = await runKubectl('1.35', ['explain', 'deployment.spec'], { kubeconfig: fixture.kubeconfig, cacheDir });
  assert.equal(first.code, 0, first.stderr);
  fixture.requests.length = 0;
  const second = await runKubectl('1.35', ['explain', 'deployment.spec'], { kubeconfig: fixture.kubeconfig, cacheDir });
  assert.equal(second.code, 0, second.stderr);
  assert.equal(second.stdout, first.stdout);
  assert.ok(fixture.requests.some((r) => r.startsWith('GET /openapi/v3?')), fixture.requests.join('\n'));
  assert.equal(fixture.requests.some((r) => r.startsWith('GET /openapi/v3/apis/apps/v1')), false, fixture.requests.join('\n'));
});
