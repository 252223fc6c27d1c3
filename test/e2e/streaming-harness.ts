// A real HTTPS API server (buildApiServer + registerApi + registerStreaming) whose pods are real
// Docker containers made through the DockerRuntime, for driving real kubectl at logs/exec/attach/
// cp/port-forward. Two nodes: "node-a" is served in-process, "node-b" through the kubelet HTTPS
// server on loopback (the path agents on other hosts take). Pod objects are written straight into
// the store with the uid and names the containers are labelled with (the kubelet is not involved).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { buildApiServer } from '../../src/apiserver/server.ts';
import { HealthChecks } from '../../src/apiserver/health.ts';
import { registerApi } from '../../src/apiserver/api.ts';
import { builtinRegistry } from '../../src/registry/index.ts';
import { MemoryStore } from '../../src/storage/memory/memory-store.ts';
import { objectKey } from '../../src/apiserver/rest/keys.ts';
import { toStored } from '../../src/apiserver/rest/objects.ts';
import { ensurePki } from '../../src/pki/index.ts';
import { buildKubeconfig, writeKubeconfig } from '../../src/config/kubeconfig.ts';
import { createDockerRuntime } from '../../src/runtime/docker/runtime.ts';
import { removeClusterDockerObjects } from '../../src/runtime/docker/cleanup.ts';
import type { NodeRuntime } from '../../src/runtime/types.ts';
import { KubeletStreamingServer, startKubeletServer, type RunningKubeletServer } from '../../src/kubeletserver/server.ts';
import { nodeKubeletLocator } from '../../src/apiserver/streaming/kubelet.ts';
import { registerStreaming, streamingSubresources } from '../../src/apiserver/streaming/register.ts';
import type { KubeObject } from '../../src/api/meta.ts';
import { ensureTestImage, TEST_LABEL } from '../helpers/docker.ts';

export interface HarnessPod {
  name: string;
  uid: string;
  ip: string;
  sandboxId: string;
  containers: Record<string, string>;
}

export interface PodSpecLite {
  node: 'node-a' | 'node-b';
  containers: Array<{ name: string; command: string[]; restartCount?: number }>;
  annotations?: Record<string, string>;
  phase?: string;
}

export interface StreamingHarness {
  cluster: string;
  runtime: NodeRuntime;
  kubeconfig: string;
  image: string;
  apiPort: number;
  /** Every upgrade the API server saw, as "<upgrade> <offered protocols>" (to prove which transport ran). */
  upgrades: string[];
  /** The admin's client credentials and the CA, for hand-made clients. */
  adminTls: { cert: string; key: string; ca: string };
  createPod(name: string, spec: PodSpecLite): Promise<HarnessPod>;
  /** Adds one more instance of a container (as the kubelet does on a restart). */
  restartContainer(pod: HarnessPod, container: string, command: string[], restartCount: number): Promise<string>;
  close(): Promise<void>;
}

export async function startStreamingHarness(): Promise<StreamingHarness> {
  const cluster = `st${randomBytes(3).toString('hex')}`;
  const prefix = `10.${200 + (randomBytes(1)[0]! % 50)}.${randomBytes(1)[0]!}`;
  const runtime = createDockerRuntime({ cluster, labels: { [TEST_LABEL]: 'true' } });
  const image = await ensureTestImage();
  await runtime.ensureNetwork({ cidr: `${prefix}.0/24` });
  await runtime.ensureInfraImage();
  const dir = await mkdtemp(join(tmpdir(), 'nanokube-streaming-'));
  const pki = await ensurePki(join(dir, 'pki'), { nodeName: 'node-a', extraSANs: ['127.0.0.1'] });
  const store = new MemoryStore({ ttlSweepMs: 0 });
  const registry = builtinRegistry();
  const kubeletServer = new KubeletStreamingServer(runtime);
  let remote: RunningKubeletServer | undefined;
  let app: FastifyInstance | undefined;
  const upgrades: string[] = [];
  try {
    remote = await startKubeletServer(kubeletServer, {
      host: '127.0.0.1',
      port: 0,
      tls: { certPem: pki.kubeletServing.certPem, keyPem: pki.kubeletServing.keyPem, caPem: pki.ca.certPem },
    });
    const kubelets = nodeKubeletLocator({
      store,
      registry,
      local: { nodeName: 'node-a', server: kubeletServer },
      clientTls: { certPem: pki.kubeletClient.certPem, keyPem: pki.kubeletClient.keyPem, caPem: pki.ca.certPem },
    });
    const deps = { store, registry, kubelets };
    app = await buildApiServer({
      tls: { certPem: pki.apiServer.certPem, keyPem: pki.apiServer.keyPem, caPem: pki.ca.certPem },
      health: new HealthChecks(),
      plugins: [
        (a) => registerApi(a, { store, registry, subresources: new Map(streamingSubresources(deps)) }),
        async (a) => registerStreaming(a, deps),
      ],
    });
    app.server.on('upgrade', (req: { headers: Record<string, string | string[] | undefined> }) => {
      const h = req.headers;
      upgrades.push(`${String(h.upgrade).toLowerCase()} ${String(h['sec-websocket-protocol'] ?? h['x-stream-protocol-version'] ?? '')}`);
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
  } catch (e) {
    await app?.close();
    await remote?.close();
    await removeClusterDockerObjects(cluster).catch(() => {});
    throw e;
  }
  const address = app.server.address();
  const apiPort = typeof address === 'object' && address ? address.port : 0;

  const put = async (resource: string, namespace: string | undefined, obj: KubeObject) => {
    const def = registry.byResource('', 'v1', resource)!;
    await store.create(objectKey(def, namespace, obj.metadata!.name!), toStored(def, obj));
  };
  const now = new Date().toISOString();
  await put('namespaces', undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default', uid: randomUUID(), creationTimestamp: now }, spec: {}, status: { phase: 'Active' } } as KubeObject);
  for (const [name, port] of [['node-a', 10250], ['node-b', remote.port]] as const) {
    await put('nodes', undefined, {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name, uid: randomUUID(), creationTimestamp: now },
      spec: {},
      status: { addresses: [{ type: 'InternalIP', address: '127.0.0.1' }], daemonEndpoints: { kubeletEndpoint: { Port: port } } },
    } as KubeObject);
  }

  const kubeconfig = join(dir, 'kubeconfig');
  writeKubeconfig(kubeconfig, buildKubeconfig({ name: cluster, server: `https://127.0.0.1:${apiPort}`, caPem: pki.ca.certPem, clientCertPem: pki.admin.certPem, clientKeyPem: pki.admin.keyPem, namespace: 'default' }));

  let nextIp = 10;
  const newContainer = async (sandboxId: string, ref: { uid: string; namespace: string; name: string }, name: string, command: string[], restartCount: number) => {
    const id = await runtime.createContainer(sandboxId, { pod: ref, name, image, command, restartCount, specHash: 'x' });
    await runtime.startContainer(id);
    return id;
  };

  return {
    cluster,
    runtime,
    kubeconfig,
    image,
    apiPort,
    upgrades,
    adminTls: { cert: pki.admin.certPem, key: pki.admin.keyPem, ca: pki.ca.certPem },
    async createPod(name, spec) {
      const uid = randomUUID();
      const ref = { uid, namespace: 'default', name };
      const ip = `${prefix}.${nextIp++}`;
      const sandboxId = await runtime.createSandbox({ pod: ref, attempt: 0, ip, hostname: name });
      const containers: Record<string, string> = {};
      for (const c of spec.containers) containers[c.name] = await newContainer(sandboxId, ref, c.name, c.command, c.restartCount ?? 0);
      await put('pods', 'default', {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name, namespace: 'default', uid, creationTimestamp: new Date().toISOString(), ...(spec.annotations ? { annotations: spec.annotations } : {}) },
        spec: { nodeName: spec.node, containers: spec.containers.map((c) => ({ name: c.name, image, command: c.command })) },
        status: {
          phase: spec.phase ?? 'Running',
          podIP: ip,
          containerStatuses: spec.containers.map((c) => ({ name: c.name, ready: true, restartCount: c.restartCount ?? 0, image, imageID: '', started: true, state: { running: { startedAt: new Date().toISOString() } } })),
        },
      } as KubeObject);
      return { name, uid, ip, sandboxId, containers };
    },
    async restartContainer(pod, container, command, restartCount) {
      const old = pod.containers[container];
      if (old) await runtime.stopContainer(old, 0).catch(() => {});
      const id = await newContainer(pod.sandboxId, { uid: pod.uid, namespace: 'default', name: pod.name }, container, command, restartCount);
      pod.containers[container] = id;
      return id;
    },
    async close() {
      await app?.close();
      await remote?.close();
      await store.close();
      await removeClusterDockerObjects(cluster).catch(() => {});
      await rm(dir, { recursive: true, force: true });
    },
  };
}
