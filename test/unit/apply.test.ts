// Server-side apply: FieldsV1 round trips, field sets with list types, ownership transfer,
// conflicts (message shapes), force, removal of dropped fields, shared ownership, Update bookkeeping.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { apply, ApplyConflictError, updateManagedFields } from '../../src/apiserver/apply/apply.ts';
import type { ManagedFieldsEntry } from '../../src/apiserver/apply/apply.ts';
import { FieldSet, pathString } from '../../src/apiserver/apply/fieldset.ts';
import { builtInSchema } from '../../src/apiserver/apply/schema-oracle.ts';
import { toFieldSet } from '../../src/apiserver/apply/typed.ts';

type Obj = Record<string, unknown>;
const now = '2025-01-01T00:00:00Z';
const cmSchema = builtInSchema({ group: '', version: 'v1', kind: 'ConfigMap' });
const depSchema = builtInSchema({ group: 'apps', version: 'v1', kind: 'Deployment' });
const cmOpts = { apiVersion: 'v1', schema: cmSchema, now };
const depOpts = { apiVersion: 'apps/v1', schema: depSchema, now };
const cm = (data: Obj, extra: Obj = {}): Obj => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'default', ...extra }, data });
const stored = (obj: Obj, managedFields: ManagedFieldsEntry[] | undefined): Obj => ({ ...obj, metadata: { ...(obj.metadata as Obj), uid: 'u1', managedFields } });
const fieldsOf = (mf: ManagedFieldsEntry[] | undefined, manager: string) => mf?.find((e) => e.manager === manager)?.fieldsV1;

describe('FieldsV1', () => {
  const cases: Array<[string, Obj]> = [
    ['leaf and member-with-children', { 'f:data': { '.': {}, 'f:a': {} }, 'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } } }],
    ['list-map keys and set values', { 'f:spec': { 'f:containers': { 'k:{"name":"a"}': { '.': {}, 'f:ports': { 'k:{"containerPort":80,"protocol":"TCP"}': { '.': {}, 'f:containerPort': {} } } } } }, 'f:metadata': { 'f:finalizers': { 'v:"x"': {} } } }],
  ];
  for (const [name, raw] of cases) it(`round-trips: ${name}`, () => assert.deepEqual(FieldSet.fromFieldsV1(raw).toFieldsV1(), raw));
  it('sorts fields before keys, values and indices', () => {
    const s = new FieldSet();
    s.insert(['i:2']); s.insert(['v:"b"']); s.insert(['k:{"name":"z"}']); s.insert(['f:b']); s.insert(['f:a']);
    assert.deepEqual(Object.keys(s.toFieldsV1()), ['f:a', 'f:b', 'k:{"name":"z"}', 'v:"b"', 'i:2']);
  });
  it('rejects unknown elements', () => assert.throws(() => FieldSet.fromFieldsV1({ 'x:y': {} })));
  it('prints paths as conflict messages do', () => {
    assert.equal(pathString(['f:spec', 'f:containers', 'k:{"name":"nginx"}', 'f:image']), '.spec.containers[name="nginx"].image');
    assert.equal(pathString(['f:spec', 'f:ports', 'k:{"port":80,"protocol":"TCP"}']), '.spec.ports[port=80,protocol="TCP"]');
    assert.equal(pathString(['f:metadata', 'f:finalizers', 'v:"x"']), '.metadata.finalizers[="x"]');
  });
});

describe('field sets of applied configurations', () => {
  it('containers by name, ports by containerPort+protocol with TCP defaulted, atomic args, atomic selector', () => {
    const set = toFieldSet({ spec: { selector: { matchLabels: { app: 'w' } }, template: { spec: { containers: [{ name: 'n', image: 'i', args: ['a'], ports: [{ containerPort: 80 }] }] } } } }, depSchema);
    assert.deepEqual(set.toFieldsV1(), {
      'f:spec': {
        'f:selector': {},
        'f:template': { 'f:spec': { 'f:containers': { 'k:{"name":"n"}': { '.': {}, 'f:args': {}, 'f:image': {}, 'f:name': {}, 'f:ports': { 'k:{"containerPort":80,"protocol":"TCP"}': { '.': {}, 'f:containerPort': {} } } } } } },
      },
    });
  });
  it('finalizers are a set; labels are map entries', () => {
    assert.deepEqual(toFieldSet({ metadata: { finalizers: ['a', 'b'], labels: { x: '1' } } }, cmSchema).toFieldsV1(), { 'f:metadata': { 'f:finalizers': { 'v:"a"': {}, 'v:"b"': {} }, 'f:labels': { 'f:x': {} } } });
  });
});

describe('updateManagedFields (create/update/patch)', () => {
  it('create: everything set is the writer\'s; maps added get "."', () => {
    const mf = updateManagedFields('kubectl-create', 'Update', undefined, cm({ a: '1' }, { labels: { app: 'x' } }), cmOpts);
    assert.deepEqual(mf, [{ manager: 'kubectl-create', operation: 'Update', apiVersion: 'v1', time: now, fieldsType: 'FieldsV1', fieldsV1: { 'f:data': { '.': {}, 'f:a': {} }, 'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } } } }]);
  });
  it('update moves changed fields to the writer and merges same-name entries', () => {
    const mf1 = updateManagedFields('a', 'Update', undefined, cm({ x: '1', y: '1' }), cmOpts);
    const live = stored(cm({ x: '1', y: '1' }), mf1);
    const mf2 = updateManagedFields('b', 'Update', live, stored(cm({ x: '2', y: '1' }), mf1), { ...cmOpts, now: '2025-01-02T00:00:00Z' });
    assert.deepEqual(fieldsOf(mf2, 'a'), { 'f:data': { '.': {}, 'f:y': {} } });
    assert.deepEqual(fieldsOf(mf2, 'b'), { 'f:data': { 'f:x': {} } });
    assert.equal(mf2?.[1]?.time, '2025-01-02T00:00:00Z', 'ordered by time');
    const mf3 = updateManagedFields('b', 'Update', stored(cm({ x: '2', y: '1' }), mf2), stored(cm({ x: '2', y: '3' }), mf2), cmOpts);
    assert.equal(mf3?.filter((e) => e.manager === 'b').length, 1);
    assert.deepEqual(fieldsOf(mf3, 'b'), { 'f:data': { 'f:x': {}, 'f:y': {} } });
    // "a" added the data map itself ("."), which nobody changed: it keeps owning just that.
    assert.deepEqual(fieldsOf(mf3, 'a'), { 'f:data': {} });
    const mf4 = updateManagedFields('b', 'Update', stored(cm({ x: '2', y: '3' }), mf3), { ...cm({}), data: undefined }, cmOpts);
    assert.equal(fieldsOf(mf4, 'a'), undefined, 'a manager owning nothing is dropped');
  });
  it('existing objects without managedFields stay untracked; an empty list resets', () => {
    assert.equal(updateManagedFields('x', 'Update', stored(cm({ a: '1' }), undefined), cm({ a: '2' }), cmOpts), undefined);
    const mf = updateManagedFields('a', 'Update', undefined, cm({ a: '1' }), cmOpts);
    assert.equal(updateManagedFields('b', 'Update', stored(cm({ a: '1' }), mf), { ...cm({ a: '2' }), metadata: { name: 'c', managedFields: [] } }, cmOpts), undefined);
  });
  it('status writes carry the subresource and ignore managedFields in the request', () => {
    const mf = updateManagedFields('kubelet', 'Update', stored({ status: {} }, undefined), { status: { phase: 'Running' }, metadata: { managedFields: [] } }, { ...depOpts, subresource: 'status' });
    assert.equal(mf, undefined, 'untracked object stays untracked');
    const mf0 = updateManagedFields('c', 'Update', undefined, { spec: { replicas: 1 } }, depOpts);
    const mf1 = updateManagedFields('ctrl', 'Update', stored({ spec: { replicas: 1 } }, mf0), { spec: { replicas: 1 }, status: { replicas: 1 }, metadata: { managedFields: [] } }, { ...depOpts, subresource: 'status' });
    assert.equal(mf1?.find((e) => e.manager === 'ctrl')?.subresource, 'status');
    assert.ok(fieldsOf(mf1, 'c'));
  });
  it('caps Update managers at 10 with ancient-changes', () => {
    let live: Obj = cm({});
    let mf: ManagedFieldsEntry[] | undefined;
    for (let i = 0; i < 12; i++) {
      const next = cm({ ...(live.data as Obj), [`k${i}`]: 'v' });
      mf = updateManagedFields(`m${i}`, 'Update', i === 0 ? undefined : stored(live, mf), next, { ...cmOpts, now: `2025-01-01T00:00:${String(i).padStart(2, '0')}Z` });
      live = next;
    }
    assert.equal(mf?.length, 10);
    assert.ok(mf?.some((e) => e.manager === 'ancient-changes'));
  });
});

describe('apply', () => {
  const csa = () => {
    const obj = cm({ a: '1', b: '2' });
    return stored(obj, updateManagedFields('kubectl-client-side-apply', 'Update', undefined, obj, cmOpts));
  };
  it('conflict with one Update manager: message and causes as upstream', () => {
    assert.throws(() => apply('kubectl', cm({ a: 'x' }), csa(), cmOpts), (err: unknown) => {
      assert.ok(err instanceof ApplyConflictError);
      assert.equal(err.code, 409);
      assert.equal(err.message, 'Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using v1: .data.a');
      assert.deepEqual(err.details?.causes, [{ reason: 'FieldManagerConflict', message: 'conflict with "kubectl-client-side-apply" using v1', field: '.data.a' }]);
      return true;
    });
  });
  it('N conflicts grouped per manager', () => {
    assert.throws(() => apply('kubectl', cm({ a: 'x', b: 'y' }), csa(), cmOpts), (err: unknown) => {
      assert.ok(err instanceof ApplyConflictError);
      assert.equal(err.message, 'Apply failed with 2 conflicts: conflicts with "kubectl-client-side-apply" using v1:\n- .data.a\n- .data.b');
      return true;
    });
  });
  it('conflict with an Apply manager names no version', () => {
    const first = apply('helm', cm({ a: '1' }), undefined, cmOpts).result;
    assert.throws(() => apply('kubectl', cm({ a: '2' }), first, cmOpts), /^Error: Apply failed with 1 conflict: conflict with "helm": \.data\.a$|conflict with "helm": \.data\.a$/);
  });
  it('equal values are shared, not conflicting', () => {
    const r = apply('kubectl', cm({ a: '1' }), csa(), cmOpts);
    assert.deepEqual(fieldsOf(r.managedFields, 'kubectl'), { 'f:data': { 'f:a': {} } });
    assert.deepEqual(fieldsOf(r.managedFields, 'kubectl-client-side-apply'), { 'f:data': { '.': {}, 'f:a': {}, 'f:b': {} } });
    assert.equal(r.changed, false);
  });
  it('force takes ownership away from the other manager', () => {
    const r = apply('kubectl', cm({ a: 'x' }), csa(), { ...cmOpts, force: true });
    assert.deepEqual(r.result.data, { a: 'x', b: '2' });
    assert.deepEqual(fieldsOf(r.managedFields, 'kubectl-client-side-apply'), { 'f:data': { '.': {}, 'f:b': {} } });
    assert.deepEqual(fieldsOf(r.managedFields, 'kubectl'), { 'f:data': { 'f:a': {} } });
    assert.equal(r.managedFields?.[0]?.operation, 'Apply', 'Apply entries first');
  });
  it('fields no longer applied are removed unless someone else owns them', () => {
    const r1 = apply('kubectl', cm({ x: '1', y: '2' }), undefined, cmOpts);
    const r2 = apply('kubectl', cm({ x: '1' }), r1.result, cmOpts);
    assert.deepEqual(r2.result.data, { x: '1' });
    const r1b = apply('other', cm({ y: '2' }), r1.result, cmOpts);
    const r3 = apply('kubectl', cm({ x: '1' }), r1b.result, cmOpts);
    assert.deepEqual(r3.result.data, { x: '1', y: '2' }, 'y is still owned by "other"');
  });
  it('create by apply; an existing object without managedFields gets before-first-apply', () => {
    const r = apply('kubectl', cm({ a: '1' }), undefined, cmOpts);
    assert.deepEqual(r.managedFields, [{ manager: 'kubectl', operation: 'Apply', apiVersion: 'v1', time: now, fieldsType: 'FieldsV1', fieldsV1: { 'f:data': { 'f:a': {} } } }]);
    assert.throws(() => apply('kubectl', cm({ a: '2' }), stored(cm({ a: '1' }), undefined), cmOpts), /conflict with "before-first-apply" using v1: \.data\.a/);
  });
  it('containers merged by name, ports keyed by containerPort+protocol, dropped port removed', () => {
    const dep = (ports: Obj[], image = 'nginx'): Obj => ({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'w' }, spec: { template: { spec: { containers: [{ name: 'n', image, ports }] } } } });
    const r1 = apply('kubectl', dep([{ containerPort: 80 }, { containerPort: 53, protocol: 'UDP' }]), undefined, depOpts);
    const withSidecar = structuredClone(r1.result);
    (((withSidecar.spec as Obj).template as Obj).spec as Obj).containers = [...((((r1.result.spec as Obj).template as Obj).spec as Obj).containers as Obj[]), { name: 'side', image: 'b' }];
    const mf = updateManagedFields('injector', 'Update', r1.result, withSidecar, depOpts);
    const r2 = apply('kubectl', dep([{ containerPort: 80, protocol: 'TCP' }], 'nginx:2'), { ...withSidecar, metadata: { ...(withSidecar.metadata as Obj), managedFields: mf } }, depOpts);
    const cs = (((r2.result.spec as Obj).template as Obj).spec as Obj).containers as Obj[];
    assert.deepEqual(cs.map((c) => c.name), ['n', 'side']);
    assert.deepEqual(cs[0], { name: 'n', image: 'nginx:2', ports: [{ containerPort: 80, protocol: 'TCP' }] }, 'UDP port dropped; TCP port is the same key as before');
    assert.ok(!JSON.stringify(r2.managedFields).includes('UDP'));
  });
  it('rejects managedFields in the applied object and a wrong apiVersion', () => {
    assert.throws(() => apply('k', { ...cm({}), metadata: { name: 'c', managedFields: [] } }, undefined, cmOpts), /metadata.managedFields must be nil/);
    assert.throws(() => apply('k', { ...cm({}), apiVersion: 'v2' }, undefined, cmOpts), /Incorrect version specified in apply patch/);
  });
  it('atomic lists are replaced and owned whole', () => {
    const dep = (args: string[]): Obj => ({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'w' }, spec: { template: { spec: { containers: [{ name: 'n', image: 'i', args }] } } } });
    const r1 = apply('a', dep(['1', '2']), undefined, depOpts);
    assert.throws(() => apply('b', dep(['3']), r1.result, depOpts), /conflict with "a": \.spec\.template\.spec\.containers\[name="n"\]\.args|conflicts with "a"/);
  });
});
