// Query-parameter parsing shared by the verbs: list options, write options, delete options.

import { invalid, badRequest, fieldForbidden, fieldInvalid, fieldNotSupported, fieldTooLong, type FieldError } from '../../api/status.ts';
import { isObject } from '../../api/meta.ts';

export type Query = Readonly<Record<string, string | string[] | undefined>>;

/** Last value of a repeated query parameter (Go's url.Values.Get takes the first; clients send one). */
export function q(query: Query, name: string): string | undefined {
  const v = query[name];
  if (Array.isArray(v)) return v[0];
  return v;
}

function boolParam(query: Query, name: string): boolean {
  const v = q(query, name);
  return v === 'true' || v === '1';
}

function intParam(query: Query, name: string): number | undefined {
  const v = q(query, name);
  if (v === undefined || v === '') return undefined;
  if (!/^-?\d+$/.test(v)) throw badRequest(`invalid value for ${name}: ${v}`);
  return Number(v);
}

export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
  resourceVersionMatch?: 'NotOlderThan' | 'Exact';
  watch: boolean;
  allowWatchBookmarks: boolean;
  sendInitialEvents?: boolean;
  timeoutSeconds?: number;
}

export function parseListOptions(query: Query, watchFromPath = false): ListOptions {
  const opts: ListOptions = {
    watch: watchFromPath || boolParam(query, 'watch'),
    allowWatchBookmarks: boolParam(query, 'allowWatchBookmarks'),
  };
  const set = <K extends keyof ListOptions>(k: K, v: ListOptions[K] | undefined) => {
    if (v !== undefined) opts[k] = v;
  };
  set('labelSelector', q(query, 'labelSelector'));
  set('fieldSelector', q(query, 'fieldSelector'));
  const limit = intParam(query, 'limit');
  if (limit !== undefined && limit > 0) opts.limit = limit;
  const cont = q(query, 'continue');
  if (cont) opts.continue = cont;
  const rv = q(query, 'resourceVersion');
  if (rv !== undefined && rv !== '') opts.resourceVersion = rv;
  const rvm = q(query, 'resourceVersionMatch');
  const errs: FieldError[] = [];
  if (rvm !== undefined && rvm !== '') {
    if (rvm !== 'NotOlderThan' && rvm !== 'Exact') errs.push(fieldNotSupported('resourceVersionMatch', rvm, ['Exact', 'NotOlderThan', '']));
    else opts.resourceVersionMatch = rvm;
  }
  const sie = q(query, 'sendInitialEvents');
  if (sie !== undefined && sie !== '') opts.sendInitialEvents = sie === 'true' || sie === '1';
  set('timeoutSeconds', intParam(query, 'timeoutSeconds'));

  // Upstream's ListOptions validation, in its words.
  if (opts.resourceVersionMatch) {
    if (opts.watch && opts.resourceVersionMatch !== 'NotOlderThan') {
      errs.push(fieldForbidden('resourceVersionMatch', 'resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided'));
    } else if (opts.resourceVersion === undefined && !(opts.watch && opts.sendInitialEvents)) {
      errs.push(fieldForbidden('resourceVersionMatch', 'resourceVersionMatch is forbidden unless resourceVersion is provided'));
    }
    if (opts.continue) errs.push(fieldForbidden('resourceVersionMatch', 'resourceVersionMatch is forbidden when continue is provided'));
    if (opts.resourceVersionMatch === 'Exact' && opts.resourceVersion === '0') {
      errs.push(fieldForbidden('resourceVersionMatch', 'resourceVersionMatch "exact" is forbidden for resourceVersion "0"'));
    }
  }
  if (opts.sendInitialEvents !== undefined) {
    if (!opts.watch) errs.push(fieldForbidden('sendInitialEvents', 'sendInitialEvents is forbidden for list'));
    else if (opts.resourceVersionMatch !== 'NotOlderThan') {
      errs.push(fieldForbidden('resourceVersionMatch', "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan"));
    }
    if (opts.continue) errs.push(fieldForbidden('sendInitialEvents', 'sendInitialEvents is forbidden when continue is provided'));
  } else if (opts.watch && opts.resourceVersionMatch) {
    // already reported above
  }
  if (opts.resourceVersion !== undefined && !/^\d+$/.test(opts.resourceVersion)) {
    throw badRequest(`Invalid value for resourceVersion: "${opts.resourceVersion}"`);
  }
  if (errs.length > 0) throw invalid('ListOptions', 'meta.k8s.io', '', errs);
  return opts;
}

export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';

export interface WriteOptions {
  dryRun: boolean;
  fieldValidation: FieldValidation;
  fieldManager?: string;
  force: boolean;
}

export function parseWriteOptions(query: Query, kindForErrors: string): WriteOptions {
  const dry = query.dryRun;
  const dryValues = dry === undefined ? [] : Array.isArray(dry) ? dry : [dry];
  const errs: FieldError[] = [];
  for (const d of dryValues) if (d !== 'All') errs.push(fieldNotSupported('dryRun', d, ['All']));
  const fv = q(query, 'fieldValidation') ?? '';
  let fieldValidation: FieldValidation = 'Warn';
  if (fv === 'Strict' || fv === 'Ignore' || fv === 'Warn') fieldValidation = fv;
  else if (fv !== '') errs.push(fieldNotSupported('fieldValidation', fv, ['Ignore', 'Strict', 'Warn']));
  const fm = q(query, 'fieldManager');
  if (fm !== undefined) errs.push(...validateFieldManager(fm));
  if (errs.length > 0) throw invalid(kindForErrors, 'meta.k8s.io', '', errs);
  const out: WriteOptions = { dryRun: dryValues.length > 0, fieldValidation, force: boolParam(query, 'force') };
  if (fm !== undefined) out.fieldManager = fm;
  return out;
}

/**
 * Upstream's rules for `fieldManager`: at most 128 bytes, every rune printable (Go's
 * unicode.IsPrint: no control/format/unassigned characters, and ASCII space is the only space).
 */
export function validateFieldManager(fm: string): FieldError[] {
  const errs: FieldError[] = [];
  if (Buffer.byteLength(fm) > 128) errs.push(fieldTooLong('fieldManager', 128));
  let offset = 0;
  for (const ch of fm) {
    if (/[\p{C}\p{Z}]/u.test(ch) && ch !== ' ') {
      const cp = ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
      errs.push(fieldInvalid('fieldManager', fm, `invalid character U+${cp} (at position ${offset})`));
    }
    offset += Buffer.byteLength(ch);
  }
  return errs;
}

export interface DeleteOptions {
  gracePeriodSeconds?: number;
  preconditions?: { uid?: string; resourceVersion?: string };
  propagationPolicy?: 'Orphan' | 'Background' | 'Foreground';
  orphanDependents?: boolean;
  dryRun: boolean;
}

/** DeleteOptions from the body (JSON, possibly empty) and the query; the body wins, like upstream. */
export function parseDeleteOptions(query: Query, body: unknown): DeleteOptions {
  const b = isObject(body) ? body : {};
  const out: DeleteOptions = { dryRun: false };
  const grace = b.gracePeriodSeconds ?? intParam(query, 'gracePeriodSeconds');
  if (typeof grace === 'number') out.gracePeriodSeconds = grace;
  const pp = b.propagationPolicy ?? q(query, 'propagationPolicy');
  const errs: FieldError[] = [];
  if (pp !== undefined && pp !== null && pp !== '') {
    if (pp === 'Orphan' || pp === 'Background' || pp === 'Foreground') out.propagationPolicy = pp;
    else errs.push(fieldNotSupported('propagationPolicy', pp, ['Foreground', 'Background', 'Orphan', 'nil']));
  }
  const od = b.orphanDependents ?? (q(query, 'orphanDependents') !== undefined ? boolParam(query, 'orphanDependents') : undefined);
  if (typeof od === 'boolean') {
    out.orphanDependents = od;
    if (out.propagationPolicy) errs.push(fieldInvalid('propagationPolicy', pp, 'orphanDependents and deletionPropagation cannot be both set'));
  }
  if (isObject(b.preconditions)) {
    const p: { uid?: string; resourceVersion?: string } = {};
    if (typeof b.preconditions.uid === 'string') p.uid = b.preconditions.uid;
    if (typeof b.preconditions.resourceVersion === 'string') p.resourceVersion = b.preconditions.resourceVersion;
    out.preconditions = p;
  }
  const dry = Array.isArray(b.dryRun) ? (b.dryRun as unknown[]) : query.dryRun === undefined ? [] : [query.dryRun].flat();
  for (const d of dry) if (d !== 'All') errs.push(fieldNotSupported('dryRun', d, ['All']));
  out.dryRun = dry.length > 0;
  if (out.gracePeriodSeconds !== undefined && out.gracePeriodSeconds < 0) out.gracePeriodSeconds = 1;
  if (errs.length > 0) throw invalid('DeleteOptions', 'meta.k8s.io', '', errs);
  return out;
}
