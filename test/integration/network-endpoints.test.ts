// Endpoints, EndpointSlice and mirroring controllers against the real resource API.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApi, type TestApi } from '../helpers/api.ts';
import { waitFor } from '../helpers/wait.ts';
import { startNetworkControllers } from '../../src/network/controllers.ts';
import { endpointSlicesRef, endpointsRef, podsRef, servicesRef, type EndpointsObj, type SliceObj } from '../../src/network/endpoint-model.ts';
import type { Client, KubeObject } from '../../src/client/types.ts';

async function setup(t: { after(fn: () => Promise<void>): void }, opts: { maxEndpointsPerSlice?: number } = {}): Promise<{ api: TestApi; client: Client }> {
  const api = await startTestApi();
  const abort = new AbortController();
  const running = await startNetworkControllers({ client: api.newClient('network-controllers'), ...opts }, abort.signal);
  t.after(async () => {
    abort.abort();
    await running.done;
    await api.close();
  });
  return { api, client: api.client };
}

async function pod(client: Client, name: string, o: { labels?: Record<string, string>; ip?: string; ready?: boolean; ports?: Array<{ name: string; containerPort: number }>; hostname?: string; subdomain?: string; ns?: string }): Promise<KubeObject> {
  const ns = o.ns ?? 'default';
  const created = await client.create(podsRef, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: ns, labels: o.labels ?? { app: 'web' } },
    spec: { nodeName: 'node-1', ...(o.hostname ? { hostname: o.hostname } : {}), ...(o.subdomain ? { subdomain: o.subdomain } : {}), containers: [{ name: 'c', image: 'busybox', ports: o.ports ?? [] }] },
  });
  if (!o.ip) return created;
  return client.patch(podsRef, name, 'merge', { status: { phase: 'Running', podIP: o.ip, podIPs: [{ ip: o.ip }], conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True' }] } }, { namespace: ns, subresource: 'status' });
}

async function service(client: Client, name: string, spec: Record<string, unknown>, ns = 'default'): Promise<KubeObject> {
  return client.create(servicesRef, { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: ns, labels: { tier: 'front' } }, spec: { ports: [{ port: 80, targetPort: 8080 }], selector: { app: 'web' }, ...spec } });
}

async function slicesOf(client: Client, svc: string, ns = 'default'): Promise<SliceObj[]> {
  const l = await client.list<SliceObj>(endpointSlicesRef, { namespace: ns, labelSelector: `kubernetes.io/service-name=${svc}` });
  return l.items;
}

const summary = (slices: SliceObj[]) =>
  slices
    .flatMap((s) => s.endpoints.map((e) => `${e.addresses[0]} r=${e.conditions?.ready} s=${e.conditions?.serving} t=${e.conditions?.terminating}${e.hostname ? ` h=${e.hostname}` : ''}`))
    .sort();

test('slices and Endpoints follow pod readiness; terminating pods stay in slices only', async (t) => {
  const { client } = await setup(t);
  await pod(client, 'a', { ip: '10.42.0.2' });
  await pod(client, 'b', { ip: '10.42.0.3', ready: false });
  await pod(client, 'c', {}); // no IP yet: not an endpoint
  await pod(client, 'other', { ip: '10.42.0.9', labels: { app: 'db' } });
  await service(client, 'web', {});

  const slices = await waitFor(async () => {
    const s = await slicesOf(client, 'web');
    return summary(s).length === 2 ? s : undefined;
  }, { what: 'two endpoints in the slices', timeoutMs: 5000, intervalMs: 20 });
  assert.deepEqual(summary(slices), ['10.42.0.2 r=true s=true t=false', '10.42.0.3 r=false s=false t=false']);
  const s0 = slices[0]!;
  assert.equal(s0.metadata.labels?.['endpointslice.kubernetes.io/managed-by'], 'endpointslice-controller.k8s.io');
  assert.equal(s0.metadata.labels?.tier, 'front', 'service labels are copied');
  assert.equal(s0.metadata.ownerReferences?.[0]?.kind, 'Service');
  assert.deepEqual(s0.ports, [{ name: '', port: 8080, protocol: 'TCP' }]);
  assert.equal(s0.endpoints[0]?.nodeName, 'node-1');
  assert.equal(s0.endpoints[0]?.targetRef?.name, 'a');

  const eps = await waitFor(() => client.get<EndpointsObj>(endpointsRef, 'web', 'default').catch(() => undefined), { timeoutMs: 5000, intervalMs: 20 });
  assert.deepEqual(eps.subsets?.[0]?.addresses?.map((a) => a.ip), ['10.42.0.2']);
  assert.deepEqual(eps.subsets?.[0]?.notReadyAddresses?.map((a) => a.ip), ['10.42.0.3']);

  // Graceful deletion (the pod has a finalizer so it stays, terminating).
  await client.patch(podsRef, 'a', 'merge', { metadata: { finalizers: ['test/hold'] } }, { namespace: 'default' });
  await client.delete(podsRef, 'a', { namespace: 'default' });
  await waitFor(async () => summary(await slicesOf(client, 'web')).includes('10.42.0.2 r=false s=true t=true'), { what: 'terminating endpoint', timeoutMs: 5000, intervalMs: 20 });
  await waitFor(async () => {
    const e = await client.get<EndpointsObj>(endpointsRef, 'web', 'default');
    return !JSON.stringify(e.subsets ?? []).includes('10.42.0.2');
  }, { what: 'terminating pod out of Endpoints', timeoutMs: 5000, intervalMs: 20 });
  await client.patch(podsRef, 'a', 'merge', { metadata: { finalizers: [] } }, { namespace: 'default' });
  await waitFor(async () => !summary(await slicesOf(client, 'web')).some((l) => l.startsWith('10.42.0.2 ')), { what: 'deleted pod gone', timeoutMs: 5000, intervalMs: 20 });
});

test('named target ports, publishNotReadyAddresses, headless hostnames', async (t) => {
  const { client } = await setup(t);
  await pod(client, 'p1', { ip: '10.42.0.11', ports: [{ name: 'http', containerPort: 8081 }], hostname: 'p1', subdomain: 'hs' });
  await pod(client, 'p2', { ip: '10.42.0.12', ports: [{ name: 'http', containerPort: 8082 }], ready: false });
  await pod(client, 'p3', { ip: '10.42.0.13' }); // no port named http: skipped
  await service(client, 'hs', { clusterIP: 'None', publishNotReadyAddresses: true, ports: [{ port: 80, targetPort: 'http' }] });
  const slices = await waitFor(async () => {
    const s = await slicesOf(client, 'hs');
    return summary(s).length === 2 ? s : undefined;
  }, { what: 'slices per port mapping', timeoutMs: 5000, intervalMs: 20 });
  assert.equal(slices.length, 2, 'one slice per distinct resolved port');
  assert.deepEqual(slices.map((s) => s.ports?.[0]?.port).sort(), [8081, 8082]);
  assert.deepEqual(summary(slices), ['10.42.0.11 r=true s=true t=false h=p1', '10.42.0.12 r=true s=false t=false']);
  assert.ok(slices.every((s) => s.metadata.labels?.['service.kubernetes.io/headless'] === ''));
});

test('more than 100 endpoints split into slices of at most 100', async (t) => {
  const { client } = await setup(t);
  await service(client, 'big', {});
  await Promise.all(Array.from({ length: 230 }, (_, i) => pod(client, `p${i}`, { ip: `10.42.${1 + Math.floor(i / 200)}.${(i % 200) + 2}` })));
  const slices = await waitFor(async () => {
    const s = await slicesOf(client, 'big');
    // The empty placeholder slice goes after the full ones are written: wait for the settled state.
    return summary(s).length === 230 && s.length === 3 ? s : undefined;
  }, { what: '230 endpoints in 3 slices', timeoutMs: 15000, intervalMs: 50 });
  assert.deepEqual(slices.map((s) => s.endpoints.length).sort((a, b) => a - b), [30, 100, 100]);
  assert.equal(new Set(summary(slices)).size, 230, 'no endpoint twice');
});

test('Services without a selector: manual Endpoints are mirrored into slices', async (t) => {
  const { client } = await setup(t);
  await service(client, 'ext', { selector: undefined, ports: [{ name: 'db', port: 5432 }] });
  await client.create(endpointsRef, {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { name: 'ext', namespace: 'default' },
    subsets: [{ addresses: [{ ip: '192.0.2.10' }], notReadyAddresses: [{ ip: '192.0.2.11' }], ports: [{ name: 'db', port: 5432 }] }],
  });
  const slices = await waitFor(async () => {
    const s = await slicesOf(client, 'ext');
    return summary(s).length === 2 ? s : undefined;
  }, { what: 'mirrored slice', timeoutMs: 5000, intervalMs: 20 });
  assert.equal(slices[0]!.metadata.labels?.['endpointslice.kubernetes.io/managed-by'], 'endpointslicemirroring-controller.k8s.io');
  assert.deepEqual(summary(slices), ['192.0.2.10 r=true s=undefined t=undefined', '192.0.2.11 r=false s=undefined t=undefined']);
  // Deleting the Endpoints removes the mirror.
  await client.delete(endpointsRef, 'ext', { namespace: 'default' });
  await waitFor(async () => (await slicesOf(client, 'ext')).length === 0, { what: 'mirror removed', timeoutMs: 5000, intervalMs: 20 });
  // The controller never writes Endpoints for a selector-less Service.
  await assert.rejects(client.get(endpointsRef, 'ext', 'default'), /not found/);
});
