// A kubelet on the fake runtime against the in-process API, for the kubelet unit tests.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeObject } from '../../src/client/types.ts';
import { Kubelet, startKubelet, type KubeletOptions } from '../../src/kubelet/kubelet.ts';
import type { HostFacts } from '../../src/kubelet/host.ts';
import type { Pod } from '../../src/kubelet/k8s.ts';
import { FakeEngine } from '../../src/runtime/fake/engine.ts';
import type { FakeProgram } from '../../src/runtime/fake/process.ts';
import { FakeRuntime } from '../../src/runtime/fake/runtime.ts';
import { startTestApi, type TestApi } from '../helpers/api.ts';
import { waitFor } from '../helpers/wait.ts';

export const podsRef = { group: '', version: 'v1', resource: 'pods', namespaced: true };
export const IMAGE = 'busybox:1';

export const fixedHost: HostFacts = {
  cpuCores: 4,
  memoryBytes: 8 * 2 ** 30,
  memoryAvailableBytes: 4 * 2 ** 30,
  diskBytes: 100 * 2 ** 30,
  diskAvailableBytes: 50 * 2 ** 30,
  internalIP: '192.168.1.10',
  hostname: 'host',
  machineID: 'm1',
  systemUUID: 'u1',
  bootID: 'b1',
  kernelVersion: '6.1.0',
  osImage: 'Test Linux',
  architecture: 'amd64',
  operatingSystem: 'linux',
};

export interface Harness {
  api: TestApi;
  engine: FakeEngine;
  dir: string;
  kubelet: Kubelet;
  /** Starts another kubelet over the same engine and data dir (a restart). */
  restart(opts?: { keepContainers?: boolean }): Promise<Kubelet>;
  createPod(pod: Partial<Pod> & { metadata: { name: string } }): Promise<Pod>;
  getPod(name: string, ns?: string): Promise<Pod>;
  waitPod(name: string, ok: (p: Pod) => boolean, what: string, timeoutMs?: number): Promise<Pod>;
  events(name: string): Promise<Array<{ reason: string; message: string; type: string }>>;
  close(): Promise<void>;
}

export async function startHarness(opts: { programs?: FakeProgram[]; kubelet?: Partial<KubeletOptions> } = {}): Promise<Harness> {
  const api = await startTestApi();
  const engine = new FakeEngine({ images: [{ ref: IMAGE, entrypoint: ['sh'] }], programs: opts.programs ?? [] });
  const dir = await mkdtemp(join(tmpdir(), 'nanokube-kubelet-'));
  let ac = new AbortController();
  const make = async () => {
    ac = new AbortController();
    return startKubelet({
      client: api.newClient('kubelet'),
      runtime: new FakeRuntime({ cluster: 'unit', engine }),
      nodeName: 'node-1',
      podCIDR: '10.42.0.0/24',
      dataDir: dir,
      clusterName: 'unit',
      signal: ac.signal,
      readHost: async () => fixedHost,
      resyncIntervalMs: 1000,
      ...opts.kubelet,
    });
  };
  const h: Harness = {
    api,
    engine,
    dir,
    kubelet: await make(),
    async restart(o = {}) {
      await h.kubelet.stop(o);
      h.kubelet = await make();
      return h.kubelet;
    },
    async createPod(pod) {
      const body = {
        apiVersion: 'v1',
        kind: 'Pod',
        ...pod,
        metadata: { namespace: 'default', ...pod.metadata },
        spec: { nodeName: 'node-1', containers: [{ name: 'app', image: IMAGE }], ...pod.spec },
      };
      return (await api.client.create(podsRef, body as unknown as KubeObject)) as unknown as Pod;
    },
    async getPod(name, ns = 'default') {
      return (await api.client.get(podsRef, name, ns)) as unknown as Pod;
    },
    waitPod(name, ok, what, timeoutMs = 10_000) {
      return waitFor(async () => {
        const p = await h.getPod(name);
        return ok(p) ? p : undefined;
      }, { what: `pod ${name} ${what}`, timeoutMs, intervalMs: 25 });
    },
    async events(name) {
      const list = await api.client.list({ group: '', version: 'v1', resource: 'events', namespaced: true }, { namespace: 'default' });
      return list.items
        .filter((e) => (e.involvedObject as { name?: string }).name === name)
        .map((e) => ({ reason: String(e.reason), message: String(e.message), type: String(e.type) }));
    },
    async close() {
      await h.kubelet.stop({ keepContainers: true });
      ac.abort();
      await api.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return h;
}

export const condition = (p: Pod, type: string) => p.status?.conditions?.find((c) => c.type === type)?.status;
export const isReady = (p: Pod) => p.status?.phase === 'Running' && condition(p, 'Ready') === 'True';
