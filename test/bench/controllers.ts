// `npm run bench -- controllers`: a 100-replica Deployment from create to all pods Ready, against
// creating 100 pods straight through the API in the same run (both with the fake kubelet binding
// and readying pods). Goal: the Deployment path within 1.5x of the raw pod path.
import { performance } from 'node:perf_hooks';
import { startTestApi } from '../helpers/api.ts';
import { startFakeKubelet } from '../helpers/fake-kubelet.ts';
import { waitFor } from '../helpers/wait.ts';
import { startWorkloadControllers } from '../../src/controllers/index.ts';
import { isPodReady, refs, type PodObject } from '../../src/controllers/replicaset/podutil.ts';
import type { DeploymentObj } from '../../src/controllers/deployment/util.ts';
import { setLogLevel } from '../../src/util/log.ts';
import type { Client } from '../../src/client/types.ts';

async function readyPods(client: Client, namespace: string, selector: string): Promise<number> {
  const pods = await client.list<PodObject>(refs.pods, { namespace, labelSelector: selector });
  return pods.items.filter(isPodReady).length;
}

const namespaces = { group: '', version: 'v1', resource: 'namespaces', namespaced: false };

async function once(replicas: number): Promise<{ rawMs: number; deploymentMs: number }> {
  const api = await startTestApi();
  const ac = new AbortController();
  try {
    const kubelet = await startFakeKubelet(api.newClient('fake-kubelet'), { nodes: ['n1', 'n2', 'n3'], workers: 16 });
    await startWorkloadControllers(api.newClient('controllers'), { signal: ac.signal, only: ['replicaset', 'deployment'] });
    await api.client.create(namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'raw' } });
    await api.client.create(namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'dep' } });
    const template = { metadata: { labels: { app: 'bench' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } };

    // Raw: what a client creating pods itself (all at once) gets from the same API and kubelet.
    let t = performance.now();
    const raw = api.newClient('raw');
    await Promise.all(Array.from({ length: replicas }, (_, i) => raw.create(refs.pods, { apiVersion: 'v1', kind: 'Pod', metadata: { name: `p-${i}`, namespace: 'raw', labels: template.metadata.labels }, spec: template.spec })));
    await waitFor(async () => (await readyPods(api.client, 'raw', 'app=bench')) === replicas, { timeoutMs: 60_000, intervalMs: 5, what: 'raw pods ready' });
    const rawMs = performance.now() - t;

    t = performance.now();
    const d: DeploymentObj = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'bench', namespace: 'dep' }, spec: { replicas, selector: { matchLabels: { app: 'bench' } }, template } };
    await api.client.create(refs.deployments, d);
    await waitFor(async () => (await readyPods(api.client, 'dep', 'app=bench')) === replicas, { timeoutMs: 60_000, intervalMs: 5, what: 'deployment pods ready' });
    const deploymentMs = performance.now() - t;
    kubelet.stop();
    return { rawMs, deploymentMs };
  } finally {
    ac.abort();
    await api.close();
  }
}

export async function main(args: string[]): Promise<void> {
  setLogLevel('error');
  const replicas = Number(args[0] ?? 100);
  const runs = Number(args[1] ?? 5);
  const results: Array<{ rawMs: number; deploymentMs: number }> = [];
  for (let i = 0; i < runs; i++) results.push(await once(replicas));
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const raw = median(results.map((r) => r.rawMs));
  const dep = median(results.map((r) => r.deploymentMs));
  for (const [i, r] of results.entries()) console.log(`run ${i + 1}: raw ${r.rawMs.toFixed(0)} ms, deployment ${r.deploymentMs.toFixed(0)} ms (${(r.deploymentMs / r.rawMs).toFixed(2)}x)`);
  const ratio = median(results.map((r) => r.deploymentMs / r.rawMs));
  console.log(`median: ${replicas} pods raw ${raw.toFixed(0)} ms, ${replicas}-replica Deployment to all Ready ${dep.toFixed(0)} ms; median per-run ratio ${ratio.toFixed(2)}x (goal <= 1.5x)`);
}
