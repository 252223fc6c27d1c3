// Namespace deletion benchmark: `npm run bench -- gc [--objects N]`. Creates a namespace with N
// objects of mixed kinds (configmaps, secrets, services, pods, serviceaccounts; a third of them
// owned by a configmap so the GC is busy too), deletes the namespace with every cluster controller
// running, and times until the namespace is gone. Baseline in the same run: the same objects,
// deleted one DELETE at a time through the API by a single client (what `kubectl delete` does).
// Goal: namespace deletion ≤ 2× the raw deletes.
import { startTestApi } from '../helpers/api.ts';
import { isNotFound, type Client, type KubeObject, type ResourceRef } from '../../src/client/types.ts';
import { startClusterControllers } from '../../src/controllers/cluster.ts';
import { registryCatalog } from '../../src/controllers/garbagecollector/resources.ts';
import { builtinRegistry } from '../../src/registry/index.ts';
import { setLogLevel } from '../../src/util/log.ts';

const ref = (resource: string): ResourceRef => ({ group: '', version: 'v1', resource, namespaced: true });
const nsRef: ResourceRef = { group: '', version: 'v1', resource: 'namespaces', namespaced: false };
const KINDS: Array<[ResourceRef, string, (name: string) => Record<string, unknown>]> = [
  [ref('configmaps'), 'ConfigMap', () => ({ data: { k: 'v'.repeat(200) } })],
  [ref('secrets'), 'Secret', () => ({ stringData: { k: 'v' } })],
  [ref('services'), 'Service', () => ({ spec: { ports: [{ port: 80 }] } })],
  [ref('pods'), 'Pod', () => ({ spec: { containers: [{ name: 'c', image: 'i' }] } })],
  [ref('serviceaccounts'), 'ServiceAccount', () => ({})],
];

async function populate(c: Client, ns: string, n: number): Promise<Array<[ResourceRef, string]>> {
  const owner = await c.create<KubeObject>(ref('configmaps'), { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'owner', namespace: ns } });
  const made: Array<[ResourceRef, string]> = [[ref('configmaps'), 'owner']];
  const specs = Array.from({ length: n - 1 }, (_, i) => i);
  const worker = async () => {
    for (let i = specs.shift(); i !== undefined; i = specs.shift()) {
      const [r, kind, body] = KINDS[i % KINDS.length]!;
      const name = `o-${i}`;
      const meta: KubeObject['metadata'] = { name, namespace: ns };
      if (i % 3 === 0) meta.ownerReferences = [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: owner.metadata.uid! }];
      await c.create(r, { apiVersion: 'v1', kind, metadata: meta, ...body(name) });
      made.push([r, name]);
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  return made;
}

export async function main(args: string[]): Promise<void> {
  setLogLevel('error');
  const i = args.indexOf('--objects');
  const n = i >= 0 ? Number(args[i + 1]) : 2000;
  const api = await startTestApi();
  const c = api.client;
  const ctl = new AbortController();
  const running = await startClusterControllers({ clientFor: (name) => api.newClient(name), catalog: registryCatalog(builtinRegistry()), caPem: 'bench' }, ctl.signal);
  try {
    // Baseline: the same objects, deleted one by one.
    await c.create(nsRef, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'bench-raw' } });
    const objects = await populate(c, 'bench-raw', n);
    let t0 = performance.now();
    for (const [r, name] of objects) {
      try {
        await c.delete(r, name, { namespace: 'bench-raw' });
      } catch (e) {
        if (!isNotFound(e)) throw e; // the GC may have got there first
      }
    }
    const raw = performance.now() - t0;

    await c.create(nsRef, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'bench-ns' } });
    await populate(c, 'bench-ns', n);
    t0 = performance.now();
    await c.delete(nsRef, 'bench-ns');
    const deadline = Date.now() + 120_000;
    for (;;) {
      try {
        await c.get(nsRef, 'bench-ns');
      } catch (e) {
        if (isNotFound(e)) break;
        throw e;
      }
      if (Date.now() > deadline) throw new Error('namespace not gone after 120 s');
      await new Promise((r) => setTimeout(r, 10));
    }
    const nsTime = performance.now() - t0;
    console.log(`objects: ${n} (5 kinds, 1/3 owned by one configmap)`);
    console.log(`raw deletes, one client, sequential: ${raw.toFixed(0)} ms (${((raw / n) * 1000).toFixed(0)} µs/object)`);
    console.log(`namespace deletion until gone:       ${nsTime.toFixed(0)} ms`);
    console.log(`ratio: ${(nsTime / raw).toFixed(2)}× (goal ≤ 2×) ${nsTime <= 2 * raw ? 'OK' : 'MISSED'}`);
  } finally {
    ctl.abort();
    await running.done;
    await api.close();
  }
}
