// scripts/gen-openapi.ts: the v2 -> v3 rewrite rules on a tiny swagger document, and the v3
// directory reader round-tripping the documents the server builds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { convertSchema, fromSwaggerV2, fromV3Dir, gvKey, SERVED_GROUP_VERSIONS } from '../../scripts/gen-openapi.ts';
import { embeddedOpenApi } from '../../src/apiserver/openapi/data.ts';
import { buildBuiltInDoc } from '../../src/apiserver/openapi/documents.ts';

const swagger = {
  swagger: '2.0',
  info: { title: 'Kubernetes', version: 'unversioned' },
  parameters: {
    'pretty-x': { description: 'pretty print', in: 'query', name: 'pretty', type: 'string', uniqueItems: true },
    'body-p': { in: 'body', name: 'body', required: true, schema: { $ref: '#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.Patch' } },
  },
  definitions: {
    'io.k8s.apimachinery.pkg.apis.meta.v1.Patch': { description: 'prose', type: 'object' },
    'io.k8s.apimachinery.pkg.util.intstr.IntOrString': { description: 'prose', type: 'string', format: 'int-or-string' },
    'io.k8s.api.scheduling.v1.PriorityClass': {
      description: 'prose',
      type: 'object',
      properties: {
        description: { description: 'a field that happens to be called description', type: 'string' },
        value: { type: 'integer', format: 'int32', default: 0 },
        metadata: { $ref: '#/definitions/io.k8s.api.scheduling.v1.Meta', description: 'prose', default: {} },
        surge: { $ref: '#/definitions/io.k8s.apimachinery.pkg.util.intstr.IntOrString' },
      },
      'x-kubernetes-group-version-kind': [{ group: 'scheduling.k8s.io', kind: 'PriorityClass', version: 'v1' }],
    },
    'io.k8s.api.scheduling.v1.Meta': { type: 'object', properties: { name: { type: 'string' } } },
    'io.k8s.api.unused.v1.Thing': { type: 'object' },
  },
  paths: {
    '/apis/scheduling.k8s.io/v1/priorityclasses/{name}': {
      parameters: [{ description: 'name', in: 'path', name: 'name', required: true, type: 'string', uniqueItems: true }, { $ref: '#/parameters/pretty-x' }],
      patch: {
        consumes: ['application/json-patch+json', 'application/strategic-merge-patch+json'],
        produces: ['application/json', 'application/yaml'],
        description: 'partially update the specified PriorityClass',
        operationId: 'patchSchedulingV1PriorityClass',
        parameters: [
          { $ref: '#/parameters/body-p' },
          { description: 'fieldValidation prose', in: 'query', name: 'fieldValidation', type: 'string', uniqueItems: true },
        ],
        responses: {
          '200': { description: 'OK', schema: { $ref: '#/definitions/io.k8s.api.scheduling.v1.PriorityClass' } },
          '401': { description: 'Unauthorized' },
        },
        schemes: ['https'],
        tags: ['scheduling_v1'],
        'x-kubernetes-action': 'patch',
        'x-kubernetes-group-version-kind': { group: 'scheduling.k8s.io', kind: 'PriorityClass', version: 'v1' },
      },
    },
    '/apis/other/v1/things': { get: { responses: { '200': { description: 'OK' } } } },
  },
};

test('v2 swagger becomes v3 paths and a shared schema table without prose', () => {
  const table = fromSwaggerV2(swagger, [['scheduling.k8s.io', 'v1']]);
  assert.deepEqual(Object.keys(table.groupVersions), ['apis/scheduling.k8s.io/v1']);
  const gv = table.groupVersions['apis/scheduling.k8s.io/v1']!;
  assert.deepEqual(gv.schemas, [
    'io.k8s.api.scheduling.v1.Meta',
    'io.k8s.api.scheduling.v1.PriorityClass',
    'io.k8s.apimachinery.pkg.apis.meta.v1.Patch',
    'io.k8s.apimachinery.pkg.util.intstr.IntOrString',
  ]);
  assert.equal(table.schemas['io.k8s.api.unused.v1.Thing'], undefined, 'unreferenced schemas are dropped');
  assert.deepEqual(gv.paths['/apis/scheduling.k8s.io/v1/priorityclasses/{name}'], {
    parameters: [
      { in: 'path', name: 'name', required: true, schema: { type: 'string', uniqueItems: true } },
      { in: 'query', name: 'pretty', schema: { type: 'string', uniqueItems: true } },
    ],
    patch: {
      operationId: 'patchSchedulingV1PriorityClass',
      parameters: [{ in: 'query', name: 'fieldValidation', schema: { type: 'string', uniqueItems: true } }],
      requestBody: {
        content: {
          'application/json-patch+json': { schema: { $ref: '#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.Patch' } },
          'application/strategic-merge-patch+json': { schema: { $ref: '#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.Patch' } },
        },
        required: true,
      },
      responses: {
        '200': {
          description: 'OK',
          content: {
            'application/json': { schema: { $ref: '#/components/schemas/io.k8s.api.scheduling.v1.PriorityClass' } },
            'application/yaml': { schema: { $ref: '#/components/schemas/io.k8s.api.scheduling.v1.PriorityClass' } },
          },
        },
        '401': { description: 'Unauthorized' },
      },
      tags: ['scheduling_v1'],
      'x-kubernetes-action': 'patch',
      'x-kubernetes-group-version-kind': { group: 'scheduling.k8s.io', kind: 'PriorityClass', version: 'v1' },
    },
  });
  assert.deepEqual(table.schemas['io.k8s.api.scheduling.v1.PriorityClass'], {
    type: 'object',
    properties: {
      description: { type: 'string' },
      value: { type: 'integer', format: 'int32', default: 0 },
      metadata: { allOf: [{ $ref: '#/components/schemas/io.k8s.api.scheduling.v1.Meta' }], default: {} },
      surge: { $ref: '#/components/schemas/io.k8s.apimachinery.pkg.util.intstr.IntOrString' },
    },
    'x-kubernetes-group-version-kind': [{ group: 'scheduling.k8s.io', kind: 'PriorityClass', version: 'v1' }],
  });
  assert.deepEqual(table.schemas['io.k8s.apimachinery.pkg.util.intstr.IntOrString'], {
    format: 'int-or-string',
    oneOf: [{ type: 'integer' }, { type: 'string' }],
  });
});

test('a group-version missing from the source is an error, not an empty document', () => {
  assert.throws(() => fromSwaggerV2(swagger, [['batch', 'v1']]), /no paths for apis\/batch\/v1/);
});

test('convertSchema leaves v3 refs alone and is idempotent', () => {
  const once = convertSchema({ description: 'x', items: { $ref: '#/components/schemas/A', description: 'y' } }, false);
  assert.deepEqual(once, { items: { $ref: '#/components/schemas/A' } });
  assert.deepEqual(convertSchema(once, false), once);
});

test('the v3 directory reader round-trips the documents the server builds', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nanokube-openapi-v3-'));
  try {
    for (const [group, version] of SERVED_GROUP_VERSIONS) {
      const key = gvKey(group, version);
      writeFileSync(join(dir, `${key.replaceAll('/', '__')}_openapi.json`), JSON.stringify(buildBuiltInDoc(key)));
    }
    const embedded = embeddedOpenApi();
    const table = fromV3Dir(dir);
    assert.deepEqual(table.groupVersions, embedded.groupVersions);
    assert.deepEqual(table.schemas, embedded.schemas);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the embedded table records its source and serves the GA group-versions', () => {
  const embedded = embeddedOpenApi();
  assert.equal(embedded.source.kubernetesVersion, 'v1.32.4');
  assert.deepEqual(
    Object.keys(embedded.groupVersions).sort(),
    SERVED_GROUP_VERSIONS.map(([g, v]) => gvKey(g, v)).sort(),
  );
});
