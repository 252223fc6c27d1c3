// Issue 5 acceptance: the resource API as real kubectl 1.35 and 1.32 see it, against one started
// cluster (each start costs about a second). Every kubectl version works in its own namespace, so
// the two passes never see each other's objects.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { startCluster, type TestCluster } from '../helpers/cluster.ts';
import { spawnKubectl, type KubectlVersion, type ToolResult } from '../helpers/tools.ts';
import { waitFor } from '../helpers/wait.ts';

const VERSIONS: KubectlVersion[] = ['1.35', '1.32'];
let cluster: TestCluster;
let scratch: string;

before(async () => {
  cluster = await startCluster();
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'nanokube-api-kubectl-'));
});
after(async () => {
  await cluster?.destroy();
  if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
});

/** kubectl's stderr minus the version-skew warning 1.35 prints against our 1.32 server. */
function errText(r: ToolResult): string {
  return r.stderr
    .split('\n')
    .filter((l) => !l.includes('version difference between client'))
    .join('\n')
    .trim();
}

async function k(version: KubectlVersion, args: string[], input?: string, env?: Record<string, string>): Promise<ToolResult> {
  if (env) {
    // Only `edit` needs extra environment; run it through a spawned kubectl with that env.
    const child = await spawnKubectl(version, args, { kubeconfig: cluster.kubeconfig, env });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (b: Buffer) => out.push(b));
    child.stderr!.on('data', (b: Buffer) => err.push(b));
    child.stdin!.end(input ?? '');
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? 1)));
    clearTimeout(timer);
    return { code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString(), timedOut: false };
  }
  return cluster.kubectl(args, input !== undefined ? { version, input } : { version });
}

async function ok(version: KubectlVersion, args: string[], input?: string): Promise<string> {
  const r = await k(version, args, input);
  assert.equal(r.code, 0, `kubectl ${version} ${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

const nsFor = (v: KubectlVersion) => `k${v.replace('.', '')}`;

/** `-o name` lines without the CA bundle the root-CA publisher puts in every namespace (as upstream). */
const names = (out: string) => out.trim().split('\n').filter((l) => l !== '' && l !== 'configmap/kube-root-ca.crt');

describe('kubectl against nanokube', () => {
  test('api-resources lists every GA kind with its short names', async () => {
    for (const v of VERSIONS) {
      const out = await ok(v, ['api-resources']);
      const rows = new Map<string, string>();
      for (const line of out.split('\n').slice(1)) {
        const cols = line.trim().split(/\s+/);
        if (cols.length >= 4) rows.set(`${cols[0]}|${cols.length === 5 ? cols[2] : cols[1]}`, cols.length === 5 ? cols[1]! : '');
      }
      const expect: Array<[string, string, string]> = [
        ['pods', 'v1', 'po'], ['services', 'v1', 'svc'], ['configmaps', 'v1', 'cm'], ['secrets', 'v1', ''],
        ['namespaces', 'v1', 'ns'], ['nodes', 'v1', 'no'], ['serviceaccounts', 'v1', 'sa'], ['resourcequotas', 'v1', 'quota'],
        ['persistentvolumeclaims', 'v1', 'pvc'], ['persistentvolumes', 'v1', 'pv'], ['events', 'v1', 'ev'], ['endpoints', 'v1', 'ep'],
        ['limitranges', 'v1', 'limits'], ['replicationcontrollers', 'v1', 'rc'],
        ['deployments', 'apps/v1', 'deploy'], ['replicasets', 'apps/v1', 'rs'], ['statefulsets', 'apps/v1', 'sts'],
        ['daemonsets', 'apps/v1', 'ds'], ['controllerrevisions', 'apps/v1', ''], ['jobs', 'batch/v1', ''], ['cronjobs', 'batch/v1', 'cj'],
        ['horizontalpodautoscalers', 'autoscaling/v2', 'hpa'], ['ingresses', 'networking.k8s.io/v1', 'ing'],
        ['networkpolicies', 'networking.k8s.io/v1', 'netpol'], ['ingressclasses', 'networking.k8s.io/v1', ''],
        ['poddisruptionbudgets', 'policy/v1', 'pdb'], ['roles', 'rbac.authorization.k8s.io/v1', ''],
        ['clusterroles', 'rbac.authorization.k8s.io/v1', ''], ['rolebindings', 'rbac.authorization.k8s.io/v1', ''],
        ['clusterrolebindings', 'rbac.authorization.k8s.io/v1', ''], ['storageclasses', 'storage.k8s.io/v1', 'sc'],
        ['priorityclasses', 'scheduling.k8s.io/v1', 'pc'], ['leases', 'coordination.k8s.io/v1', ''],
        ['endpointslices', 'discovery.k8s.io/v1', ''], ['customresourcedefinitions', 'apiextensions.k8s.io/v1', 'crd,crds'],
        ['certificatesigningrequests', 'certificates.k8s.io/v1', 'csr'], ['runtimeclasses', 'node.k8s.io/v1', ''],
      ];
      for (const [res, gv, short] of expect) {
        assert.ok(rows.has(`${res}|${gv}`), `kubectl ${v} api-resources lacks ${res} in ${gv}:\n${out}`);
        assert.equal(rows.get(`${res}|${gv}`), short, `short names of ${res}`);
      }
    }
  });

  test('explain reads the OpenAPI schema', async () => {
    for (const v of VERSIONS) {
      const out = await ok(v, ['explain', 'deployment.spec.strategy']);
      assert.match(out, /KIND:\s+Deployment/);
      assert.match(out, /rollingUpdate\s+<RollingUpdateDeployment>/);
      assert.match(out, /type\s+<string>/);
    }
  });

  test('create generators (protobuf bodies) succeed for every common kind', async () => {
    for (const v of VERSIONS) {
      const ns = nsFor(v);
      const cmds: string[][] = [
        ['create', 'namespace', ns],
        ['create', 'configmap', 'cm1', '--from-literal=a=b', '-n', ns],
        ['create', 'secret', 'generic', 's1', '--from-literal=a=b', '-n', ns],
        ['create', 'deployment', 'd1', '--image=nginx', '-n', ns],
        ['create', 'job', 'j1', '--image=busybox', '-n', ns],
        ['create', 'service', 'clusterip', 'svc1', '--tcp=80:8080', '-n', ns],
        ['create', 'serviceaccount', 'sa1', '-n', ns],
        ['create', 'quota', 'q1', '--hard=pods=10', '-n', ns],
        ['create', 'role', 'r1', '--verb=get', '--resource=pods', '-n', ns],
        ['create', 'rolebinding', 'rb1', '--role=r1', '--user=bob', '-n', ns],
        ['create', 'priorityclass', `pc-${ns}`, '--value=100'],
        ['create', 'poddisruptionbudget', 'pdb1', '--selector=app=x', '--min-available=1', '-n', ns],
        ['create', 'ingress', 'ing1', '--rule=foo.com/bar=svc1:80', '-n', ns],
      ];
      for (const c of cmds) {
        const out = await ok(v, c);
        assert.match(out, / created$/m, c.join(' '));
      }
      const svc = JSON.parse(await ok(v, ['get', 'service', 'svc1', '-n', ns, '-o', 'json'])) as { spec: { ports: Array<{ name: string; port: number; targetPort: number }> } };
      assert.deepEqual(svc.spec.ports.map((p) => [p.name, p.port, p.targetPort]), [['80-8080', 80, 8080]]);
    }
  });

  test('get: output formats, selectors, sorting, chunking', async () => {
    for (const v of VERSIONS) {
      const ns = nsFor(v);
      await ok(v, ['create', 'namespace', `${ns}-get`]);
      const gns = `${ns}-get`;
      for (let i = 1; i <= 7; i++) {
        await ok(v, ['create', 'configmap', `c${8 - i}`, `--from-literal=k=${i}`, '-n', gns]);
        await ok(v, ['label', 'configmap', `c${8 - i}`, `tier=t${i % 3}`, '-n', gns]);
      }
      assert.deepEqual(names(await ok(v, ['get', 'cm', '-n', gns, '-o', 'name'])), [1, 2, 3, 4, 5, 6, 7].map((i) => `configmap/c${i}`));

      const json = JSON.parse(await ok(v, ['get', 'cm', 'c1', '-n', gns, '-o', 'json'])) as { kind: string; data: Record<string, string> };
      assert.equal(json.kind, 'ConfigMap');
      assert.equal(json.data.k, '7');
      assert.match(await ok(v, ['get', 'cm', 'c1', '-n', gns, '-o', 'yaml']), /^kind: ConfigMap$/m);
      assert.equal(await ok(v, ['get', 'cm', 'c2', '-n', gns, '-o', 'jsonpath={.data.k}']), '6');
      const cc = await ok(v, ['get', 'cm', '-n', gns, '-o', 'custom-columns=N:.metadata.name,K:.data.k', '-l', 'tier=t0']);
      assert.deepEqual(cc.trim().split('\n').map((l) => l.trim().split(/\s+/)), [['N', 'K'], ['c2', '6'], ['c5', '3']]);

      const wide = await ok(v, ['get', 'deploy', 'd1', '-n', ns, '-o', 'wide']);
      assert.match(wide, /^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\s+CONTAINERS\s+IMAGES\s+SELECTOR$/m);
      // The deployment controller may already have made its ReplicaSet (UP-TO-DATE 1); nginx never becomes available offline.
      assert.match(wide, /^d1\s+0\/1\s+[01]\s+0\s+\S+\s+nginx\s+nginx\s+app=d1$/m);
      const table = await ok(v, ['get', 'cm', '-n', gns]);
      assert.match(table, /^NAME\s+DATA\s+AGE$/m);

      const all = await ok(v, ['get', 'cm', '-A', '--show-labels']);
      assert.match(all, /^NAMESPACE\s+NAME\s+DATA\s+AGE\s+LABELS$/m);
      assert.match(all, new RegExp(`^${gns}\\s+c3\\s+1\\s+\\S+\\s+tier=t2$`, 'm'));

      const sel = async (args: string[]) => names(await ok(v, ['get', 'cm', '-n', gns, '-o', 'name', ...args]));
      assert.deepEqual(await sel(['-l', 'tier=t1']), ['configmap/c1', 'configmap/c4', 'configmap/c7']);
      assert.deepEqual(await sel(['-l', 'tier in (t0,t2)']), ['configmap/c2', 'configmap/c3', 'configmap/c5', 'configmap/c6']);
      assert.deepEqual(await sel(['-l', 'tier notin (t0,t2)']), ['configmap/c1', 'configmap/c4', 'configmap/c7']);
      assert.deepEqual(await sel(['-l', '!tier']), []);
      assert.deepEqual(await sel(['--field-selector', 'metadata.name=c3']), ['configmap/c3']);
      assert.deepEqual(await sel(['--field-selector', 'metadata.name!=c3', '-l', 'tier=t2']), ['configmap/c6']);
      const sorted = await sel(['--sort-by=.data.k']);
      assert.deepEqual(sorted, [7, 6, 5, 4, 3, 2, 1].map((i) => `configmap/c${i}`));
      assert.deepEqual(await sel(['--chunk-size=2']), [1, 2, 3, 4, 5, 6, 7].map((i) => `configmap/c${i}`));

      const missing = await k(v, ['get', 'cm', 'nope', '-n', gns]);
      assert.equal(missing.code, 1);
      assert.equal(errText(missing), 'Error from server (NotFound): configmaps "nope" not found');
      const badField = await k(v, ['get', 'cm', '-n', gns, '--field-selector', 'data.k=1']);
      assert.equal(badField.code, 1);
      assert.match(errText(badField), /field label not supported: data\.k/);
    }
  });

  test('get -w prints later changes', async () => {
    for (const v of VERSIONS) {
      const ns = nsFor(v);
      const child = await spawnKubectl(v, ['get', 'configmaps', '-n', ns, '-w', '--output-watch-events'], { kubeconfig: cluster.kubeconfig });
      let out = '';
      child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
      try {
        await waitFor(() => /cm1/.test(out), { what: 'the initial list' });
        await ok(v, ['create', 'configmap', 'watched', '-n', ns]);
        await waitFor(() => /^ADDED\s+watched\s/m.test(out), { what: `ADDED watched in ${out}` });
        await ok(v, ['label', 'configmap', 'watched', 'x=y', '-n', ns]);
        await waitFor(() => /^MODIFIED\s+watched\s/m.test(out), { what: `MODIFIED watched in ${out}` });
        await ok(v, ['delete', 'configmap', 'watched', '-n', ns]);
        await waitFor(() => /^DELETED\s+watched\s/m.test(out), { what: `DELETED watched in ${out}` });
      } finally {
        child.kill('SIGKILL');
      }
    }
  });

  test('label, annotate, delete (all, selector, grace period, wait)', async () => {
    for (const v of VERSIONS) {
      const ns = `${nsFor(v)}-del`;
      await ok(v, ['create', 'namespace', ns]);
      for (const n of ['a', 'b', 'c', 'd']) await ok(v, ['create', 'configmap', n, '-n', ns]);
      assert.match(await ok(v, ['label', 'cm', 'a', 'b', 'team=x', '-n', ns]), /configmap\/a labeled/);
      assert.match(await ok(v, ['annotate', 'cm', 'a', 'note=hi', '-n', ns]), /configmap\/a annotated/);
      assert.equal(await ok(v, ['get', 'cm', 'a', '-n', ns, '-o', 'jsonpath={.metadata.annotations.note}']), 'hi');
      assert.match(await ok(v, ['label', 'cm', 'a', 'team-', '-n', ns]), /configmap\/a unlabeled/);
      const relabel = await k(v, ['label', 'cm', 'b', 'team=y', '-n', ns]);
      assert.equal(relabel.code, 1);
      assert.match(errText(relabel), /'team' already has a value \(x\), and --overwrite is false/);

      assert.match(await ok(v, ['delete', 'cm', '-l', 'team=x', '-n', ns]), /configmap "b" deleted/);
      assert.match(await ok(v, ['delete', 'cm', 'c', '--grace-period=0', '--wait', '-n', ns]), /configmap "c" deleted/);
      const rest = await ok(v, ['delete', 'cm', '--all', '-n', ns]);
      assert.match(rest, /configmap "a" deleted/);
      assert.match(rest, /configmap "d" deleted/);
      assert.deepEqual(names(await ok(v, ['get', 'cm', '-n', ns, '-o', 'name'])), []);
      const gone = await k(v, ['delete', 'cm', 'a', '-n', ns]);
      assert.equal(gone.code, 1);
      assert.match(errText(gone), /configmaps "a" not found/);
    }
  });

  test('errors: AlreadyExists, invalid name', async () => {
    for (const v of VERSIONS) {
      const ns = nsFor(v);
      const dup = await k(v, ['create', 'configmap', 'cm1', '-n', ns]);
      assert.equal(dup.code, 1);
      assert.match(errText(dup), /configmaps "cm1" already exists/);
      const bad = await k(v, ['create', 'configmap', 'Bad_Name', '-n', ns]);
      assert.equal(bad.code, 1);
      assert.match(errText(bad), /ConfigMap "Bad_Name" is invalid: metadata\.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain/);
      const dupYaml = await k(v, ['create', '-f', '-'], `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm1, namespace: ${ns}}\n`);
      assert.equal(dupYaml.code, 1);
      assert.equal(errText(dupYaml), `Error from server (AlreadyExists): error when creating "STDIN": configmaps "cm1" already exists`);
      // Unknown fields deep inside a built-in kind: kubectl's default --validate=strict asks the server.
      const typo = `apiVersion: v1\nkind: Pod\nmetadata: {name: typo, namespace: ${ns}}\nspec:\n  containers:\n  - {name: c, image: nginx, imagee: x}\n`;
      const strict = await k(v, ['apply', '-f', '-'], typo);
      assert.equal(strict.code, 1);
      assert.equal(
        errText(strict),
        'Error from server (BadRequest): error when creating "STDIN": Pod in version "v1" cannot be handled as a Pod: strict decoding error: unknown field "spec.containers[0].imagee"',
      );
      const warned = await k(v, ['create', '--validate=warn', '-f', '-'], typo);
      assert.equal(warned.code, 0, warned.stderr);
      assert.match(warned.stderr, /Warning: unknown field "spec\.containers\[0\]\.imagee"/);
      await ok(v, ['delete', 'pod', 'typo', '-n', ns, '--grace-period=0', '--force']);
    }
  });

  test('apply (twice, unchanged), diff, edit, replace, patch, scale', async () => {
    for (const v of VERSIONS) {
      const ns = nsFor(v);
      const manifest = (image: string) => `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: ${ns}, labels: {app: web}}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - {name: web, image: "${image}", ports: [{containerPort: 80}]}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: applied, namespace: ${ns}}
data: {a: "1"}
`;
      const first = await ok(v, ['apply', '-f', '-'], manifest('nginx:1'));
      assert.match(first, /deployment.apps\/web created/);
      assert.match(first, /configmap\/applied created/);
      const second = await ok(v, ['apply', '-f', '-'], manifest('nginx:1'));
      assert.match(second, /deployment.apps\/web unchanged/);
      assert.match(second, /configmap\/applied unchanged/);

      const file = path.join(scratch, `web-${ns}.yaml`);
      fs.writeFileSync(file, manifest('nginx:2'));
      const diff = await k(v, ['diff', '-f', file]);
      assert.equal(diff.code, 1, `diff exits 1 when something differs: ${diff.stderr}`);
      assert.match(diff.stdout, /^-\s+- image: nginx:1$/m);
      assert.match(diff.stdout, /^\+\s+- image: nginx:2$/m);
      assert.match(await ok(v, ['apply', '-f', file]), /deployment.apps\/web configured/);
      const same = await k(v, ['diff', '-f', file]);
      assert.equal(same.code, 0, `diff exits 0 when nothing differs: ${same.stdout}${same.stderr}`);
      const gen = await ok(v, ['get', 'deploy', 'web', '-n', ns, '-o', 'jsonpath={.metadata.generation}']);
      assert.equal(gen, '2');

      // edit: the editor rewrites the file kubectl hands it.
      const editor = path.join(scratch, 'editor.sh');
      fs.writeFileSync(editor, `#!/bin/sh\nsed -i 's/^  a: "1"$/  a: edited/' "$1"\n`, { mode: 0o755 });
      const edited = await k(v, ['edit', 'cm', 'applied', '-n', ns], undefined, { KUBE_EDITOR: editor });
      assert.equal(edited.code, 0, edited.stderr);
      assert.match(edited.stdout, /configmap\/applied edited/);
      assert.equal(await ok(v, ['get', 'cm', 'applied', '-n', ns, '-o', 'jsonpath={.data.a}']), 'edited');

      const live = await ok(v, ['get', 'cm', 'applied', '-n', ns, '-o', 'yaml']);
      assert.match(await ok(v, ['replace', '-f', '-'], live.replace('a: edited', 'a: replaced')), /configmap\/applied replaced/);
      assert.equal(await ok(v, ['get', 'cm', 'applied', '-n', ns, '-o', 'jsonpath={.data.a}']), 'replaced');
      const stale = await k(v, ['replace', '-f', '-'], live);
      assert.equal(stale.code, 1);
      assert.match(errText(stale), /Operation cannot be fulfilled on configmaps "applied": the object has been modified/);

      assert.match(await ok(v, ['patch', 'cm', 'applied', '-n', ns, '--type', 'json', '-p', '[{"op":"add","path":"/data/j","value":"1"}]']), /patched/);
      assert.match(await ok(v, ['patch', 'cm', 'applied', '-n', ns, '--type', 'merge', '-p', '{"data":{"m":"2","a":null}}']), /patched/);
      const data = JSON.parse(await ok(v, ['get', 'cm', 'applied', '-n', ns, '-o', 'jsonpath={.data}'])) as Record<string, string>;
      assert.deepEqual(data, { j: '1', m: '2' });
      // Strategic: containers merge by name, so the sidecar is added next to web.
      await ok(v, ['patch', 'deploy', 'web', '-n', ns, '--type', 'strategic', '-p', '{"spec":{"template":{"spec":{"containers":[{"name":"side","image":"busybox"}]}}}}']);
      const containers = await ok(v, ['get', 'deploy', 'web', '-n', ns, '-o', 'jsonpath={.spec.template.spec.containers[*].name}']);
      assert.equal(containers, 'side web');
      const badPatch = await k(v, ['patch', 'cm', 'applied', '-n', ns, '--type', 'json', '-p', '[{"op":"replace","path":"/data/nope","value":"1"}]']);
      assert.equal(badPatch.code, 1);

      assert.match(await ok(v, ['scale', 'deploy', 'web', '-n', ns, '--replicas=5']), /deployment.apps\/web scaled/);
      assert.equal(await ok(v, ['get', 'deploy', 'web', '-n', ns, '-o', 'jsonpath={.spec.replicas}']), '5');
      const wrongCurrent = await k(v, ['scale', 'deploy', 'web', '-n', ns, '--replicas=1', '--current-replicas=3']);
      assert.equal(wrongCurrent.code, 1);
      assert.match(errText(wrongCurrent), /Expected replicas to be 3, was 5/);
    }
  });

  test('apply --server-side: idempotent, conflicts name the manager, --force-conflicts takes over', async () => {
    for (const v of VERSIONS) {
      const ns = `${nsFor(v)}-ssa`;
      await ok(v, ['create', 'namespace', ns]);
      const cm = (value: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ssa, namespace: ${ns}}\ndata: {a: "${value}"}\n`;
      assert.match(await ok(v, ['apply', '--server-side', '-f', '-'], cm('1')), /configmap\/ssa serverside-applied/);
      assert.match(await ok(v, ['apply', '--server-side', '-f', '-'], cm('1')), /configmap\/ssa serverside-applied/);
      const obj = JSON.parse(await ok(v, ['get', 'cm', 'ssa', '-n', ns, '-o', 'json', '--show-managed-fields'])) as {
        metadata: { managedFields?: Array<{ manager: string; operation: string; fieldsV1: unknown }> };
      };
      const mf = obj.metadata.managedFields ?? [];
      assert.deepEqual(mf.map((m) => [m.manager, m.operation]), [['kubectl', 'Apply']]);
      assert.deepEqual(mf[0]!.fieldsV1, { 'f:data': { 'f:a': {} } });

      const conflictRun = await k(v, ['apply', '--server-side', '--field-manager=other', '-f', '-'], cm('2'));
      assert.equal(conflictRun.code, 1);
      assert.match(errText(conflictRun), /Apply failed with 1 conflict: conflict with "kubectl": \.data\.a/);
      assert.match(errText(conflictRun), /--force-conflicts/);
      assert.match(await ok(v, ['apply', '--server-side', '--field-manager=other', '--force-conflicts', '-f', '-'], cm('2')), /serverside-applied/);
      const after = JSON.parse(await ok(v, ['get', 'cm', 'ssa', '-n', ns, '-o', 'json', '--show-managed-fields'])) as typeof obj & { data: Record<string, string> };
      assert.equal(after.data.a, '2');
      // kubectl owned nothing else, so its entry goes away with the forced field.
      assert.deepEqual((after.metadata.managedFields ?? []).map((m) => m.manager), ['other']);

      // A client-side write records an Update entry for its manager.
      await ok(v, ['label', 'cm', 'ssa', 'x=y', '-n', ns]);
      const labeled = JSON.parse(await ok(v, ['get', 'cm', 'ssa', '-n', ns, '-o', 'json', '--show-managed-fields'])) as typeof obj;
      const label = (labeled.metadata.managedFields ?? []).find((m) => m.manager === 'kubectl-label');
      assert.equal(label?.operation, 'Update');
    }
  });
});
