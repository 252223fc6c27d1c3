import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { apiServer, createNamespace, type TestApi } from './api-helpers.ts';

const mergePatch = { 'content-type': 'application/merge-patch+json' };
const deployment = (name: string, replicas = 2) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name },
  spec: {
    replicas,
    selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } },
  },
});

describe('built-in kinds through the API', () => {
  let t: TestApi;
  before(async () => {
    t = await apiServer();
    await createNamespace(t.app, 'default');
  });
  after(async () => t.close());

  const deploys = '/apis/apps/v1/namespaces/default/deployments';

  it('deployment: defaults, generation, status ignored on main resource', async () => {
    const r = await t.app.inject({ method: 'POST', url: deploys, payload: { ...deployment('web'), status: { replicas: 9 } } });
    assert.equal(r.statusCode, 201, r.body);
    const d = r.json();
    assert.equal(d.metadata.generation, 1);
    assert.deepEqual(d.status, {});
    assert.equal(d.spec.strategy.type, 'RollingUpdate');
    assert.equal(d.spec.template.spec.containers[0].imagePullPolicy, 'Always');
    assert.equal(d.spec.template.spec.restartPolicy, 'Always');
    const labels = await t.app.inject({ method: 'PATCH', url: `${deploys}/web`, headers: mergePatch, payload: JSON.stringify({ metadata: { labels: { a: 'b' } } }) });
    assert.equal(labels.json().metadata.generation, 1, 'metadata changes do not bump generation');
    const spec = await t.app.inject({ method: 'PATCH', url: `${deploys}/web`, headers: { 'content-type': 'application/strategic-merge-patch+json' }, payload: JSON.stringify({ spec: { template: { spec: { containers: [{ name: 'c', image: 'nginx:2' }] } } } }) });
    const sd = spec.json();
    assert.equal(sd.metadata.generation, 2);
    assert.equal(sd.spec.template.spec.containers[0].image, 'nginx:2');
    assert.equal(sd.spec.template.spec.containers[0].terminationMessagePath, '/dev/termination-log', 'strategic merge keeps other container fields');
    const st = await t.app.inject({ method: 'PUT', url: `${deploys}/web/status`, payload: { ...sd, spec: { ...sd.spec, replicas: 7 }, status: { replicas: 2, observedGeneration: 2 } } });
    assert.equal(st.statusCode, 200, st.body);
    assert.equal(st.json().status.replicas, 2);
    assert.equal(st.json().spec.replicas, 2, '/status ignores spec');
    assert.equal(st.json().metadata.generation, 2);
  });

  it('deployment: 422 with grouped kind, immutable selector', async () => {
    const bad = deployment('bad');
    bad.spec.template.metadata.labels = { app: 'other' };
    const r = await t.app.inject({ method: 'POST', url: deploys, payload: bad });
    assert.equal(r.statusCode, 422);
    assert.match(r.json().message, /^Deployment\.apps "bad" is invalid: spec\.template\.metadata\.labels: Invalid value/);
    assert.equal(r.json().details.group, 'apps');
    const nf = await t.app.inject({ method: 'GET', url: `${deploys}/nope` });
    assert.equal(nf.json().message, 'deployments.apps "nope" not found');
    assert.equal(nf.json().details.group, 'apps');
    const sel = await t.app.inject({ method: 'PATCH', url: `${deploys}/web`, headers: mergePatch, payload: JSON.stringify({ spec: { selector: { matchLabels: { app: 'x' } }, template: { metadata: { labels: { app: 'x' } } } } }) });
    assert.equal(sel.statusCode, 422);
    assert.match(sel.json().message, /spec\.selector: Invalid value: .*field is immutable/);
  });

  it('scale subresource', async () => {
    const s = await t.app.inject({ method: 'GET', url: `${deploys}/web/scale` });
    assert.deepEqual(
      { kind: s.json().kind, apiVersion: s.json().apiVersion, spec: s.json().spec, selector: s.json().status.selector },
      { kind: 'Scale', apiVersion: 'autoscaling/v1', spec: { replicas: 2 }, selector: 'app=web' },
    );
    const p = await t.app.inject({ method: 'PATCH', url: `${deploys}/web/scale`, headers: mergePatch, payload: JSON.stringify({ spec: { replicas: 5 } }) });
    assert.equal(p.statusCode, 200, p.body);
    assert.equal(p.json().spec.replicas, 5);
    const d = (await t.app.inject({ method: 'GET', url: `${deploys}/web` })).json();
    assert.equal(d.spec.replicas, 5);
    assert.equal(d.metadata.generation, 3);
    const neg = await t.app.inject({ method: 'PATCH', url: `${deploys}/web/scale`, headers: mergePatch, payload: JSON.stringify({ spec: { replicas: -1 } }) });
    assert.equal(neg.statusCode, 422);
  });

  it('pods: defaults, pending status, binding, graceful delete', async () => {
    const url = '/api/v1/namespaces/default/pods';
    const r = await t.app.inject({ method: 'POST', url, payload: { metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'busybox:1.36' }] } } });
    assert.equal(r.statusCode, 201, r.body);
    const p = r.json();
    assert.equal(p.status.phase, 'Pending');
    assert.equal(p.status.qosClass, 'BestEffort');
    assert.equal(p.spec.containers[0].imagePullPolicy, 'IfNotPresent');
    assert.equal(p.spec.serviceAccountName, 'default');
    assert.equal(p.spec.terminationGracePeriodSeconds, 30);
    const missingImage = await t.app.inject({ method: 'POST', url, payload: { metadata: { name: 'q' }, spec: { containers: [{ name: 'c' }] } } });
    assert.equal(missingImage.statusCode, 422);
    assert.equal(missingImage.json().message, 'Pod "q" is invalid: spec.containers[0].image: Required value');
    const b = await t.app.inject({ method: 'POST', url: `${url}/p/binding`, payload: { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'p' }, target: { kind: 'Node', name: 'n1' } } });
    assert.equal(b.statusCode, 201, b.body);
    const again = await t.app.inject({ method: 'POST', url: `${url}/p/binding`, payload: { target: { kind: 'Node', name: 'n2' } } });
    assert.equal(again.statusCode, 409);
    const bound = (await t.app.inject({ method: 'GET', url: `${url}/p` })).json();
    assert.equal(bound.spec.nodeName, 'n1');
    const del = await t.app.inject({ method: 'DELETE', url: `${url}/p` });
    assert.equal(del.statusCode, 200);
    assert.equal(del.json().kind, 'Pod');
    assert.equal(del.json().metadata.deletionGracePeriodSeconds, 30);
    const term = await t.app.inject({ method: 'GET', url: `${url}/p`, headers: { accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' } });
    assert.equal(term.json().rows[0].cells[2], 'Terminating');
    const now = await t.app.inject({ method: 'DELETE', url: `${url}/p?gracePeriodSeconds=0` });
    assert.equal(now.statusCode, 200);
    assert.equal((await t.app.inject({ method: 'GET', url: `${url}/p` })).statusCode, 404);
  });

  it('namespaces: Terminating blocks creates; finalize removes it', async () => {
    await createNamespace(t.app, 'gone');
    const d = await t.app.inject({ method: 'DELETE', url: '/api/v1/namespaces/gone' });
    assert.equal(d.statusCode, 200);
    assert.equal(d.json().status.phase, 'Terminating');
    const c = await t.app.inject({ method: 'POST', url: '/api/v1/namespaces/gone/configmaps', payload: { metadata: { name: 'x' } } });
    assert.equal(c.statusCode, 403);
    assert.equal(c.json().message, 'configmaps "x" is forbidden: unable to create new content in namespace gone because it is being terminated');
    const ns = d.json();
    const f = await t.app.inject({ method: 'PUT', url: '/api/v1/namespaces/gone/finalize', payload: { ...ns, spec: { finalizers: [] } } });
    assert.equal(f.statusCode, 200, f.body);
    assert.equal((await t.app.inject({ method: 'GET', url: '/api/v1/namespaces/gone' })).statusCode, 404);
    const ns2 = (await t.app.inject({ method: 'GET', url: '/api/v1/namespaces/default' })).json();
    assert.equal(ns2.metadata.labels['kubernetes.io/metadata.name'], 'default');
  });

  it('secrets: stringData folded into data, type field selector', async () => {
    const url = '/api/v1/namespaces/default/secrets';
    const r = await t.app.inject({ method: 'POST', url, payload: { metadata: { name: 's' }, stringData: { pw: 'hunter2' } } });
    assert.equal(r.statusCode, 201, r.body);
    assert.deepEqual(r.json().data, { pw: Buffer.from('hunter2').toString('base64') });
    assert.equal(r.json().type, 'Opaque');
    assert.equal(r.json().stringData, undefined);
    const tls = await t.app.inject({ method: 'POST', url, payload: { metadata: { name: 't' }, type: 'kubernetes.io/tls', data: {} } });
    assert.equal(tls.statusCode, 422);
    const l = (await t.app.inject({ method: 'GET', url: `${url}?fieldSelector=type%3DOpaque` })).json();
    assert.equal(l.items.length, 1);
  });

  it('events in core/v1 and events.k8s.io/v1 are the same objects', async () => {
    const r = await t.app.inject({
      method: 'POST',
      url: '/apis/events.k8s.io/v1/namespaces/default/events',
      payload: { metadata: { name: 'e1' }, regarding: { kind: 'Pod', name: 'p', namespace: 'default' }, note: 'hello', reason: 'Test', type: 'Normal', reportingController: 'me', reportingInstance: 'me-1', action: 'Do', eventTime: '2025-01-01T00:00:00.000000Z' },
    });
    assert.equal(r.statusCode, 201, r.body);
    const core = (await t.app.inject({ method: 'GET', url: '/api/v1/namespaces/default/events/e1' })).json();
    assert.equal(core.message, 'hello');
    assert.equal(core.involvedObject.name, 'p');
    assert.equal(core.reportingComponent, 'me');
    const sel = (await t.app.inject({ method: 'GET', url: '/api/v1/namespaces/default/events?fieldSelector=involvedObject.kind%3DPod,involvedObject.name%3Dp' })).json();
    assert.equal(sel.items.length, 1);
  });

  it('HPA served as v2 and v1', async () => {
    const r = await t.app.inject({
      method: 'POST',
      url: '/apis/autoscaling/v1/namespaces/default/horizontalpodautoscalers',
      payload: { metadata: { name: 'h' }, spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' }, maxReplicas: 5, targetCPUUtilizationPercentage: 50 } },
    });
    assert.equal(r.statusCode, 201, r.body);
    assert.equal(r.json().apiVersion, 'autoscaling/v1');
    assert.equal(r.json().spec.targetCPUUtilizationPercentage, 50);
    const v2 = (await t.app.inject({ method: 'GET', url: '/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers/h' })).json();
    assert.equal(v2.spec.metrics[0].resource.target.averageUtilization, 50);
  });

  it('reviews are create-only and answer from the request user', async () => {
    const r = await t.app.inject({ method: 'POST', url: '/apis/authentication.k8s.io/v1/selfsubjectreviews', payload: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' } });
    assert.equal(r.statusCode, 201);
    assert.equal(r.json().status.userInfo.username, 'admin');
    const ssar = await t.app.inject({ method: 'POST', url: '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', payload: { spec: { resourceAttributes: { verb: 'get', resource: 'pods' } } } });
    assert.equal(ssar.json().status.allowed, true);
    const get = await t.app.inject({ method: 'GET', url: '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews' });
    assert.equal(get.statusCode, 405);
    assert.equal(get.json().reason, 'MethodNotAllowed');
  });

  it('unknown content type → 415; cluster-wide POST of a namespaced kind → 405', async () => {
    const r = await t.app.inject({ method: 'POST', url: '/api/v1/namespaces/default/configmaps', headers: { 'content-type': 'text/plain' }, payload: 'x' });
    assert.equal(r.statusCode, 415);
    assert.equal(r.json().message, 'the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf');
    const c = await t.app.inject({ method: 'POST', url: '/api/v1/configmaps', payload: { metadata: { name: 'x' } } });
    assert.equal(c.statusCode, 405);
  });

  it('deletecollection with a selector', async () => {
    const url = '/api/v1/namespaces/default/configmaps';
    for (const n of ['a', 'b', 'c']) await t.app.inject({ method: 'POST', url, payload: { metadata: { name: n, labels: { batch: n === 'c' ? 'no' : 'yes' } } } });
    const r = await t.app.inject({ method: 'DELETE', url: `${url}?labelSelector=batch%3Dyes` });
    assert.equal(r.statusCode, 200);
    assert.equal(r.json().kind, 'ConfigMapList');
    const left = (await t.app.inject({ method: 'GET', url: `${url}?labelSelector=batch` })).json();
    assert.deepEqual(left.items.map((i: { metadata: { name: string } }) => i.metadata.name), ['c']);
  });
});
