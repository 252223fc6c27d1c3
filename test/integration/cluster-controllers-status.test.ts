// PDB status, quota usage and HPA scaling, each controller running against the real resource API.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApi, type TestApi } from '../helpers/api.ts';
import { waitFor } from '../helpers/wait.ts';
import type { Client, KubeObject, ResourceRef } from '../../src/client/types.ts';
import { startClusterControllers, type RunningClusterControllers } from '../../src/controllers/cluster.ts';
import { registryCatalog } from '../../src/controllers/garbagecollector/resources.ts';
import { builtinRegistry } from '../../src/registry/index.ts';

const pods: ResourceRef = { group: '', version: 'v1', resource: 'pods', namespaced: true };
const pdbs: ResourceRef = { group: 'policy', version: 'v1', resource: 'poddisruptionbudgets', namespaced: true };
const quotas: ResourceRef = { group: '', version: 'v1', resource: 'resourcequotas', namespaced: true };
const deployments: ResourceRef = { group: 'apps', version: 'v1', resource: 'deployments', namespaced: true };
const hpas: ResourceRef = { group: 'autoscaling', version: 'v2', resource: 'horizontalpodautoscalers', namespaced: true };

async function readyPod(c: Client, name: string, labels: Record<string, string>, cpu = '100m'): Promise<void> {
  await c.create(pods, { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', labels }, spec: { containers: [{ name: 'c', image: 'i', resources: { requests: { cpu } } }] } });
  await c.patch(pods, name, 'merge', { status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] } }, { namespace: 'default', subresource: 'status' });
}

describe('PDB, quota and HPA controllers', () => {
  let api: TestApi;
  let c: Client;
  let running: RunningClusterControllers;
  const ctl = new AbortController();
  const usage = new Map<string, Record<string, number>>();

  before(async () => {
    api = await startTestApi();
    c = api.client;
    running = await startClusterControllers(
      {
        clientFor: (n) => api.newClient(n),
        catalog: registryCatalog(builtinRegistry()),
        caPem: 'x',
        only: ['disruption', 'resourcequota', 'horizontalpodautoscaling'],
        metrics: { podMetrics: async (_ns, names) => new Map(names.filter((n) => usage.has(n)).map((n) => [n, usage.get(n)!])) },
      },
      ctl.signal,
    );
  });
  after(async () => {
    ctl.abort();
    await running.done;
    await api.close();
  });

  it('PDB status follows its pods', async () => {
    await c.create(pdbs, { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: 'web', namespace: 'default' }, spec: { minAvailable: 2, selector: { matchLabels: { app: 'web' } } } });
    for (const n of ['web-1', 'web-2', 'web-3']) await readyPod(c, n, { app: 'web' });
    const st = (o: KubeObject) => o.status as { currentHealthy: number; desiredHealthy: number; disruptionsAllowed: number; expectedPods: number; conditions: Array<{ type: string; status: string; reason: string }> } | undefined;
    const pdb = await waitFor(async () => {
      const p = await c.get(pdbs, 'web', 'default');
      return st(p)?.currentHealthy === 3 ? p : undefined;
    }, { timeoutMs: 5000, what: 'PDB status' });
    assert.deepEqual([st(pdb)!.expectedPods, st(pdb)!.desiredHealthy, st(pdb)!.disruptionsAllowed], [3, 2, 1]);
    assert.deepEqual(st(pdb)!.conditions.map((x) => [x.type, x.status, x.reason]), [['DisruptionAllowed', 'True', 'SufficientPods']]);
    await c.delete(pods, 'web-3', { namespace: 'default' });
    await waitFor(async () => st(await c.get(pdbs, 'web', 'default'))?.disruptionsAllowed === 0, { timeoutMs: 5000, what: 'no disruptions allowed' });
  });

  it('quota status.used counts the namespace', async () => {
    await c.create(quotas, { apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'q', namespace: 'default' }, spec: { hard: { pods: '10', 'requests.cpu': '2', configmaps: '5' } } });
    const used = () => c.get(quotas, 'q', 'default').then((q) => (q.status as { used?: Record<string, string> } | undefined)?.used);
    const first = await waitFor(used, { timeoutMs: 5000, what: 'quota status' });
    const podCount = (await c.list(pods, { namespace: 'default' })).items.length;
    assert.equal(first.pods, String(podCount));
    await readyPod(c, 'extra', { app: 'other' }, '500m');
    await waitFor(async () => (await used())?.pods === String(podCount + 1), { timeoutMs: 5000, what: 'pod counted' });
    assert.equal((await used())!['requests.cpu'], `${podCount * 100 + 500}m`);
  });

  it('HPA scales a Deployment from pod CPU utilization', async () => {
    await c.create(deployments, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'api', namespace: 'default' },
      spec: { replicas: 2, selector: { matchLabels: { app: 'api' } }, template: { metadata: { labels: { app: 'api' } }, spec: { containers: [{ name: 'c', image: 'i' }] } } },
    });
    for (const n of ['api-1', 'api-2']) {
      await readyPod(c, n, { app: 'api' }, '100m');
      usage.set(n, { cpu: 150 }); // 150% of request against a 50% target → ×3
    }
    await c.create(hpas, {
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: { name: 'api', namespace: 'default' },
      spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'api' }, minReplicas: 1, maxReplicas: 5, metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } } }] },
    });
    await waitFor(async () => ((await c.get(deployments, 'api', 'default')).spec as { replicas: number }).replicas === 5, { timeoutMs: 5000, what: 'scaled to maxReplicas' });
    const hpa = await waitFor(async () => {
      const h = await c.get(hpas, 'api', 'default');
      return (h.status as { desiredReplicas?: number }).desiredReplicas === 5 ? h : undefined;
    }, { timeoutMs: 5000 });
    const status = hpa.status as { conditions: Array<{ type: string; status: string; reason: string }>; currentMetrics: Array<{ resource: { current: { averageUtilization: number } } }> };
    const byType = Object.fromEntries(status.conditions.map((x) => [x.type, `${x.status}/${x.reason}`]));
    assert.equal(byType.ScalingActive, 'True/ValidMetricFound');
    assert.equal(byType.ScalingLimited, 'True/TooManyReplicas');
    assert.equal(byType.AbleToScale, 'True/SucceededRescale');
    assert.equal(status.currentMetrics[0]!.resource.current.averageUtilization, 150);
  });
});
