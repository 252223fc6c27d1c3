// OpenAPI serving: index, content hashes and caching answers, and the schema facts the patch
// engines depend on. Routes are exercised with fastify's inject (no sockets).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import Fastify from 'fastify';
import type { FastifyInstance } from 'fastify';
import { registerOpenApi, patchMetaFor, schemaForGVK, acceptsJson } from '../../src/apiserver/openapi/plugin.ts';
import { embeddedOpenApi } from '../../src/apiserver/openapi/data.ts';
import { SERVED_GROUP_VERSIONS } from '../../scripts/gen-openapi.ts';

const ALL_GVS = SERVED_GROUP_VERSIONS.map(([group, version]) => ({ group, version }));

async function server(
  groupVersions = ALL_GVS,
  extraDocs?: () => Map<string, object>,
): Promise<FastifyInstance> {
  const app = Fastify();
  await registerOpenApi(app, { groupVersions: () => groupVersions, ...(extraDocs ? { extraDocs } : {}) });
  await app.ready();
  return app;
}

interface Index {
  paths: Record<string, { serverRelativeURL: string }>;
}

async function index(app: FastifyInstance): Promise<Index> {
  const res = await app.inject({ method: 'GET', url: '/openapi/v3' });
  assert.equal(res.statusCode, 200);
  assert.match(String(res.headers['content-type']), /^application\/json/);
  return res.json<Index>();
}

test('index lists every served GA group-version with a content hash', async () => {
  const app = await server();
  const { paths } = await index(app);
  assert.equal(Object.keys(paths).length, 19);
  assert.ok(paths['api/v1']);
  assert.match(paths['apis/apps/v1']?.serverRelativeURL ?? '', /^\/openapi\/v3\/apis\/apps\/v1\?hash=[0-9A-F]{128}$/);
  for (const key of Object.keys(paths)) assert.doesNotMatch(key, /^\//);
  await app.close();
});

test('index only lists group-versions the server says it serves, plus extra documents', async () => {
  const crd = { openapi: '3.0.0', info: { title: 'Kubernetes', version: 'v1.32.4' }, paths: {}, components: { schemas: {} } };
  const app = await server([{ group: '', version: 'v1' }, { group: 'apps', version: 'v1' }, { group: 'apps', version: 'v1beta9' }], () =>
    new Map([['apis/example.com/v1', crd]]),
  );
  const { paths } = await index(app);
  assert.deepEqual(Object.keys(paths), ['api/v1', 'apis/apps/v1', 'apis/example.com/v1']);
  const res = await app.inject({ method: 'GET', url: paths['apis/example.com/v1']!.serverRelativeURL });
  assert.equal(res.statusCode, 200);
  assert.deepEqual(res.json(), crd);
  const gone = await app.inject({ method: 'GET', url: '/openapi/v3/apis/batch/v1' });
  assert.equal(gone.statusCode, 404);
  assert.equal(gone.json<{ kind: string }>().kind, 'Status');
  await app.close();
});

test('document hash is the uppercase SHA-512 of the bytes; matching hash is cacheable for good', async () => {
  const app = await server();
  const url = (await index(app)).paths['apis/apps/v1']!.serverRelativeURL;
  const res = await app.inject({ method: 'GET', url, headers: { accept: 'application/json' } });
  assert.equal(res.statusCode, 200);
  assert.match(String(res.headers['content-type']), /^application\/json/);
  const hash = createHash('sha512').update(res.rawPayload).digest('hex').toUpperCase();
  assert.equal(url.split('hash=')[1], hash);
  assert.equal(res.headers.etag, `"${hash}"`);
  assert.equal(res.headers['cache-control'], 'public, immutable');
  assert.equal(res.headers.vary, 'Accept');
  const expires = Date.parse(String(res.headers.expires));
  assert.ok(expires > Date.now() + 360 * 24 * 3600 * 1000, 'expires about a year ahead');
  const doc = res.json<{ openapi: string; paths: Record<string, unknown>; components: { schemas: Record<string, unknown> } }>();
  assert.equal(doc.openapi, '3.0.0');
  assert.ok(doc.paths['/apis/apps/v1/namespaces/{namespace}/deployments/{name}']);
  assert.ok(doc.components.schemas['io.k8s.api.apps.v1.Deployment']);
  assert.ok(doc.components.schemas['io.k8s.api.core.v1.PodSpec'], 'referenced schemas from other groups are included');
  // Only responses keep their one-word descriptions ("OK"); schemas and parameters carry no prose.
  assert.equal(JSON.stringify(doc.components).includes('"description":"'), false, 'schema prose is stripped');
  await app.close();
});

test('wrong hash redirects (301) to the current URL, keeping other parameters', async () => {
  const app = await server();
  const url = (await index(app)).paths['api/v1']!.serverRelativeURL;
  const res = await app.inject({ method: 'GET', url: '/openapi/v3/api/v1?hash=0123ABCD&timeout=32s' });
  assert.equal(res.statusCode, 301);
  const location = new URL(String(res.headers.location), 'https://x');
  assert.equal(location.pathname, '/openapi/v3/api/v1');
  assert.equal(location.searchParams.get('timeout'), '32s');
  assert.equal(`${location.pathname}?hash=${location.searchParams.get('hash')}`, url);
  await app.close();
});

test('no hash: the document with an ETag but without immutable caching', async () => {
  const app = await server();
  const res = await app.inject({ method: 'GET', url: '/openapi/v3/apis/batch/v1' });
  assert.equal(res.statusCode, 200);
  assert.match(String(res.headers.etag), /^"[0-9A-F]{128}"$/);
  assert.equal(res.headers['cache-control'], undefined);
  assert.equal(res.headers.expires, undefined);
  await app.close();
});

test('If-None-Match with the current ETag answers 304 without a body', async () => {
  const app = await server();
  const first = await app.inject({ method: 'GET', url: '/openapi/v3/apis/apps/v1' });
  const etag = String(first.headers.etag);
  const again = await app.inject({ method: 'GET', url: '/openapi/v3/apis/apps/v1', headers: { 'if-none-match': etag } });
  assert.equal(again.statusCode, 304);
  assert.equal(again.body, '');
  assert.equal(again.headers.etag, etag);
  const stale = await app.inject({ method: 'GET', url: '/openapi/v3/apis/apps/v1', headers: { 'if-none-match': '"OLD"' } });
  assert.equal(stale.statusCode, 200);
  const idx = await app.inject({ method: 'GET', url: '/openapi/v3' });
  const idx304 = await app.inject({ method: 'GET', url: '/openapi/v3', headers: { 'if-none-match': String(idx.headers.etag) } });
  assert.equal(idx304.statusCode, 304);
  await app.close();
});

test('protobuf-only Accept is refused with 406; JSON and wildcards are served', async () => {
  const app = await server();
  const res = await app.inject({
    method: 'GET',
    url: '/openapi/v3/api/v1',
    headers: { accept: 'application/com.github.proto-openapi.spec.v3@v1.0+protobuf' },
  });
  assert.equal(res.statusCode, 406);
  assert.equal(res.json<{ reason: string }>().reason, 'NotAcceptable');
  const both = await app.inject({
    method: 'GET',
    url: '/openapi/v3/api/v1',
    headers: { accept: 'application/com.github.proto-openapi.spec.v3@v1.0+protobuf, application/json' },
  });
  assert.equal(both.statusCode, 200);
  assert.equal(acceptsJson(undefined), true);
  assert.equal(acceptsJson('*/*'), true);
  assert.equal(acceptsJson('application/json;q=0.9'), true);
  assert.equal(acceptsJson('text/html'), false);
  await app.close();
});

test('/openapi/v2 is a 404 Status (clients would parse anything else as protobuf)', async () => {
  const app = await server();
  const res = await app.inject({
    method: 'GET',
    url: '/openapi/v2?timeout=32s',
    headers: { accept: 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf' },
  });
  assert.equal(res.statusCode, 404);
  assert.match(String(res.headers['content-type']), /^application\/json/);
  assert.deepEqual(res.json(), {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: 'the server could not find the requested resource',
    reason: 'NotFound',
    details: {},
    code: 404,
  });
  await app.close();
});

test('every patch operation names its kind and accepts fieldValidation (kubectl server-side validation)', () => {
  const table = embeddedOpenApi();
  let patchOps = 0;
  for (const [key, gv] of Object.entries(table.groupVersions)) {
    for (const [path, item] of Object.entries(gv.paths)) {
      const patch = (item as { patch?: Record<string, unknown> }).patch;
      // Proxy paths accept PATCH too, as a connect action without a body schema.
      if (!patch || patch['x-kubernetes-action'] !== 'patch') continue;
      patchOps++;
      assert.ok(patch['x-kubernetes-group-version-kind'], `${key} ${path}`);
      const params = patch.parameters as Array<{ name: string; in: string }>;
      assert.ok(params.some((p) => p.name === 'fieldValidation' && p.in === 'query'), `${key} ${path}`);
      const content = (patch.requestBody as { content: Record<string, unknown> }).content;
      assert.ok(content['application/strategic-merge-patch+json'], `${key} ${path} offers SMP`);
    }
  }
  assert.ok(patchOps > 70, `found ${patchOps} patch operations`);
});

test('every kind served through a path has a schema carrying its GVK extension', () => {
  const table = embeddedOpenApi();
  const kinds = new Set<string>();
  for (const gv of Object.values(table.groupVersions)) {
    for (const item of Object.values(gv.paths)) {
      for (const op of Object.values(item as Record<string, unknown>)) {
        const operation = op as { 'x-kubernetes-action'?: string; 'x-kubernetes-group-version-kind'?: { group: string; version: string; kind: string } };
        const gvk = operation?.['x-kubernetes-group-version-kind'];
        // connect actions (exec, attach, proxy) name option kinds that have no schema upstream either.
        if (gvk && operation['x-kubernetes-action'] !== 'connect') kinds.add(JSON.stringify([gvk.group, gvk.version, gvk.kind]));
      }
    }
  }
  assert.ok(kinds.size > 50, `${kinds.size} kinds`);
  for (const entry of kinds) {
    const [group, version, kind] = JSON.parse(entry) as [string, string, string];
    const schema = schemaForGVK({ group, version, kind }) as Record<string, unknown> | undefined;
    assert.ok(schema, `schema for ${entry}`);
    const gvks = schema['x-kubernetes-group-version-kind'] as Array<{ group: string; version: string; kind: string }>;
    assert.ok(Array.isArray(gvks) && gvks.some((g) => g.group === group && g.version === version && g.kind === kind), entry);
  }
  for (const [group, version, kind] of [
    ['', 'v1', 'Pod'],
    ['', 'v1', 'ConfigMap'],
    ['apps', 'v1', 'Deployment'],
    ['batch', 'v1', 'CronJob'],
    ['apiextensions.k8s.io', 'v1', 'CustomResourceDefinition'],
    ['autoscaling', 'v2', 'HorizontalPodAutoscaler'],
  ] as const) {
    assert.ok(kinds.has(JSON.stringify([group, version, kind])), `${group}/${version} ${kind} is served`);
  }
});

const POD = { group: '', version: 'v1', kind: 'Pod' };
const DEPLOYMENT = { group: 'apps', version: 'v1', kind: 'Deployment' };
const SERVICE = { group: '', version: 'v1', kind: 'Service' };

test('patch meta: Pod.spec.containers merges by name', () => {
  assert.deepEqual(patchMetaFor(POD, ['spec', 'containers']), {
    mergeKey: 'name',
    strategy: 'merge',
    listType: 'map',
    listMapKeys: ['name'],
  });
});

test('patch meta: container ports merge by containerPort; SSA keys are containerPort+protocol', () => {
  assert.deepEqual(patchMetaFor(POD, ['spec', 'containers', 'ports']), {
    mergeKey: 'containerPort',
    strategy: 'merge',
    listType: 'map',
    listMapKeys: ['containerPort', 'protocol'],
  });
  // The same field reached through a Deployment's pod template.
  assert.equal(patchMetaFor(DEPLOYMENT, ['spec', 'template', 'spec', 'containers', 'ports'])?.mergeKey, 'containerPort');
});

test('patch meta: Deployment.spec.strategy uses retainKeys', () => {
  assert.deepEqual(patchMetaFor(DEPLOYMENT, ['spec', 'strategy']), { strategy: 'retainKeys' });
});

test('patch meta: Service.spec.ports list-map keys are port+protocol (SMP key port)', () => {
  const meta = patchMetaFor(SERVICE, ['spec', 'ports']);
  assert.equal(meta?.mergeKey, 'port');
  assert.equal(meta?.strategy, 'merge');
  assert.equal(meta?.listType, 'map');
  assert.deepEqual(meta?.listMapKeys, ['port', 'protocol']);
});

test('patch meta: volumes merge+retainKeys, finalizers are a merged set, tolerations atomic, unknown paths undefined', () => {
  assert.deepEqual(patchMetaFor(POD, ['spec', 'volumes']), {
    mergeKey: 'name',
    strategy: 'merge,retainKeys',
    listType: 'map',
    listMapKeys: ['name'],
  });
  assert.deepEqual(patchMetaFor(POD, ['metadata', 'finalizers']), { strategy: 'merge', listType: 'set' });
  assert.deepEqual(patchMetaFor(POD, ['spec', 'tolerations']), { listType: 'atomic' });
  assert.deepEqual(patchMetaFor(POD, ['metadata', 'labels']), {});
  assert.deepEqual(patchMetaFor(POD, ['metadata', 'labels', 'app']), {});
  assert.equal(patchMetaFor(POD, ['spec', 'noSuchField']), undefined);
  assert.equal(patchMetaFor({ group: 'example.com', version: 'v1', kind: 'Widget' }, ['spec']), undefined);
  assert.deepEqual(patchMetaFor(POD, ['spec', 'containers', 'env']), {
    mergeKey: 'name',
    strategy: 'merge',
    listType: 'map',
    listMapKeys: ['name'],
  });
  assert.equal(patchMetaFor(POD, ['metadata', 'ownerReferences'])?.mergeKey, 'uid');
});
