// Schema-aware walks over JSON objects for server-side apply: the field set a value sets, the
// difference between two values, merging an applied configuration into a live object and removing
// fields. A missing schema node means "deduced", as upstream treats unknown shapes: objects are
// granular maps, lists are atomic, everything else a leaf.
import { jsonEqual } from '../../api/meta.ts';
import { FieldSet } from './fieldset.ts';
import type { SchemaNode } from './schema-oracle.ts';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

export class ApplyShapeError extends Error {}

function listTypeOf(node: SchemaNode | undefined): 'atomic' | 'set' | 'map' {
  return node?.listType ?? 'atomic';
}

const atomicMap = (node: SchemaNode | undefined) => node?.mapType === 'atomic';

/** The FieldsV1 element of one item of a set or map list. */
export function itemElement(item: unknown, list: SchemaNode | undefined): string {
  const type = listTypeOf(list);
  if (type === 'map') {
    if (!isObj(item)) throw new ApplyShapeError('associative list with keys may not have non-map elements');
    const keys = list?.listMapKeys ?? [];
    const found: Array<[string, unknown]> = [];
    for (const k of keys) {
      if (item[k] !== undefined && item[k] !== null) found.push([k, item[k]]);
      else {
        const def = list?.items()?.field(k)?.defaultValue;
        if (def !== undefined) found.push([k, def]);
      }
    }
    if (found.length === 0) {
      throw new ApplyShapeError(`associative list with keys has an element that omits all key fields ${JSON.stringify(keys)} (and doesn't have default values for any key fields)`);
    }
    found.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    return `k:${JSON.stringify(Object.fromEntries(found))}`;
  }
  if (isObj(item)) throw new ApplyShapeError("associative list without keys has an element that's a map type");
  if (Array.isArray(item)) throw new ApplyShapeError('not supported: associative list with lists as elements');
  if (item === null) throw new ApplyShapeError("associative list without keys has an element that's an explicit null");
  return `v:${JSON.stringify(item)}`;
}

/** The fields a value sets (what an applier owns): leaves, list items, map entries, atomic values. */
export function toFieldSet(value: unknown, node: SchemaNode | undefined): FieldSet {
  const set = new FieldSet();
  collect(value, node, set);
  return set;
}

function collect(value: unknown, node: SchemaNode | undefined, set: FieldSet): void {
  if (isObj(value)) {
    if (atomicMap(node)) {
      set.member = true;
      return;
    }
    for (const k of Object.keys(value)) {
      const v = value[k];
      if (v === undefined) continue;
      const child = set.child(`f:${k}`);
      collect(v, node?.field(k), child);
      if (v === null || (isObj(v) && Object.keys(v).length === 0) || !node?.declares(k)) child.member = true;
    }
    return;
  }
  if (Array.isArray(value)) {
    if (listTypeOf(node) === 'atomic') {
      set.member = true;
      return;
    }
    const items = node?.items();
    for (const item of value) {
      const child = set.child(itemElement(item, node));
      child.member = true;
      if (listTypeOf(node) === 'map') collect(item, items, child);
    }
    return;
  }
  set.member = true;
}

export interface Comparison {
  added: FieldSet;
  modified: FieldSet;
  removed: FieldSet;
}

/** What changed from `before` to `after`: every node of an added/removed subtree, changed leaves. */
export function compare(before: unknown, after: unknown, node: SchemaNode | undefined): Comparison {
  const c: Comparison = { added: new FieldSet(), modified: new FieldSet(), removed: new FieldSet() };
  walkCompare(before, after, node, [], c, true);
  return c;
}

function walkCompare(lhs: unknown, rhs: unknown, node: SchemaNode | undefined, path: string[], c: Comparison, root: boolean): void {
  const emptyLike = (v: unknown) => v === undefined || (isObj(v) && Object.keys(v).length === 0) || (Array.isArray(v) && v.length === 0);
  const leaf = () => {
    if (lhs === undefined) c.added.insert(path);
    else if (rhs === undefined) c.removed.insert(path);
    else if (!jsonEqual(lhs, rhs)) c.modified.insert(path);
  };
  const lObj = isObj(lhs) ? lhs : undefined;
  const rObj = isObj(rhs) ? rhs : undefined;
  const lArr = Array.isArray(lhs) ? lhs : undefined;
  const rArr = Array.isArray(rhs) ? rhs : undefined;
  let handled = false;
  if ((lObj || rObj) && (lhs === undefined || lObj) && (rhs === undefined || rObj)) {
    handled = true;
    if (atomicMap(node) || (emptyLike(lhs) && emptyLike(rhs))) return leafOnly();
    const keys = new Set([...Object.keys(lObj ?? {}), ...Object.keys(rObj ?? {})]);
    for (const k of keys) {
      const a = lObj?.[k];
      const b = rObj?.[k];
      if (a === undefined && b === undefined) continue;
      walkCompare(a, b, node?.field(k), [...path, `f:${k}`], c, false);
    }
  } else if ((lArr || rArr) && (lhs === undefined || lArr) && (rhs === undefined || rArr)) {
    handled = true;
    if (listTypeOf(node) === 'atomic' || (emptyLike(lhs) && emptyLike(rhs))) return leafOnly();
    const items = listTypeOf(node) === 'map' ? node?.items() : undefined;
    const index = (list: unknown[] | undefined) => {
      const m = new Map<string, unknown[]>();
      for (const item of list ?? []) {
        const e = itemElement(item, node);
        const got = m.get(e);
        if (got) got.push(item);
        else m.set(e, [item]);
      }
      return m;
    };
    const left = index(lArr);
    const right = index(rArr);
    const all = [...left.keys(), ...[...right.keys()].filter((k) => !left.has(k))];
    for (const e of all) {
      const l = left.get(e) ?? [];
      const r = right.get(e) ?? [];
      if (l.length <= 1 && r.length <= 1) walkCompare(l[0], r[0], items, [...path, e], c, false);
      else if (l.length >= 2 && r.length >= 2) {
        if (!jsonEqual(l, r)) c.modified.insert([...path, e]);
      } else if (l.length >= 2) {
        if (r.length) walkCompare(undefined, r[0], items, [...path, e], c, false);
        c.removed.insert([...path, e]);
      } else {
        if (l.length) walkCompare(l[0], undefined, items, [...path, e], c, false);
        c.added.insert([...path, e]);
      }
    }
  }
  if (!handled) return leafOnly();
  if (!root) {
    if (lhs === undefined) c.added.insert(path);
    else if (rhs === undefined) c.removed.insert(path);
  }
  return;

  function leafOnly(): void {
    if (root) return;
    leaf();
  }
}

/** Merges an applied configuration into the live object (config wins on leaves; list order as upstream). */
export function merge(live: unknown, config: unknown, node: SchemaNode | undefined): unknown {
  if (config === undefined) return live;
  if (live === undefined || config === null) return config;
  if (isObj(live) && isObj(config)) {
    if (atomicMap(node) || (Object.keys(live).length === 0 && Object.keys(config).length === 0)) return config;
    const out: Obj = { ...live };
    for (const k of Object.keys(config)) {
      const v = merge(live[k], config[k], node?.field(k));
      if (v === undefined || v === null) delete out[k];
      else out[k] = v;
    }
    return out;
  }
  if (Array.isArray(live) && Array.isArray(config)) {
    const type = listTypeOf(node);
    if (type === 'atomic' || (live.length === 0 && config.length === 0)) return config;
    return mergeList(live, config, node, type === 'map' ? node?.items() : undefined);
  }
  return config;
}

/**
 * Upstream's associative-list order: the applied items in their order; live-only items stay where
 * they were relative to the shared items that come after them.
 */
function mergeList(lhs: unknown[], rhs: unknown[], node: SchemaNode | undefined, items: SchemaNode | undefined): unknown[] {
  const lPE = lhs.map((v) => itemElement(v, node));
  const rPE = rhs.map((v) => itemElement(v, node));
  const rSeen = new Map<string, unknown>();
  rPE.forEach((e, i) => {
    if (rSeen.has(e)) throw new ApplyShapeError(`duplicate entries for key ${e}`);
    rSeen.set(e, rhs[i]);
  });
  const lSeen = new Map<string, unknown>();
  lPE.forEach((e, i) => {
    if (!lSeen.has(e)) lSeen.set(e, lhs[i]);
  });
  const shared = rPE.filter((e) => lSeen.has(e));
  let s = 0;
  const out: unknown[] = [];
  const done = new Set<string>();
  const emit = (e: string, l: unknown, r: unknown) => {
    const v = r === undefined ? l : merge(l, r, items);
    if (v !== undefined && v !== null) out.push(v);
  };
  let li = 0;
  let ri = 0;
  while (li < lPE.length || ri < rPE.length) {
    if (li < lPE.length && ri < rPE.length) {
      const le = lPE[li]!;
      if (le === rPE[ri]) {
        done.add(le);
        emit(le, lSeen.get(le), rSeen.get(le));
        li++;
        ri++;
        s++;
        continue;
      }
      if (rSeen.has(le) && s < shared.length && shared[s] !== le) {
        li++;
        continue;
      }
    }
    if (li < lPE.length) {
      const le = lPE[li]!;
      if (!rSeen.has(le)) {
        emit(le, lhs[li], undefined);
        li++;
        continue;
      } else if (done.has(le)) li++;
    }
    if (ri < rPE.length) {
      const re = rPE[ri]!;
      done.add(re);
      emit(re, lSeen.get(re), rSeen.get(re));
      ri++;
      if (s < shared.length && shared[s] === re) s++;
    }
  }
  return out;
}

/**
 * Removes from `value` the paths of `last` (what the applier owned before) that nobody owns in
 * `owned` any more. Declared struct fields survive while anything below them is still owned.
 */
export function prune(value: unknown, last: FieldSet, owned: FieldSet | undefined, node: SchemaNode | undefined): unknown {
  if (isObj(value)) {
    const out: Obj = { ...value };
    for (const [e, sub] of last.children) {
      if (!e.startsWith('f:')) continue;
      const k = e.slice(2);
      if (!(k in out)) continue;
      const ownedChild = owned?.children.get(e);
      const declared = node?.declares(k) ?? false;
      const stillOwned = ownedChild !== undefined && (ownedChild.member || (declared && !ownedChild.isEmpty()));
      if ((sub.member || (declared && !sub.isEmpty())) && !stillOwned) delete out[k];
      else if (!sub.isEmpty()) {
        const v = prune(out[k], sub, ownedChild, node?.field(k));
        if (v === undefined) delete out[k];
        else out[k] = v;
      }
    }
    return out;
  }
  if (Array.isArray(value) && listTypeOf(node) !== 'atomic') {
    const items = node?.items();
    const out: unknown[] = [];
    for (const item of value) {
      const e = itemElement(item, node);
      const sub = last.children.get(e);
      if (!sub) {
        out.push(item);
        continue;
      }
      const ownedChild = owned?.children.get(e);
      if (sub.member && !ownedChild?.member) continue;
      out.push(listTypeOf(node) === 'map' ? prune(item, sub, ownedChild, items) : item);
    }
    return out;
  }
  return value;
}
