// A CustomResourceDefinition turned into ResourceDefs, one per served version: names, scope,
// subresources, printer columns, and the structural schema's pruning, defaulting and validation.
import { age } from '../../api/duration.ts';
import { getPath, isObject, type KubeObject } from '../../api/meta.ts';
import type { FieldError } from '../../api/status.ts';
import { structuralSchema, type SchemaNode } from '../../apiserver/apply/schema-oracle.ts';
import { NAME_COLUMN } from '../kinds/common.ts';
import type { ResourceDef, SubresourceDef, TableColumn, TablePrinter } from '../types.ts';
import { applyDefaults, prune, validateObject, type JSONSchemaProps } from './structural.ts';

export interface CrdVersion {
  name: string;
  served: boolean;
  storage: boolean;
  schema?: { openAPIV3Schema?: JSONSchemaProps };
  subresources?: { status?: object; scale?: { specReplicasPath?: string; statusReplicasPath?: string; labelSelectorPath?: string } };
  additionalPrinterColumns?: Array<{ name: string; type: string; format?: string; description?: string; priority?: number; jsonPath: string }>;
}

export interface CrdNames {
  plural: string;
  singular?: string;
  kind: string;
  listKind?: string;
  shortNames?: string[];
  categories?: string[];
}

export interface CrdSpec {
  group: string;
  names: CrdNames;
  scope: 'Namespaced' | 'Cluster';
  versions: CrdVersion[];
}

export function crdSpec(crd: KubeObject): CrdSpec {
  return crd.spec as unknown as CrdSpec;
}

export const CRD_FINALIZER = 'customresourcecleanup.apiextensions.k8s.io';

/** `.spec.replicas` → `spec.replicas` (our getPath form). */
const dotted = (p: string | undefined) => (p ?? '').replace(/^\./, '');

/**
 * The subset of JSONPath that printer columns use: `.a.b`, `.a[0]`, `.a[*].b`, and
 * `.a[?(@.k=="v")].b`. Returns every match; a column shows the first.
 */
export function evalColumnPath(obj: unknown, path: string): unknown[] {
  const p = path.trim().replace(/^\{/, '').replace(/\}$/, '');
  const steps: Array<{ kind: 'field'; name: string } | { kind: 'index'; i: number | '*' } | { kind: 'filter'; key: string; value: string }> = [];
  const re = /\.([^.[\]]+)|\[(\d+|\*)\]|\[\?\(@\.([^=!<>]+?)\s*==\s*["']?([^"')]*)["']?\)\]/gy;
  let m: RegExpExecArray | null;
  re.lastIndex = 0;
  while (re.lastIndex < p.length && (m = re.exec(p)) !== null) {
    if (m[1] !== undefined) steps.push({ kind: 'field', name: m[1] });
    else if (m[2] !== undefined) steps.push({ kind: 'index', i: m[2] === '*' ? '*' : Number(m[2]) });
    else steps.push({ kind: 'filter', key: m[3]!, value: m[4]! });
  }
  let cur: unknown[] = [obj];
  for (const s of steps) {
    const next: unknown[] = [];
    for (const c of cur) {
      if (s.kind === 'field') {
        if (isObject(c) && c[s.name] !== undefined) next.push(c[s.name]);
      } else if (s.kind === 'index') {
        if (!Array.isArray(c)) continue;
        if (s.i === '*') next.push(...c);
        else if (c[s.i] !== undefined) next.push(c[s.i]);
      } else if (Array.isArray(c)) {
        for (const e of c) if (isObject(e) && String(getPath(e, s.key)) === s.value) next.push(e);
      }
    }
    cur = next;
  }
  return cur;
}

const AGE_DESCRIPTION =
  'CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata';

/** Printer columns: Name, then the CRD's columns, or Age when it declares none (as upstream). */
export function crdPrinter(version: CrdVersion): TablePrinter {
  const declared = version.additionalPrinterColumns ?? [];
  const cols = declared.length > 0 ? declared : [{ name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp', description: AGE_DESCRIPTION, priority: 0 }];
  const columns: TableColumn[] = [
    NAME_COLUMN,
    ...cols.map((c) => ({
      name: c.name,
      type: (['string', 'integer', 'number', 'boolean', 'date'].includes(c.type) ? c.type : 'string') as TableColumn['type'],
      format: c.format ?? '',
      description: c.description ?? '',
      priority: c.priority ?? 0,
    })),
  ];
  return {
    columns,
    cells(o, now) {
      const out: unknown[] = [o.metadata?.name ?? ''];
      for (const c of cols) {
        const v = evalColumnPath(o, c.jsonPath)[0];
        if (v === undefined || v === null) out.push(null);
        else if (c.type === 'date') out.push(typeof v === 'string' ? age(v, now) : null);
        else if (c.type === 'integer' || c.type === 'number') out.push(typeof v === 'number' ? v : null);
        else if (c.type === 'boolean') out.push(typeof v === 'boolean' ? v : null);
        else out.push(typeof v === 'string' ? v : JSON.stringify(v));
      }
      return out;
    },
  };
}

const rawSchemas = new WeakMap<ResourceDef, JSONSchemaProps>();

/** The openAPIV3Schema a custom resource def was built from (for its OpenAPI document). */
export function rawSchemaOf(def: ResourceDef): JSONSchemaProps | undefined {
  return rawSchemas.get(def);
}

/** ResourceDefs for every served version of a CRD. */
export function crdToDefs(crd: KubeObject): ResourceDef[] {
  const spec = crdSpec(crd);
  const crdName = crd.metadata?.name ?? '';
  const storage = spec.versions.find((v) => v.storage)?.name ?? spec.versions[0]?.name ?? '';
  const defs: ResourceDef[] = [];
  for (const v of spec.versions) {
    if (!v.served) continue;
    const gvk = { group: spec.group, version: v.name, kind: spec.names.kind };
    const schema = v.schema?.openAPIV3Schema;
    let node: SchemaNode | undefined;
    const subresources: SubresourceDef[] = [];
    if (v.subresources?.status) subresources.push({ name: 'status', kind: gvk, verbs: ['get', 'patch', 'update'] });
    const scale = v.subresources?.scale;
    if (scale) subresources.push({ name: 'scale', kind: { group: 'autoscaling', version: 'v1', kind: 'Scale' }, verbs: ['get', 'patch', 'update'] });
    const def: ResourceDef = {
      group: spec.group,
      version: v.name,
      kind: spec.names.kind,
      plural: spec.names.plural,
      singular: spec.names.singular || spec.names.kind.toLowerCase(),
      namespaced: spec.scope === 'Namespaced',
      subresources,
      generation: true,
      hasStatus: v.subresources?.status !== undefined,
      custom: { crdName },
      table: crdPrinter(v),
      schema: () => {
        if (schema && node === undefined) node = structuralSchema(schema);
        return node;
      },
      // Unknown fields are reported here (for fieldValidation) and removed by defaults().
      unknownFields: (obj) => (schema ? prune(structuredClone(obj), schema) : []),
      defaults: (obj) => {
        if (!schema) return;
        prune(obj, schema);
        applyDefaults(obj, schema);
      },
      validate: (obj): FieldError[] => (schema ? validateObject(obj, schema) : []),
      // Conversion strategy None: only apiVersion changes between versions; store the storage version.
      toStorage: (obj) => ({ ...obj, apiVersion: `${spec.group}/${storage}` }),
    };
    if (spec.names.shortNames?.length) def.shortNames = spec.names.shortNames;
    if (spec.names.categories?.length) def.categories = spec.names.categories;
    if (scale) {
      def.scale = {
        specReplicasPath: dotted(scale.specReplicasPath),
        statusReplicasPath: dotted(scale.statusReplicasPath),
        labelSelectorPath: dotted(scale.labelSelectorPath),
      };
    }
    if (schema) rawSchemas.set(def, schema);
    defs.push(def);
  }
  return defs;
}

/** The CRD's own validation beyond required fields (upstream's most common complaints). */
export function validateCrd(crd: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  const spec = isObject(crd.spec) ? (crd.spec as unknown as Partial<CrdSpec>) : {};
  const names = (spec.names ?? {}) as Partial<CrdNames>;
  const name = crd.metadata?.name ?? '';
  if (spec.group && names.plural && name !== `${names.plural}.${spec.group}`) {
    errs.push({ type: 'FieldValueInvalid', field: 'metadata.name', value: name, detail: 'must be spec.names.plural+"."+spec.group' });
  }
  if (spec.group && !spec.group.includes('.')) {
    errs.push({ type: 'FieldValueInvalid', field: 'spec.group', value: spec.group, detail: 'should be a domain with at least one dot' });
  }
  if (spec.scope && spec.scope !== 'Namespaced' && spec.scope !== 'Cluster') {
    errs.push({ type: 'FieldValueNotSupported', field: 'spec.scope', value: spec.scope, supported: ['Cluster', 'Namespaced'] });
  }
  const versions = Array.isArray(spec.versions) ? spec.versions : [];
  if (versions.length === 0) errs.push({ type: 'FieldValueInvalid', field: 'spec.versions', value: [], detail: 'must have exactly one version marked as storage version' });
  else if (versions.filter((v) => v.storage).length !== 1) {
    errs.push({ type: 'FieldValueInvalid', field: 'spec.versions', value: versions.map((v) => v.name), detail: 'must have exactly one version marked as storage version' });
  }
  versions.forEach((v, i) => {
    if (!v.schema?.openAPIV3Schema) errs.push({ type: 'FieldValueRequired', field: `spec.versions[${i}].schema.openAPIV3Schema`, detail: 'schemas are required' });
  });
  if (names.plural && names.plural !== names.plural.toLowerCase()) {
    errs.push({ type: 'FieldValueInvalid', field: 'spec.names.plural', value: names.plural, detail: 'a lowercase RFC 1123 label must consist of lower case alphanumeric characters or \'-\'' });
  }
  return errs;
}
