// Strategic merge patch: upstream's raw apply cases (fixture, taken as input/output facts), then
// realistic kubectl-generated patches against the built-in schema, then every directive's errors.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { describe, it } from 'node:test';
import { openApiSchema, builtInSchema } from '../../src/apiserver/apply/schema-oracle.ts';
import { applyStrategicMergePatch, StrategicMergePatchError } from '../../src/apiserver/patch/strategic.ts';

type Obj = Record<string, unknown>;
const ref = (n: string) => ({ $ref: `#/definitions/${n}` });
const mergingList = { type: 'array', items: ref('mergeItem'), 'x-kubernetes-patch-strategy': 'merge', 'x-kubernetes-patch-merge-key': 'name' };
const mergingIntList = { type: 'array', items: { type: 'integer' }, 'x-kubernetes-patch-strategy': 'merge' };
// The test type upstream's cases are written against, as an OpenAPI schema.
const testSchema = openApiSchema(ref('mergeItem'), {
  mergeItem: { type: 'object', properties: {
    name: { type: 'string' }, value: { type: 'string' }, other: { type: 'string' },
    mergingList, nonMergingList: { type: 'array', items: ref('mergeItem') },
    mergingIntList, nonMergingIntList: { type: 'array', items: { type: 'integer' } },
    mergeItemPtr: mergingList,
    simpleMap: { type: 'object', additionalProperties: { type: 'string' } },
    replacingItem: { type: 'object', 'x-kubernetes-patch-strategy': 'replace' },
    retainKeysMap: { ...ref('retainKeysMergeItem'), 'x-kubernetes-patch-strategy': 'retainKeys' },
    retainKeysMergingList: { ...mergingList, 'x-kubernetes-patch-strategy': 'merge,retainKeys' },
  } },
  retainKeysMergeItem: { type: 'object', properties: {
    name: { type: 'string' }, value: { type: 'string' }, other: { type: 'string' },
    simpleMap: { type: 'object', additionalProperties: { type: 'string' } },
    mergingIntList, mergingList, nonMergingList: { type: 'array', items: ref('mergeItem') },
  } },
});

interface RawCase { description: string; original?: Obj; twoWay?: Obj; modified?: Obj; twoWayResult?: Obj; current?: Obj; threeWay?: Obj; result?: Obj }
const raw = JSON.parse(fs.readFileSync(new URL('./fixtures/strategic-upstream-raw-cases.json', import.meta.url), 'utf8')) as RawCase[];

describe('strategic merge patch: upstream raw cases', () => {
  assert.ok(raw.length >= 90);
  for (const c of raw) {
    if (c.twoWay) {
      it(`${c.description} (two-way)`, () => {
        const got = applyStrategicMergePatch(structuredClone(c.original ?? {}), structuredClone(c.twoWay), testSchema);
        assert.deepStrictEqual(JSON.parse(JSON.stringify(got)), c.twoWayResult ?? c.modified ?? {});
      });
    }
    if (c.threeWay && c.result) {
      it(`${c.description} (three-way)`, () => {
        const got = applyStrategicMergePatch(structuredClone(c.current ?? {}), structuredClone(c.threeWay), testSchema);
        assert.deepStrictEqual(JSON.parse(JSON.stringify(got)), c.result);
      });
    }
  }
});

const deployment = builtInSchema({ group: 'apps', version: 'v1', kind: 'Deployment' });
const pod = builtInSchema({ group: '', version: 'v1', kind: 'Pod' });

function liveDeployment(): Obj {
  return {
    apiVersion: 'apps/v1', kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default', labels: { app: 'web' }, finalizers: ['a.example/x'] },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: 'web' } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: {
          containers: [
            { name: 'nginx', image: 'nginx:1.25', ports: [{ containerPort: 80, protocol: 'TCP' }, { containerPort: 443, protocol: 'TCP' }],
              env: [{ name: 'A', value: '1' }, { name: 'B', value: '2' }], volumeMounts: [{ name: 'data', mountPath: '/data' }], args: ['-a', '-b'] },
            { name: 'sidecar', image: 'busybox' },
          ],
          volumes: [{ name: 'data', emptyDir: {} }, { name: 'cfg', configMap: { name: 'cfg' } }],
          tolerations: [{ key: 'k1', operator: 'Exists' }, { key: 'k2', operator: 'Exists' }],
        },
      },
    },
  };
}
const podSpec = (o: Obj) => ((o.spec as Obj).template as Obj).spec as Obj;
const containers = (o: Obj) => podSpec(o).containers as Obj[];

interface KubectlCase { name: string; patch: Obj; check: (got: Obj, before: Obj) => void }
// Patches in the shape kubectl's 3-way diff produces (with $setElementOrder for merged lists).
const kubectlCases: KubectlCase[] = [
  { name: 'image change merges containers by name', patch: { spec: { template: { spec: { $setElementOrder_containers: undefined, '$setElementOrder/containers': [{ name: 'nginx' }, { name: 'sidecar' }], containers: [{ name: 'nginx', image: 'nginx:1.27' }] } } } },
    check: (g) => { assert.equal(containers(g)[0]!.image, 'nginx:1.27'); assert.equal(containers(g).length, 2); assert.deepEqual(containers(g)[0]!.env, [{ name: 'A', value: '1' }, { name: 'B', value: '2' }]); } },
  { name: 'new container appended per $setElementOrder', patch: { spec: { template: { spec: { '$setElementOrder/containers': [{ name: 'nginx' }, { name: 'sidecar' }, { name: 'log' }], containers: [{ name: 'log', image: 'fluent' }] } } } },
    check: (g) => assert.deepEqual(containers(g).map((c) => c.name), ['nginx', 'sidecar', 'log']) },
  { name: 'container removed with $patch delete', patch: { spec: { template: { spec: { '$setElementOrder/containers': [{ name: 'nginx' }], containers: [{ name: 'sidecar', $patch: 'delete' }] } } } },
    check: (g) => assert.deepEqual(containers(g).map((c) => c.name), ['nginx']) },
  { name: 'ports merged by containerPort, one removed, one added', patch: { spec: { template: { spec: { '$setElementOrder/containers': [{ name: 'nginx' }, { name: 'sidecar' }], containers: [{ name: 'nginx', '$setElementOrder/ports': [{ containerPort: 80 }, { containerPort: 8080 }], ports: [{ containerPort: 8080, protocol: 'TCP' }, { containerPort: 443, $patch: 'delete' }] }] } } } },
    check: (g) => assert.deepEqual(containers(g)[0]!.ports, [{ containerPort: 80, protocol: 'TCP' }, { containerPort: 8080, protocol: 'TCP' }]) },
  { name: 'env merged by name, value deleted with null, order kept', patch: { spec: { template: { spec: { '$setElementOrder/containers': [{ name: 'nginx' }, { name: 'sidecar' }], containers: [{ name: 'nginx', '$setElementOrder/env': [{ name: 'B' }, { name: 'A' }, { name: 'C' }], env: [{ name: 'A', value: null, valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }, { name: 'C', value: '3' }] }] } } } },
    check: (g) => assert.deepEqual(containers(g)[0]!.env, [{ name: 'B', value: '2' }, { name: 'A', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }, { name: 'C', value: '3' }]) },
  { name: 'volume source switched with retainKeys', patch: { spec: { template: { spec: { '$setElementOrder/volumes': [{ name: 'data' }, { name: 'cfg' }], volumes: [{ $retainKeys: ['hostPath', 'name'], name: 'data', hostPath: { path: '/tmp' }, emptyDir: null }] } } } },
    check: (g) => assert.deepEqual((podSpec(g).volumes as Obj[])[0], { name: 'data', hostPath: { path: '/tmp' } }) },
  { name: 'Deployment strategy RollingUpdate → Recreate drops rollingUpdate (retainKeys)', patch: { spec: { strategy: { $retainKeys: ['type'], type: 'Recreate', rollingUpdate: null } } },
    check: (g) => assert.deepEqual((g.spec as Obj).strategy, { type: 'Recreate' }) },
  { name: 'retainKeys alone clears unlisted keys', patch: { spec: { strategy: { $retainKeys: ['type'], type: 'Recreate' } } },
    check: (g) => assert.deepEqual((g.spec as Obj).strategy, { type: 'Recreate' }) },
  { name: 'tolerations are replaced whole', patch: { spec: { template: { spec: { tolerations: [{ key: 'k3', operator: 'Exists' }] } } } },
    check: (g) => assert.deepEqual(podSpec(g).tolerations, [{ key: 'k3', operator: 'Exists' }]) },
  { name: 'args (atomic) replaced', patch: { spec: { template: { spec: { '$setElementOrder/containers': [{ name: 'nginx' }, { name: 'sidecar' }], containers: [{ name: 'nginx', args: ['-c'] }] } } } },
    check: (g) => assert.deepEqual(containers(g)[0]!.args, ['-c']) },
  { name: 'finalizers union (merge strategy without key)', patch: { metadata: { finalizers: ['b.example/y', 'a.example/x'] } },
    check: (g) => assert.deepEqual((g.metadata as Obj).finalizers, ['b.example/y', 'a.example/x']) },
  { name: '$deleteFromPrimitiveList removes a finalizer', patch: { metadata: { '$deleteFromPrimitiveList/finalizers': ['a.example/x'] } },
    check: (g) => assert.deepEqual((g.metadata as Obj).finalizers, []) },
  { name: 'label removed with null, added', patch: { metadata: { labels: { app: null, tier: 'fe' } } },
    check: (g) => assert.deepEqual((g.metadata as Obj).labels, { tier: 'fe' }) },
  { name: 'map $patch replace', patch: { spec: { selector: { $patch: 'replace', matchLabels: { x: 'y' } } } },
    check: (g) => assert.deepEqual((g.spec as Obj).selector, { matchLabels: { x: 'y' } }) },
  { name: 'map $patch delete empties the map', patch: { spec: { strategy: { $patch: 'delete' } } },
    check: (g) => assert.deepEqual((g.spec as Obj).strategy, {}) },
  { name: 'list $patch replace', patch: { spec: { template: { spec: { containers: [{ name: 'only', image: 'x' }, { $patch: 'replace' }] } } } },
    check: (g) => assert.deepEqual(containers(g), [{ name: 'only', image: 'x' }]) },
  { name: 'scale patch', patch: { spec: { replicas: 5 } }, check: (g) => assert.equal((g.spec as Obj).replicas, 5) },
  { name: 'inputs are not mutated', patch: { spec: { template: { spec: { containers: [{ name: 'nginx', image: 'other' }] } } } },
    check: (_g, before) => assert.deepEqual(before, liveDeployment()) },
];

describe('strategic merge patch: kubectl-shaped patches on a Deployment', () => {
  for (const c of kubectlCases) {
    it(c.name, () => {
      const before = liveDeployment();
      const patch = structuredClone(c.patch);
      delete (((patch.spec as Obj | undefined)?.template as Obj | undefined)?.spec as Obj | undefined)?.$setElementOrder_containers;
      const frozen = structuredClone(patch);
      const got = applyStrategicMergePatch(before, patch, deployment);
      assert.deepEqual(patch, frozen, 'patch not mutated');
      c.check(got, before);
    });
  }
  it('pod conditions merge by type', () => {
    const live = { status: { conditions: [{ type: 'Ready', status: 'False' }, { type: 'Initialized', status: 'True' }] } };
    const got = applyStrategicMergePatch(live, { status: { conditions: [{ type: 'Ready', status: 'True' }] } }, pod);
    assert.deepEqual((got.status as Obj).conditions, [{ type: 'Ready', status: 'True' }, { type: 'Initialized', status: 'True' }]);
  });
});

interface ErrorCase { name: string; original?: Obj; patch: unknown; code: number; message: RegExp }
const errorCases: ErrorCase[] = [
  { name: 'not an object', patch: [1], code: 400, message: /^invalid JSON document$/ },
  { name: 'unknown map directive', patch: { spec: { $patch: 'explode' } }, original: { spec: { a: 1 } }, code: 500, message: /^unknown patch type: explode in map: map\[\$patch:explode\]$/ },
  { name: '$patch merge in a list', patch: { spec: { template: { spec: { containers: [{ $patch: 'merge' }] } } } }, code: 500, message: /merging lists cannot yet be specified in the patch/ },
  { name: 'missing merge key', patch: { spec: { template: { spec: { containers: [{ image: 'x' }] } } } }, code: 500, message: /^map: map\[image:x\] does not contain declared merge key: name$/ },
  { name: 'delete element without merge key', patch: { spec: { template: { spec: { containers: [{ $patch: 'delete' }] } } } }, code: 500, message: /does not contain declared merge key: name/ },
  { name: 'retainKeys not a list', patch: { spec: { strategy: { $retainKeys: 'type' } } }, code: 400, message: /^invalid patch format of retainKeys$/ },
  { name: 'retainKeys missing a patched key', patch: { spec: { strategy: { $retainKeys: ['type'], rollingUpdate: { maxSurge: 1 } } } }, code: 400, message: /^invalid patch format of retainKeys$/ },
  { name: 'bad $deleteFromPrimitiveList prefix', patch: { metadata: { $deleteFromPrimitiveListfinalizers: ['x'] } }, code: 400, message: /^invalid patch format of primitive list$/ },
  { name: 'bad $setElementOrder prefix', patch: { metadata: { $setElementOrderfinalizers: ['x'] } }, code: 400, message: /^invalid patch format of setElementOrder list$/ },
  { name: '$setElementOrder not a list', patch: { metadata: { '$setElementOrder/finalizers': 'x' } }, code: 500, message: /^expected a \[\]interface \{\}, but received a string$/ },
  { name: '$setElementOrder contradicting the patch order', patch: { spec: { template: { spec: { '$setElementOrder/containers': [{ name: 'sidecar' }, { name: 'nginx' }], containers: [{ name: 'nginx', image: 'a' }, { name: 'sidecar', image: 'b' }] } } } }, code: 500, message: /doesn't match \$setElementOrder list/ },
  { name: 'list of lists', original: { metadata: { finalizers: [['a']] } }, patch: { metadata: { finalizers: [['b']] } }, code: 422, message: /^lists of lists are not supported$/ },
  { name: 'mixed element types', original: { metadata: { finalizers: ['a'] } }, patch: { metadata: { finalizers: [1] } }, code: 500, message: /^list element types are not identical/ },
];

describe('strategic merge patch: invalid patches', () => {
  for (const c of errorCases) {
    it(c.name, () => {
      assert.throws(() => applyStrategicMergePatch(c.original ?? liveDeployment(), c.patch, deployment), (err: unknown) => {
        assert.ok(err instanceof StrategicMergePatchError);
        assert.equal(err.code, c.code);
        assert.match(err.message, c.message);
        return true;
      });
    });
  }
});
