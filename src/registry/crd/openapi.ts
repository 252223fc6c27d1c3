// OpenAPI v3 documents for custom resource group-versions, shaped like upstream's CRD builder:
// the kind's schema (with apiVersion/kind/metadata), its GVK extension, and item paths whose PATCH
// operation declares `fieldValidation` — kubectl needs that to validate server-side, and reads
// the schema for `kubectl explain`. Strategic merge is not offered for custom resources.
import { embeddedOpenApi } from '../../apiserver/openapi/data.ts';
import type { ResourceDef } from '../types.ts';
import { rawSchemaOf } from './defs.ts';

const OBJECT_META = 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta';
const LIST_META = 'io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta';

/** `example.com` + `v1` + `Widget` → `com.example.v1.Widget`, upstream's definition name. */
export function crdSchemaName(def: Pick<ResourceDef, 'group' | 'version' | 'kind'>): string {
  return `${def.group.split('.').reverse().join('.')}.${def.version}.${def.kind}`;
}

/** An embedded schema and everything it references, for ObjectMeta and ListMeta. */
function withDependencies(names: string[]): Record<string, unknown> {
  const all = embeddedOpenApi().schemas as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  const visit = (name: string) => {
    if (name in out || !(name in all)) return;
    out[name] = all[name];
    const text = JSON.stringify(all[name]);
    for (const m of text.matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)) visit(m[1]!);
  };
  for (const n of names) visit(n);
  return out;
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

export function crdOpenApiDoc(defs: readonly ResourceDef[]): object {
  const schemas: Record<string, unknown> = withDependencies([OBJECT_META, LIST_META]);
  const paths: Record<string, unknown> = {};
  for (const def of defs) {
    const gvk = { group: def.group, version: def.version, kind: def.kind };
    const name = crdSchemaName(def);
    const raw = (rawSchemaOf(def) ?? { type: 'object' }) as Record<string, unknown>;
    const properties = { ...((raw.properties as Record<string, unknown> | undefined) ?? {}) };
    properties.apiVersion = {
      type: 'string',
      description: 'APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources',
    };
    properties.kind = {
      type: 'string',
      description: 'Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds',
    };
    properties.metadata = { allOf: [ref(OBJECT_META)], description: "Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata" };
    schemas[name] = { ...raw, type: 'object', properties, 'x-kubernetes-group-version-kind': [gvk] };
    schemas[`${name}List`] = {
      type: 'object',
      required: ['items'],
      properties: {
        apiVersion: { type: 'string' },
        items: { type: 'array', items: ref(name) },
        kind: { type: 'string' },
        metadata: { allOf: [ref(LIST_META)] },
      },
      'x-kubernetes-group-version-kind': [{ ...gvk, kind: `${def.kind}List` }],
    };
    const base = def.namespaced ? `/apis/${def.group}/${def.version}/namespaces/{namespace}/${def.plural}` : `/apis/${def.group}/${def.version}/${def.plural}`;
    const nsParam = def.namespaced ? [{ name: 'namespace', in: 'path', required: true, schema: { type: 'string', uniqueItems: true } }] : [];
    const json = (schema: unknown) => ({ 'application/json': { schema }, 'application/yaml': { schema } });
    const op = (action: string, extra: Record<string, unknown> = {}) => ({
      tags: [`${def.group.split('.')[0]}_${def.version}`],
      operationId: `${action}${def.kind}`,
      'x-kubernetes-action': action,
      'x-kubernetes-group-version-kind': gvk,
      responses: { '200': { description: 'OK', content: json(ref(name)) } },
      ...extra,
    });
    const writeParams = [
      { name: 'dryRun', in: 'query', schema: { type: 'string', uniqueItems: true } },
      { name: 'fieldManager', in: 'query', schema: { type: 'string', uniqueItems: true } },
      { name: 'fieldValidation', in: 'query', schema: { type: 'string', uniqueItems: true } },
    ];
    paths[base] = {
      get: op('list', { responses: { '200': { description: 'OK', content: json(ref(`${name}List`)) } } }),
      post: op('post', { parameters: writeParams, requestBody: { content: json(ref(name)) } }),
      parameters: nsParam,
    };
    paths[`${base}/{name}`] = {
      get: op('get'),
      put: op('put', { parameters: writeParams, requestBody: { content: json(ref(name)) } }),
      patch: op('patch', {
        parameters: [...writeParams, { name: 'force', in: 'query', schema: { type: 'boolean', uniqueItems: true } }],
        requestBody: {
          content: {
            'application/json-patch+json': { schema: { type: 'object' } },
            'application/merge-patch+json': { schema: { type: 'object' } },
            'application/apply-patch+yaml': { schema: { type: 'object' } },
          },
        },
      }),
      delete: op('delete'),
      parameters: [{ name: 'name', in: 'path', required: true, schema: { type: 'string', uniqueItems: true } }, ...nsParam],
    };
  }
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes CRD Swagger', version: 'v0.1.0' },
    paths,
    components: { schemas },
  };
}
