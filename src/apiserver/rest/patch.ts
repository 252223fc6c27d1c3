// PATCH bodies: JSON Patch (RFC 6902), JSON merge patch (RFC 7386) and an interim strategic merge
// patch for built-in kinds. The strategic variant knows upstream's merge keys by field name (no
// schema yet): lists whose field has a merge key merge element-wise, other lists are replaced,
// maps merge, null deletes, and the `$patch`/`$deleteFromPrimitiveList`/`$setElementOrder`/
// `$retainKeys` directives are honoured or dropped. The full engine (schema-driven) comes later.

import { isObject } from '../../api/meta.ts';

export class PatchError extends Error {}

// --- RFC 7386

export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return structuredClone(patch);
  const out: Record<string, unknown> = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

// --- RFC 6902

function decodePointer(ptr: string): string[] {
  if (ptr === '') return [];
  if (!ptr.startsWith('/')) throw new PatchError(`invalid JSON pointer "${ptr}"`);
  return ptr
    .slice(1)
    .split('/')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
}

type Container = Record<string, unknown> | unknown[];

function resolveParent(doc: unknown, parts: string[], op: string, path: string): { parent: Container; key: string } {
  let cur: unknown = doc;
  for (let i = 0; i < parts.length - 1; i++) {
    const p = parts[i]!;
    if (Array.isArray(cur)) {
      const idx = Number(p);
      if (!/^\d+$/.test(p) || idx >= cur.length) throw new PatchError(`${op} operation does not apply: doc is missing path: "${path}"`);
      cur = cur[idx];
    } else if (isObject(cur)) {
      if (!(p in cur)) throw new PatchError(`${op} operation does not apply: doc is missing path: "${path}"`);
      cur = cur[p];
    } else {
      throw new PatchError(`${op} operation does not apply: doc is missing path: "${path}"`);
    }
  }
  if (!Array.isArray(cur) && !isObject(cur)) throw new PatchError(`${op} operation does not apply: doc is missing path: "${path}"`);
  return { parent: cur, key: parts[parts.length - 1]! };
}

function getAt(doc: unknown, path: string, op: string): unknown {
  const parts = decodePointer(path);
  if (parts.length === 0) return doc;
  const { parent, key } = resolveParent(doc, parts, op, path);
  if (Array.isArray(parent)) {
    const i = Number(key);
    if (!/^\d+$/.test(key) || i >= parent.length) throw new PatchError(`${op} operation does not apply: doc is missing path: "${path}"`);
    return parent[i];
  }
  if (!(key in parent)) throw new PatchError(`${op} operation does not apply: doc is missing path: "${path}"`);
  return parent[key];
}

function removeAt(doc: unknown, path: string, op: string): unknown {
  const parts = decodePointer(path);
  if (parts.length === 0) throw new PatchError(`${op} operation does not apply: cannot remove the root`);
  const { parent, key } = resolveParent(doc, parts, op, path);
  if (Array.isArray(parent)) {
    const i = Number(key);
    if (!/^\d+$/.test(key) || i >= parent.length) throw new PatchError(`${op} operation does not apply: doc is missing path: "${path}"`);
    return parent.splice(i, 1)[0];
  }
  if (!(key in parent)) throw new PatchError(`${op} operation does not apply: doc is missing path: "${path}"`);
  const v = parent[key];
  delete parent[key];
  return v;
}

function addAt(doc: unknown, path: string, value: unknown, op: string, replace: boolean): unknown {
  const parts = decodePointer(path);
  if (parts.length === 0) return value;
  const { parent, key } = resolveParent(doc, parts, op, path);
  if (Array.isArray(parent)) {
    if (key === '-' && !replace) parent.push(value);
    else {
      const i = Number(key);
      if (!/^\d+$/.test(key) || i > parent.length || (replace && i >= parent.length)) {
        throw new PatchError(`${op} operation does not apply: doc is missing path: "${path}"`);
      }
      if (replace) parent[i] = value;
      else parent.splice(i, 0, value);
    }
  } else {
    if (replace && !(key in parent)) throw new PatchError(`replace operation does not apply: doc is missing key: ${path}`);
    parent[key] = value;
  }
  return doc;
}

function jsonEqualLoose(a: unknown, b: unknown): boolean {
  return JSON.stringify(sortKeys(a)) === JSON.stringify(sortKeys(b));
}
function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (isObject(v)) return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys(v[k])]));
  return v;
}

export function jsonPatch(target: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops)) throw new PatchError('json: cannot unmarshal object into Go value of type jsonpatch.Patch');
  let doc = structuredClone(target);
  for (const raw of ops) {
    if (!isObject(raw)) throw new PatchError('invalid JSON patch operation');
    const op = raw.op;
    const path = raw.path;
    if (typeof path !== 'string') throw new PatchError(`${String(op)} operation missing path`);
    switch (op) {
      case 'add':
        doc = addAt(doc, path, structuredClone(raw.value), 'add', false);
        break;
      case 'replace':
        if (decodePointer(path).length === 0) doc = structuredClone(raw.value);
        else doc = addAt(doc, path, structuredClone(raw.value), 'replace', true);
        break;
      case 'remove':
        removeAt(doc, path, 'remove');
        break;
      case 'move': {
        if (typeof raw.from !== 'string') throw new PatchError('move operation missing from');
        const v = removeAt(doc, raw.from, 'move');
        doc = addAt(doc, path, v, 'move', false);
        break;
      }
      case 'copy': {
        if (typeof raw.from !== 'string') throw new PatchError('copy operation missing from');
        const v = structuredClone(getAt(doc, raw.from, 'copy'));
        doc = addAt(doc, path, v, 'copy', false);
        break;
      }
      case 'test': {
        const v = getAt(doc, path, 'test');
        if (!jsonEqualLoose(v, raw.value)) throw new PatchError(`testing value ${path} failed: test failed`);
        break;
      }
      default:
        throw new PatchError(`Unexpected kind: ${String(op)}`);
    }
  }
  return doc;
}

// --- interim strategic merge

/** Upstream's patchMergeKey per field name; `ports` depends on the element shape. */
const MERGE_KEYS: Record<string, string> = {
  containers: 'name',
  initContainers: 'name',
  ephemeralContainers: 'name',
  env: 'name',
  imagePullSecrets: 'name',
  volumes: 'name',
  schedulingGates: 'name',
  resourceClaims: 'name',
  secrets: 'name',
  volumeMounts: 'mountPath',
  volumeDevices: 'devicePath',
  hostAliases: 'ip',
  podIPs: 'ip',
  hostIPs: 'ip',
  conditions: 'type',
  addresses: 'type',
  ownerReferences: 'uid',
  topologySpreadConstraints: 'topologyKey',
};
const MERGED_PRIMITIVE_LISTS = new Set(['finalizers', 'podCIDRs']);

function mergeKeyFor(field: string, elems: unknown[]): string | undefined {
  if (field === 'ports') {
    const first = elems.find(isObject);
    if (first && 'containerPort' in first) return 'containerPort';
    if (first && 'port' in first) return 'port';
    return undefined;
  }
  return MERGE_KEYS[field];
}

function strategicList(field: string, original: unknown, patch: unknown[]): unknown[] {
  if (MERGED_PRIMITIVE_LISTS.has(field)) {
    const base = Array.isArray(original) ? [...original] : [];
    for (const v of patch) if (!base.some((b) => jsonEqualLoose(b, v))) base.push(v);
    return base;
  }
  const key = mergeKeyFor(field, [...patch, ...(Array.isArray(original) ? original : [])]);
  if (!key || !Array.isArray(original)) {
    return patch.filter((p) => !(isObject(p) && p.$patch === 'delete')).map((p) => stripDirectives(p));
  }
  if (patch.some((p) => isObject(p) && p.$patch === 'replace')) {
    return patch.filter((p) => !(isObject(p) && p.$patch === 'replace')).map((p) => stripDirectives(p));
  }
  const out = original.map((e) => structuredClone(e));
  for (const p of patch) {
    if (!isObject(p)) continue;
    const idx = out.findIndex((e) => isObject(e) && jsonEqualLoose(e[key], p[key]));
    if (p.$patch === 'delete') {
      if (idx >= 0) out.splice(idx, 1);
    } else if (idx >= 0) {
      out[idx] = strategicMerge(out[idx], p);
    } else {
      out.push(stripDirectives(p));
    }
  }
  return out;
}

function stripDirectives(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(stripDirectives);
  if (!isObject(v)) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    if (k.startsWith('$')) continue;
    if (x === null) continue;
    out[k] = stripDirectives(x);
  }
  return out;
}

export function strategicMerge(original: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return structuredClone(patch);
  if (patch.$patch === 'replace') return stripDirectives(patch);
  if (patch.$patch === 'delete') return undefined;
  const out: Record<string, unknown> = isObject(original) ? { ...original } : {};
  const retain = Array.isArray(patch.$retainKeys) ? new Set(patch.$retainKeys as string[]) : undefined;
  for (const [k, v] of Object.entries(patch)) {
    if (k.startsWith('$deleteFromPrimitiveList/')) {
      const f = k.slice('$deleteFromPrimitiveList/'.length);
      if (Array.isArray(out[f]) && Array.isArray(v)) out[f] = (out[f] as unknown[]).filter((x) => !v.some((d) => jsonEqualLoose(d, x)));
      continue;
    }
    if (k.startsWith('$')) continue;
    if (v === null) delete out[k];
    else if (Array.isArray(v)) out[k] = strategicList(k, out[k], v);
    else if (isObject(v)) {
      const merged = strategicMerge(out[k], v);
      if (merged === undefined) delete out[k];
      else out[k] = merged;
    } else out[k] = v;
  }
  if (retain) for (const k of Object.keys(out)) if (!retain.has(k) && !(k in patch)) delete out[k];
  return out;
}

export type PatchType = 'json' | 'merge' | 'strategic' | 'apply';

export function patchTypeOf(contentType: string): PatchType | undefined {
  const base = contentType.split(';')[0]!.trim().toLowerCase();
  switch (base) {
    case 'application/json-patch+json':
      return 'json';
    case 'application/merge-patch+json':
      return 'merge';
    case 'application/strategic-merge-patch+json':
      return 'strategic';
    case 'application/apply-patch+yaml':
    case 'application/apply-patch+cbor':
      return 'apply';
    default:
      return undefined;
  }
}

/** Upstream's order in the 415 message for built-in kinds. */
export const PATCH_MEDIA_TYPES = [
  'application/json-patch+json',
  'application/merge-patch+json',
  'application/strategic-merge-patch+json',
  'application/apply-patch+yaml',
];

/** Custom resources have no Go struct tags, hence no strategic merge patch. */
export const CUSTOM_PATCH_MEDIA_TYPES = ['application/json-patch+json', 'application/merge-patch+json', 'application/apply-patch+yaml'];
