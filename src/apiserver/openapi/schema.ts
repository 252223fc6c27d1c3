// Schema look-ups over the embedded OpenAPI table for the patch engines: strategic merge needs
// patch merge keys and strategies, server-side apply needs list types and list-map keys. Both
// walk a kind's schema along a field path, following $ref/allOf into the shared schema table.
import { embeddedOpenApi } from './data.ts';

export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

export interface PatchMeta {
  /** x-kubernetes-patch-merge-key: the element field that identifies list items in SMP. */
  mergeKey?: string;
  /** x-kubernetes-patch-strategy: `merge`, `replace`, `retainKeys` or comma-joined (`merge,retainKeys`). */
  strategy?: string;
  /** x-kubernetes-list-type: `atomic`, `set` or `map` (server-side apply). */
  listType?: string;
  /** x-kubernetes-list-map-keys (server-side apply, with listType `map`). */
  listMapKeys?: string[];
  /** x-kubernetes-map-type: `atomic` or `granular`. */
  mapType?: string;
}

type Schema = Record<string, unknown>;

let kindIndex: Map<string, string> | undefined;

const gvkId = (g: string, v: string, k: string) => `${g}/${v}/${k}`;

function isSchema(v: unknown): v is Schema {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Upstream schema name (e.g. `io.k8s.api.apps.v1.Deployment`) for a built-in kind. */
export function schemaNameForGVK(gvk: GroupVersionKind): string | undefined {
  if (kindIndex === undefined) {
    kindIndex = new Map();
    for (const [name, schema] of Object.entries(embeddedOpenApi().schemas)) {
      const gvks = isSchema(schema) ? schema['x-kubernetes-group-version-kind'] : undefined;
      if (!Array.isArray(gvks)) continue;
      for (const entry of gvks) {
        if (!isSchema(entry)) continue;
        const id = gvkId(String(entry.group ?? ''), String(entry.version ?? ''), String(entry.kind ?? ''));
        // Several kinds share meta types (DeleteOptions, WatchEvent); the first is as good as any.
        if (!kindIndex.has(id)) kindIndex.set(id, name);
      }
    }
  }
  return kindIndex.get(gvkId(gvk.group, gvk.version, gvk.kind));
}

/** The OpenAPI v3 schema of a built-in kind (shared; do not mutate), or undefined if unknown. */
export function schemaForGVK(gvk: GroupVersionKind): object | undefined {
  const name = schemaNameForGVK(gvk);
  if (name === undefined) return undefined;
  const schema = embeddedOpenApi().schemas[name];
  return isSchema(schema) ? schema : undefined;
}

function byRef(ref: string): Schema | undefined {
  const name = ref.slice(ref.lastIndexOf('/') + 1);
  const schema = embeddedOpenApi().schemas[name];
  return isSchema(schema) ? schema : undefined;
}

/**
 * The schema nodes that together describe one field: the node itself, then what its $ref and
 * allOf point to (depth-first). Extensions on the field's own node win over the referenced type's.
 */
function layers(node: Schema): Schema[] {
  const out: Schema[] = [];
  const visit = (n: Schema, depth: number) => {
    if (depth > 16) return; // schemas are not recursive through refs here, but stay bounded
    out.push(n);
    if (typeof n.$ref === 'string') {
      const target = byRef(n.$ref);
      if (target) visit(target, depth + 1);
    }
    if (Array.isArray(n.allOf)) for (const part of n.allOf) if (isSchema(part)) visit(part, depth + 1);
  };
  visit(node, 0);
  return out;
}

function first<T>(nodes: Schema[], pick: (n: Schema) => T | undefined): T | undefined {
  for (const n of nodes) {
    const v = pick(n);
    if (v !== undefined) return v;
  }
  return undefined;
}

const str = (v: unknown) => (typeof v === 'string' ? v : undefined);

/** One step down: a named property, else map values (additionalProperties); lists step into items. */
function child(node: Schema, segment: string): Schema | undefined {
  let nodes = layers(node);
  const items = first(nodes, (n) => (n.type === 'array' && isSchema(n.items) ? n.items : undefined));
  if (items !== undefined) {
    // `[]`, `*` or an index address the element itself; a field name addresses the element's field.
    if (segment === '[]' || segment === '*' || /^\d+$/.test(segment)) return items;
    nodes = layers(items);
  }
  const prop = first(nodes, (n) => {
    const props = n.properties;
    return isSchema(props) && isSchema(props[segment]) ? (props[segment] as Schema) : undefined;
  });
  if (prop !== undefined) return prop;
  return first(nodes, (n) => (isSchema(n.additionalProperties) ? n.additionalProperties : undefined));
}

/** The schema node at `path` below a kind's root (unresolved; see `resolvedSchemaAt`). */
export function schemaAt(gvk: GroupVersionKind, path: readonly string[]): object | undefined {
  let node = schemaForGVK(gvk) as Schema | undefined;
  for (const segment of path) {
    if (node === undefined) return undefined;
    node = child(node, segment);
  }
  return node;
}

/**
 * Patch metadata of the field at `path` (field names from the kind's root; list elements are
 * stepped into implicitly, so `['spec','containers','ports']` is the ports of any container).
 * Returns undefined when the path does not exist in the schema, `{}` when it exists without any.
 */
export function patchMetaFor(gvk: GroupVersionKind, path: readonly string[]): PatchMeta | undefined {
  const node = schemaAt(gvk, path) as Schema | undefined;
  if (node === undefined) return undefined;
  const nodes = layers(node);
  const meta: PatchMeta = {};
  const mergeKey = first(nodes, (n) => str(n['x-kubernetes-patch-merge-key']));
  const strategy = first(nodes, (n) => str(n['x-kubernetes-patch-strategy']));
  const listType = first(nodes, (n) => str(n['x-kubernetes-list-type']));
  const listMapKeys = first(nodes, (n) => {
    const keys = n['x-kubernetes-list-map-keys'];
    return Array.isArray(keys) && keys.every((k) => typeof k === 'string') ? (keys as string[]) : undefined;
  });
  const mapType = first(nodes, (n) => str(n['x-kubernetes-map-type']));
  if (mergeKey !== undefined) meta.mergeKey = mergeKey;
  if (strategy !== undefined) meta.strategy = strategy;
  if (listType !== undefined) meta.listType = listType;
  if (listMapKeys !== undefined) meta.listMapKeys = [...listMapKeys];
  if (mapType !== undefined) meta.mapType = mapType;
  return meta;
}
