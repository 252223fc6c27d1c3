// The "schema oracle" both patch engines consult: per field, the strategic-merge metadata (merge key,
// strategy) and the server-side-apply shape (list type, list-map keys, map type, struct vs map).
// Built-in kinds answer from the embedded OpenAPI table; custom resources from their structural
// schema (x-kubernetes-list-type, x-kubernetes-list-map-keys, x-kubernetes-map-type). Nodes are
// walked lazily and memoized, so a patch touching N fields costs N look-ups, never a walk from root.
import { embeddedOpenApi } from '../openapi/data.ts';
import { schemaForGVK } from '../openapi/schema.ts';
import type { GroupVersionKind } from '../openapi/schema.ts';

export interface SchemaNode {
  /** x-kubernetes-patch-merge-key (SMP). */
  readonly mergeKey: string | undefined;
  /** x-kubernetes-patch-strategy, comma-joined as in the schema (`merge,retainKeys`). */
  readonly strategy: string | undefined;
  /** SSA list type: `atomic`, `set` or `map` (already resolved with upstream's fallbacks). */
  readonly listType: 'atomic' | 'set' | 'map' | undefined;
  /** SSA list-map keys, in schema order. */
  readonly listMapKeys: readonly string[] | undefined;
  /** SSA map type: `atomic` or `granular`. */
  readonly mapType: 'atomic' | 'granular' | undefined;
  /** `default` of this field, used to fill absent list-map key fields (e.g. protocol TCP). */
  readonly defaultValue: unknown;
  /** The schema of property `name`, or of map values when this is a string-keyed map. */
  field(name: string): SchemaNode | undefined;
  /** Whether `name` is a declared property (a struct field) rather than a map key. */
  declares(name: string): boolean;
  /** The element schema when this is a list. */
  items(): SchemaNode | undefined;
}

type Schema = Record<string, unknown>;
const isSchema = (v: unknown): v is Schema => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown) => (typeof v === 'string' ? v : undefined);

/** Protocol defaults that upstream's SSA applies before computing list-map keys (ports lists). */
const KEY_DEFAULTS: Record<string, unknown> = { protocol: 'TCP' };

class OpenApiNode implements SchemaNode {
  readonly mergeKey: string | undefined;
  readonly strategy: string | undefined;
  readonly listType: 'atomic' | 'set' | 'map' | undefined;
  readonly listMapKeys: readonly string[] | undefined;
  readonly mapType: 'atomic' | 'granular' | undefined;
  readonly defaultValue: unknown;
  private readonly props = new Map<string, OpenApiNode | null>();
  private additional: OpenApiNode | null | undefined;
  private itemsNode: OpenApiNode | null | undefined;

  constructor(
    private readonly layers: Schema[],
    private readonly resolve: (ref: string) => Schema | undefined,
    /** Default for this node when the schema has none (built-in key defaults). */
    fallbackDefault?: unknown,
  ) {
    const pick = <T>(f: (n: Schema) => T | undefined): T | undefined => {
      for (const n of layers) {
        const v = f(n);
        if (v !== undefined) return v;
      }
      return undefined;
    };
    this.mergeKey = pick((n) => str(n['x-kubernetes-patch-merge-key']));
    this.strategy = pick((n) => str(n['x-kubernetes-patch-strategy']));
    const keys = pick((n) => {
      const k = n['x-kubernetes-list-map-keys'];
      return Array.isArray(k) && k.every((x) => typeof x === 'string') ? (k as string[]) : undefined;
    });
    const isArray = pick((n) => (n.type === 'array' ? true : undefined)) === true;
    let listType = pick((n) => str(n['x-kubernetes-list-type'])) as SchemaNode['listType'];
    let listMapKeys = keys;
    if (isArray && listType === undefined) {
      // Upstream's OpenAPI → SSA schema conversion falls back on the SMP tags: merge with a key is a
      // map keyed by it, merge without one is a set, anything else is atomic.
      const merges = (this.strategy ?? '').split(',').includes('merge');
      if (merges && this.mergeKey !== undefined) {
        listType = 'map';
        listMapKeys = [this.mergeKey];
      } else listType = merges ? 'set' : 'atomic';
    }
    this.listType = listType;
    this.listMapKeys = listMapKeys;
    this.mapType = pick((n) => str(n['x-kubernetes-map-type'])) as SchemaNode['mapType'];
    const def = pick((n) => (n.default !== undefined ? n.default : undefined));
    this.defaultValue = def !== undefined ? def : fallbackDefault;
  }

  private static expand(node: Schema, resolve: (ref: string) => Schema | undefined): Schema[] {
    const out: Schema[] = [];
    const visit = (n: Schema, depth: number) => {
      if (depth > 16) return;
      out.push(n);
      if (typeof n.$ref === 'string') {
        const t = resolve(n.$ref);
        if (t) visit(t, depth + 1);
      }
      if (Array.isArray(n.allOf)) for (const p of n.allOf) if (isSchema(p)) visit(p, depth + 1);
    };
    visit(node, 0);
    return out;
  }

  static of(node: Schema, resolve: (ref: string) => Schema | undefined, fallbackDefault?: unknown): OpenApiNode {
    return new OpenApiNode(OpenApiNode.expand(node, resolve), resolve, fallbackDefault);
  }

  declares(name: string): boolean {
    for (const n of this.layers) if (isSchema(n.properties) && isSchema(n.properties[name])) return true;
    return false;
  }

  field(name: string): SchemaNode | undefined {
    const cached = this.props.get(name);
    if (cached !== undefined) return cached ?? undefined;
    for (const n of this.layers) {
      const p = isSchema(n.properties) ? n.properties[name] : undefined;
      if (isSchema(p)) {
        const node = OpenApiNode.of(p, this.resolve, KEY_DEFAULTS[name]);
        this.props.set(name, node);
        return node;
      }
    }
    // Map values share one node; map keys are not cached (they are unbounded).
    if (this.additional === undefined) {
      const ap = this.layers.map((n) => n.additionalProperties).find(isSchema);
      this.additional = ap ? OpenApiNode.of(ap, this.resolve) : null;
    }
    return this.additional ?? undefined;
  }

  items(): SchemaNode | undefined {
    if (this.itemsNode === undefined) {
      const it = this.layers.map((n) => (n.type === 'array' || n.items ? n.items : undefined)).find(isSchema);
      this.itemsNode = it ? OpenApiNode.of(it, this.resolve) : null;
    }
    return this.itemsNode ?? undefined;
  }
}

const builtInRoots = new Map<string, SchemaNode | null>();

/** The root schema node of a built-in kind, or undefined when the kind is unknown. */
export function builtInSchema(gvk: GroupVersionKind): SchemaNode | undefined {
  const id = `${gvk.group}/${gvk.version}/${gvk.kind}`;
  let root = builtInRoots.get(id);
  if (root === undefined) {
    const schema = schemaForGVK(gvk);
    const schemas = embeddedOpenApi().schemas as Record<string, unknown>;
    const resolve = (ref: string) => {
      const s = schemas[ref.slice(ref.lastIndexOf('/') + 1)];
      return isSchema(s) ? s : undefined;
    };
    root = isSchema(schema) ? OpenApiNode.of(schema, resolve) : null;
    builtInRoots.set(id, root);
  }
  return root ?? undefined;
}

/**
 * The root node for a custom resource version from its structural schema (openAPIV3Schema). CRD
 * schemas have no $refs; lists without x-kubernetes-list-type are atomic, as upstream treats them.
 */
export function structuralSchema(openAPIV3Schema: object): SchemaNode {
  return OpenApiNode.of(openAPIV3Schema as Schema, () => undefined);
}

/** A node over any OpenAPI schema whose `$ref`s name entries of `definitions` by their last segment. */
export function openApiSchema(root: object, definitions: Record<string, object> = {}): SchemaNode {
  return OpenApiNode.of(root as Schema, (ref) => {
    const s = definitions[ref.slice(ref.lastIndexOf('/') + 1)];
    return isSchema(s) ? s : undefined;
  });
}

/** Looks a node up by field path (names and map keys; list elements are stepped into implicitly). */
export function schemaAtPath(root: SchemaNode | undefined, path: readonly string[]): SchemaNode | undefined {
  let node = root;
  for (const segment of path) {
    if (node === undefined) return undefined;
    const items = node.items();
    if (items !== undefined) node = items;
    node = node.field(segment);
  }
  return node;
}
