// Applies a strategic merge patch (application/strategic-merge-patch+json) the way kube-apiserver
// does: maps merge, null deletes, lists merge or replace according to the field's patch strategy
// and merge key (from a SchemaNode), plus the $patch, $retainKeys, $deleteFromPrimitiveList and
// $setElementOrder directives. Upstream's list ordering rules are reproduced because kubectl's
// client-side apply and `kubectl edit` compare the result with what they expect.
//
// Neither input is mutated; the result shares untouched subtrees with `original`.
import type { SchemaNode } from '../apply/schema-oracle.ts';

type Obj = Record<string, unknown>;

const DIRECTIVE = '$patch';
const RETAIN_KEYS = '$retainKeys';
const DELETE_PRIMITIVE = '$deleteFromPrimitiveList';
const SET_ORDER = '$setElementOrder';

/**
 * An invalid patch. `code` is the HTTP status kube-apiserver answers with: 400 for malformed
 * directives, 422 for lists of lists and retainKeys mismatches, 500 for the rest (upstream passes
 * those through unclassified, e.g. a missing merge key).
 */
export class StrategicMergePatchError extends Error {
  constructor(
    message: string,
    readonly code: 400 | 422 | 500,
  ) {
    super(message);
    this.name = 'StrategicMergePatchError';
  }
}

const badRequest = (m: string) => new StrategicMergePatchError(m, 400);
const unprocessable = (m: string) => new StrategicMergePatchError(m, 422);
const internal = (m: string) => new StrategicMergePatchError(m, 500);

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Go's %v rendering of decoded JSON, used in messages that upstream formats that way. */
export function goFormat(v: unknown): string {
  if (v === null || v === undefined) return '<nil>';
  if (Array.isArray(v)) return `[${v.map(goFormat).join(' ')}]`;
  if (isObj(v)) return `map[${Object.keys(v).sort().map((k) => `${k}:${goFormat(v[k])}`).join(' ')}]`;
  if (typeof v === 'number') return Number.isInteger(v) && Math.abs(v) < 1e21 ? String(v) : String(v);
  return String(v);
}

/** Go reflect type names as upstream's "expected a X, but received a Y" messages print them. */
function goType(v: unknown): string {
  if (v === null || v === undefined) return '<nil>';
  if (Array.isArray(v)) return '[]interface {}';
  if (isObj(v)) return 'map[string]interface {}';
  if (typeof v === 'number') return 'float64';
  return typeof v;
}

/** Kind of a decoded JSON value, as Go's reflect.TypeOf distinguishes them. */
function kindOf(v: unknown): 'map' | 'slice' | 'string' | 'number' | 'bool' | 'nil' {
  if (v === null || v === undefined) return 'nil';
  if (Array.isArray(v)) return 'slice';
  if (typeof v === 'object') return 'map';
  if (typeof v === 'number') return 'number';
  if (typeof v === 'boolean') return 'bool';
  return 'string';
}

/**
 * A patch value taken as-is into the result: directives removed (a map carrying `$patch` vanishes),
 * nulls dropped (they only mean "delete" and there is nothing to delete). Returns undefined when the
 * value itself must not be kept. Always a fresh copy, so the result never aliases the patch.
 */
function cleanValue(v: unknown): unknown {
  if (Array.isArray(v)) {
    const out: unknown[] = [];
    for (const e of v) {
      const c = cleanValue(e);
      if (c !== undefined) out.push(c);
    }
    return out;
  }
  if (isObj(v)) {
    if (DIRECTIVE in v) return undefined;
    const out: Obj = {};
    for (const k of Object.keys(v)) {
      const x = v[k];
      if (x === null) continue;
      const c = cleanValue(x);
      if (c !== undefined) out[k] = c;
    }
    return out;
  }
  return v;
}

function splitStrategy(strategy: string | undefined): { retainKeys: boolean; other: string } {
  if (!strategy) return { retainKeys: false, other: '' };
  const parts = strategy.split(',');
  if (parts.length === 1) return parts[0] === 'retainKeys' ? { retainKeys: true, other: '' } : { retainKeys: false, other: parts[0]! };
  if (parts.length === 2) {
    if (parts[0] === 'retainKeys') return { retainKeys: true, other: parts[1]! };
    if (parts[1] === 'retainKeys') return { retainKeys: true, other: parts[0]! };
  }
  throw internal(`unexpected patch strategy: [${parts.join(' ')}]`);
}

function extractKey(key: string, prefix: string): string {
  const slash = key.indexOf('/');
  if (slash < 0 || key.slice(0, slash) !== prefix) {
    if (prefix === DELETE_PRIMITIVE) throw badRequest('invalid patch format of primitive list');
    throw badRequest('invalid patch format of setElementOrder list');
  }
  return key.slice(slash + 1);
}

/** Applies `patch` to `original` (both JSON objects) with the kind's schema; throws StrategicMergePatchError. */
export function applyStrategicMergePatch(original: Obj, patch: unknown, schema: SchemaNode | undefined): Obj {
  if (!isObj(patch) || !isObj(original)) throw badRequest('invalid JSON document');
  return mergeMap(original, patch, schema);
}

function mergeMap(original: Obj | undefined, patch: Obj, schema: SchemaNode | undefined): Obj {
  if (DIRECTIVE in patch) {
    const directive = patch[DIRECTIVE];
    if (directive === 'replace') {
      const { [DIRECTIVE]: _drop, ...rest } = patch;
      return cleanValue(rest) as Obj;
    }
    // A deleted map becomes empty rather than absent, as upstream returns it.
    if (directive === 'delete') return {};
    throw internal(`unknown patch type: ${goFormat(directive)} in map: ${goFormat(patch)}`);
  }
  const out: Obj = original ? { ...original } : {};

  if (RETAIN_KEYS in patch) {
    const retain = patch[RETAIN_KEYS];
    if (!Array.isArray(retain)) throw badRequest('invalid patch format of retainKeys');
    const keep = new Set<unknown>(retain);
    for (const k of Object.keys(patch)) {
      if (k === RETAIN_KEYS || patch[k] === null || k.startsWith(DELETE_PRIMITIVE) || k.startsWith(SET_ORDER)) continue;
      if (!keep.has(k)) throw badRequest('invalid patch format of retainKeys');
    }
    for (const k of Object.keys(out)) if (!keep.has(k)) delete out[k];
  }

  const handled = new Set<string>([RETAIN_KEYS]);
  for (const key of Object.keys(patch)) {
    if (!key.startsWith(SET_ORDER)) continue;
    handled.add(key);
    const field = applySetElementOrder(out, patch, key, schema);
    if (field !== undefined) handled.add(field);
  }

  for (const rawKey of Object.keys(patch)) {
    if (handled.has(rawKey)) continue;
    const patchValue = patch[rawKey];
    let key = rawKey;
    let isDeleteList = false;
    if (rawKey.startsWith(DELETE_PRIMITIVE)) {
      key = extractKey(rawKey, DELETE_PRIMITIVE);
      isDeleteList = true;
    }
    if (patchValue === null) {
      delete out[key];
      continue;
    }
    const current = out[key];
    if (current === undefined || kindOf(current) !== kindOf(patchValue)) {
      if (!isDeleteList) {
        const cleaned = cleanValue(patchValue);
        if (cleaned === undefined) delete out[key];
        else out[key] = cleaned;
      }
      continue;
    }
    const child = schema?.field(key);
    if (isObj(current) && isObj(patchValue)) {
      const { other } = splitStrategy(child?.strategy);
      out[key] = other === 'replace' ? (cleanValue(patchValue) as Obj) : mergeMap(current, patchValue, child);
    } else if (Array.isArray(current) && Array.isArray(patchValue)) {
      out[key] = mergeSliceHandler(current, patchValue, child, isDeleteList);
    } else {
      out[key] = patchValue;
    }
  }
  return out;
}

/** Receives the order upstream's $setElementOrder step ends up comparing against (see aliasedOrder). */
interface OrderOut {
  serverOrder?: unknown[];
}

function mergeSliceHandler(original: unknown[], patch: unknown[], field: SchemaNode | undefined, isDeleteList: boolean, orderOut?: OrderOut): unknown[] {
  const { other } = splitStrategy(field?.strategy);
  if (other === 'merge' || isDeleteList) return mergeSlice(original, patch, field, isDeleteList, orderOut);
  return cleanValue(patch) as unknown[];
}

/** The element kind shared by all lists, or an error as upstream reports mixed or nested lists. */
function elementKind(...lists: unknown[][]): ReturnType<typeof kindOf> {
  let kind: ReturnType<typeof kindOf> | undefined;
  for (const list of lists) {
    for (const v of list) {
      const k = kindOf(v);
      if (kind === undefined) {
        kind = k;
        if (k === 'slice') throw unprocessable('lists of lists are not supported');
      } else if (kind !== k) {
        throw internal(`list element types are not identical: [${lists.map(goFormat).join(' ')}]`);
      }
    }
  }
  if (kind === undefined) throw internal('no elements in any of the given slices');
  return kind;
}

const noMergeKey = (m: unknown, key: string) =>
  internal(`map: ${goFormat(m)} does not contain declared merge key: ${key}`);

/** Identity of a list element for ordering: its merge key value for maps, the value otherwise. */
function identity(item: unknown, mergeKey: string, isMap: boolean): unknown {
  if (!isMap) return item;
  return isObj(item) ? item[mergeKey] : undefined;
}

function indexIn(list: unknown[], item: unknown, mergeKey: string, isMap: boolean): number {
  const id = identity(item, mergeKey, isMap);
  for (let i = 0; i < list.length; i++) if (identity(list[i], mergeKey, isMap) === id) return i;
  return -1;
}

function mergeSlice(original: unknown[], patch: unknown[], field: SchemaNode | undefined, isDeleteList: boolean, orderOut?: OrderOut): unknown[] {
  if (original.length === 0 && patch.length === 0) return original;
  const kind = elementKind(original, patch);
  const mergeKey = field?.mergeKey ?? '';
  let merged: unknown[];
  let base = original;
  let patchItems = patch;
  let deleted = false;
  if (kind !== 'map') {
    if (isDeleteList) {
      const drop = new Set(patch);
      return original.filter((v) => !drop.has(v));
    }
    merged = [];
    const seen = new Set<unknown>();
    for (const v of [...original, ...patch]) {
      if (seen.has(v)) continue;
      seen.add(v);
      merged.push(v);
    }
  } else {
    if (mergeKey === '') throw internal(`cannot merge lists without merge key for ${field ? 'object' : 'unknown'}`);
    ({ base, patchItems, deleted } = applySpecialElements(original, patch, mergeKey));
    merged = mergeByKey(base, patchItems, mergeKey, field?.items());
    if (orderOut && deleted) orderOut.serverOrder = aliasedOrder(original, base, merged.length - base.length, merged);
  }
  const isMap = kind === 'map';
  const inPatch: unknown[] = [];
  const serverOnly: unknown[] = [];
  for (const v of merged) {
    if (isMap && !(isObj(v) && mergeKey in v)) throw noMergeKey(v, mergeKey);
    (indexIn(patchItems, v, mergeKey, isMap) >= 0 ? inPatch : serverOnly).push(v);
  }
  return normalizeOrder(inPatch, serverOnly, patchItems, base, mergeKey, isMap);
}

/**
 * Upstream deletes list elements in place and then appends new ones to the shortened slice, which
 * writes into the same backing array as the caller's view of the original list; its
 * $setElementOrder step then orders server-only items against that overwritten view. We rebuild
 * that view (assuming the live list had no spare capacity, as when converted from a typed object)
 * because kubectl's results depend on it: kept elements, then the first new elements that fit in
 * the freed slots, then the stale tail of the original.
 */
function aliasedOrder(original: unknown[], kept: unknown[], added: number, merged: unknown[]): unknown[] {
  const view = [...kept];
  const freed = original.length - kept.length;
  const fresh = merged.slice(kept.length, kept.length + Math.min(freed, added));
  view.push(...fresh);
  // Slots neither rewritten by a shift nor by an append still hold the original's last elements.
  view.push(...original.slice(view.length));
  return view;
}

/** Handles `$patch: delete|replace` elements; returns the remaining original and patch elements. */
function applySpecialElements(original: unknown[], patch: unknown[], mergeKey: string): { base: unknown[]; patchItems: unknown[]; deleted: boolean } {
  let base = original;
  const plain: unknown[] = [];
  let replace = false;
  for (const v of patch) {
    const m = v as Obj;
    if (!(DIRECTIVE in m)) {
      plain.push(v);
      continue;
    }
    const directive = m[DIRECTIVE];
    if (directive === 'delete') {
      if (!(mergeKey in m)) throw noMergeKey(m, mergeKey);
      const value = m[mergeKey];
      base = base.filter((e) => !(isObj(e) && e[mergeKey] === value));
    } else if (directive === 'replace') {
      replace = true;
    } else if (directive === 'merge') {
      throw internal('merging lists cannot yet be specified in the patch');
    } else {
      throw internal(`unknown patch type: ${goFormat(directive)} in map: ${goFormat(m)}`);
    }
  }
  // With replace, the patch's plain elements become the whole list (and count as "original" order).
  if (replace) return { base: plain.map(cleanValue).filter((x) => x !== undefined), patchItems: [], deleted: false };
  return { base, patchItems: plain, deleted: base.length !== original.length };
}

function mergeByKey(original: unknown[], patch: unknown[], mergeKey: string, element: SchemaNode | undefined): unknown[] {
  const out = [...original];
  for (const v of patch) {
    const item = v as Obj;
    if (!(mergeKey in item)) throw noMergeKey(item, mergeKey);
    const value = item[mergeKey];
    let found = -1;
    for (let i = 0; i < out.length; i++) {
      const e = out[i];
      if (!isObj(e)) throw internal(`value for key ${i} is not a map`);
      if (e[mergeKey] === value) {
        found = i;
        break;
      }
    }
    if (found >= 0) out[found] = mergeMap(out[found] as Obj, item, element);
    else {
      const cleaned = cleanValue(item);
      if (cleaned !== undefined) out.push(cleaned);
    }
  }
  return out;
}

/**
 * Upstream's order: patch items sorted by `patchOrder`, server-only items by `serverOrder`, then the
 * two interleaved — a server-only item goes first only when both it and the next patch item appear
 * in `serverOrder` and it comes earlier there.
 */
function normalizeOrder(inPatch: unknown[], serverOnly: unknown[], patchOrder: unknown[], serverOrder: unknown[], mergeKey: string, isMap: boolean): unknown[] {
  const right = sortBy(inPatch, patchOrder, mergeKey, isMap);
  const left = sortBy(serverOnly, serverOrder, mergeKey, isMap);
  const out: unknown[] = [];
  let i = 0;
  let j = 0;
  while (i < left.length || j < right.length) {
    if (i >= left.length) out.push(right[j++]);
    else if (j >= right.length) out.push(left[i++]);
    else {
      const li = indexIn(serverOrder, left[i], mergeKey, isMap);
      const ri = indexIn(serverOrder, right[j], mergeKey, isMap);
      if (li >= 0 && ri >= 0 && li < ri) out.push(left[i++]);
      else out.push(right[j++]);
    }
  }
  return out;
}

/** Stable sort by position in `order`; items absent from `order` keep their place relative to each other. */
function sortBy(items: unknown[], order: unknown[], mergeKey: string, isMap: boolean): unknown[] {
  if (isMap) {
    for (const v of [...items, ...order]) if (!(isObj(v) && mergeKey in v)) throw noMergeKey(v, mergeKey);
  }
  const keep: unknown[] = [];
  const deletes: unknown[] = [];
  for (const v of items) (isMap && isObj(v) && v[DIRECTIVE] === 'delete' ? deletes : keep).push(v);
  const ranked = keep.map((v, pos) => ({ v, pos, rank: indexIn(order, v, mergeKey, isMap) }));
  // Items found in `order` sort by it; unknown items sort before known ones, as upstream's
  // comparator (true whenever either side is missing) ends up doing with a stable sort.
  ranked.sort((a, b) => {
    if (a.rank >= 0 && b.rank >= 0) return a.rank - b.rank;
    return a.pos - b.pos;
  });
  return [...ranked.map((r) => r.v), ...deletes];
}

/** `$setElementOrder/<field>`: merges that list now and orders it by the directive. Returns the field. */
function applySetElementOrder(out: Obj, patch: Obj, key: string, schema: SchemaNode | undefined): string | undefined {
  const order = patch[key];
  if (!Array.isArray(order)) throw internal(`expected a []interface {}, but received a ${goType(order)}`);
  const field = extractKey(key, SET_ORDER);
  const hasOriginal = field in out && out[field] !== undefined;
  const hasPatch = field in patch && patch[field] !== null && patch[field] !== undefined;
  const originalList = out[field];
  const patchList = patch[field];
  if (hasOriginal && !Array.isArray(originalList)) throw internal(`expected a []interface {}, but received a ${goType(originalList)}`);
  if (hasPatch && !Array.isArray(patchList)) throw internal(`expected a []interface {}, but received a ${goType(patchList)}`);
  const child = schema?.field(field);
  const mergeKey = child?.mergeKey ?? '';
  splitStrategy(child?.strategy);
  validateOrder((patchList as unknown[] | undefined) ?? [], order, mergeKey);

  let merged: unknown[];
  const orderOut: OrderOut = {};
  if (hasOriginal && !hasPatch) merged = originalList as unknown[];
  else if (!hasOriginal && hasPatch) merged = cleanValue(patchList) as unknown[];
  else if (hasOriginal && hasPatch) merged = mergeSliceHandler(originalList as unknown[], patchList as unknown[], child, false, orderOut);
  else return undefined;

  const isMap = mergeKey !== '';
  const inOrder: unknown[] = [];
  const serverOnly: unknown[] = [];
  for (const v of merged) {
    if (isMap && !(isObj(v) && mergeKey in v)) throw noMergeKey(v, mergeKey);
    (indexIn(order, v, mergeKey, isMap) >= 0 ? inOrder : serverOnly).push(v);
  }
  const kind = elementKind(hasOriginal ? (originalList as unknown[]) : [], hasPatch ? (patchList as unknown[]) : []);
  const serverOrder = orderOut.serverOrder ?? (hasOriginal ? (originalList as unknown[]) : []);
  out[field] = normalizeOrder(inOrder, serverOnly, order, serverOrder, mergeKey, kind === 'map');
  return field;
}

/** The patch list's items (deletions aside) must appear in the directive's order. */
function validateOrder(patchList: unknown[], order: unknown[], mergeKey: string): void {
  if (order.length === 0 || patchList.length === 0) return;
  const items = mergeKey ? patchList.filter((v) => !(isObj(v) && v[DIRECTIVE] === 'delete')) : patchList;
  let p = 0;
  let s = 0;
  while (p < items.length && s < order.length) {
    const item = items[p];
    if (isObj(item) && DIRECTIVE in item) {
      p++;
      continue;
    }
    let equal: boolean;
    if (mergeKey === '') equal = item === order[s];
    else {
      const a = order[s];
      if (!isObj(item)) throw internal(`expected a map[string]interface {}, but received a ${goType(item)}`);
      if (!isObj(a)) throw internal(`expected a map[string]interface {}, but received a ${goType(a)}`);
      if (!(mergeKey in item)) throw noMergeKey(item, mergeKey);
      if (!(mergeKey in a)) throw noMergeKey(a, mergeKey);
      equal = item[mergeKey] === a[mergeKey];
    }
    if (equal) p++;
    s++;
  }
  if (p < items.length && s >= order.length) {
    throw internal(`The order in patch list:\n${goFormat(patchList)}\n doesn't match $setElementOrder list:\n${goFormat(order)}\n`);
  }
}
