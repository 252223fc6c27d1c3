// `npm run bench -- kubelet`: time from 20 busybox pods created (nodeName set) to all Running and
// Ready through the kubelet on the real Docker engine, next to the same raw work measured in the same
// run: a sandbox plus one container created and started per pod straight through NodeRuntime.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import type { KubeObject } from '../../src/client/types.ts';
import { startKubelet } from '../../src/kubelet/kubelet.ts';
import type { Pod } from '../../src/kubelet/k8s.ts';
import { removeClusterDockerObjects } from '../../src/runtime/docker/cleanup.ts';
import { createDockerRuntime } from '../../src/runtime/docker/runtime.ts';
import { startTestApi } from '../helpers/api.ts';
import { ensureTestImage, TEST_LABEL } from '../helpers/docker.ts';
import { waitFor } from '../helpers/wait.ts';

const PODS = Number(process.env.BENCH_PODS ?? 20);
const podsRef = { group: '', version: 'v1', resource: 'pods', namespaced: true };

function cidr(): string {
  return `10.${200 + (randomBytes(1)[0]! % 50)}.${randomBytes(1)[0]!}.0/24`;
}

/** The floor: what any kubelet must ask of the engine for PODS pods, in parallel, nothing else. */
async function raw(image: string): Promise<number> {
  const cluster = `kbr${randomBytes(3).toString('hex')}`;
  const runtime = createDockerRuntime({ cluster, labels: { [TEST_LABEL]: 'true' } });
  const net = cidr();
  const prefix = net.split('.').slice(0, 3).join('.');
  try {
    await runtime.ensureNetwork({ cidr: net });
    await runtime.ensureInfraImage();
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: PODS }, async (_, i) => {
        const pod = { uid: randomUUID(), namespace: 'default', name: `raw-${i}` };
        const sandbox = await runtime.createSandbox({ pod, attempt: 0, ip: `${prefix}.${i + 2}`, hostname: pod.name, dns: { nameservers: ['10.43.0.10'], searches: [], options: [] } });
        await runtime.pullImage(image, 'IfNotPresent');
        const id = await runtime.createContainer(sandbox, { pod, name: 'app', image, command: ['sleep', '3600'], restartCount: 0, specHash: 'x' });
        await runtime.startContainer(id);
      }),
    );
    return performance.now() - t0;
  } finally {
    await cleanup(cluster);
  }
}

/** The engine may still hold the network's endpoints for a moment after the containers went. */
function cleanup(cluster: string): Promise<unknown> {
  return waitFor(() => removeClusterDockerObjects(cluster).then(() => true), { what: `cleanup of ${cluster}`, timeoutMs: 30_000, intervalMs: 500 });
}

async function throughKubelet(image: string): Promise<number> {
  const cluster = `kbk${randomBytes(3).toString('hex')}`;
  const api = await startTestApi();
  const dir = await mkdtemp(join(tmpdir(), 'nanokube-bench-kubelet-'));
  const ac = new AbortController();
  const runtime = createDockerRuntime({ cluster, labels: { [TEST_LABEL]: 'true' } });
  try {
    const kubelet = await startKubelet({ client: api.newClient('kubelet'), runtime, nodeName: 'bench', podCIDR: cidr(), dataDir: dir, clusterName: cluster, signal: ac.signal });
    // Network and pause image exist in the raw run too before its clock starts.
    await runtime.ensureInfraImage();
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: PODS }, (_, i) =>
        api.client.create(podsRef, {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: `pod-${i}`, namespace: 'default' },
          spec: { nodeName: 'bench', terminationGracePeriodSeconds: 0, containers: [{ name: 'app', image, imagePullPolicy: 'IfNotPresent', command: ['sleep', '3600'] }] },
        } as unknown as KubeObject),
      ),
    );
    await waitFor(
      async () => {
        const list = await api.client.list<KubeObject>(podsRef, { namespace: 'default' });
        const ready = (list.items as unknown as Pod[]).filter((p) => p.status?.phase === 'Running' && p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
        return ready.length === PODS;
      },
      { what: `${PODS} pods Running and Ready`, timeoutMs: 120_000, intervalMs: 20 },
    );
    const ms = performance.now() - t0;
    await kubelet.stop({ keepContainers: true });
    return ms;
  } finally {
    ac.abort();
    await cleanup(cluster);
    await api.close();
    await rm(dir, { recursive: true, force: true });
  }
}

export async function main(): Promise<void> {
  const image = await ensureTestImage();
  // Warm the engine (first container creation on a fresh daemon is slower).
  await raw(image);
  const rawMs = await raw(image);
  const kubeletMs = await throughKubelet(image);
  console.log(`pods: ${PODS}`);
  console.log(`raw NodeRuntime (sandbox + container, parallel): ${rawMs.toFixed(0)} ms`);
  console.log(`kubelet (created → all Running+Ready):           ${kubeletMs.toFixed(0)} ms`);
  console.log(`ratio kubelet/raw: ${(kubeletMs / rawMs).toFixed(2)}`);
}
