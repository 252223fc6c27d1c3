// fieldValidation against the kinds' OpenAPI schemas: Strict refuses unknown fields at any depth
// with upstream's message, Warn (the default) answers one Warning header per field and drops them,
// Ignore drops them silently; free-form subtrees (RawExtension) accept anything.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { apiServer, createNamespace, type TestApi } from './api-helpers.ts';

let api: TestApi;
before(async () => {
  api = await apiServer();
  await createNamespace(api.app, 'fv');
});
after(async () => api.close());

const deployment = (name: string) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, labels: { app: 'x' }, colour: 'blue' },
  spec: {
    replicas: 1,
    selector: { matchLabels: { app: 'x' } },
    template: {
      metadata: { labels: { app: 'x' } },
      spec: { containers: [{ name: 'c', image: 'nginx', imagee: 'typo', ports: [{ containerPort: 80, hostt: 1 }] }] },
    },
    foo: true,
  },
});

const post = (url: string, payload: unknown) => api.app.inject({ method: 'POST', url, payload: payload as object });
const warnings = (h: string | string[] | number | undefined) => (h === undefined ? [] : Array.isArray(h) ? h : [String(h)]);

test('Strict: 400 naming every unknown field with its full path', async () => {
  const r = await post('/apis/apps/v1/namespaces/fv/deployments?fieldValidation=Strict', deployment('strict'));
  assert.equal(r.statusCode, 400);
  const status = r.json() as { message: string; reason: string };
  assert.equal(status.reason, 'BadRequest');
  assert.equal(
    status.message,
    'Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: unknown field "metadata.colour", unknown field "spec.template.spec.containers[0].imagee", unknown field "spec.template.spec.containers[0].ports[0].hostt", unknown field "spec.foo"',
  );
  const missing = await api.app.inject({ method: 'GET', url: '/apis/apps/v1/namespaces/fv/deployments/strict' });
  assert.equal(missing.statusCode, 404);
});

test('Warn (also the default): one Warning header per field, fields dropped', async () => {
  for (const [name, query] of [['warn', '?fieldValidation=Warn'], ['default', '']] as const) {
    const r = await post(`/apis/apps/v1/namespaces/fv/deployments${query}`, deployment(name));
    assert.equal(r.statusCode, 201, r.body);
    assert.deepEqual(warnings(r.headers.warning), [
      '299 - "unknown field \\"metadata.colour\\""',
      '299 - "unknown field \\"spec.template.spec.containers[0].imagee\\""',
      '299 - "unknown field \\"spec.template.spec.containers[0].ports[0].hostt\\""',
      '299 - "unknown field \\"spec.foo\\""',
    ]);
    const stored = r.json() as { spec: Record<string, unknown> & { template: { spec: { containers: Array<Record<string, unknown>> } } } };
    assert.equal(stored.spec.foo, undefined);
    assert.equal(stored.spec.template.spec.containers[0]!.imagee, undefined);
    assert.equal(stored.spec.template.spec.containers[0]!.image, 'nginx');
  }
});

test('Ignore: silent, fields dropped; patches are checked on the result', async () => {
  const r = await post('/apis/apps/v1/namespaces/fv/deployments?fieldValidation=Ignore', deployment('ignore'));
  assert.equal(r.statusCode, 201, r.body);
  assert.equal(r.headers.warning, undefined);
  const p = await api.app.inject({
    method: 'PATCH',
    url: '/apis/apps/v1/namespaces/fv/deployments/ignore?fieldValidation=Strict',
    headers: { 'content-type': 'application/merge-patch+json' },
    payload: { spec: { strategy: { rollingUpdat: {} } } },
  });
  assert.equal(p.statusCode, 400);
  assert.match((p.json() as { message: string }).message, /unknown field "spec\.strategy\.rollingUpdat"/);
});

test('free-form subtrees and maps are not unknown fields', async () => {
  const r = await post('/apis/apps/v1/namespaces/fv/controllerrevisions?fieldValidation=Strict', {
    apiVersion: 'apps/v1',
    kind: 'ControllerRevision',
    metadata: { name: 'rev', annotations: { 'any.key/x': 'y' } },
    data: { spec: { anything: { goes: [1, 2] } } },
    revision: 1,
  });
  assert.equal(r.statusCode, 201, r.body);
  const cm = await post('/api/v1/namespaces/fv/configmaps?fieldValidation=Strict', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { 'k.with.dots': 'v' } });
  assert.equal(cm.statusCode, 201, cm.body);
});
