// Issue 6 acceptance, the kubectl verbs api-kubectl/api-crd do not cover: set image/env/resources,
// replace --force, rollout status/history/undo on a Deployment whose pods really run (local busybox
// test image and a second tag of it), and bad patch/apply input with the server's answer asserted.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startCluster, type TestCluster } from '../helpers/cluster.ts';
import type { KubectlVersion, ToolResult } from '../helpers/tools.ts';
import { docker, dockerAvailable, ensureTestImage, TEST_IMAGE } from '../helpers/docker.ts';

const canRun = await dockerAvailable();
const IMAGE2 = TEST_IMAGE.replace(/:[^:]+$/, ':2');
let cluster: TestCluster;
let scratch: string;

before(async () => {
  if (!canRun) return;
  await ensureTestImage();
  const tagged = await docker(['tag', TEST_IMAGE, IMAGE2]);
  assert.equal(tagged.code, 0, tagged.stderr);
  cluster = await startCluster();
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'nanokube-patch-kubectl-'));
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

function k(version: KubectlVersion, args: string[], input?: string): Promise<ToolResult> {
  return cluster.kubectl(args, input !== undefined ? { version, input } : { version });
}

async function ok(version: KubectlVersion, args: string[], input?: string): Promise<string> {
  const r = await k(version, args, input);
  assert.equal(r.code, 0, `kubectl ${version} ${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

async function fails(version: KubectlVersion, args: string[], input?: string): Promise<string> {
  const r = await k(version, args, input);
  assert.notEqual(r.code, 0, `kubectl ${version} ${args.join(' ')} should fail:\n${r.stdout}\n${r.stderr}`);
  return errText(r);
}

const nsFor = (v: KubectlVersion) => `pk${v.replace('.', '')}`;

function deployment(ns: string, image = TEST_IMAGE): string {
  return JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'x', namespace: ns },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: 'x' } },
      template: {
        metadata: { labels: { app: 'x' } },
        spec: {
          terminationGracePeriodSeconds: 1,
          containers: [{ name: 'c', image, imagePullPolicy: 'Never', command: ['sh', '-c', "trap 'exit 0' TERM; sleep 3600 & wait"] }],
        },
      },
    },
  });
}

interface Container {
  image: string;
  env?: Array<{ name: string; value: string }>;
  resources?: { limits?: Record<string, string> };
}

async function container(v: KubectlVersion, ns: string): Promise<Container> {
  const d = JSON.parse(await ok(v, ['-n', ns, 'get', 'deployment', 'x', '-o', 'json'])) as { spec: { template: { spec: { containers: Container[] } } } };
  return d.spec.template.spec.containers[0]!;
}

/** `rollout history` REVISION column. */
async function revisions(v: KubectlVersion, ns: string): Promise<string[]> {
  const out = await ok(v, ['-n', ns, 'rollout', 'history', 'deployment/x']);
  return out.split('\n').filter((l) => /^\d+\s/.test(l)).map((l) => l.split(/\s+/)[0]!);
}

describe('kubectl verbs with running pods', { skip: canRun ? false : 'Docker is not running (scripts/ensure-docker.sh starts it)' }, () => {
  for (const v of ['1.35', '1.32'] as const) {
    test(`kubectl ${v}: set image/env/resources, rollout status/history/undo, replace --force`, { timeout: 300_000 }, async () => {
      const ns = nsFor(v);
      await ok(v, ['create', 'namespace', ns]);
      await ok(v, ['apply', '-f', '-'], deployment(ns));
      assert.match(await ok(v, ['-n', ns, 'rollout', 'status', 'deployment/x', '--timeout', '90s']), /successfully rolled out/);

      // set image → a new ReplicaSet, revision 2, rolled out on the second tag.
      assert.match(await ok(v, ['-n', ns, 'set', 'image', 'deployment/x', `c=${IMAGE2}`]), /deployment\.apps\/x image updated/);
      assert.match(await ok(v, ['-n', ns, 'rollout', 'status', 'deployment/x', '--timeout', '90s']), /successfully rolled out/);
      assert.equal((await container(v, ns)).image, IMAGE2);
      assert.deepEqual(await revisions(v, ns), ['1', '2']);
      const podImages = await ok(v, ['-n', ns, 'get', 'pods', '-l', 'app=x', '--field-selector', 'status.phase=Running', '-o', 'jsonpath={.items[*].spec.containers[0].image}']);
      assert.ok(podImages.split(' ').includes(IMAGE2), `no running pod on ${IMAGE2}: ${podImages}`);
      const rev2 = await ok(v, ['-n', ns, 'rollout', 'history', 'deployment/x', '--revision', '2']);
      assert.match(rev2, new RegExp(`Image:\\s+${IMAGE2.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`));

      // set env and set resources patch the pod template.
      assert.match(await ok(v, ['-n', ns, 'set', 'env', 'deployment/x', 'A=1']), /deployment\.apps\/x env updated/);
      assert.match(await ok(v, ['-n', ns, 'set', 'resources', 'deployment/x', '--limits=cpu=200m']), /resource requirements updated/);
      let c = await container(v, ns);
      assert.deepEqual(c.env, [{ name: 'A', value: '1' }]);
      assert.equal(c.resources?.limits?.cpu, '200m');
      assert.match(await ok(v, ['-n', ns, 'rollout', 'status', 'deployment/x', '--timeout', '90s']), /successfully rolled out/);
      const before = await revisions(v, ns);
      assert.ok(before.length >= 3, `set env/resources made no new revision: ${before.join(',')}`);

      // A bad image never becomes ready: rollout status gives up, undo goes back.
      await ok(v, ['-n', ns, 'set', 'image', 'deployment/x', 'c=nanokube-test/busybox:missing']);
      const stuck = await k(v, ['-n', ns, 'rollout', 'status', 'deployment/x', '--timeout', '3s']);
      assert.notEqual(stuck.code, 0, `rollout status should time out on a missing image:\n${stuck.stdout}`);
      assert.match(errText(stuck), /timed out waiting for the condition/);
      assert.match(await ok(v, ['-n', ns, 'rollout', 'undo', 'deployment/x']), /deployment\.apps\/x rolled back/);
      assert.match(await ok(v, ['-n', ns, 'rollout', 'status', 'deployment/x', '--timeout', '90s']), /successfully rolled out/);
      c = await container(v, ns);
      assert.equal(c.image, IMAGE2);
      assert.equal(c.resources?.limits?.cpu, '200m');

      // undo --to-revision=1: the first template again (no env, no limits, first tag).
      await ok(v, ['-n', ns, 'rollout', 'undo', 'deployment/x', '--to-revision=1']);
      assert.match(await ok(v, ['-n', ns, 'rollout', 'status', 'deployment/x', '--timeout', '90s']), /successfully rolled out/);
      c = await container(v, ns);
      assert.equal(c.image, TEST_IMAGE);
      assert.equal(c.env, undefined);
      const revs = await revisions(v, ns);
      assert.ok(!revs.includes('1'), `revision 1 should have moved to the newest: ${revs.join(',')}`);

      // replace --force: delete and create again, a new uid, same spec as the file.
      const uid1 = await ok(v, ['-n', ns, 'get', 'deployment', 'x', '-o', 'jsonpath={.metadata.uid}']);
      const file = path.join(scratch, `x-${ns}.json`);
      fs.writeFileSync(file, deployment(ns, IMAGE2));
      const replaced = await ok(v, ['replace', '--force', '-f', file]);
      assert.match(replaced, /deployment\.apps "x" deleted/);
      assert.match(replaced, /deployment\.apps\/x replaced/);
      const uid2 = await ok(v, ['-n', ns, 'get', 'deployment', 'x', '-o', 'jsonpath={.metadata.uid}']);
      assert.notEqual(uid2, uid1);
      assert.equal((await container(v, ns)).image, IMAGE2);
      assert.match(await ok(v, ['-n', ns, 'rollout', 'status', 'deployment/x', '--timeout', '90s']), /successfully rolled out/);
      assert.deepEqual(await revisions(v, ns), ['1']);

      await ok(v, ['delete', 'namespace', ns, '--wait=false']);
    });
  }
});

describe('bad patch and apply input', { skip: canRun ? false : 'Docker is not running (scripts/ensure-docker.sh starts it)' }, () => {
  for (const v of ['1.35', '1.32'] as const) {
    test(`kubectl ${v}: failing JSON patch test op, bad paths, malformed patches, empty/non-object apply`, async () => {
      const ns = `bad${v.replace('.', '')}`;
      await ok(v, ['create', 'namespace', ns]);
      await ok(v, ['-n', ns, 'create', 'configmap', 'p1', '--from-literal=a=1']);
      const patch = (type: string, p: string) => k(v, ['-n', ns, 'patch', 'configmap', 'p1', `--type=${type}`, '-p', p, '-v=6']);

      // JSON patch `test` that fails: 422 Invalid, the reason reaches kubectl's output.
      let r = await patch('json', '[{"op":"test","path":"/data/a","value":"2"}]');
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /PATCH.*\/configmaps\/p1\?.*422 Unprocessable Entity/);
      assert.match(errText(r), /The request is invalid: testing value \/data\/a failed: test failed/);
      // A passing test guards the rest of the patch.
      assert.match(await ok(v, ['-n', ns, 'patch', 'configmap', 'p1', '--type=json', '-p', '[{"op":"test","path":"/data/a","value":"1"},{"op":"add","path":"/data/b","value":"2"}]']), /patched/);

      // Paths that are not there / not pointers.
      r = await patch('json', '[{"op":"replace","path":"/data/nope/x","value":"2"}]');
      assert.match(r.stderr, /422 Unprocessable Entity/);
      assert.match(errText(r), /replace operation does not apply: doc is missing path: "\/data\/nope\/x"/);
      r = await patch('json', '[{"op":"remove","path":"/data/zzz"}]');
      assert.match(errText(r), /remove operation does not apply: doc is missing path: "\/data\/zzz"/);
      r = await patch('json', '[{"op":"move","from":"/data/zz","path":"/data/q"}]');
      assert.match(errText(r), /move operation does not apply: doc is missing path: "\/data\/zz"/);
      r = await patch('json', '[{"op":"add","path":"bad","value":"2"}]');
      assert.match(errText(r), /invalid JSON pointer "bad"/);

      // Not a JSON patch at all: 400 BadRequest, as upstream's DecodePatch.
      r = await patch('json', '{"op":"add"}');
      assert.match(r.stderr, /400 Bad Request/);
      assert.match(errText(r), /Error from server \(BadRequest\): json: cannot unmarshal object into Go value of type jsonpatch\.Patch/);

      // A patch may not rename the object (it used to store p1 under the new name).
      r = await patch('merge', '{"metadata":{"name":"other"}}');
      assert.notEqual(r.code, 0, r.stdout);
      assert.match(r.stderr, /422 Unprocessable Entity/);
      assert.match(errText(r), /metadata\.name: Invalid value: "other": field is immutable/);
      assert.equal((await ok(v, ['-n', ns, 'get', 'configmap', 'p1', '-o', 'jsonpath={.metadata.name} {.data.a} {.data.b}'])).trim(), 'p1 1 2');

      // apply of an empty document / a non-object / no kind: kubectl refuses before any request.
      assert.match(await fails(v, ['-n', ns, 'apply', '-f', '-'], ''), /error: no objects passed to apply/);
      assert.match(await fails(v, ['-n', ns, 'apply', '-f', '-'], 'just a string\n'), /error validating data: invalid object to validate/);
      assert.match(await fails(v, ['-n', ns, 'apply', '-f', '-'], '- a\n- b\n'), /error validating data: invalid object to validate/);
      assert.match(await fails(v, ['-n', ns, 'apply', '-f', '-'], 'apiVersion: v1\nmetadata:\n  name: q\n'), /error validating data: kind not set/);
      // Without client-side validation a wrongly typed field reaches the server, which refuses it.
      const typed = await k(v, ['-n', ns, 'apply', '--validate=false', '-f', '-', '-v=6'], 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: p9\ndata: 5\n');
      assert.notEqual(typed.code, 0, typed.stdout);
      assert.match(typed.stderr, /POST.*\/configmaps\?.*422 Unprocessable Entity/);
      assert.match(errText(typed), /The ConfigMap "p9" is invalid: data: Invalid value: 5: must be a map/);
      assert.notEqual((await k(v, ['-n', ns, 'get', 'configmap', 'p9'])).code, 0, 'p9 must not exist');

      await ok(v, ['delete', 'namespace', ns, '--wait=false']);
    });
  }
});
