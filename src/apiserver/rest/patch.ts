// PATCH bodies: JSON Patch (RFC 6902) and JSON merge patch (RFC 7386), plus the patch media types.
// Strategic merge lives in ../patch/strategic.ts and server-side apply in ../apply/.

import { isObject } from '../../api/meta.ts';

export class PatchError extends Error {
  /** 422 for a patch that does not apply; 400 for one that is not a patch at all (as upstream). */
  constructor(message: string, readonly code: 400 | 422 = 422) {
    super(message);
  }
}

/** Go's name for a JSON value's type in an encoding/json UnmarshalTypeError. */
function goJsonType(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'number') return 'number';
  if (typeof v === 'boolean') return 'bool';
  return 'object';
}

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
  if (!Array.isArray(ops)) throw new PatchError(`json: cannot unmarshal ${goJsonType(ops)} into Go value of type jsonpatch.Patch`, 400);
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
