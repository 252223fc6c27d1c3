// What a CRD's structural schema (openAPIV3Schema) does to a custom resource: prune unknown
// fields, fill `default`s, and validate types, required fields, enums, patterns, bounds — with
// upstream's field paths and messages (kube-openapi's validator wording), so `kubectl` errors read
// the same as against a real cluster.
import { isObject, type KubeObject } from '../../api/meta.ts';
import type { FieldError } from '../../api/status.ts';

export type JSONSchemaProps = Record<string, unknown>;

const props = (s: JSONSchemaProps): Record<string, JSONSchemaProps> => (isObject(s.properties) ? (s.properties as Record<string, JSONSchemaProps>) : {});
const additional = (s: JSONSchemaProps): JSONSchemaProps | undefined => (isObject(s.additionalProperties) ? (s.additionalProperties as JSONSchemaProps) : undefined);
const items = (s: JSONSchemaProps): JSONSchemaProps | undefined => (isObject(s.items) ? (s.items as JSONSchemaProps) : undefined);
const preserves = (s: JSONSchemaProps) => s['x-kubernetes-preserve-unknown-fields'] === true;
const embedded = (s: JSONSchemaProps) => s['x-kubernetes-embedded-resource'] === true;

/** The fields every object keeps at its root regardless of the schema. */
const ROOT_FIELDS = new Set(['apiVersion', 'kind', 'metadata']);
/** Embedded resources keep their type and metadata too. */
const EMBEDDED_FIELDS = ['apiVersion', 'kind', 'metadata'];

/** A path step: property names join with `.`, list indexes with `[i]` (upstream's field.Path). */
const child = (path: string, name: string) => (path ? `${path}.${name}` : name);

/**
 * Walks `value` against `schema` and removes what the schema does not declare; returns the paths
 * removed (for fieldValidation Warn/Strict). `root` keeps apiVersion/kind/metadata.
 */
export function prune(value: unknown, schema: JSONSchemaProps | undefined, path = '', root = true, removed: string[] = []): string[] {
  if (schema === undefined) return removed;
  if (Array.isArray(value)) {
    const it = items(schema);
    value.forEach((v, i) => prune(v, it, `${path}[${i}]`, false, removed));
    return removed;
  }
  if (!isObject(value)) return removed;
  const declared = props(schema);
  const extra = additional(schema);
  const keep = preserves(schema);
  for (const key of Object.keys(value)) {
    if ((root || embedded(schema)) && EMBEDDED_FIELDS.includes(key)) {
      if (key === 'metadata' && !root && isObject(value.metadata)) pruneEmbeddedMeta(value.metadata, child(path, key), removed);
      continue;
    }
    const sub = declared[key] ?? extra;
    if (sub === undefined) {
      if (keep) continue;
      removed.push(child(path, key));
      delete value[key];
      continue;
    }
    prune(value[key], sub, child(path, key), false, removed);
  }
  return removed;
}

/** Embedded resources' metadata keeps only ObjectMeta's name-like fields, as upstream does. */
function pruneEmbeddedMeta(meta: Record<string, unknown>, path: string, removed: string[]): void {
  const allowed = new Set(['name', 'namespace', 'generateName', 'labels', 'annotations', 'uid', 'finalizers', 'ownerReferences', 'creationTimestamp', 'resourceVersion', 'generation']);
  for (const k of Object.keys(meta)) {
    if (!allowed.has(k)) {
      removed.push(child(path, k));
      delete meta[k];
    }
  }
}

/** Fills `default`s top-down: a defaulted object is then defaulted inside, like upstream. */
export function applyDefaults(value: unknown, schema: JSONSchemaProps | undefined): void {
  if (schema === undefined) return;
  if (Array.isArray(value)) {
    const it = items(schema);
    for (const v of value) applyDefaults(v, it);
    return;
  }
  if (!isObject(value)) return;
  for (const [key, sub] of Object.entries(props(schema))) {
    if (value[key] === undefined && sub.default !== undefined) value[key] = structuredClone(sub.default);
    if (value[key] !== undefined) applyDefaults(value[key], sub);
  }
  const extra = additional(schema);
  if (extra) for (const [key, v] of Object.entries(value)) if (!(key in props(schema))) applyDefaults(v, extra);
}

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function typeMatches(type: string, v: unknown): boolean {
  const t = typeOf(v);
  if (type === 'number') return t === 'number' || t === 'integer';
  return t === type;
}

function quoted(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v) ?? 'null';
}

/**
 * Validates a value against the structural schema. Field paths are relative to the object root
 * (`spec.replicas`), as kube-apiserver reports them for custom resources.
 */
export function validateValue(value: unknown, schema: JSONSchemaProps | undefined, path: string, errs: FieldError[] = []): FieldError[] {
  if (schema === undefined) return errs;
  if (value === null) {
    if (schema.nullable === true) return errs;
    // Upstream drops nulls for fields that are not nullable before validating (pruning of nulls).
    return errs;
  }
  const intOrString = schema['x-kubernetes-int-or-string'] === true;
  const type = typeof schema.type === 'string' ? schema.type : undefined;
  if (intOrString) {
    if (typeOf(value) !== 'integer' && typeof value !== 'string') {
      errs.push({ type: 'FieldValueInvalid', field: path, value, detail: `${path} in body must be of type integer,string: ${quoted(typeOf(value))}` });
      return errs;
    }
  } else if (type && !typeMatches(type, value)) {
    errs.push({ type: 'FieldValueInvalid', field: path, value, detail: `${path} in body must be of type ${type}: ${quoted(typeOf(value))}` });
    return errs;
  }
  if (Array.isArray(schema.enum) && !schema.enum.some((e) => JSON.stringify(e) === JSON.stringify(value))) {
    errs.push({ type: 'FieldValueNotSupported', field: path, value, supported: schema.enum.map((e) => (typeof e === 'string' ? e : JSON.stringify(e))) });
  }
  if (typeof value === 'string') {
    if (typeof schema.maxLength === 'number' && [...value].length > schema.maxLength) {
      errs.push({ type: 'FieldValueTooLong', field: path, value, detail: `may not be more than ${schema.maxLength} bytes` });
    }
    if (typeof schema.minLength === 'number' && [...value].length < schema.minLength) {
      errs.push({ type: 'FieldValueInvalid', field: path, value, detail: `${path} in body should be at least ${schema.minLength} chars long` });
    }
    if (typeof schema.pattern === 'string') {
      let re: RegExp | undefined;
      try {
        re = new RegExp(schema.pattern, 'u');
      } catch {
        re = undefined;
      }
      if (re && !re.test(value)) errs.push({ type: 'FieldValueInvalid', field: path, value, detail: `${path} in body should match '${schema.pattern}'` });
    }
  }
  if (typeof value === 'number') {
    if (typeof schema.maximum === 'number') {
      const over = schema.exclusiveMaximum === true ? value >= schema.maximum : value > schema.maximum;
      if (over) errs.push({ type: 'FieldValueInvalid', field: path, value, detail: `${path} in body should be less than ${schema.exclusiveMaximum === true ? '' : 'or equal to '}${schema.maximum}` });
    }
    if (typeof schema.minimum === 'number') {
      const under = schema.exclusiveMinimum === true ? value <= schema.minimum : value < schema.minimum;
      if (under) errs.push({ type: 'FieldValueInvalid', field: path, value, detail: `${path} in body should be greater than ${schema.exclusiveMinimum === true ? '' : 'or equal to '}${schema.minimum}` });
    }
    if (typeof schema.multipleOf === 'number' && schema.multipleOf > 0 && value % schema.multipleOf !== 0) {
      errs.push({ type: 'FieldValueInvalid', field: path, value, detail: `${path} in body should be a multiple of ${schema.multipleOf}` });
    }
  }
  if (Array.isArray(value)) {
    if (typeof schema.maxItems === 'number' && value.length > schema.maxItems) {
      errs.push({ type: 'FieldValueTooMany', field: path, value: value.length, detail: `must have at most ${schema.maxItems} items` });
    }
    if (typeof schema.minItems === 'number' && value.length < schema.minItems) {
      errs.push({ type: 'FieldValueInvalid', field: path, value: value.length, detail: `${path} in body should have at least ${schema.minItems} items` });
    }
    const it = items(schema);
    value.forEach((v, i) => validateValue(v, it, `${path}[${i}]`, errs));
    if (schema['x-kubernetes-list-type'] === 'set') {
      const seen = new Set<string>();
      value.forEach((v, i) => {
        const k = JSON.stringify(v);
        if (seen.has(k)) errs.push({ type: 'FieldValueDuplicate', field: `${path}[${i}]`, value: v });
        seen.add(k);
      });
    }
  }
  if (isObject(value)) {
    const required = Array.isArray(schema.required) ? (schema.required as string[]) : [];
    for (const r of required) if (value[r] === undefined) errs.push({ type: 'FieldValueRequired', field: child(path, r), detail: '' });
    if (typeof schema.maxProperties === 'number' && Object.keys(value).length > schema.maxProperties) {
      errs.push({ type: 'FieldValueTooMany', field: path, value: Object.keys(value).length, detail: `must have at most ${schema.maxProperties} items` });
    }
    const declared = props(schema);
    const extra = additional(schema);
    for (const [k, v] of Object.entries(value)) {
      if (path === '' && ROOT_FIELDS.has(k)) continue;
      const sub = declared[k] ?? extra;
      if (sub) validateValue(v, sub, child(path, k), errs);
    }
    if (embedded(schema)) {
      if (typeof value.kind !== 'string' || value.kind === '') errs.push({ type: 'FieldValueRequired', field: child(path, 'kind'), detail: 'must not be empty' });
      if (typeof value.apiVersion !== 'string' || value.apiVersion === '') errs.push({ type: 'FieldValueRequired', field: child(path, 'apiVersion'), detail: 'must not be empty' });
    }
  }
  return errs;
}

/** Validation of a whole custom resource against its version's schema. */
export function validateObject(obj: KubeObject, schema: JSONSchemaProps | undefined): FieldError[] {
  return validateValue(obj, schema, '');
}
