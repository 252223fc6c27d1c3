// `npm run bench -- pv [rounds]`: on a real cluster (`nanokube start`, kubelet on Docker), the time
// from creating a PVC (default local-path class) and a pod using it to the pod Running with the
// volume mounted, against a pod with an emptyDir created in the same run. Goal: ≤ 1.3×.
import { readFileSync } from 'node:fs';
import { HttpClient } from '../../src/client/http-client.ts';
import type { Client, KubeObject } from '../../src/client/types.ts';
import type { Kubeconfig } from '../../src/config/kubeconfig.ts';
import { podsRef, pvcsRef } from '../../src/storage-controllers/volumes.ts';
import { startCluster } from '../helpers/cluster.ts';
import { ensureTestImage } from '../helpers/docker.ts';
import { waitFor } from '../helpers/wait.ts';
import { parse as parseYaml } from 'yaml';

const b64 = (s: string | undefined) => Buffer.from(s ?? '', 'base64').toString('utf8');

function clientFrom(kubeconfigFile: string): HttpClient {
  const kc = parseYaml(readFileSync(kubeconfigFile, 'utf8')) as Kubeconfig;
  const cluster = kc.clusters[0]!.cluster;
  const user = kc.users[0]!.user;
  return new HttpClient({
    transport: { kind: 'https', server: cluster.server, caPem: b64(cluster['certificate-authority-data']), certPem: b64(user['client-certificate-data']), keyPem: b64(user['client-key-data']) },
    userAgent: 'nanokube-bench-pv',
  });
}

function pod(name: string, image: string, volume: Record<string, unknown>): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default' },
    spec: {
      terminationGracePeriodSeconds: 0,
      containers: [{ name: 'c', image, imagePullPolicy: 'IfNotPresent', command: ['sh', '-c', 'touch /data/ok && sleep 3600'], volumeMounts: [{ name: 'data', mountPath: '/data' }] }],
      volumes: [{ name: 'data', ...volume }],
    },
  };
}

async function untilRunning(client: Client, name: string): Promise<void> {
  await waitFor(
    async () => {
      const p = await client.get<KubeObject>(podsRef, name, 'default');
      const st = p.status as { phase?: string; containerStatuses?: Array<{ state?: { running?: unknown } }> } | undefined;
      return st?.phase === 'Running' && Boolean(st.containerStatuses?.[0]?.state?.running);
    },
    { what: `pod ${name} Running`, timeoutMs: 120_000, intervalMs: 10 },
  );
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

export async function main(args: string[]): Promise<void> {
  const rounds = Number(args[0] ?? 5);
  const image = await ensureTestImage();
  const cluster = await startCluster();
  const client = clientFrom(cluster.kubeconfig);
  try {
    await waitFor(async () => (await client.list({ group: '', version: 'v1', resource: 'nodes', namespaced: false })).items.length > 0, { what: 'a node', timeoutMs: 30_000 });
    // Warm-up (image, pod network, informers) so round 1 measures the same thing as the rest.
    await client.create(podsRef, pod('warm', image, { emptyDir: {} }));
    await untilRunning(client, 'warm');
    const emptyDir: number[] = [];
    const pvc: number[] = [];
    for (let i = 0; i < rounds; i++) {
      // Alternate which goes first so neither always runs on a busier node.
      const order = i % 2 === 0 ? ['emptyDir', 'pvc'] : ['pvc', 'emptyDir'];
      for (const kind of order) {
        const t0 = performance.now();
        if (kind === 'emptyDir') {
          await client.create(podsRef, pod(`ed-${i}`, image, { emptyDir: {} }));
          await untilRunning(client, `ed-${i}`);
          emptyDir.push(performance.now() - t0);
        } else {
          await client.create(pvcsRef, { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: `claim-${i}`, namespace: 'default' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '16Mi' } } } });
          await client.create(podsRef, pod(`pv-${i}`, image, { persistentVolumeClaim: { claimName: `claim-${i}` } }));
          await untilRunning(client, `pv-${i}`);
          pvc.push(performance.now() - t0);
        }
      }
    }
    const e = median(emptyDir);
    const p = median(pvc);
    console.log(`rounds: ${rounds}`);
    console.log(`emptyDir pod → Running:         median ${e.toFixed(0)} ms  (all: ${emptyDir.map((x) => x.toFixed(0)).join(', ')})`);
    console.log(`PVC + pod → Running (mounted):  median ${p.toFixed(0)} ms  (all: ${pvc.map((x) => x.toFixed(0)).join(', ')})`);
    console.log(`ratio: ${(p / e).toFixed(2)}×  (goal ≤ 1.3×) ${p / e <= 1.3 ? 'OK' : 'MISSED'}`);
  } finally {
    client.close();
    await cluster.destroy();
  }
}
