// Issue 6 acceptance with the real helm 4 (server-side apply by default, protobuf release Secrets,
// kstatus watchers for --wait): a chart from `helm create` whose Deployment runs the local busybox
// test image as an HTTP server, through install → list → upgrade → history → rollback → status →
// uninstall, against one started cluster whose kubelet runs the pods on Docker.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startCluster, type TestCluster } from '../helpers/cluster.ts';
import { runHelm, type ToolResult } from '../helpers/tools.ts';
import { dockerAvailable, ensureTestImage, TEST_IMAGE } from '../helpers/docker.ts';
import { waitFor } from '../helpers/wait.ts';

const canRun = await dockerAvailable();
let cluster: TestCluster;
let scratch: string;

before(async () => {
  if (!canRun) return;
  await ensureTestImage();
  cluster = await startCluster();
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'nanokube-helm-'));
});
after(async () => {
  await cluster?.destroy();
  if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
});

async function helm(args: string[], timeoutMs = 180_000): Promise<ToolResult> {
  return runHelm(args, { kubeconfig: cluster.kubeconfig, cwd: scratch, timeoutMs });
}

async function helmOk(args: string[], timeoutMs?: number): Promise<string> {
  const r = await helm(args, timeoutMs);
  assert.equal(r.code, 0, `helm ${args.join(' ')} failed (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

async function kubectlOk(args: string[]): Promise<string> {
  const r = await cluster.kubectl(args);
  assert.equal(r.code, 0, `kubectl ${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** `helm create` output, with a `command` value wired into the Deployment's container. */
function prepareChart(): string {
  const tpl = path.join(scratch, 'mychart', 'templates', 'deployment.yaml');
  const text = fs.readFileSync(tpl, 'utf8');
  const anchor = /^(\s*)imagePullPolicy: \{\{ \.Values\.image\.pullPolicy \}\}\n/m;
  const m = anchor.exec(text);
  assert.ok(m, `helm create's deployment.yaml changed shape:\n${text}`);
  const ind = m[1]!;
  const inserted = `${m[0]}${ind}{{- with .Values.command }}\n${ind}command:\n${ind}  {{- toYaml . | nindent ${ind.length + 2} }}\n${ind}{{- end }}\n`;
  fs.writeFileSync(tpl, text.replace(anchor, inserted));
  const [repo, tag] = TEST_IMAGE.split(':');
  const values = path.join(scratch, 'values-nanokube.yaml');
  // busybox httpd serves /www (index.html → 200 for the chart's httpGet probes on port `http` path /).
  // sh traps TERM so a deleted pod stops at once instead of after the 30 s grace period.
  const script = 'trap "exit 0" TERM; mkdir -p /www && echo ok > /www/index.html && httpd -f -p 80 -h /www & wait';
  fs.writeFileSync(
    values,
    [
      'image:',
      `  repository: ${repo}`,
      `  tag: "${tag}"`,
      '  pullPolicy: Never',
      `command: ["sh", "-c", ${JSON.stringify(script)}]`,
      '',
    ].join('\n'),
  );
  return values;
}

const SEL = 'app.kubernetes.io/instance=r1';

test('helm 4: create, install --wait, list, upgrade, history, rollback, status, uninstall', { skip: canRun ? false : 'Docker is not running (scripts/ensure-docker.sh starts it)', timeout: 600_000 }, async () => {
  await helmOk(['create', 'mychart']);
  const values = prepareChart();
  await helmOk(['lint', './mychart', '-f', values]);

  // install: server-side apply (helm 4's default) and --wait on kstatus watchers.
  const install = await helmOk(['install', 'r1', './mychart', '-f', values, '--wait', '--timeout', '120s'], 150_000);
  assert.match(install, /STATUS: deployed/);
  assert.match(install, /REVISION: 1/);
  const deploy = JSON.parse(await kubectlOk(['get', 'deployment', 'r1-mychart', '-o', 'json', '--show-managed-fields'])) as {
    metadata: { managedFields?: Array<{ manager: string; operation: string }>; labels: Record<string, string> };
    spec: { template: { spec: { containers: Array<{ image: string; imagePullPolicy: string; command: string[] }> } } };
    status: { readyReplicas?: number };
  };
  assert.equal(deploy.status.readyReplicas, 1, '--wait returned before the Deployment was ready');
  assert.equal(deploy.spec.template.spec.containers[0]!.image, TEST_IMAGE);
  assert.equal(deploy.spec.template.spec.containers[0]!.imagePullPolicy, 'Never');
  assert.equal(deploy.metadata.labels['app.kubernetes.io/managed-by'], 'Helm');
  assert.ok(
    deploy.metadata.managedFields?.some((f) => f.manager === 'helm' && f.operation === 'Apply'),
    `expected an Apply entry by manager helm: ${JSON.stringify(deploy.metadata.managedFields)}`,
  );
  const pods = await kubectlOk(['get', 'pods', '-l', SEL, '-o', 'jsonpath={range .items[*]}{.status.phase} {.status.containerStatuses[0].ready}{"\\n"}{end}']);
  assert.deepEqual(pods.trim().split('\n'), ['Running true']);

  // list: text and JSON.
  const listText = await helmOk(['list']);
  assert.match(listText, /^r1\s+default\s+1\s+.*deployed\s+mychart-0\.1\.0/m);
  const list = JSON.parse(await helmOk(['list', '-o', 'json'])) as Array<{ name: string; revision: string; status: string }>;
  assert.deepEqual(list.map((r) => [r.name, r.revision, r.status]), [['r1', '1', 'deployed']]);

  // upgrade to two replicas and wait for both.
  const upgrade = await helmOk(['upgrade', 'r1', './mychart', '-f', values, '--set', 'replicaCount=2', '--wait', '--timeout', '120s'], 150_000);
  assert.match(upgrade, /has been upgraded/);
  assert.match(upgrade, /REVISION: 2/);
  assert.equal((await kubectlOk(['get', 'deployment', 'r1-mychart', '-o', 'jsonpath={.spec.replicas}/{.status.readyReplicas}'])).trim(), '2/2');

  const history = JSON.parse(await helmOk(['history', 'r1', '-o', 'json'])) as Array<{ revision: number; status: string; description: string }>;
  assert.deepEqual(history.map((h) => [h.revision, h.status]), [[1, 'superseded'], [2, 'deployed']]);
  assert.match(await helmOk(['history', 'r1']), /^2\s+.*deployed\s+mychart-0\.1\.0\s+\S+\s+Upgrade complete/m);

  // rollback to revision 1: one replica again, as revision 3.
  const rollback = await helmOk(['rollback', 'r1', '1', '--wait', '--timeout', '120s'], 150_000);
  assert.match(rollback, /Rollback was a success/);
  assert.equal((await kubectlOk(['get', 'deployment', 'r1-mychart', '-o', 'jsonpath={.spec.replicas}/{.status.readyReplicas}'])).trim(), '1/1');
  const history2 = JSON.parse(await helmOk(['history', 'r1', '-o', 'json'])) as Array<{ revision: number; status: string; description: string }>;
  assert.deepEqual(history2.map((h) => [h.revision, h.status]), [[1, 'superseded'], [2, 'superseded'], [3, 'deployed']]);
  assert.equal(history2[2]!.description, 'Rollback to 1');

  // status (helm 4 prints the release's resources by default, via Tables).
  const status = await helmOk(['status', 'r1']);
  assert.match(status, /STATUS: deployed/);
  assert.match(status, /REVISION: 3/);
  assert.match(status, /==> v1\/Deployment\n.*\nr1-mychart\s+1\/1/);
  assert.match(status, /==> v1\/Service\n.*\nr1-mychart\s+ClusterIP/);

  // The release records are helm's Secrets, one per revision.
  const secrets = await kubectlOk(['get', 'secrets', '-l', 'owner=helm,name=r1', '-o', 'jsonpath={range .items[*]}{.metadata.name} {.type} {.metadata.labels.status}{"\\n"}{end}']);
  assert.deepEqual(secrets.trim().split('\n').sort(), [
    'sh.helm.release.v1.r1.v1 helm.sh/release.v1 superseded',
    'sh.helm.release.v1.r1.v2 helm.sh/release.v1 superseded',
    'sh.helm.release.v1.r1.v3 helm.sh/release.v1 deployed',
  ]);

  // uninstall --wait: the release's objects and records are gone; the pods follow by GC (helm
  // deletes with background propagation, as on any cluster).
  const uninstall = await helmOk(['uninstall', 'r1', '--wait', '--timeout', '120s'], 150_000);
  assert.match(uninstall, /release "r1" uninstalled/);
  assert.equal((await kubectlOk(['get', 'deployments,services,serviceaccounts,replicasets', '-l', SEL, '-o', 'name'])).trim(), '');
  assert.equal((await kubectlOk(['get', 'secrets', '-l', 'owner=helm', '-o', 'name'])).trim(), '');
  await waitFor(async () => (await kubectlOk(['get', 'all', '-l', SEL, '-o', 'name'])).trim() === '', {
    timeoutMs: 60_000,
    intervalMs: 250,
    what: 'the release pods to be gone',
  });
  assert.equal((await helmOk(['list', '--deployed', '--failed', '--pending', '--superseded', '--uninstalled', '--uninstalling', '-o', 'json'])).trim(), '[]');
});
