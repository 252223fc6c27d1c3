// Issue 6 (API side): CustomResourceDefinitions through real kubectl 1.35 and 1.32 — registration
// at run time, discovery, OpenAPI (explain, server-side validation), schema validation, defaulting,
// pruning, printer columns, status/scale subresources, patch types, restart, and deletion.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster, type TestCluster } from '../helpers/cluster.ts';
import type { KubectlVersion, ToolResult } from '../helpers/tools.ts';

const VERSIONS: KubectlVersion[] = ['1.35', '1.32'];
let cluster: TestCluster;

before(async () => {
  cluster = await startCluster();
});
after(async () => {
  await cluster?.destroy();
});

const errText = (r: ToolResult) =>
  r.stderr
    .split('\n')
    .filter((l) => !l.includes('version difference between client'))
    .join('\n')
    .trim();

async function ok(version: KubectlVersion, args: string[], input?: string): Promise<string> {
  const r = await cluster.kubectl(args, input !== undefined ? { version, input } : { version });
  assert.equal(r.code, 0, `kubectl ${version} ${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** One CRD per kubectl version (group differs), so the passes are independent. */
const crd = (group: string) => `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.${group}}
spec:
  group: ${group}
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, listKind: WidgetList, shortNames: [wd], categories: [all]}
  versions:
  - name: v1
    served: true
    storage: true
    subresources:
      status: {}
      scale: {specReplicasPath: .spec.replicas, statusReplicasPath: .status.replicas, labelSelectorPath: .status.selector}
    additionalPrinterColumns:
    - {name: Size, type: string, jsonPath: .spec.size, description: How big the widget is.}
    - {name: Replicas, type: integer, jsonPath: .spec.replicas}
    - {name: Port, type: string, jsonPath: .spec.port, priority: 1}
    - {name: Age, type: date, jsonPath: .metadata.creationTimestamp}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            description: Desired state of the widget.
            required: [size]
            properties:
              size: {type: string, enum: [small, large], description: How big the widget is.}
              replicas: {type: integer, minimum: 0, maximum: 10, default: 1}
              name: {type: string, pattern: '^[a-z]+$'}
              port: {x-kubernetes-int-or-string: true}
              extra: {type: object, x-kubernetes-preserve-unknown-fields: true}
              template: {type: object, x-kubernetes-embedded-resource: true, x-kubernetes-preserve-unknown-fields: true}
          status:
            type: object
            properties:
              replicas: {type: integer}
              selector: {type: string}
  - name: v1beta1
    served: true
    storage: false
    schema:
      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
`;

const groupFor = (v: KubectlVersion) => `k${v.replace('.', '')}.example.com`;

describe('CustomResourceDefinitions with kubectl', () => {
  test('apply registers the kinds: discovery, short names, categories, Established', async () => {
    for (const v of VERSIONS) {
      const g = groupFor(v);
      assert.match(await ok(v, ['apply', '-f', '-'], crd(g)), new RegExp(`customresourcedefinition.apiextensions.k8s.io/widgets.${g.replace(/\./g, '\\.')} created`));
      const cond = await ok(v, ['get', 'crd', `widgets.${g}`, '-o', 'jsonpath={.status.conditions[?(@.type=="Established")].status}']);
      assert.equal(cond, 'True');
      assert.equal(await ok(v, ['get', 'crd', `widgets.${g}`, '-o', 'jsonpath={.status.acceptedNames.listKind}']), 'WidgetList');
      const res = await ok(v, ['api-resources', '--api-group', g]);
      assert.match(res, new RegExp(`^widgets\\s+wd\\s+${g.replace(/\./g, '\\.')}/v1\\s+true\\s+Widget$`, 'm'));
      assert.match(await ok(v, ['get', `widgets.${g}`]), /^No resources found|^$/);
    }
  });

  test('explain reads the CRD schema from OpenAPI', async () => {
    for (const v of VERSIONS) {
      const out = await ok(v, ['explain', `widgets.${groupFor(v)}.spec`]);
      assert.match(out, /KIND:\s+Widget/);
      assert.match(out, /Desired state of the widget\./);
      assert.match(out, /size\s+<string> -required-/);
      assert.match(out, /How big the widget is\./);
    }
  });

  test('create: defaulting, pruning (Strict rejects, Warn warns), schema validation errors name the field', async () => {
    for (const v of VERSIONS) {
      const g = groupFor(v);
      const w = (name: string, spec: string) => `apiVersion: ${g}/v1\nkind: Widget\nmetadata: {name: ${name}, namespace: default}\nspec: ${spec}\n`;
      await ok(v, ['apply', '-f', '-'], w('w1', '{size: small, port: 80, extra: {any: thing}, template: {apiVersion: v1, kind: Pod, metadata: {name: p}, spec: {}}}'));
      const got = JSON.parse(await ok(v, ['get', `widgets.${g}`, 'w1', '-o', 'json'])) as { spec: Record<string, unknown>; metadata: { generation: number } };
      assert.equal(got.spec.replicas, 1, 'default from the schema');
      assert.deepEqual(got.spec.extra, { any: 'thing' }, 'preserve-unknown-fields keeps the subtree');
      assert.equal(got.spec.port, 80);
      assert.equal(got.metadata.generation, 1);

      const strict = await cluster.kubectl(['create', '-f', '-'], { version: v, input: w('unk', '{size: small, foo: 1}') });
      assert.equal(strict.code, 1);
      assert.match(errText(strict), /Widget in version "v1" cannot be handled as a Widget: strict decoding error: unknown field "spec\.foo"/);
      const warn = await cluster.kubectl(['create', '--validate=warn', '-f', '-'], { version: v, input: w('unk', '{size: small, foo: 1}') });
      assert.equal(warn.code, 0, warn.stderr);
      assert.match(warn.stderr, /Warning: unknown field "spec\.foo"/);
      const pruned = JSON.parse(await ok(v, ['get', `widgets.${g}`, 'unk', '-o', 'json'])) as { spec: Record<string, unknown> };
      assert.equal(pruned.spec.foo, undefined, 'unknown fields are pruned');

      const bad = await cluster.kubectl(['create', '-f', '-'], { version: v, input: w('bad', '{size: huge, replicas: 20, name: A1}') });
      assert.equal(bad.code, 1);
      const e = errText(bad);
      assert.match(e, /The Widget "bad" is invalid/);
      assert.match(e, /spec\.size: Unsupported value: "huge": supported values: "small", "large"/);
      assert.match(e, /spec\.replicas: Invalid value: 20: spec\.replicas in body should be less than or equal to 10/);
      assert.match(e, /spec\.name: Invalid value: "A1": spec\.name in body should match '\^\[a-z\]\+\$'/);
      const typed = await cluster.kubectl(['create', '-f', '-'], { version: v, input: w('bad2', '{replicas: "x"}') });
      assert.equal(typed.code, 1);
      assert.match(errText(typed), /spec\.size: Required value/);
      assert.match(errText(typed), /spec\.replicas: Invalid value: "x": spec\.replicas in body must be of type integer: "string"/);
    }
  });

  test('get shows printer columns (wide adds priority 1), short name and category work', async () => {
    for (const v of VERSIONS) {
      const g = groupFor(v);
      const table = await ok(v, ['get', `widgets.${g}`, 'w1']);
      assert.match(table, /^NAME\s+SIZE\s+REPLICAS\s+AGE$/m);
      assert.match(table, /^w1\s+small\s+1\s+\d+s$/m);
      const wide = await ok(v, ['get', `widgets.${g}`, 'w1', '-o', 'wide']);
      assert.match(wide, /^NAME\s+SIZE\s+REPLICAS\s+PORT\s+AGE$/m);
      assert.match(wide, /^w1\s+small\s+1\s+80\s+/m);
      assert.match(await ok(v, ['get', 'all', '-o', 'name']), new RegExp(`widget\\.${g.replace(/\./g, '\\.')}/w1`));
      // Both served versions read the same objects (conversion None).
      assert.equal(await ok(v, ['get', `widgets.v1beta1.${g}`, 'w1', '-o', 'jsonpath={.apiVersion}']), `${g}/v1beta1`);
    }
    // The short name resolves to one of the groups (kubectl picks by its own priority).
    assert.match(await ok('1.35', ['get', 'wd', '-A', '-o', 'name']), /widget\.k1\d\d\.example\.com\/w1/);
  });

  test('patch merge/json work, strategic is 415; status and scale subresources', async () => {
    for (const v of VERSIONS) {
      const res = `widgets.${groupFor(v)}`;
      assert.match(await ok(v, ['patch', res, 'w1', '--type', 'merge', '-p', '{"spec":{"replicas":3}}']), /patched/);
      assert.match(await ok(v, ['patch', res, 'w1', '--type', 'json', '-p', '[{"op":"replace","path":"/spec/size","value":"large"}]']), /patched/);
      const obj = JSON.parse(await ok(v, ['get', res, 'w1', '-o', 'json'])) as { spec: { replicas: number; size: string }; metadata: { generation: number } };
      assert.deepEqual([obj.spec.replicas, obj.spec.size, obj.metadata.generation], [3, 'large', 3]);
      const smp = await cluster.kubectl(['patch', res, 'w1', '--type', 'strategic', '-p', '{"spec":{"replicas":4}}'], { version: v });
      assert.equal(smp.code, 1);
      assert.match(errText(smp), /the body of the request was in an unknown format - accepted media types include: application\/json-patch\+json, application\/merge-patch\+json, application\/apply-patch\+yaml/);

      // Writes to the main resource ignore status; /status writes only status.
      await ok(v, ['patch', res, 'w1', '--type', 'merge', '-p', '{"status":{"replicas":9}}']);
      assert.equal(await ok(v, ['get', res, 'w1', '-o', 'jsonpath={.status.replicas}']), '');
      await ok(v, ['patch', res, 'w1', '--subresource=status', '--type', 'merge', '-p', '{"status":{"replicas":2,"selector":"app=w"},"spec":{"replicas":7}}']);
      assert.equal(await ok(v, ['get', res, 'w1', '-o', 'jsonpath={.status.replicas}/{.spec.replicas}']), '2/3');

      assert.match(await ok(v, ['scale', res, 'w1', '--replicas=5']), /scaled/);
      const scale = JSON.parse(await ok(v, ['get', '--raw', `/apis/${groupFor(v)}/v1/namespaces/default/widgets/w1/scale`])) as Record<string, unknown>;
      assert.deepEqual(scale.spec, { replicas: 5 });
      assert.deepEqual(scale.status, { replicas: 2, selector: 'app=w' });
      assert.equal(scale.apiVersion, 'autoscaling/v1');

      const ssa = await ok(v, ['apply', '--server-side', '-f', '-'], `apiVersion: ${groupFor(v)}/v1\nkind: Widget\nmetadata: {name: w2, namespace: default}\nspec: {size: small}\n`);
      assert.match(ssa, /serverside-applied/);
    }
  });

  test('a restart serves the CRDs again; deleting a CRD removes its objects and its API', async () => {
    const stopped = await cluster.cli(['stop', '--name', cluster.name]);
    assert.equal(stopped.code, 0, stopped.stderr);
    const started = await cluster.cli(['start', '--name', cluster.name, '--no-merge-kubeconfig']);
    assert.equal(started.code, 0, started.stderr);
    for (const v of VERSIONS) {
      const g = groupFor(v);
      assert.match(await ok(v, ['get', `widgets.${g}`, '-o', 'name']), /widget\.\S+\/w1/);
      assert.match(await ok(v, ['delete', 'crd', `widgets.${g}`]), /deleted/);
      const gone = await cluster.kubectl(['get', '--raw', `/apis/${g}/v1/namespaces/default/widgets`], { version: v });
      assert.equal(gone.code, 1);
      assert.match(errText(gone), /NotFound/);
      // Recreating the CRD starts empty: the old objects went with it.
      await ok(v, ['apply', '-f', '-'], crd(g));
      assert.equal((await ok(v, ['get', `widgets.${g}`, '-A', '-o', 'name'])).trim(), '');
    }
  });
});
