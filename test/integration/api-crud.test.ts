import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { apiServer, createNamespace, type TestApi } from './api-helpers.ts';

describe('resource API CRUD (configmaps)', () => {
  let t: TestApi;
  before(async () => {
    t = await apiServer();
    await createNamespace(t.app, 'default');
  });
  after(async () => t.close());

  const cmUrl = '/api/v1/namespaces/default/configmaps';

  it('creates with server-owned metadata and 201', async () => {
    const r = await t.app.inject({ method: 'POST', url: cmUrl, payload: { metadata: { name: 'a' }, data: { k: 'v' } } });
    assert.equal(r.statusCode, 201, r.body);
    assert.equal(r.headers['content-type'], 'application/json');
    const o = r.json();
    assert.equal(o.kind, 'ConfigMap');
    assert.equal(o.apiVersion, 'v1');
    assert.equal(o.metadata.namespace, 'default');
    assert.match(o.metadata.uid, /^[0-9a-f-]{36}$/);
    assert.match(o.metadata.creationTimestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.match(o.metadata.resourceVersion, /^\d+$/);
    assert.equal(o.metadata.generation, undefined);
  });

  it('rejects a duplicate with AlreadyExists', async () => {
    const r = await t.app.inject({ method: 'POST', url: cmUrl, payload: { metadata: { name: 'a' } } });
    assert.equal(r.statusCode, 409);
    const s = r.json();
    assert.equal(s.reason, 'AlreadyExists');
    assert.equal(s.message, 'configmaps "a" already exists');
    assert.deepEqual(s.details, { name: 'a', kind: 'configmaps' });
  });

  it('generateName uses the upstream alphabet', async () => {
    const r = await t.app.inject({ method: 'POST', url: cmUrl, payload: { metadata: { generateName: 'gen-' } } });
    assert.equal(r.statusCode, 201);
    assert.match(r.json().metadata.name, /^gen-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
  });

  it('404 with the upstream message', async () => {
    const r = await t.app.inject({ method: 'GET', url: `${cmUrl}/nope` });
    assert.equal(r.statusCode, 404);
    assert.equal(r.json().message, 'configmaps "nope" not found');
  });

  it('namespace in body must match the URL', async () => {
    const r = await t.app.inject({ method: 'POST', url: cmUrl, payload: { metadata: { name: 'x', namespace: 'other' } } });
    assert.equal(r.statusCode, 400);
  });

  it('create in a missing namespace is 404 namespaces', async () => {
    const r = await t.app.inject({ method: 'POST', url: '/api/v1/namespaces/missing/configmaps', payload: { metadata: { name: 'x' } } });
    assert.equal(r.statusCode, 404);
    assert.equal(r.json().message, 'namespaces "missing" not found');
  });

  it('invalid name → 422 with cause and upstream wording', async () => {
    const r = await t.app.inject({ method: 'POST', url: cmUrl, payload: { metadata: { name: 'Bad_Name' } } });
    assert.equal(r.statusCode, 422);
    const s = r.json();
    assert.equal(s.reason, 'Invalid');
    assert.equal(
      s.message,
      `ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
    );
    assert.equal(s.details.kind, 'ConfigMap');
    assert.equal(s.details.causes[0].field, 'metadata.name');
    assert.equal(s.details.causes[0].reason, 'FieldValueInvalid');
  });

  it('PUT with a stale resourceVersion → 409 Conflict', async () => {
    const cur = (await t.app.inject({ method: 'GET', url: `${cmUrl}/a` })).json();
    const ok = await t.app.inject({ method: 'PUT', url: `${cmUrl}/a`, payload: { ...cur, data: { k: 'v2' } } });
    assert.equal(ok.statusCode, 200, ok.body);
    assert.notEqual(ok.json().metadata.resourceVersion, cur.metadata.resourceVersion);
    const stale = await t.app.inject({ method: 'PUT', url: `${cmUrl}/a`, payload: { ...cur, data: { k: 'v3' } } });
    assert.equal(stale.statusCode, 409);
    assert.equal(
      stale.json().message,
      'Operation cannot be fulfilled on configmaps "a": the object has been modified; please apply your changes to the latest version and try again',
    );
  });

  it('a no-op PUT keeps the resourceVersion', async () => {
    const cur = (await t.app.inject({ method: 'GET', url: `${cmUrl}/a` })).json();
    const r = await t.app.inject({ method: 'PUT', url: `${cmUrl}/a`, payload: cur });
    assert.equal(r.json().metadata.resourceVersion, cur.metadata.resourceVersion);
  });

  it('merge, strategic and JSON patches', async () => {
    let r = await t.app.inject({
      method: 'PATCH',
      url: `${cmUrl}/a`,
      headers: { 'content-type': 'application/merge-patch+json' },
      payload: JSON.stringify({ metadata: { labels: { app: 'x' } }, data: { n: '1' } }),
    });
    assert.equal(r.statusCode, 200, r.body);
    assert.deepEqual(r.json().data, { k: 'v2', n: '1' });
    r = await t.app.inject({
      method: 'PATCH',
      url: `${cmUrl}/a`,
      headers: { 'content-type': 'application/strategic-merge-patch+json' },
      payload: JSON.stringify({ data: { k: null } }),
    });
    assert.deepEqual(r.json().data, { n: '1' });
    r = await t.app.inject({
      method: 'PATCH',
      url: `${cmUrl}/a`,
      headers: { 'content-type': 'application/json-patch+json' },
      payload: JSON.stringify([{ op: 'test', path: '/data/n', value: '1' }, { op: 'replace', path: '/data/n', value: '2' }]),
    });
    assert.deepEqual(r.json().data, { n: '2' });
    r = await t.app.inject({
      method: 'PATCH',
      url: `${cmUrl}/a`,
      headers: { 'content-type': 'application/json-patch+json' },
      payload: JSON.stringify([{ op: 'test', path: '/data/n', value: 'zzz' }]),
    });
    assert.equal(r.statusCode, 422);
    r = await t.app.inject({ method: 'PATCH', url: `${cmUrl}/a`, headers: { 'content-type': 'text/plain' }, payload: 'x' });
    assert.equal(r.statusCode, 415);
    assert.match(r.json().message, /accepted media types include: application\/json-patch\+json/);
  });

  it('fieldValidation Strict rejects, Warn warns', async () => {
    let r = await t.app.inject({ method: 'POST', url: `${cmUrl}?fieldValidation=Strict`, payload: { metadata: { name: 'fv' }, spec: { a: 1 } } });
    assert.equal(r.statusCode, 400);
    assert.equal(r.json().message, 'ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding error: unknown field "spec"');
    r = await t.app.inject({ method: 'POST', url: cmUrl, payload: { metadata: { name: 'fv' }, spec: { a: 1 } } });
    assert.equal(r.statusCode, 201);
    assert.equal(r.headers.warning, '299 - "unknown field \\"spec\\""');
    assert.equal(r.json().spec, undefined);
  });

  it('dryRun=All does not persist', async () => {
    const r = await t.app.inject({ method: 'POST', url: `${cmUrl}?dryRun=All`, payload: { metadata: { name: 'dry' } } });
    assert.equal(r.statusCode, 201);
    assert.equal((await t.app.inject({ method: 'GET', url: `${cmUrl}/dry` })).statusCode, 404);
  });

  it('finalizers keep the object until removed', async () => {
    await t.app.inject({ method: 'POST', url: cmUrl, payload: { metadata: { name: 'fin', finalizers: ['example.com/x'] } } });
    const d = await t.app.inject({ method: 'DELETE', url: `${cmUrl}/fin` });
    assert.equal(d.statusCode, 200);
    assert.ok(d.json().metadata.deletionTimestamp);
    const still = await t.app.inject({ method: 'GET', url: `${cmUrl}/fin` });
    assert.equal(still.statusCode, 200);
    const add = await t.app.inject({
      method: 'PATCH',
      url: `${cmUrl}/fin`,
      headers: { 'content-type': 'application/merge-patch+json' },
      payload: JSON.stringify({ metadata: { finalizers: ['example.com/x', 'example.com/y'] } }),
    });
    assert.equal(add.statusCode, 422);
    const rm = await t.app.inject({
      method: 'PATCH',
      url: `${cmUrl}/fin`,
      headers: { 'content-type': 'application/merge-patch+json' },
      payload: JSON.stringify({ metadata: { finalizers: null } }),
    });
    assert.equal(rm.statusCode, 200);
    assert.equal((await t.app.inject({ method: 'GET', url: `${cmUrl}/fin` })).statusCode, 404);
  });

  it('delete returns a Success Status; preconditions conflict', async () => {
    const c = (await t.app.inject({ method: 'POST', url: cmUrl, payload: { metadata: { name: 'del' } } })).json();
    const bad = await t.app.inject({ method: 'DELETE', url: `${cmUrl}/del`, payload: { preconditions: { uid: 'nope' } } });
    assert.equal(bad.statusCode, 409);
    const r = await t.app.inject({ method: 'DELETE', url: `${cmUrl}/del`, payload: { propagationPolicy: 'Background' } });
    assert.equal(r.statusCode, 200);
    assert.deepEqual(r.json(), { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { name: 'del', kind: 'configmaps', uid: c.metadata.uid }, code: 200 });
  });

  it('body over 3 MiB → 413', async () => {
    const big = 'x'.repeat(3 * 1024 * 1024 + 10);
    const r = await t.app.inject({ method: 'POST', url: cmUrl, payload: { metadata: { name: 'big' }, data: { a: big } } });
    assert.equal(r.statusCode, 413);
    assert.equal(r.json().reason, 'RequestEntityTooLarge');
  });

  it('YAML bodies are accepted', async () => {
    const r = await t.app.inject({ method: 'POST', url: cmUrl, headers: { 'content-type': 'application/yaml' }, payload: 'metadata:\n  name: yml\ndata:\n  a: "1"\n' });
    assert.equal(r.statusCode, 201, r.body);
  });

  it('unknown resources are 404', async () => {
    const r = await t.app.inject({ method: 'GET', url: '/api/v1/namespaces/default/nothings' });
    assert.equal(r.statusCode, 404);
    assert.equal(r.json().kind, 'Status');
  });
});

describe('protobuf request bodies', () => {
  let t: TestApi;
  before(async () => {
    t = await apiServer();
  });
  after(async () => t.close());

  it('creates a Namespace sent as application/vnd.kubernetes.protobuf', async () => {
    const str = (field: number, s: string) => Buffer.concat([Buffer.from([(field << 3) | 2, Buffer.byteLength(s)]), Buffer.from(s)]);
    const msg = (field: number, body: Buffer) => Buffer.concat([Buffer.from([(field << 3) | 2, body.length]), body]);
    const raw = msg(1, str(1, 'proto-ns')); // Namespace{metadata{name}}
    const body = Buffer.concat([Buffer.from('k8s\0', 'latin1'), msg(1, Buffer.concat([str(1, 'v1'), str(2, 'Namespace')])), msg(2, raw), Buffer.from([0x1a, 0, 0x22, 0])]);
    const r = await t.app.inject({ method: 'POST', url: '/api/v1/namespaces', headers: { 'content-type': 'application/vnd.kubernetes.protobuf', accept: 'application/vnd.kubernetes.protobuf,application/json' }, payload: body });
    assert.equal(r.statusCode, 201, r.body);
    assert.equal(r.headers['content-type'], 'application/json');
    assert.equal(r.json().metadata.name, 'proto-ns');
    const bad = await t.app.inject({ method: 'POST', url: '/api/v1/namespaces', headers: { 'content-type': 'application/vnd.kubernetes.protobuf' }, payload: Buffer.from('nope') });
    assert.equal(bad.statusCode, 400);
  });
});
