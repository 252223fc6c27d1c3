// The generic REST verbs over the Store, independent of HTTP: the fastify routes (and later the
// in-process Client) build an ApiRequest and send back the ApiResult.

import { checkNamespaceDelete } from '../../api/system-namespaces.ts';
import { compileFieldSelector, parseFieldSelector } from '../../api/fields.ts';
import { labelSelectorParam } from '../../api/labels.ts';
import { generateName, getPath, isObject, jsonEqual, metaOf, newUid, rfc3339, type KubeObject } from '../../api/meta.ts';
import {
  alreadyExists,
  ApiError,
  badRequest,
  conflict,
  expired,
  fieldForbidden,
  fieldInvalid,
  forbidden,
  internalError,
  invalid,
  methodNotAllowed,
  notFound,
  unsupportedMediaType,
  OBJECT_MODIFIED,
  type FieldError,
  type Status,
} from '../../api/status.ts';
import { validateObjectMeta } from '../../api/validation.ts';
import type { UserInfo } from '../auth/user.ts';
import type { RequestContext, ResourceDef, StoredObjects, Verb } from '../../registry/types.ts';
import { CompactedError, ConflictError, KeyExistsError, NotFoundError, type KeyValue, type Store } from '../../storage/types.ts';
import { InvalidContinueError } from '../../storage/keys.ts';
import { listPrefix, namespaceKey, objectKey } from './keys.ts';
import { checkBodyType, fromStored, storedJsonWithRv, storedPrefix, toStored, unknownFields } from './objects.ts';
import { parseDeleteOptions, parseListOptions, parseWriteOptions, type Query, type WriteOptions } from './options.ts';
import { CUSTOM_PATCH_MEDIA_TYPES, jsonPatch, mergePatch, PatchError, type PatchType } from './patch.ts';
import { applyStrategicMergePatch, StrategicMergePatchError } from '../patch/strategic.ts';
import { builtInSchema, type SchemaNode } from '../apply/schema-oracle.ts';
import { apply as serverSideApply, updateManagedFields } from '../apply/apply.ts';

export interface ApiRequest {
  def: ResourceDef;
  namespace?: string;
  name?: string;
  subresource?: string;
  query: Query;
  body?: unknown;
  patchType?: PatchType;
  user: UserInfo;
  /** The request's User-Agent: its prefix before `/` is the default field manager. */
  userAgent?: string;
  /** The reply is plain JSON: a list may answer with pre-serialized text (ApiResult.json). */
  rawJson?: boolean;
}

/** How a write records field ownership: computed from the diff (Update), or already done by SSA. */
type Ownership = { kind: 'update'; manager: string } | { kind: 'applied' };

/** Upstream's default manager for non-apply writes: the User-Agent up to its first `/`. */
export function managerFor(req: ApiRequest, wopts: WriteOptions): string {
  if (wopts.fieldManager) return wopts.fieldManager;
  const ua = req.userAgent ?? '';
  const prefix = ua.split('/')[0] ?? '';
  return prefix.slice(0, 128);
}

const withoutManagedFields = (o: KubeObject): KubeObject => {
  if (!o.metadata || !('managedFields' in o.metadata)) return o;
  const { managedFields: _m, ...metadata } = o.metadata;
  return { ...o, metadata };
};

export interface ApiResult {
  code: number;
  body: KubeObject | Status;
  /** Texts for `Warning: 299 - "<text>"` headers. */
  warnings: string[];
  /** The body already serialized as JSON (lists asked with rawJson); `body` is then a stub. */
  json?: string;
}

/** The schema the patch engines and field validation use for this kind. */
export function schemaOf(def: ResourceDef): SchemaNode | undefined {
  if (def.schema) return def.schema();
  if (def.custom) return undefined;
  return builtInSchema({ group: def.group, version: def.version, kind: def.kind });
}

const apiVersionOf = (def: ResourceDef) => (def.group ? `${def.group}/${def.version}` : def.version);

const gr = (def: ResourceDef) => ({ group: def.group, resource: def.plural });

/** Store errors → API errors; everything else passes through. */
export function mapStoreError(def: ResourceDef, name: string, e: unknown): unknown {
  if (e instanceof NotFoundError) return notFound(gr(def), name);
  if (e instanceof KeyExistsError) return alreadyExists(gr(def), name);
  if (e instanceof ConflictError) return conflict(gr(def), name, OBJECT_MODIFIED);
  if (e instanceof CompactedError) return expired(`too old resource version: ${e.requestedRevision} (${e.currentRevision})`);
  if (e instanceof InvalidContinueError) return badRequest(`continue key is not valid: ${e.message}`);
  return e;
}

export function successStatus(def: ResourceDef, name: string, uid?: string): Status {
  const details: Record<string, string> = { name };
  if (def.group) details.group = def.group;
  details.kind = def.plural;
  if (uid) details.uid = uid;
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details, code: 200 } as Status;
}

const NON_SPEC = new Set(['apiVersion', 'kind', 'metadata', 'status']);

/** Everything except type/metadata/status, for generation bumps. */
function specChanged(a: KubeObject, b: KubeObject): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of keys) if (!NON_SPEC.has(k) && !jsonEqual(a[k], b[k])) return true;
  return false;
}

export class RestHandlers {
  constructor(
    readonly store: Store,
    private readonly now: () => number = Date.now,
  ) {}

  /** Cluster-scoped kinds as stored, for admission that depends on them (few objects: StorageClasses). */
  private readonly storedObjects: StoredObjects = {
    list: async (group, plural) => (await this.store.list(group ? `/registry/${group}/${plural}/` : `/registry/${plural}/`)).items.map((kv) => JSON.parse(kv.value) as KubeObject),
  };

  private ctx(req: ApiRequest): RequestContext {
    return { user: req.user, now: this.now() };
  }

  private requireVerb(def: ResourceDef, verb: Verb): void {
    const verbs = def.verbs;
    if (verbs && !verbs.includes(verb)) throw methodNotAllowed(verb, def.plural);
  }

  // ---- read

  async get(req: ApiRequest): Promise<ApiResult> {
    const { def } = req;
    this.requireVerb(def, 'get');
    const name = req.name!;
    const kv = await this.store.get(objectKey(def, req.namespace, name));
    if (!kv) throw notFound(gr(def), name);
    return { code: 200, body: fromStored(def, kv), warnings: [] };
  }

  /** Read the stored object or throw NotFound. */
  async current(def: ResourceDef, namespace: string | undefined, name: string): Promise<{ kv: KeyValue; obj: KubeObject }> {
    const kv = await this.store.get(objectKey(def, namespace, name));
    if (!kv) throw notFound(gr(def), name);
    return { kv, obj: fromStored(def, kv) };
  }

  async list(req: ApiRequest): Promise<ApiResult> {
    const { def } = req;
    this.requireVerb(def, 'list');
    const opts = parseListOptions(req.query);
    const matches = this.matcher(def, opts.labelSelector, opts.fieldSelector, req.namespace);
    const prefix = listPrefix(def, req.namespace);

    let revision: number | undefined;
    if (opts.resourceVersion !== undefined && opts.resourceVersion !== '0' && !opts.continue) {
      const rv = Number(opts.resourceVersion);
      const current = await this.store.currentRevision();
      if (opts.resourceVersionMatch === 'Exact') {
        revision = rv;
      } else if (rv > current) {
        throw new ApiError(504, 'Timeout', `Too large resource version: ${rv}, current: ${current}`, {
          causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
          retryAfterSeconds: 1,
        });
      }
    }

    const items: KubeObject[] = [];
    // Plain JSON replies splice the stored text (parsed only to evaluate selectors): a 10k list
    // then costs string concatenation instead of 10k parse + stringify round trips.
    const rawItems: string[] | undefined = req.rawJson ? [] : undefined;
    const typePrefix = storedPrefix(def);
    const selecting = opts.labelSelector !== undefined || opts.fieldSelector !== undefined;
    let count = 0;
    let cont = opts.continue;
    let listRevision = 0;
    let remaining: number | undefined;
    let nextContinue: string | undefined;
    const limit = opts.limit;
    // Pages are asked for exactly the number still missing, so a page never overshoots the limit
    // and its continue token stays exact; sparse selectors just take more pages.
    for (let guard = 0; guard < 1_000_000; guard++) {
      const want = limit !== undefined ? limit - count : undefined;
      let page;
      try {
        const listOpts: { limit?: number; continue?: string; revision?: number } = {};
        if (want !== undefined) listOpts.limit = want;
        if (cont) listOpts.continue = cont;
        else if (revision !== undefined) listOpts.revision = revision;
        page = await this.store.list(prefix, listOpts);
      } catch (e) {
        if (e instanceof CompactedError && opts.continue) {
          throw expired(
            'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.',
          );
        }
        throw mapStoreError(def, '', e);
      }
      listRevision = page.revision;
      for (const kv of page.items) {
        const raw = rawItems ? storedJsonWithRv(def, typePrefix, kv) : undefined;
        if (raw !== undefined) {
          if (selecting && !matches(fromStored(def, kv))) continue;
          rawItems!.push(raw);
          count++;
          continue;
        }
        const o = fromStored(def, kv);
        if (!matches(o)) continue;
        if (rawItems) rawItems.push(JSON.stringify(o));
        else items.push(o);
        count++;
      }
      nextContinue = page.continue;
      remaining = page.remaining;
      if (!nextContinue || limit === undefined || count >= limit) break;
      cont = nextContinue;
    }
    const meta: Record<string, unknown> = { resourceVersion: String(listRevision) };
    if (nextContinue) {
      meta.continue = nextContinue;
      // Only exact without selectors (upstream omits it when filtering).
      if (remaining !== undefined && !opts.labelSelector && !opts.fieldSelector) meta.remainingItemCount = remaining;
    }
    const list = {
      kind: `${def.kind}List`,
      apiVersion: def.group ? `${def.group}/${def.version}` : def.version,
      metadata: meta,
      items,
    };
    if (rawItems) {
      const head = JSON.stringify({ kind: list.kind, apiVersion: list.apiVersion, metadata: meta });
      const json = `${head.slice(0, -1)},"items":[${rawItems.join(',')}]}`;
      return { code: 200, body: list as unknown as KubeObject, warnings: [], json };
    }
    return { code: 200, body: list as unknown as KubeObject, warnings: [] };
  }

  /** A compiled predicate for label + field selectors (metadata.name/namespace always supported). */
  matcher(def: ResourceDef, labelSelector: string | undefined, fieldSelector: string | undefined, _ns?: string): (o: KubeObject) => boolean {
    const labels = labelSelectorParam(labelSelector);
    const fields = compileFieldSelector(parseFieldSelector(fieldSelector), {
      'metadata.name': (o) => (o.metadata as { name?: string } | undefined)?.name ?? '',
      'metadata.namespace': (o) => (o.metadata as { namespace?: string } | undefined)?.namespace ?? '',
      ...(def.fieldSelectors ?? {}),
    });
    if (labels.empty && !fields) return () => true;
    return (o) => labels.matches(o.metadata?.labels) && (!fields || fields(o));
  }

  // ---- create

  async create(req: ApiRequest, ownership?: Ownership): Promise<ApiResult> {
    const { def } = req;
    this.requireVerb(def, 'create');
    const wopts = parseWriteOptions(req.query, ownership?.kind === 'applied' ? 'PatchOptions' : 'CreateOptions');
    const obj = checkBodyType(def, structuredClone(req.body));
    const warnings = this.checkFields(def, obj, wopts);
    const meta = metaOf(obj);
    if (def.namespaced) {
      if (meta.namespace && req.namespace && meta.namespace !== req.namespace) {
        throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
      }
      meta.namespace = req.namespace ?? meta.namespace;
    } else if (meta.namespace) {
      delete meta.namespace; // upstream clears it for cluster-scoped kinds
    }
    if (def.virtualCreate) {
      const reply = await def.virtualCreate(obj, this.ctx(req));
      return { code: 201, body: reply, warnings };
    }
    if (meta.resourceVersion) throw internalError('resourceVersion should not be set on objects to be created');
    if (!meta.name && meta.generateName) meta.name = generateName(meta.generateName);

    const ctx = this.ctx(req);
    // Server-owned metadata.
    meta.uid = newUid();
    meta.creationTimestamp = rfc3339(ctx.now);
    delete meta.deletionTimestamp;
    delete meta.deletionGracePeriodSeconds;
    delete meta.selfLink;
    if (def.generation) meta.generation = 1;
    else delete meta.generation;
    if (def.hasStatus && !def.prepareForCreate) delete obj.status;
    def.prepareForCreate?.(obj, ctx);
    def.defaults?.(obj);
    if (def.admit) await def.admit(obj, undefined, this.storedObjects);
    if (ownership?.kind !== 'applied') {
      const managed = updateManagedFields(managerFor(req, wopts), 'Update', undefined, withoutManagedFields(obj), {
        apiVersion: apiVersionOf(def),
        schema: schemaOf(def),
        now: rfc3339(ctx.now),
      });
      if (managed) meta.managedFields = managed;
      else delete meta.managedFields;
    }
    this.validateOrThrow(def, obj, undefined);

    if (def.namespaced) await this.checkNamespaceForCreate(def, meta.namespace!, meta.name!);

    const key = objectKey(def, meta.namespace, meta.name!);
    if (wopts.dryRun) {
      if (await this.store.get(key)) throw alreadyExists(gr(def), meta.name!);
      return { code: 201, body: obj, warnings };
    }
    try {
      const kv = await this.store.create(key, toStored(def, obj), def.ttlSeconds ? { ttlSeconds: def.ttlSeconds } : undefined);
      return { code: 201, body: fromStored(def, kv), warnings };
    } catch (e) {
      throw mapStoreError(def, meta.name!, e);
    }
  }

  private async checkNamespaceForCreate(def: ResourceDef, ns: string, name: string): Promise<void> {
    const kv = await this.store.get(namespaceKey(ns));
    if (!kv) throw notFound({ group: '', resource: 'namespaces' }, ns);
    const nsObj = JSON.parse(kv.value) as KubeObject;
    if (nsObj.metadata?.deletionTimestamp || (nsObj.status as { phase?: string } | undefined)?.phase === 'Terminating') {
      throw forbidden(gr(def), name, `unable to create new content in namespace ${ns} because it is being terminated`, [
        { reason: 'NamespaceTerminating', message: `namespace ${ns} is being terminated`, field: 'metadata.namespace' },
      ]);
    }
  }

  /** Unknown fields per fieldValidation: Strict → 400, Warn → warnings; dropped either way. */
  private checkFields(def: ResourceDef, obj: KubeObject, wopts: WriteOptions): string[] {
    // Unknown fields never reach the store: Strict refuses them, Warn and Ignore drop them
    // (custom resources drop them in defaults(), by pruning).
    const strict = wopts.fieldValidation === 'Strict';
    const unknown = unknownFields(def, obj, !strict);
    if (wopts.fieldValidation === 'Ignore' || unknown.length === 0) return [];
    if (strict) {
      const list = unknown.map((f) => `unknown field "${f}"`).join(', ');
      throw badRequest(`${def.kind} in version "${def.version}" cannot be handled as a ${def.kind}: strict decoding error: ${list}`);
    }
    return unknown.map((f) => `unknown field "${f}"`);
  }

  private validateOrThrow(def: ResourceDef, obj: KubeObject, old: KubeObject | undefined): void {
    const errs: FieldError[] = validateObjectMeta(obj.metadata, { namespaced: def.namespaced, nameRule: def.nameRule ?? 'subdomain' });
    errs.push(...(def.validate?.(obj) ?? []));
    if (old) {
      // A PATCH can rewrite metadata.name (PUT checks it against the URL first); as upstream's
      // ValidateObjectMetaUpdate, the name is immutable.
      if (obj.metadata?.name !== old.metadata?.name) errs.push(fieldInvalid('metadata.name', obj.metadata?.name, 'field is immutable'));
      errs.push(...(def.validateUpdate?.(obj, old) ?? []));
      const oldFin = old.metadata?.finalizers ?? [];
      if (old.metadata?.deletionTimestamp) {
        for (const f of obj.metadata?.finalizers ?? []) {
          if (!oldFin.includes(f)) {
            errs.push(fieldForbidden('metadata.finalizers', `no new finalizers can be added if the object is being deleted, found new finalizers []string{"${f}"}`));
          }
        }
      }
    }
    if (errs.length > 0) throw invalid(def.kind, def.group, obj.metadata?.name ?? '', errs);
  }

  // ---- update (PUT) and patch

  async update(req: ApiRequest): Promise<ApiResult> {
    const { def } = req;
    this.requireVerb(def, 'update');
    const wopts = parseWriteOptions(req.query, 'UpdateOptions');
    const obj = checkBodyType(def, structuredClone(req.body));
    const warnings = this.checkFields(def, obj, wopts);
    const meta = metaOf(obj);
    const name = req.name!;
    if (meta.name && meta.name !== name) {
      throw badRequest(`the name of the object (${meta.name}) does not match the name on the URL (${name})`);
    }
    meta.name = name;
    if (def.namespaced) {
      if (meta.namespace && req.namespace && meta.namespace !== req.namespace) {
        throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
      }
      meta.namespace = req.namespace;
    }
    const key = objectKey(def, req.namespace, name);
    const kv = await this.store.get(key);
    if (!kv) {
      if (def.allowCreateOnUpdate && !req.subresource) return this.create({ ...req, body: obj });
      throw notFound(gr(def), name);
    }
    return this.writeUpdate(req, kv, obj, wopts, warnings, { kind: 'update', manager: managerFor(req, wopts) });
  }

  async patch(req: ApiRequest): Promise<ApiResult> {
    const { def } = req;
    this.requireVerb(def, 'patch');
    const wopts = parseWriteOptions(req.query, 'PatchOptions');
    const name = req.name!;
    const key = objectKey(def, req.namespace, name);
    if (req.patchType === 'apply' && !wopts.fieldManager) {
      throw invalid('PatchOptions', 'meta.k8s.io', '', [{ type: 'FieldValueRequired', field: 'fieldManager', detail: 'is required for apply patch' }]);
    }
    if (req.patchType !== 'apply' && wopts.force) {
      throw invalid('PatchOptions', 'meta.k8s.io', '', [{ type: 'FieldValueInvalid', field: 'force', value: true, detail: 'may not be specified for non-apply patch' }]);
    }
    // Optimistic retries: a patch without a resourceVersion is re-applied on a concurrent write.
    for (let attempt = 0; ; attempt++) {
      const kv = await this.store.get(key);
      if (!kv) {
        if (req.patchType === 'apply') return this.applyCreate(req);
        throw notFound(gr(def), name);
      }
      const current = fromStored(def, kv);
      let patched: unknown;
      try {
        switch (req.patchType) {
          case 'json':
            patched = jsonPatch(current, req.body);
            break;
          case 'merge':
            patched = mergePatch(current, req.body);
            break;
          case 'strategic':
            if (def.custom) throw unsupportedMediaType(CUSTOM_PATCH_MEDIA_TYPES);
            patched = applyStrategicMergePatch(current, req.body, schemaOf(def));
            break;
          case 'apply': {
            if (!isObject(req.body)) throw badRequest('the object provided is unrecognized (must be of type ' + def.kind + ')');
            const applied = serverSideApply(wopts.fieldManager!, req.body, current, {
              apiVersion: apiVersionOf(def),
              schema: schemaOf(def),
              force: wopts.force,
              now: rfc3339(this.now()),
              ...(req.subresource ? { subresource: req.subresource } : {}),
            });
            patched = applied.result;
            break;
          }
          default:
            throw badRequest('unsupported patch type');
        }
      } catch (e) {
        if (e instanceof PatchError) {
          if (e.code === 400) throw badRequest(e.message);
          throw new ApiError(422, 'Invalid', e.message, {});
        }
        if (e instanceof StrategicMergePatchError) {
          if (e.code === 400) throw badRequest(e.message);
          if (e.code === 422) throw new ApiError(422, 'Invalid', e.message, {});
          throw internalError(e.message);
        }
        if (e instanceof SyntaxError) throw badRequest(e.message);
        throw e;
      }
      const obj = checkBodyType(def, patched);
      const warnings = this.checkFields(def, obj, wopts);
      try {
        const ownership: Ownership = req.patchType === 'apply' ? { kind: 'applied' } : { kind: 'update', manager: managerFor(req, wopts) };
        return await this.writeUpdate(req, kv, obj, wopts, warnings, ownership);
      } catch (e) {
        const patchHasRv = isObject(req.body) && isObject(req.body.metadata) && req.body.metadata.resourceVersion !== undefined;
        if (e instanceof ApiError && e.reason === 'Conflict' && !patchHasRv && attempt < 5) continue;
        throw e;
      }
    }
  }

  /** Server-side apply on a missing object creates it, owned by the applier. */
  private async applyCreate(req: ApiRequest): Promise<ApiResult> {
    const { def } = req;
    if (!isObject(req.body)) throw badRequest(`the object provided is unrecognized (must be of type ${def.kind})`);
    const wopts = parseWriteOptions(req.query, 'PatchOptions');
    const body = structuredClone(req.body) as KubeObject;
    const meta = metaOf(body);
    if (meta.name && meta.name !== req.name) throw badRequest(`the name of the object (${meta.name}) does not match the name on the URL (${req.name})`);
    meta.name = req.name!;
    if (def.namespaced && req.namespace !== undefined && meta.namespace === undefined) meta.namespace = req.namespace;
    const applied = serverSideApply(wopts.fieldManager!, body, undefined, {
      apiVersion: apiVersionOf(def),
      schema: schemaOf(def),
      force: wopts.force,
      now: rfc3339(this.now()),
    });
    return this.create({ ...req, body: applied.result }, { kind: 'applied' });
  }

  /**
   * The shared tail of PUT and PATCH: conflict check, server-owned fields, status/spec split,
   * generation, validation, no-op detection, finalizer-driven removal, and the CAS write.
   */
  private async writeUpdate(req: ApiRequest, kv: KeyValue, obj: KubeObject, wopts: WriteOptions, warnings: string[], ownership: Ownership): Promise<ApiResult> {
    const { def } = req;
    const name = req.name!;
    const old = fromStored(def, kv);
    const meta = metaOf(obj);
    const oldMeta = metaOf(old);
    if (meta.resourceVersion && meta.resourceVersion !== oldMeta.resourceVersion) {
      throw conflict(gr(def), name, OBJECT_MODIFIED);
    }
    // Server-owned metadata is never taken from the client.
    meta.uid = oldMeta.uid;
    meta.creationTimestamp = oldMeta.creationTimestamp;
    if (oldMeta.deletionTimestamp) {
      meta.deletionTimestamp = oldMeta.deletionTimestamp;
      if (oldMeta.deletionGracePeriodSeconds !== undefined) meta.deletionGracePeriodSeconds = oldMeta.deletionGracePeriodSeconds;
    } else {
      delete meta.deletionTimestamp;
      delete meta.deletionGracePeriodSeconds;
    }
    if (oldMeta.namespace !== undefined) meta.namespace = oldMeta.namespace;
    delete meta.selfLink;

    const ctx = this.ctx(req);
    const sub = req.subresource;
    let result: KubeObject = obj;
    if (sub === 'status') {
      // Only .status moves; everything else stays as stored (metadata labels/annotations included).
      result = structuredClone(old);
      if (obj.status === undefined) delete result.status;
      else result.status = obj.status;
      // An apply to /status carries the applier's new ownership along.
      if (ownership.kind === 'applied') metaOf(result).managedFields = meta.managedFields;
    } else if (sub === 'approval') {
      // CSR approval: only status.conditions (Approved/Denied) move, as upstream's approval strategy.
      result = structuredClone(old);
      const conditions = isObject(obj.status) ? obj.status.conditions : undefined;
      result.status = { ...(isObject(old.status) ? old.status : {}), ...(conditions !== undefined ? { conditions } : {}) };
    } else if (sub === 'finalize') {
      result = structuredClone(old);
      result.spec = { ...(isObject(old.spec) ? old.spec : {}), finalizers: isObject(obj.spec) ? (obj.spec.finalizers ?? []) : [] };
    } else {
      if (def.hasStatus) {
        if (old.status === undefined) delete obj.status;
        else obj.status = old.status;
      }
      def.defaults?.(obj);
      def.prepareForUpdate?.(obj, old, ctx);
      if (def.admit) await def.admit(obj, old, this.storedObjects);
      this.validateOrThrow(def, obj, old);
    }
    const rmeta = metaOf(result);
    if (def.generation) {
      rmeta.generation = (oldMeta.generation ?? 1) + (specChanged(old, result) ? 1 : 0);
    }
    if (ownership.kind === 'update') {
      const managed = updateManagedFields(ownership.manager, 'Update', old, result, {
        apiVersion: apiVersionOf(def),
        schema: schemaOf(def),
        now: rfc3339(ctx.now),
        ...(sub ? { subresource: sub } : {}),
      });
      if (managed) rmeta.managedFields = managed;
      else delete rmeta.managedFields;
    }
    // Identical object → no write, same resourceVersion (kubectl apply's "unchanged"). Ordinary
    // writes that only move a timestamp in managedFields are no-ops too; an apply that changes
    // ownership alone is not.
    rmeta.resourceVersion = oldMeta.resourceVersion;
    const same = ownership.kind === 'applied' ? jsonEqual(result, old) : jsonEqual(withoutManagedFields(result), withoutManagedFields(old));
    if (same) return { code: 200, body: old, warnings };
    delete rmeta.resourceVersion;

    const key = objectKey(def, req.namespace, name);
    if (rmeta.deletionTimestamp && (rmeta.finalizers ?? []).length === 0 && this.canRemove(def, result)) {
      if (wopts.dryRun) return { code: 200, body: result, warnings };
      try {
        const gone = await this.store.delete(key, kv.modRevision);
        const out = fromStored(def, gone);
        return { code: 200, body: out, warnings };
      } catch (e) {
        throw mapStoreError(def, name, e);
      }
    }
    if (wopts.dryRun) {
      rmeta.resourceVersion = oldMeta.resourceVersion;
      return { code: 200, body: result, warnings };
    }
    try {
      const written = await this.store.update(key, toStored(def, result), kv.modRevision, def.ttlSeconds ? { ttlSeconds: def.ttlSeconds } : undefined);
      return { code: 200, body: fromStored(def, written), warnings };
    } catch (e) {
      throw mapStoreError(def, name, e);
    }
  }

  private canRemove(def: ResourceDef, obj: KubeObject): boolean {
    // Namespaces also wait for spec.finalizers (emptied through /finalize by the namespace controller).
    if (def.group === '' && def.plural === 'namespaces') {
      const f = isObject(obj.spec) ? obj.spec.finalizers : undefined;
      return !Array.isArray(f) || f.length === 0;
    }
    return true;
  }

  // ---- delete

  async delete(req: ApiRequest): Promise<ApiResult> {
    const { def } = req;
    this.requireVerb(def, 'delete');
    const opts = parseDeleteOptions(req.query, req.body);
    const name = req.name!;
    const key = objectKey(def, req.namespace, name);
    for (let attempt = 0; ; attempt++) {
      const kv = await this.store.get(key);
      if (!kv) throw notFound(gr(def), name);
      const obj = fromStored(def, kv);
      const meta = metaOf(obj);
      if (def.group === '' && def.plural === 'namespaces') {
        // Namespace lifecycle admission: the system namespaces cannot be deleted.
        const refused = checkNamespaceDelete(name);
        if (refused) throw new ApiError(403, 'Forbidden', refused, { name, kind: 'namespaces' });
      }
      const pre = opts.preconditions;
      if (pre?.uid !== undefined && pre.uid !== meta.uid) {
        throw conflict(gr(def), name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${meta.uid ?? ''}`);
      }
      if (pre?.resourceVersion !== undefined && pre.resourceVersion !== meta.resourceVersion) {
        throw conflict(gr(def), name, `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${meta.resourceVersion ?? ''}`);
      }
      const now = this.now();
      const updated = structuredClone(obj);
      const umeta = metaOf(updated);
      let finalizers = [...(umeta.finalizers ?? [])];
      const policy = opts.propagationPolicy ?? (opts.orphanDependents === true ? 'Orphan' : undefined);
      if (policy === 'Orphan' && !finalizers.includes('orphan')) finalizers.push('orphan');
      if (policy === 'Foreground' && !finalizers.includes('foregroundDeletion')) finalizers.push('foregroundDeletion');
      // An explicit Background policy replaces a GC finalizer left by an earlier delete.
      if (policy === 'Background') finalizers = finalizers.filter((f) => f !== 'orphan' && f !== 'foregroundDeletion');
      const grace = def.gracePeriod ? def.gracePeriod(obj, opts.gracePeriodSeconds) : 0;
      const isNamespace = def.group === '' && def.plural === 'namespaces';
      const keep = finalizers.length > 0 || grace > 0 || (isNamespace && !this.canRemove(def, obj));

      if (keep) {
        if (umeta.deletionTimestamp && !(grace > 0 && grace < (umeta.deletionGracePeriodSeconds ?? Infinity)) && jsonEqual(finalizers, umeta.finalizers ?? [])) {
          // Already being deleted and nothing shortens it: report the current state.
          return { code: 200, body: obj, warnings: [] };
        }
        if (!umeta.deletionTimestamp || grace < (umeta.deletionGracePeriodSeconds ?? 0)) {
          umeta.deletionTimestamp = rfc3339(now + grace * 1000);
          umeta.deletionGracePeriodSeconds = grace;
        }
        if (finalizers.length > 0) umeta.finalizers = finalizers;
        if (isNamespace) updated.status = { ...(isObject(updated.status) ? updated.status : {}), phase: 'Terminating' };
        if (opts.dryRun) return { code: 200, body: updated, warnings: [] };
        try {
          const kv2 = await this.store.update(key, toStored(def, updated), kv.modRevision);
          const out = fromStored(def, kv2);
          // Upstream answers 202 only for the legacy orphanDependents=false request.
          return { code: opts.orphanDependents === false ? 202 : 200, body: out, warnings: [] };
        } catch (e) {
          if (e instanceof ConflictError && attempt < 5) continue;
          throw mapStoreError(def, name, e);
        }
      }
      if (opts.dryRun) return { code: 200, body: def.returnDeletedObject ? obj : successStatus(def, name, meta.uid), warnings: [] };
      try {
        const gone = await this.store.delete(key, kv.modRevision);
        const out = fromStored(def, gone);
        return { code: 200, body: def.returnDeletedObject ? out : successStatus(def, name, meta.uid), warnings: [] };
      } catch (e) {
        if (e instanceof ConflictError && attempt < 5) continue;
        throw mapStoreError(def, name, e);
      }
    }
  }

  async deleteCollection(req: ApiRequest): Promise<ApiResult> {
    const { def } = req;
    this.requireVerb(def, 'deletecollection');
    const listed = await this.list({ ...req, rawJson: false, query: { ...req.query, limit: undefined, continue: undefined } });
    const items = (listed.body as unknown as { items: KubeObject[] }).items;
    const deleted: KubeObject[] = [];
    for (const item of items) {
      try {
        const r = await this.delete({ ...req, name: item.metadata!.name!, namespace: item.metadata!.namespace });
        deleted.push(def.returnDeletedObject ? (r.body as KubeObject) : item);
      } catch (e) {
        if (e instanceof ApiError && e.code === 404) continue;
        throw e;
      }
    }
    const list = { ...(listed.body as object), items: deleted };
    return { code: 200, body: list as KubeObject, warnings: [] };
  }

  // ---- scale subresource (autoscaling/v1 Scale)

  async getScale(req: ApiRequest): Promise<ApiResult> {
    const { def } = req;
    const { obj } = await this.current(def, req.namespace, req.name!);
    return { code: 200, body: this.toScale(def, obj), warnings: [] };
  }

  toScale(def: ResourceDef, obj: KubeObject): KubeObject {
    const s = def.scale!;
    const meta = obj.metadata ?? {};
    const sel = getPath(obj, s.labelSelectorPath);
    let selector = '';
    if (typeof sel === 'string') {
      // Custom resources keep the selector in its serialized form (labelSelectorPath).
      selector = sel;
    } else if (isObject(sel)) {
      // RCs keep a plain map; apps kinds a LabelSelector.
      selector = 'matchLabels' in sel || 'matchExpressions' in sel ? labelSelectorString(sel) : Object.entries(sel).map(([k, v]) => `${k}=${String(v)}`).join(',');
    }
    const status: Record<string, unknown> = { replicas: getPath(obj, s.statusReplicasPath) ?? 0 };
    if (selector) status.selector = selector;
    return {
      kind: 'Scale',
      apiVersion: 'autoscaling/v1',
      metadata: {
        name: meta.name,
        namespace: meta.namespace,
        uid: meta.uid,
        resourceVersion: meta.resourceVersion,
        creationTimestamp: meta.creationTimestamp,
      },
      spec: { replicas: getPath(obj, s.specReplicasPath) ?? 0 },
      status,
    };
  }

  async updateScale(req: ApiRequest): Promise<ApiResult> {
    const { def } = req;
    const name = req.name!;
    const wopts = parseWriteOptions(req.query, req.patchType ? 'PatchOptions' : 'UpdateOptions');
    for (let attempt = 0; ; attempt++) {
      const { kv, obj } = await this.current(def, req.namespace, name);
      let scale: unknown = this.toScale(def, obj);
      if (req.patchType === 'json') scale = jsonPatch(scale, req.body);
      else if (req.patchType) scale = mergePatch(scale, req.body);
      else scale = req.body;
      if (!isObject(scale)) throw badRequest('the object provided is unrecognized (must be of type Scale)');
      const smeta = isObject(scale.metadata) ? scale.metadata : {};
      if (typeof smeta.resourceVersion === 'string' && smeta.resourceVersion !== '' && smeta.resourceVersion !== obj.metadata?.resourceVersion) {
        throw conflict(gr(def), name, OBJECT_MODIFIED);
      }
      const replicas = isObject(scale.spec) ? scale.spec.replicas : undefined;
      if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0) {
        throw invalid('Scale', 'autoscaling', name, [{ type: 'FieldValueInvalid', field: 'spec.replicas', value: replicas ?? null, detail: 'must be greater than or equal to 0' }]);
      }
      const updated = structuredClone(obj);
      setPath(updated, def.scale!.specReplicasPath, replicas);
      const meta = metaOf(updated);
      delete meta.resourceVersion;
      if (def.generation && replicas !== getPath(obj, def.scale!.specReplicasPath)) meta.generation = (meta.generation ?? 1) + 1;
      if (wopts.dryRun) return { code: 200, body: this.toScale(def, { ...updated, metadata: { ...meta, resourceVersion: obj.metadata?.resourceVersion } }), warnings: [] };
      try {
        const written = await this.store.update(objectKey(def, req.namespace, name), toStored(def, updated), kv.modRevision);
        return { code: 200, body: this.toScale(def, fromStored(def, written)), warnings: [] };
      } catch (e) {
        if (e instanceof ConflictError && attempt < 5 && !smeta.resourceVersion) continue;
        throw mapStoreError(def, name, e);
      }
    }
  }
}

function labelSelectorString(sel: Record<string, unknown>): string {
  const parts: string[] = [];
  const ml = isObject(sel.matchLabels) ? sel.matchLabels : {};
  for (const k of Object.keys(ml).sort()) parts.push(`${k}=${String(ml[k])}`);
  for (const e of Array.isArray(sel.matchExpressions) ? sel.matchExpressions : []) {
    if (!isObject(e)) continue;
    const values = Array.isArray(e.values) ? (e.values as string[]).join(',') : '';
    switch (e.operator) {
      case 'In':
        parts.push(`${String(e.key)} in (${values})`);
        break;
      case 'NotIn':
        parts.push(`${String(e.key)} notin (${values})`);
        break;
      case 'Exists':
        parts.push(String(e.key));
        break;
      case 'DoesNotExist':
        parts.push(`!${String(e.key)}`);
        break;
    }
  }
  return parts.join(',');
}

function setPath(obj: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let cur: Record<string, unknown> = obj;
  for (const p of parts.slice(0, -1)) {
    if (!isObject(cur[p])) cur[p] = {};
    cur = cur[p] as Record<string, unknown>;
  }
  cur[parts[parts.length - 1]!] = value;
}
