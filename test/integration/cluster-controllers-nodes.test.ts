// Node lifecycle (lease silence → Unknown + unreachable taints → taint-based eviction) and pod GC,
// driven by a fake clock: each pass is run explicitly, nothing waits 40 real seconds.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApi, type TestApi } from '../helpers/api.ts';
import { waitFor } from '../helpers/wait.ts';
import { isNotFound, type Client, type KubeObject, type ResourceRef } from '../../src/client/types.ts';
import { SharedInformers } from '../../src/client/shared-informers.ts';
import { NodeLifecycleController } from '../../src/controllers/nodelifecycle/nodelifecycle.ts';
import { PodGC } from '../../src/controllers/podgc/podgc.ts';
import { rfc3339Micro } from '../../src/api/meta.ts';

const nodes: ResourceRef = { group: '', version: 'v1', resource: 'nodes', namespaced: false };
const pods: ResourceRef = { group: '', version: 'v1', resource: 'pods', namespaced: true };
const leases: ResourceRef = { group: 'coordination.k8s.io', version: 'v1', resource: 'leases', namespaced: true };

type Cond = { type: string; status: string; reason?: string; message?: string };
const conds = (o: KubeObject) => ((o.status as { conditions?: Cond[] } | undefined)?.conditions ?? []);
const taints = (o: KubeObject) => ((o.spec as { taints?: Array<{ key: string; effect: string }> } | undefined)?.taints ?? []);

async function podOn(c: Client, name: string, node: string, tolerations?: unknown[], phase?: string): Promise<KubeObject> {
  const p = await c.create(pods, { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default' }, spec: { nodeName: node, containers: [{ name: 'c', image: 'i' }], ...(tolerations ? { tolerations } : {}) } });
  if (phase) await c.patch(pods, name, 'merge', { status: { phase } }, { namespace: 'default', subresource: 'status' });
  return p;
}

describe('node lifecycle and pod GC (fake clock)', () => {
  let api: TestApi;
  let c: Client;
  let informers: SharedInformers;
  let clock = Date.parse('2030-01-01T00:00:00Z');
  const now = () => clock;
  const ctl = new AbortController();
  let nlc: NodeLifecycleController;
  let gc: PodGC;

  before(async () => {
    api = await startTestApi();
    c = api.client;
    informers = new SharedInformers(api.newClient('informers'));
    nlc = new NodeLifecycleController({ client: c, informers, now });
    gc = new PodGC({ client: c, informers, now, terminatedPodThreshold: 2 });
    informers.start(ctl.signal);
    await informers.waitForSync(ctl.signal);
  });
  after(async () => {
    ctl.abort();
    await api.close();
  });

  const cached = (ref: ResourceRef, name: string, ns?: string) => informers.informerFor(ref, ref === leases ? { namespace: 'kube-node-lease' } : {}).get(name, ns);

  it('a node whose lease stops being renewed turns Unknown with unreachable taints after 40 s, and pods are evicted per tolerationSeconds', async () => {
    await c.create(nodes, { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' } });
    await c.patch(nodes, 'n1', 'merge', { status: { conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', lastHeartbeatTime: '2030-01-01T00:00:00Z', lastTransitionTime: '2030-01-01T00:00:00Z' }] } }, { subresource: 'status' });
    await c.create(leases, { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'n1', namespace: 'kube-node-lease' }, spec: { holderIdentity: 'n1', leaseDurationSeconds: 40, renewTime: rfc3339Micro(clock) } });
    await podOn(c, 'plain', 'n1');
    await podOn(c, 'short', 'n1', [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 10 }]);
    await podOn(c, 'forever', 'n1', [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' }]);
    await waitFor(() => cached(pods, 'forever', 'default') && cached(leases, 'n1', 'kube-node-lease') && conds(cached(nodes, 'n1')!).length > 0, { timeoutMs: 5000 });

    await nlc.monitorOnce(); // first sight of the heartbeat
    // The lease keeps being renewed for 30 s: still Ready.
    clock += 30_000;
    await c.patch(leases, 'n1', 'merge', { spec: { renewTime: rfc3339Micro(clock) } }, { namespace: 'kube-node-lease' });
    await waitFor(() => (cached(leases, 'n1', 'kube-node-lease')!.spec as { renewTime: string }).renewTime === rfc3339Micro(clock), { timeoutMs: 5000 });
    await nlc.monitorOnce();
    clock += 39_000;
    await nlc.monitorOnce();
    assert.equal(conds(await c.get(nodes, 'n1')).find((x) => x.type === 'Ready')?.status, 'True', '39 s of silence is within the grace period');

    clock += 2_000;
    await nlc.monitorOnce();
    const n1 = await c.get(nodes, 'n1');
    const ready = conds(n1).find((x) => x.type === 'Ready')!;
    assert.equal(ready.status, 'Unknown');
    assert.equal(ready.reason, 'NodeStatusUnknown');
    assert.equal(ready.message, 'Kubelet stopped posting node status.');
    await waitFor(async () => taints(await c.get(nodes, 'n1')).length === 2 || (await nlc.monitorOnce(), false), { timeoutMs: 5000, what: 'taints' });
    assert.deepEqual(taints(await c.get(nodes, 'n1')).map((t) => `${t.key}:${t.effect}`).sort(), ['node.kubernetes.io/unreachable:NoExecute', 'node.kubernetes.io/unreachable:NoSchedule']);
    await waitFor(() => taints(cached(nodes, 'n1')!).length === 2, { timeoutMs: 5000 });

    const deleting = async (name: string) => !!(await c.get(pods, name, 'default')).metadata.deletionTimestamp;
    clock += 9_000;
    await nlc.monitorOnce();
    assert.equal(await deleting('short'), false, 'tolerationSeconds 10 not yet over');
    clock += 2_000;
    await nlc.monitorOnce();
    assert.equal(await deleting('short'), true);
    const short = await c.get(pods, 'short', 'default');
    assert.equal(conds(short).find((x) => x.type === 'DisruptionTarget')?.reason, 'DeletionByTaintManager');
    assert.equal(await deleting('plain'), false, 'no toleration = 300 s by default');
    clock += 300_000;
    await nlc.monitorOnce();
    assert.equal(await deleting('plain'), true);
    assert.equal(await deleting('forever'), false, 'no tolerationSeconds = tolerated forever');

    // The kubelet comes back: Ready again, taints removed.
    await c.patch(nodes, 'n1', 'merge', { status: { conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', lastHeartbeatTime: rfc3339Micro(clock), lastTransitionTime: '2030-01-01T00:00:00Z' }] } }, { subresource: 'status' });
    await waitFor(() => conds(cached(nodes, 'n1')!).find((x) => x.type === 'Ready')?.status === 'True', { timeoutMs: 5000 });
    await nlc.monitorOnce();
    assert.deepEqual(taints(await c.get(nodes, 'n1')), []);
  });

  it('cordon adds the unschedulable taint; a Ready=False node gets not-ready taints', async () => {
    await c.create(nodes, { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n2' }, spec: { unschedulable: true } });
    await c.patch(nodes, 'n2', 'merge', { status: { conditions: [{ type: 'Ready', status: 'False', reason: 'KubeletNotReady' }] } }, { subresource: 'status' });
    await waitFor(() => conds(cached(nodes, 'n2') ?? { metadata: {} }).length > 0, { timeoutMs: 5000 });
    await nlc.monitorOnce();
    assert.deepEqual(taints(await c.get(nodes, 'n2')).map((t) => `${t.key}:${t.effect}`).sort(), ['node.kubernetes.io/not-ready:NoExecute', 'node.kubernetes.io/not-ready:NoSchedule', 'node.kubernetes.io/unschedulable:NoSchedule']);
  });

  it('pod GC: finished pods beyond the threshold go oldest first; pods of deleted nodes go after the quarantine', async () => {
    await c.create(nodes, { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n3' } });
    for (const n of ['done-1', 'done-2', 'done-3', 'done-4']) await podOn(c, n, 'n3', undefined, 'Succeeded');
    await podOn(c, 'orphan', 'ghost-node');
    await waitFor(() => ['done-4', 'orphan'].every((n) => cached(pods, n, 'default')) && (cached(pods, 'done-4', 'default')!.status as { phase?: string }).phase === 'Succeeded', { timeoutMs: 5000 });
    await gc.gcOnce();
    const left = async () => (await c.list(pods, { namespace: 'default' })).items.map((p) => p.metadata.name).filter((n) => n!.startsWith('done-')).sort();
    assert.deepEqual(await left(), ['done-3', 'done-4']);
    assert.ok(await c.get(pods, 'orphan', 'default'), 'quarantine not over');
    clock += 41_000;
    await gc.gcOnce();
    await assert.rejects(c.get(pods, 'orphan', 'default'), (e) => isNotFound(e));
  });

  it('pod GC: terminating pods on a not-ready node with the out-of-service taint are force-deleted', async () => {
    await c.create(nodes, { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n4' } });
    await podOn(c, 'stuck', 'n4');
    await c.delete(pods, 'stuck', { namespace: 'default' }); // graceful: 30 s, waits for a kubelet
    await waitFor(() => cached(pods, 'stuck', 'default')?.metadata.deletionTimestamp, { timeoutMs: 5000 });
    await gc.gcOnce();
    assert.ok(await c.get(pods, 'stuck', 'default'), 'a healthy node keeps its terminating pods');
    await c.patch(nodes, 'n4', 'merge', { spec: { taints: [{ key: 'node.kubernetes.io/out-of-service', value: 'nodeshutdown', effect: 'NoExecute' }] } });
    await c.patch(nodes, 'n4', 'merge', { status: { conditions: [{ type: 'Ready', status: 'False' }] } }, { subresource: 'status' });
    await waitFor(() => conds(cached(nodes, 'n4')!).length > 0 && taints(cached(nodes, 'n4')!).length > 0, { timeoutMs: 5000 });
    await gc.gcOnce();
    await assert.rejects(c.get(pods, 'stuck', 'default'), (e) => isNotFound(e));
  });
});
