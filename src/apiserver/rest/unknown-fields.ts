// fieldValidation for built-in kinds: walks a decoded object along the kind's OpenAPI schema and
// reports (and optionally removes) every field the schema does not declare, with upstream's path
// form (`spec.template.spec.containers[0].imagee`). Free-form objects (no properties and no
// additionalProperties, e.g. RawExtension, FieldsV1) and x-kubernetes-preserve-unknown-fields
// subtrees accept anything.
import { isObject } from '../../api/meta.ts';
import { embeddedOpenApi } from '../openapi/data.ts';
import { schemaForGVK, type GroupVersionKind } from '../openapi/schema.ts';

type Schema = Record<string, unknown>;

interface Resolved {
  properties: Map<string, Schema>;
  additional: Schema | undefined;
  items: Schema | undefined;
  freeForm: boolean;
}

const resolvedCache = new WeakMap<Schema, Resolved>();

function byRef(ref: string): Schema | undefined {
  const s = embeddedOpenApi().schemas[ref.slice(ref.lastIndexOf('/') + 1)];
  return isObject(s) ? s : undefined;
}

/** A schema node with its $ref/allOf layers merged, memoized per node object. */
function resolve(node: Schema): Resolved {
  const hit = resolvedCache.get(node);
  if (hit) return hit;
  const properties = new Map<string, Schema>();
  let additional: Schema | undefined;
  let items: Schema | undefined;
  let preserve = false;
  let isObjectType = false;
  const visit = (n: Schema, depth: number) => {
    if (depth > 16) return;
    if (isObject(n.properties)) for (const [k, v] of Object.entries(n.properties)) if (isObject(v) && !properties.has(k)) properties.set(k, v);
    if (additional === undefined && isObject(n.additionalProperties)) additional = n.additionalProperties;
    if (n.additionalProperties === true) preserve = true;
    if (items === undefined && isObject(n.items)) items = n.items;
    if (n['x-kubernetes-preserve-unknown-fields'] === true) preserve = true;
    if (n.type === 'object') isObjectType = true;
    if (typeof n.$ref === 'string') {
      const t = byRef(n.$ref);
      if (t) visit(t, depth + 1);
    }
    if (Array.isArray(n.allOf)) for (const p of n.allOf) if (isObject(p)) visit(p, depth + 1);
  };
  visit(node, 0);
  const r: Resolved = { properties, additional, items, freeForm: preserve || (properties.size === 0 && additional === undefined && (isObjectType || items === undefined)) };
  resolvedCache.set(node, r);
  return r;
}

function walk(value: unknown, node: Schema | undefined, path: string, out: string[], remove: boolean): void {
  if (node === undefined || value === null || typeof value !== 'object') return;
  const r = resolve(node);
  if (Array.isArray(value)) {
    if (r.items) value.forEach((v, i) => walk(v, r.items, `${path}[${i}]`, out, remove));
    return;
  }
  if (r.freeForm) return;
  for (const key of Object.keys(value)) {
    const child = path ? `${path}.${key}` : key;
    const sub = r.properties.get(key) ?? r.additional;
    if (sub === undefined) {
      out.push(child);
      if (remove) delete (value as Record<string, unknown>)[key];
      continue;
    }
    walk((value as Record<string, unknown>)[key], sub, child, out, remove);
  }
}

/**
 * Unknown-field paths of `obj` for a built-in kind, or undefined when the kind has no schema.
 * With `remove`, those fields are deleted from `obj` (what Warn and Ignore do).
 */
export function builtInUnknownFields(gvk: GroupVersionKind, obj: Record<string, unknown>, remove: boolean): string[] | undefined {
  const root = schemaForGVK(gvk);
  if (!isObject(root)) return undefined;
  const out: string[] = [];
  walk(obj, root, '', out, remove);
  return out;
}
