// Decoding protobuf request bodies captured from real kubectl 1.35/1.32 (scripts/capture-protobuf-fixtures.ts)
// must give the JSON that kubectl's own Go encoder produces for the same object.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ProtobufDecodeError,
  decodeProtobufObject,
  goDuration,
  protobufSchemaLoadMillis,
} from '../../src/apiserver/protobuf/decode.ts';
import { protoPackageFor } from '../../src/apiserver/protobuf/schema.ts';

const fixtureDir = fileURLToPath(new URL('../fixtures/protobuf/', import.meta.url));

interface IndexEntry {
  fixture: string;
  kubectl: '1.35' | '1.32';
  command: string;
  contentType: string;
  expectedFrom: 'dry-run' | 'hand-written';
}

const index = JSON.parse(readFileSync(join(fixtureDir, 'index.json'), 'utf8')) as IndexEntry[];

/**
 * kubectl 1.32's Go types write an unset metadata.creationTimestamp as null; since 1.33 it is
 * `omitzero` and left out. The wire bytes are identical; we follow the newer types.
 */
function withoutNullCreationTimestamps(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutNullCreationTimestamps);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    if (key === 'creationTimestamp' && item === null) continue;
    out[key] = withoutNullCreationTimestamps(item);
  }
  return out;
}

test('fixtures cover the commands that send protobuf', () => {
  assert.ok(index.length >= 40, `only ${index.length} fixtures`);
  for (const entry of index) assert.equal(entry.contentType, 'application/vnd.kubernetes.protobuf', entry.fixture);
});

for (const entry of index) {
  test(`${entry.fixture}: ${entry.command}`, () => {
    const body = readFileSync(join(fixtureDir, `${entry.fixture}.bin`));
    const expected = JSON.parse(readFileSync(join(fixtureDir, `${entry.fixture}.json`), 'utf8')) as unknown;
    assert.deepEqual(decodeProtobufObject(body), entry.kubectl === '1.32' ? withoutNullCreationTimestamps(expected) : expected);
  });
}

const fixture = (name: string): Buffer => readFileSync(join(fixtureDir, `kubectl-1.35-${name}.bin`));

test('field facts the proto names alone would get wrong', () => {
  const token = decodeProtobufObject(fixture('create-token')) as { spec: { boundObjectRef: Record<string, unknown> } };
  assert.equal(token.spec.boundObjectRef['uid'], '0b5c2f0a-1111-2222-3333-444455556666'); // proto name uID
  const deployment = decodeProtobufObject(fixture('create-deployment-zero')) as { spec: Record<string, unknown> };
  assert.equal(deployment.spec['replicas'], 0); // *int32: kept although zero
  const secret = decodeProtobufObject(fixture('create-secret-generic')) as { data: Record<string, string> };
  assert.deepEqual(secret.data, { k: Buffer.from('v').toString('base64') });
  const pdb = decodeProtobufObject(fixture('create-pdb')) as { spec: Record<string, unknown> };
  assert.equal(pdb.spec['minAvailable'], '50%'); // IntOrString
  const ingress = decodeProtobufObject(fixture('create-ingress')) as { spec: { rules: Record<string, unknown>[] } };
  assert.ok('http' in (ingress.spec.rules[0] ?? {}), 'IngressRule.ingressRuleValue is flattened');
});

test('DeleteOptions arrives under the target group/version', () => {
  assert.deepEqual(decodeProtobufObject(fixture('drain-delete-pod')), { kind: 'DeleteOptions', apiVersion: 'v1', gracePeriodSeconds: 7 });
});

test('omitEmpty drops empty values but keeps set pointers', () => {
  const deployment = decodeProtobufObject(fixture('create-deployment-zero'), { omitEmpty: true });
  assert.deepEqual(deployment, {
    kind: 'Deployment',
    apiVersion: 'apps/v1',
    metadata: { name: 'z', labels: { app: 'z' } },
    spec: {
      replicas: 0,
      selector: { matchLabels: { app: 'z' } },
      template: { metadata: { labels: { app: 'z' } }, spec: { containers: [{ name: 'nginx', image: 'nginx' }] } },
    },
  });
});

test('errors name the problem', () => {
  assert.throws(() => decodeProtobufObject(Buffer.from('{"kind":"Pod"}')), (err: unknown) => err instanceof ProtobufDecodeError && /magic/.test(err.message));
  const body = fixture('create-namespace');
  assert.throws(() => decodeProtobufObject(body.subarray(0, body.length - 10)), ProtobufDecodeError);
  // Same envelope, kind renamed to one no schema has (same length keeps the framing valid).
  const renamed = Buffer.from(body.toString('latin1').replace('Namespace', 'Nosuchkin'), 'latin1');
  assert.throws(() => decodeProtobufObject(renamed), /no protobuf schema for kind "Nosuchkin" in "v1"/);
});

test('group → proto package', () => {
  assert.equal(protoPackageFor('', 'v1'), 'k8s.io.api.core.v1');
  assert.equal(protoPackageFor('rbac.authorization.k8s.io', 'v1'), 'k8s.io.api.rbac.v1');
  assert.equal(protoPackageFor('flowcontrol.apiserver.k8s.io', 'v1'), 'k8s.io.api.flowcontrol.v1');
  assert.equal(protoPackageFor('apiextensions.k8s.io', 'v1'), 'k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1');
});

test('Go duration strings', () => {
  const cases: [bigint, string][] = [
    [0n, '0s'],
    [999n, '999ns'],
    [1_500n, '1.5µs'],
    [250_000_000n, '250ms'],
    [1_000_000_000n, '1s'],
    [90_000_000_000n, '1m30s'],
    [3_600_000_000_000n, '1h0m0s'],
    [3_723_500_000_000n, '1h2m3.5s'],
    [-2_000_000_000n, '-2s'],
  ];
  for (const [ns, text] of cases) assert.equal(goDuration(ns), text);
});

test('schema loads lazily and decodes quickly', () => {
  const loadMillis = protobufSchemaLoadMillis();
  const body = fixture('create-deployment');
  const rounds = 200;
  const started = performance.now();
  for (let i = 0; i < rounds; i++) decodeProtobufObject(body);
  const perDecode = (performance.now() - started) / rounds;
  // Generous bounds: CI machines are slow and shared; the point is "milliseconds, not seconds".
  assert.ok(loadMillis < 500, `schema load took ${loadMillis} ms`);
  assert.ok(perDecode < 5, `decode took ${perDecode} ms`);
});
