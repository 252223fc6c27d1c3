import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { apiServer, type TestApi } from './api-helpers.ts';

const AGG = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json';

describe('discovery', () => {
  let t: TestApi;
  before(async () => {
    t = await apiServer();
  });
  after(async () => t.close());

  it('aggregated /api and /apis by Accept', async () => {
    const core = await t.app.inject({ method: 'GET', url: '/api?timeout=32s', headers: { accept: AGG } });
    assert.equal(core.headers['content-type'], 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList');
    assert.equal(core.headers.vary, 'Accept');
    assert.ok(core.headers.etag);
    const doc = core.json();
    assert.equal(doc.kind, 'APIGroupDiscoveryList');
    assert.equal(doc.items.length, 1);
    const v1 = doc.items[0].versions[0];
    assert.equal(v1.version, 'v1');
    const pods = v1.resources.find((r: { resource: string }) => r.resource === 'pods');
    assert.deepEqual(pods.responseKind, { group: '', version: 'v1', kind: 'Pod' });
    assert.equal(pods.scope, 'Namespaced');
    assert.deepEqual(pods.shortNames, ['po']);
    assert.deepEqual(pods.categories, ['all']);
    const ev = pods.subresources.find((s: { subresource: string }) => s.subresource === 'eviction');
    assert.deepEqual(ev.responseKind, { group: 'policy', version: 'v1', kind: 'Eviction' });
    for (const r of v1.resources) {
      assert.ok(r.responseKind?.kind, `${r.resource} has a responseKind`);
      for (const s of r.subresources ?? []) assert.ok(s.responseKind?.kind, `${r.resource}/${s.subresource} has a responseKind`);
    }
    const sa = v1.resources.find((r: { resource: string }) => r.resource === 'serviceaccounts');
    assert.deepEqual(sa.subresources[0].responseKind, { group: 'authentication.k8s.io', version: 'v1', kind: 'TokenRequest' });

    const apis = (await t.app.inject({ method: 'GET', url: '/apis', headers: { accept: AGG } })).json();
    const apps = apis.items.find((i: { metadata: { name: string } }) => i.metadata.name === 'apps');
    const deploy = apps.versions[0].resources.find((r: { resource: string }) => r.resource === 'deployments');
    assert.deepEqual(deploy.subresources.map((s: { subresource: string }) => s.subresource).sort(), ['scale', 'status']);
    assert.deepEqual(deploy.subresources.find((s: { subresource: string }) => s.subresource === 'scale').responseKind, { group: 'autoscaling', version: 'v1', kind: 'Scale' });
    const autoscaling = apis.items.find((i: { metadata: { name: string } }) => i.metadata.name === 'autoscaling');
    assert.deepEqual(autoscaling.versions.map((v: { version: string }) => v.version), ['v2', 'v1']);
    const groups = apis.items.map((i: { metadata: { name: string } }) => i.metadata.name);
    for (const g of ['apps', 'batch', 'rbac.authorization.k8s.io', 'storage.k8s.io', 'coordination.k8s.io', 'discovery.k8s.io', 'events.k8s.io', 'policy', 'networking.k8s.io', 'scheduling.k8s.io', 'node.k8s.io', 'certificates.k8s.io', 'apiextensions.k8s.io', 'admissionregistration.k8s.io', 'authentication.k8s.io', 'authorization.k8s.io']) {
      assert.ok(groups.includes(g), g);
    }
  });

  it('v2beta1 when asked for first', async () => {
    const r = await t.app.inject({ method: 'GET', url: '/apis', headers: { accept: 'application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList' } });
    assert.equal(r.json().apiVersion, 'apidiscovery.k8s.io/v2beta1');
  });

  it('legacy documents', async () => {
    const api = (await t.app.inject({ method: 'GET', url: '/api', headers: { accept: 'application/json' } })).json();
    assert.equal(api.kind, 'APIVersions');
    assert.deepEqual(api.versions, ['v1']);
    const groups = (await t.app.inject({ method: 'GET', url: '/apis' })).json();
    assert.equal(groups.kind, 'APIGroupList');
    const as = groups.groups.find((g: { name: string }) => g.name === 'autoscaling');
    assert.deepEqual(as.preferredVersion, { groupVersion: 'autoscaling/v2', version: 'v2' });
    const v1 = (await t.app.inject({ method: 'GET', url: '/api/v1' })).json();
    assert.equal(v1.kind, 'APIResourceList');
    const eviction = v1.resources.find((r: { name: string }) => r.name === 'pods/eviction');
    assert.deepEqual({ group: eviction.group, version: eviction.version, kind: eviction.kind }, { group: 'policy', version: 'v1', kind: 'Eviction' });
    const status = v1.resources.find((r: { name: string }) => r.name === 'pods/status');
    assert.equal(status.group, undefined);
    const cs = v1.resources.find((r: { name: string }) => r.name === 'componentstatuses');
    assert.deepEqual(cs.verbs, ['get', 'list']);
    const apps = (await t.app.inject({ method: 'GET', url: '/apis/apps' })).json();
    assert.equal(apps.kind, 'APIGroup');
    const appsV1 = (await t.app.inject({ method: 'GET', url: '/apis/apps/v1' })).json();
    assert.equal(appsV1.groupVersion, 'apps/v1');
    assert.equal((await t.app.inject({ method: 'GET', url: '/apis/nope/v1' })).statusCode, 404);
  });

  it('ETag → 304', async () => {
    const first = await t.app.inject({ method: 'GET', url: '/api/v1' });
    const again = await t.app.inject({ method: 'GET', url: '/api/v1', headers: { 'if-none-match': String(first.headers.etag) } });
    assert.equal(again.statusCode, 304);
  });
});
