// Server-side apply and managedFields bookkeeping. `apply` merges an applied configuration into the
// live object, removes what the manager stopped applying (unless someone else owns it) and refuses
// to change fields other managers own unless forced; `updateManagedFields` records, for ordinary
// create/update/patch writes, which fields the writer changed. Both return the new managedFields
// in upstream's entry form and order.
import { ApiError } from '../../api/status.ts';
import { FieldSet, pathString } from './fieldset.ts';
import type { SchemaNode } from './schema-oracle.ts';
import { ApplyShapeError, compare, merge, prune, toFieldSet } from './typed.ts';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

export interface ManagedFieldsEntry {
  manager?: string;
  operation?: 'Apply' | 'Update';
  apiVersion?: string;
  time?: string;
  fieldsType?: 'FieldsV1';
  fieldsV1?: Record<string, unknown>;
  subresource?: string;
}

/** One manager's ownership while we compute; `id` is upstream's identity (see managerId). */
interface Managed {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  subresource: string | undefined;
  time: string | undefined;
  set: FieldSet;
}

/**
 * Entries are the same manager when name, operation and subresource match and, for Update only,
 * the apiVersion too (an applier keeps one entry across versions).
 */
function managerId(m: { manager: string; operation: string; apiVersion: string; subresource: string | undefined }): string {
  return JSON.stringify([m.manager, m.operation, m.operation === 'Apply' ? '' : m.apiVersion, m.subresource ?? '']);
}

/** Paths server-side apply never tracks: identity and server-owned metadata. */
const STRIPPED: string[][] = [
  ['f:apiVersion'],
  ['f:kind'],
  ['f:metadata'],
  ['f:metadata', 'f:name'],
  ['f:metadata', 'f:namespace'],
  ['f:metadata', 'f:creationTimestamp'],
  ['f:metadata', 'f:selfLink'],
  ['f:metadata', 'f:uid'],
  ['f:metadata', 'f:clusterName'],
  ['f:metadata', 'f:generation'],
  ['f:metadata', 'f:managedFields'],
  ['f:metadata', 'f:resourceVersion'],
];
const STRIP_SET = (() => {
  const s = new FieldSet();
  for (const p of STRIPPED) s.insert(p);
  return s;
})();

/** Upstream keeps at most this many Update managers; older ones fold into "ancient-changes". */
export const MAX_UPDATE_MANAGERS = 10;

/** 400 for a managedFields list we cannot read (as upstream rejects it on decode). */
function decodeManagedFields(raw: unknown): Map<string, Managed> {
  const out = new Map<string, Managed>();
  if (raw === undefined || raw === null) return out;
  if (!Array.isArray(raw)) throw new ApiError(400, 'BadRequest', 'metadata.managedFields must be a list');
  raw.forEach((e, i) => {
    if (!isObj(e)) throw new ApiError(400, 'BadRequest', `managed fields entry ${i} must be an object`);
    if (e.operation !== 'Apply' && e.operation !== 'Update') throw new ApiError(400, 'BadRequest', 'operation must be `Apply` or `Update`');
    if (typeof e.apiVersion !== 'string' || e.apiVersion === '') throw new ApiError(400, 'BadRequest', 'apiVersion must not be empty');
    if (e.fieldsType !== 'FieldsV1') {
      throw new ApiError(400, 'BadRequest', e.fieldsType === undefined || e.fieldsType === '' ? `missing fieldsType in managed fields entry ${i}` : `invalid fieldsType ${JSON.stringify(e.fieldsType)} in managed fields entry ${i}`);
    }
    let set: FieldSet;
    try {
      set = FieldSet.fromFieldsV1(e.fieldsV1 ?? {});
    } catch (err) {
      throw new ApiError(400, 'BadRequest', `error decoding versioned set from entry ${i}: ${(err as Error).message}`);
    }
    const m: Managed = {
      manager: typeof e.manager === 'string' ? e.manager : '',
      operation: e.operation,
      apiVersion: e.apiVersion,
      subresource: typeof e.subresource === 'string' && e.subresource !== '' ? e.subresource : undefined,
      time: typeof e.time === 'string' ? e.time : undefined,
      set,
    };
    out.set(managerId(m), m);
  });
  return out;
}

/** Upstream's order: Apply before Update, then by time, manager, apiVersion, subresource. */
function encodeManagedFields(managers: Map<string, Managed>): ManagedFieldsEntry[] {
  const entries = [...managers.values()].filter((m) => !m.set.isEmpty());
  const seconds = (t: string | undefined) => (t ? Math.floor(Date.parse(t) / 1000) : 0);
  const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  entries.sort(
    (p, q) =>
      cmp(p.operation, q.operation) ||
      seconds(p.time) - seconds(q.time) ||
      cmp(p.manager, q.manager) ||
      cmp(p.apiVersion, q.apiVersion) ||
      cmp(p.subresource ?? '', q.subresource ?? ''),
  );
  return entries.map((m) => {
    const e: ManagedFieldsEntry = { manager: m.manager, operation: m.operation, apiVersion: m.apiVersion };
    if (m.time !== undefined) e.time = m.time;
    e.fieldsType = 'FieldsV1';
    e.fieldsV1 = m.set.toFieldsV1();
    if (m.subresource !== undefined) e.subresource = m.subresource;
    return e;
  });
}

function describeManager(m: Managed): string {
  let s = JSON.stringify(m.manager);
  if (m.subresource) s += ` with subresource ${JSON.stringify(m.subresource)}`;
  // Upstream names the version (and the time, which its identities never carry) for Update managers only.
  if (m.operation === 'Update') s += ` using ${m.apiVersion}`;
  return s;
}

/** 409 Conflict listing each contested field and its manager, worded as kube-apiserver does. */
export class ApplyConflictError extends ApiError {
  constructor(readonly conflicts: Array<{ manager: string; field: string }>) {
    super(409, 'Conflict', conflictMessage(conflicts), {
      causes: conflicts.map((c) => ({ reason: 'FieldManagerConflict', message: `conflict with ${c.manager}`, field: c.field })),
    });
    this.name = 'ApplyConflictError';
  }
}

function conflictMessage(conflicts: Array<{ manager: string; field: string }>): string {
  if (conflicts.length === 1) return `Apply failed with 1 conflict: conflict with ${conflicts[0]!.manager}: ${conflicts[0]!.field}`;
  const byManager = new Map<string, string[]>();
  for (const c of conflicts) byManager.set(c.manager, [...(byManager.get(c.manager) ?? []), c.field]);
  const lines: string[] = [];
  for (const m of [...byManager.keys()].sort()) {
    lines.push(`conflicts with ${m}:`);
    for (const f of byManager.get(m)!) lines.push(`- ${f}`);
  }
  return `Apply failed with ${conflicts.length} conflicts: ${lines.join('\n')}`;
}

export interface ManagedFieldsOptions {
  /** group/version of the request (`apps/v1`, `v1`). */
  apiVersion: string;
  /** `status`, `scale` … for subresource writes. */
  subresource?: string;
  /** The kind's root schema node (undefined = deduced: maps granular, lists atomic). */
  schema: SchemaNode | undefined;
  /** RFC 3339 time recorded for the manager; defaults to now (seconds precision). */
  now?: string;
}

const nowRfc3339 = () => new Date(Math.floor(Date.now() / 1000) * 1000).toISOString().replace('.000Z', 'Z');

/** Removes conflicting and removed paths from every other manager; conflicts error unless forced. */
function transferOwnership(live: unknown, next: unknown, managers: Map<string, Managed>, selfId: string, schema: SchemaNode | undefined, force: boolean): { added: FieldSet; modified: FieldSet; removed: FieldSet } {
  const diff = compare(live, next, schema);
  const changed = diff.modified.union(diff.added);
  const conflicts: Array<{ manager: string; field: string; m: Managed }> = [];
  const contested = new Map<string, FieldSet>();
  for (const [id, m] of managers) {
    if (id === selfId) continue;
    const c = m.set.intersection(changed);
    if (!c.isEmpty()) {
      contested.set(id, c);
      for (const p of c.paths()) conflicts.push({ manager: describeManager(m), field: pathString(p), m });
    }
  }
  if (!force && conflicts.length > 0) {
    conflicts.sort((a, b) => (a.manager < b.manager ? -1 : a.manager > b.manager ? 1 : 0));
    throw new ApplyConflictError(conflicts.map(({ manager, field }) => ({ manager, field })));
  }
  for (const [id, m] of managers) {
    if (id === selfId) continue;
    let set = m.set;
    const c = contested.get(id);
    if (c) set = set.difference(c);
    if (!diff.removed.isEmpty()) set = set.difference(diff.removed);
    m.set = set;
    if (set.isEmpty()) managers.delete(id);
  }
  return diff;
}

function stripMeta(m: Managed): void {
  m.set = m.set.difference(STRIP_SET);
}

/** Records an ordinary write: fields it changed now belong to `manager`, and no longer to others. */
function recordUpdate(managers: Map<string, Managed>, manager: string, oldObj: unknown, newObj: unknown, opts: ManagedFieldsOptions, time: string): void {
  const me: Managed = { manager: manager || 'unknown', operation: 'Update', apiVersion: opts.apiVersion, subresource: opts.subresource, time, set: new FieldSet() };
  const id = managerId(me);
  // Upstream computes the write as a throw-away manager and then folds it into the same-named one,
  // so the writer's own earlier fields are treated like anyone else's (modified ones stay its own).
  const temp = '\u0000current-operation';
  const diff = transferOwnership(oldObj, newObj, managers, temp, opts.schema, true);
  const previous = managers.get(id);
  me.set = diff.modified.union(diff.added);
  if (previous) me.set = me.set.union(previous.set);
  stripMeta(me);
  managers.delete(id);
  if (!me.set.isEmpty()) managers.set(id, me);
  capUpdateManagers(managers);
}

/** Folds the oldest Update managers into one "ancient-changes" entry per apiVersion. */
function capUpdateManagers(managers: Map<string, Managed>): void {
  const updaters = [...managers.entries()].filter(([, m]) => m.operation === 'Update');
  if (updaters.length <= MAX_UPDATE_MANAGERS) return;
  const seconds = (t: string | undefined) => (t ? Math.floor(Date.parse(t) / 1000) : 0);
  updaters.sort(([ia, a], [ib, b]) => seconds(a.time) - seconds(b.time) || (ia < ib ? -1 : ia > ib ? 1 : 0));
  let length = updaters.length;
  for (const [id, m] of updaters) {
    if (length <= MAX_UPDATE_MANAGERS) break;
    const bucket: Managed = { manager: 'ancient-changes', operation: 'Update', apiVersion: m.apiVersion, subresource: undefined, time: m.time, set: new FieldSet() };
    const bucketId = managerId(bucket);
    if (id === bucketId) continue;
    const existing = managers.get(bucketId);
    managers.delete(id);
    if (existing) {
      existing.set = existing.set.union(m.set);
      existing.time = m.time;
      length--;
    } else {
      bucket.set = m.set;
      managers.set(bucketId, bucket);
    }
  }
}

export interface UpdateManagedFieldsResult {
  managedFields: ManagedFieldsEntry[] | undefined;
}

/**
 * Managed fields after an ordinary write (create: `oldObj` undefined; update/patch: the stored
 * object). Like upstream: managedFields sent in `newObj` replace the stored ones (an empty list
 * resets them), except on subresources; an existing object that has no managedFields is not
 * tracked until its first apply; on create everything set becomes the writer's.
 */
export function updateManagedFields(manager: string, operation: 'Update', oldObj: Obj | undefined, newObj: Obj, opts: ManagedFieldsOptions): ManagedFieldsEntry[] | undefined {
  void operation;
  const time = opts.now ?? nowRfc3339();
  const liveMeta = isObj(oldObj?.metadata) ? oldObj.metadata : {};
  const newMeta = isObj(newObj.metadata) ? newObj.metadata : {};
  let managers: Map<string, Managed>;
  const sent = newMeta.managedFields;
  const reset = Array.isArray(sent) && (sent.length === 0 || (sent.length === 1 && isObj(sent[0]) && Object.keys(sent[0]).length === 0));
  if (opts.subresource) managers = safeDecode(liveMeta.managedFields);
  else if (reset) managers = new Map();
  else {
    managers = safeDecode(sent);
    if (managers.size === 0) managers = safeDecode(liveMeta.managedFields);
  }
  if (managers.size === 0 && oldObj !== undefined && (reset || typeof liveMeta.uid === 'string')) {
    // Existing objects without managed fields stay untracked until someone applies.
    return reset ? undefined : (liveMeta.managedFields as ManagedFieldsEntry[] | undefined);
  }
  recordUpdate(managers, manager, withoutManagedFields(oldObj ?? zeroObject(opts.schema)), withoutManagedFields(newObj), opts, time);
  const out = encodeManagedFields(managers);
  return out.length > 0 ? out : undefined;
}

/**
 * Upstream diffs a create against the kind's zero value, where metadata, spec and status exist as
 * empty structs; so they are not "added" (no `.` entry), while maps, lists and pointer structs are.
 */
function zeroObject(schema: SchemaNode | undefined): Obj {
  const zero: Obj = { metadata: {} };
  for (const k of ['spec', 'status']) if (schema?.declares(k)) zero[k] = {};
  return zero;
}

function safeDecode(raw: unknown): Map<string, Managed> {
  try {
    return decodeManagedFields(raw);
  } catch {
    return new Map();
  }
}

function withoutManagedFields(obj: Obj): Obj {
  if (!isObj(obj.metadata) || !('managedFields' in obj.metadata)) return obj;
  const { managedFields: _drop, ...metadata } = obj.metadata;
  return { ...obj, metadata };
}

export interface ApplyOptions extends ManagedFieldsOptions {
  force?: boolean;
}

export interface ApplyResult {
  /** The object to store (metadata.managedFields set); unchanged content when the apply was a no-op. */
  result: Obj;
  managedFields: ManagedFieldsEntry[] | undefined;
  /** False when the apply changed nothing but ownership (upstream keeps the old time then). */
  changed: boolean;
}

/**
 * Server-side apply of `applied` (already parsed from YAML/JSON) by `manager` onto `live` (the
 * stored object, or undefined to create). Throws ApplyConflictError (409) or ApiError (400).
 */
export function apply(manager: string, applied: Obj, live: Obj | undefined, opts: ApplyOptions): ApplyResult {
  const appliedMeta = isObj(applied.metadata) ? applied.metadata : {};
  if (appliedMeta.managedFields !== undefined && appliedMeta.managedFields !== null) {
    throw new ApiError(400, 'BadRequest', 'metadata.managedFields must be nil');
  }
  if (typeof applied.apiVersion === 'string' && applied.apiVersion !== opts.apiVersion) {
    throw new ApiError(400, 'BadRequest', `Incorrect version specified in apply patch. Specified patch version: ${applied.apiVersion}, expected: ${opts.apiVersion}`);
  }
  const time = opts.now ?? nowRfc3339();
  const liveObj = live ?? {};
  const liveMeta = isObj(liveObj.metadata) ? liveObj.metadata : {};
  const managers = decodeManagedFields(liveMeta.managedFields);
  const base = withoutManagedFields(liveObj);
  try {
    if (managers.size === 0 && live !== undefined) {
      // Objects written before anyone applied: what exists is owned by "before-first-apply", so a
      // first apply conflicts on changed values instead of silently taking them over.
      recordUpdate(managers, 'before-first-apply', zeroObject(opts.schema), base, { ...opts, subresource: undefined }, time);
    }
    const me: Managed = { manager, operation: 'Apply', apiVersion: opts.apiVersion, subresource: opts.subresource, time: undefined, set: toFieldSet(applied, opts.schema) };
    const id = managerId(me);
    const previous = managers.get(id);
    me.time = previous?.time;
    managers.set(id, me);
    let next = merge(base, applied, opts.schema) as Obj;
    if (previous && !previous.set.isEmpty()) {
      const owned = new FieldSet();
      for (const m of managers.values()) owned.addAll(m.set);
      next = prune(next, previous.set, owned, opts.schema) as Obj;
    }
    transferOwnership(base, next, managers, id, opts.schema, opts.force === true);
    stripMeta(me);
    if (me.set.isEmpty()) managers.delete(id);
    const changed = !jsonEqualLoose(base, next);
    if (changed) me.time = time;
    const managedFields = encodeManagedFields(managers);
    const result = changed ? next : structuredClone(base);
    const meta = isObj(result.metadata) ? { ...result.metadata } : {};
    if (managedFields.length > 0) meta.managedFields = managedFields;
    else delete meta.managedFields;
    result.metadata = meta;
    return { result, managedFields: managedFields.length > 0 ? managedFields : undefined, changed };
  } catch (err) {
    if (err instanceof ApplyShapeError) throw new ApiError(422, 'Invalid', err.message);
    throw err;
  }
}

function jsonEqualLoose(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => jsonEqualLoose(x, b[i]));
  if (isObj(a) && isObj(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => k in b && jsonEqualLoose(a[k], b[k]));
  }
  return false;
}
