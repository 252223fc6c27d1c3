// Turning stored key-values into API objects and back, and the checks every write shares.

import type { KeyValue } from '../../storage/types.ts';
import { groupVersion, isObject, type KubeObject } from '../../api/meta.ts';
import { badRequest } from '../../api/status.ts';
import { builtInUnknownFields } from './unknown-fields.ts';
import type { ResourceDef } from '../../registry/types.ts';

/** Parse a stored value into this def's form, with resourceVersion from the revision. */
export function fromStored(def: ResourceDef, kv: KeyValue): KubeObject {
  let obj = JSON.parse(kv.value) as KubeObject;
  if (def.fromStorage) obj = def.fromStorage(obj);
  obj.apiVersion = groupVersion(def.group, def.version);
  obj.kind = def.kind;
  if (!isObject(obj.metadata)) obj.metadata = {};
  obj.metadata.resourceVersion = String(kv.modRevision);
  return reorderTypeMeta(obj);
}

/**
 * Serialize for the store: storage form, no resourceVersion (the revision is the source), and
 * always kind, apiVersion, metadata first — storedJsonWithRv() relies on that order to serve
 * lists by splicing stored text instead of parsing and re-serializing every item.
 */
export function toStored(def: ResourceDef, obj: KubeObject): string {
  const stored = def.toStorage ? def.toStorage(structuredClone(obj)) : obj;
  const meta = stored.metadata;
  if (meta && meta.resourceVersion !== undefined) {
    const { resourceVersion: _rv, ...rest } = meta;
    return JSON.stringify(reorderTypeMeta({ ...stored, metadata: rest }));
  }
  return JSON.stringify(reorderTypeMeta(stored));
}

/** The `{"kind":..,"apiVersion":..,"metadata":{` prefix a def's stored objects start with. */
export function storedPrefix(def: ResourceDef): string {
  return `{"kind":${JSON.stringify(def.kind)},"apiVersion":${JSON.stringify(groupVersion(def.group, def.version))},"metadata":{`;
}

/**
 * The API JSON of a stored value without parsing it: resourceVersion spliced into metadata.
 * Undefined when the text is not in the canonical order for this def (older data, other
 * versions, conversions): the caller then goes through fromStored().
 */
export function storedJsonWithRv(def: ResourceDef, prefix: string, kv: KeyValue): string | undefined {
  if (def.fromStorage || !kv.value.startsWith(prefix)) return undefined;
  const rest = kv.value.slice(prefix.length);
  const rv = `"resourceVersion":${JSON.stringify(String(kv.modRevision))}`;
  return prefix + rv + (rest.startsWith('}') ? '' : ',') + rest;
}

/** kind/apiVersion first, like upstream's encoder, so dumps read naturally. */
export function reorderTypeMeta(obj: KubeObject): KubeObject {
  const { kind, apiVersion, metadata, ...rest } = obj;
  return { kind, apiVersion, metadata, ...rest } as KubeObject;
}

/** Body must be an object of this def's kind (or carry no type at all). */
export function checkBodyType(def: ResourceDef, body: unknown): KubeObject {
  if (!isObject(body)) throw badRequest(`the object provided is unrecognized (must be of type ${def.kind}): couldn't get version/kind; json parse error`);
  const gv = groupVersion(def.group, def.version);
  const obj = body as KubeObject;
  if (obj.kind !== undefined && obj.kind !== '' && obj.kind !== def.kind) {
    throw badRequest(`${def.kind} in version "${def.version}" cannot be handled as a ${def.kind}: the object provided is unrecognized (must be of type ${def.kind}): ${String(obj.kind)}`);
  }
  if (obj.apiVersion !== undefined && obj.apiVersion !== '' && obj.apiVersion !== gv) {
    throw badRequest(`the API version in the data (${String(obj.apiVersion)}) does not match the expected API version (${gv})`);
  }
  obj.apiVersion = gv;
  obj.kind = def.kind;
  return obj;
}

const OBJECT_META_FIELDS = new Set([
  'name', 'generateName', 'namespace', 'selfLink', 'uid', 'resourceVersion', 'generation', 'creationTimestamp',
  'deletionTimestamp', 'deletionGracePeriodSeconds', 'labels', 'annotations', 'ownerReferences', 'finalizers', 'managedFields',
]);

/** Unknown-field paths, checked against the def's known top-level and spec fields. */
export function unknownFields(def: ResourceDef, obj: KubeObject, remove = false): string[] {
  if (def.unknownFields) return def.unknownFields(obj);
  // Built-ins: the kind's OpenAPI schema; kinds without one fall back to the def's field lists.
  const fromSchema = builtInUnknownFields({ group: def.group, version: def.version, kind: def.kind }, obj, remove);
  if (fromSchema !== undefined) return fromSchema;
  const out: string[] = [];
  if (def.topLevelFields) {
    const known = new Set(['apiVersion', 'kind', 'metadata', ...def.topLevelFields]);
    for (const k of Object.keys(obj)) if (!known.has(k)) out.push(k);
  }
  if (isObject(obj.metadata)) for (const k of Object.keys(obj.metadata)) if (!OBJECT_META_FIELDS.has(k)) out.push(`metadata.${k}`);
  if (def.specFields && isObject(obj.spec)) {
    const known = new Set(def.specFields);
    for (const k of Object.keys(obj.spec)) if (!known.has(k)) out.push(`spec.${k}`);
  }
  return out;
}
