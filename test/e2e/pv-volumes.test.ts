// Issue 13 end to end through real kubectl: the default local-path class, claims that wait for
// their first consumer, data that survives pod deletion and `nanokube stop/start`, reclaim Delete
// (PV and directory removed) and Retain (Released), StatefulSet volumeClaimTemplates, a selector
// nothing satisfies, and the pv/pvc/sc tables. Pod-running parts need a node (the kubelet).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { startCluster, type TestCluster } from '../helpers/cluster.ts';
import { waitFor } from '../helpers/wait.ts';
import { dockerAvailable, ensureTestImage } from '../helpers/docker.ts';

let cluster: TestCluster;
let hasNode = false;
let image = '';
const storageDir = () => join(cluster.home, cluster.name, 'storage');

async function k(args: string[], input?: string): Promise<string> {
  const r = await cluster.kubectl(args, input !== undefined ? { input } : {});
  assert.equal(r.code, 0, `kubectl ${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

const jsonpath = (args: string[], path: string) => k([...args, '-o', `jsonpath=${path}`]);

async function waitJsonpath(args: string[], path: string, want: (v: string) => boolean, what: string, timeoutMs = 60_000): Promise<string> {
  return waitFor(
    async () => {
      const r = await cluster.kubectl([...args, '-o', `jsonpath=${path}`]);
      return r.code === 0 && want(r.stdout) ? r.stdout : undefined;
    },
    { what, timeoutMs, intervalMs: 250 },
  );
}

async function waitGone(args: string[], what: string): Promise<void> {
  await waitFor(
    async () => {
      const r = await cluster.kubectl([...args, '-o', 'name']);
      return r.code !== 0 && /NotFound|not found/.test(r.stderr);
    },
    { what, timeoutMs: 60_000, intervalMs: 250 },
  );
}

const claim = (name: string, extra = '') => `apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: ${name}}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 64Mi}}
${extra}`;

const pod = (name: string, claimName: string, cmd: string, restartPolicy = 'Always') => `apiVersion: v1
kind: Pod
metadata: {name: ${name}}
spec:
  restartPolicy: ${restartPolicy}
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: ${image}
    imagePullPolicy: IfNotPresent
    command: [sh, -c, '${cmd}']
    volumeMounts: [{name: data, mountPath: /data}]
  volumes:
  - name: data
    persistentVolumeClaim: {claimName: ${claimName}}
`;

before(async () => {
  cluster = await startCluster();
  // The kubelet registers the node when it runs (Docker present and wired into `start`).
  if (await dockerAvailable()) {
    image = await ensureTestImage();
    const r = await waitFor(
      async () => {
        const out = await cluster.kubectl(['get', 'nodes', '-o', 'name']);
        return out.code === 0 && out.stdout.trim() !== '' ? out.stdout : undefined;
      },
      { what: 'a node', timeoutMs: 15_000 },
    ).catch(() => undefined);
    hasNode = r !== undefined;
  }
});

after(async () => {
  await cluster?.destroy();
});

describe('control plane', () => {
  test('default StorageClass local-path', async () => {
    assert.equal(await jsonpath(['get', 'sc', 'local-path'], '{.provisioner} {.reclaimPolicy} {.volumeBindingMode} {.metadata.annotations.storageclass\\.kubernetes\\.io/is-default-class}'), 'rancher.io/local-path Delete WaitForFirstConsumer true');
  });

  // The columns are the API server's Table printers (upstream's, kubectl 1.32+ with VolumeAttributesClass).
  test('kubectl get pv,pvc,sc columns as upstream', async () => {
    const sc = (await k(['get', 'sc'])).trim().split('\n');
    assert.match(sc[0] ?? '', /^NAME\s+PROVISIONER\s+RECLAIMPOLICY\s+VOLUMEBINDINGMODE\s+ALLOWVOLUMEEXPANSION\s+AGE$/);
    assert.match(sc[1] ?? '', /^local-path \(default\)\s+rancher\.io\/local-path\s+Delete\s+WaitForFirstConsumer\s+true\s+/);
    await k(['apply', '-f', '-'], claim('columns'));
    const pvc = (await k(['get', 'pvc', 'columns'])).split('\n');
    assert.match(pvc[0] ?? '', /^NAME\s+STATUS\s+VOLUME\s+CAPACITY\s+ACCESS MODES\s+STORAGECLASS\s+VOLUMEATTRIBUTESCLASS\s+AGE$/);
    assert.match(pvc[1] ?? '', /^columns\s+Pending\s+local-path\s+<unset>\s+/);
    // A static PV of its own, so the table has a row (kubectl prints nothing on stdout for an empty list).
    await k(['apply', '-f', '-'], JSON.stringify({
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: 'columns-pv' },
      spec: { capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'], persistentVolumeReclaimPolicy: 'Retain', storageClassName: 'manual', hostPath: { path: '/tmp/nanokube-columns-pv' } },
    }));
    const pv = (await k(['get', 'pv', 'columns-pv'])).split('\n');
    assert.match(pv[0] ?? '', /^NAME\s+CAPACITY\s+ACCESS MODES\s+RECLAIM POLICY\s+STATUS\s+CLAIM\s+STORAGECLASS\s+VOLUMEATTRIBUTESCLASS\s+REASON\s+AGE$/);
    assert.match(pv[1] ?? '', /^columns-pv\s+1Gi\s+RWO\s+Retain\s+(Available|Pending)\s+manual\s+<unset>\s+/);
    await k(['delete', 'pv', 'columns-pv']);
  });

  test('a claim without a class gets local-path and waits for its first consumer (describe shows the event)', async () => {
    await k(['apply', '-f', '-'], claim('waiting'));
    assert.equal(await jsonpath(['get', 'pvc', 'waiting'], '{.spec.storageClassName}'), 'local-path');
    await waitFor(async () => (await k(['describe', 'pvc', 'waiting'])).includes('WaitForFirstConsumer'), { what: 'WaitForFirstConsumer in describe', timeoutMs: 30_000 });
    assert.equal(await jsonpath(['get', 'pvc', 'waiting'], '{.status.phase}'), 'Pending');
  });

  test('a selector nothing satisfies stays Pending with an event', async () => {
    await k(['apply', '-f', '-'], claim('picky', '  storageClassName: ""\n  selector: {matchLabels: {disk: unobtainium}}\n'));
    await waitFor(async () => (await k(['describe', 'pvc', 'picky'])).includes('FailedBinding'), { what: 'FailedBinding in describe', timeoutMs: 30_000 });
    assert.equal(await jsonpath(['get', 'pvc', 'picky'], '{.status.phase}'), 'Pending');
  });

  test('a Retain volume stays Released after its claim is deleted', async () => {
    await k(['apply', '-f', '-'], `apiVersion: v1
kind: PersistentVolume
metadata: {name: keep-me, labels: {e2e: retain}}
spec:
  capacity: {storage: 128Mi}
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  storageClassName: ""
  hostPath: {path: /tmp/nanokube-e2e-keep-me, type: DirectoryOrCreate}
`);
    await k(['apply', '-f', '-'], claim('keeper', '  storageClassName: ""\n  selector: {matchLabels: {e2e: retain}}\n'));
    await waitJsonpath(['get', 'pvc', 'keeper'], '{.status.phase}', (v) => v === 'Bound', 'keeper Bound');
    await k(['delete', 'pvc', 'keeper', '--wait=true']);
    await waitJsonpath(['get', 'pv', 'keep-me'], '{.status.phase}', (v) => v === 'Released', 'keep-me Released');
  });
});

describe('with a node', () => {
  test('data survives pod deletion and nanokube stop/start; Delete removes PV and directory', async (t) => {
    if (!hasNode) return t.skip('no node registered (kubelet not running in `nanokube start`)');
    await k(['apply', '-f', '-'], claim('data'));
    await k(['apply', '-f', '-'], pod('writer', 'data', 'echo persisted > /data/f && sleep 3600'));
    await waitJsonpath(['get', 'pod', 'writer'], '{.status.phase}', (v) => v === 'Running', 'writer Running', 120_000);
    const pv = await waitJsonpath(['get', 'pvc', 'data'], '{.spec.volumeName}', (v) => v.startsWith('pvc-'), 'data bound');
    assert.equal(await jsonpath(['get', 'pvc', 'data'], '{.status.phase}'), 'Bound');
    const describe = await k(['describe', 'pvc', 'data']);
    assert.match(describe, /ProvisioningSucceeded/);
    const file = join(storageDir(), pv, 'f');
    await waitFor(async () => (await readFile(file, 'utf8').catch(() => '')).trim() === 'persisted', { what: 'file on the host', timeoutMs: 30_000 });
    await k(['delete', 'pod', 'writer', '--wait=true']);

    const reader = (name: string) => pod(name, 'data', 'test "$(cat /data/f)" = persisted', 'Never');
    await k(['apply', '-f', '-'], reader('reader1'));
    await waitJsonpath(['get', 'pod', 'reader1'], '{.status.phase}', (v) => v === 'Succeeded', 'reader1 Succeeded', 120_000);

    const stopped = await cluster.cli(['stop', '--name', cluster.name]);
    assert.equal(stopped.code, 0, stopped.stderr);
    const started = await cluster.cli(['start', '--name', cluster.name]);
    assert.equal(started.code, 0, started.stderr);
    await k(['apply', '-f', '-'], reader('reader2'));
    await waitJsonpath(['get', 'pod', 'reader2'], '{.status.phase}', (v) => v === 'Succeeded', 'reader2 Succeeded after restart', 120_000);

    await k(['delete', 'pod', 'reader1', 'reader2', '--wait=true']);
    await k(['delete', 'pvc', 'data', '--wait=true']);
    await waitGone(['get', 'pv', pv], `PV ${pv} deleted`);
    await assert.rejects(stat(join(storageDir(), pv)), { code: 'ENOENT' });
  });

  test('a StatefulSet with 2 replicas gets 2 claims bound on the node', async (t) => {
    if (!hasNode) return t.skip('no node registered (kubelet not running in `nanokube start`)');
    await k(['apply', '-f', '-'], `apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  replicas: 2
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: c
        image: ${image}
        imagePullPolicy: IfNotPresent
        command: [sh, -c, 'hostname > /data/who && sleep 3600']
        volumeMounts: [{name: data, mountPath: /data}]
  volumeClaimTemplates:
  - metadata: {name: data}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 32Mi}}
`);
    const node = (await k(['get', 'nodes', '-o', 'jsonpath={.items[0].metadata.name}'])).trim();
    for (const ordinal of [0, 1]) {
      const name = `data-db-${ordinal}`;
      await waitJsonpath(['get', 'pvc', name], '{.status.phase}', (v) => v === 'Bound', `${name} Bound`, 120_000);
      assert.equal(await jsonpath(['get', 'pvc', name], '{.metadata.annotations.volume\\.kubernetes\\.io/selected-node}'), node);
      const pv = await jsonpath(['get', 'pvc', name], '{.spec.volumeName}');
      assert.equal(await jsonpath(['get', 'pv', pv], '{.spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[0].values[0]}'), node);
      await waitFor(async () => (await readFile(join(storageDir(), pv, 'who'), 'utf8').catch(() => '')).trim() === `db-${ordinal}`, { what: `db-${ordinal} wrote its volume`, timeoutMs: 120_000 });
    }
  });
});
