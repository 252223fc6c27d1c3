// Per-group-version OpenAPI v3 documents as kube-apiserver serves them, assembled from the shared
// embedded schema table on first request and then kept as bytes plus their content hash.
import { createHash } from 'node:crypto';
import { embeddedOpenApi } from './data.ts';

export interface SerializedDoc {
  bytes: Buffer;
  /** Uppercase hex SHA-512 of `bytes`: the `?hash=` in the index and the ETag. */
  hash: string;
}

const SECURITY_SCHEMES = { BearerToken: { type: 'apiKey', in: 'header', name: 'authorization' } };

const builtIn = new Map<string, SerializedDoc>();
const extra = new WeakMap<object, SerializedDoc>();

export function serialize(doc: object): SerializedDoc {
  const bytes = Buffer.from(JSON.stringify(doc));
  return { bytes, hash: createHash('sha512').update(bytes).digest('hex').toUpperCase() };
}

/** True when the embedded table has a document for this index key (e.g. `apis/apps/v1`). */
export function hasBuiltInDoc(key: string): boolean {
  return Object.hasOwn(embeddedOpenApi().groupVersions, key);
}

/** The document object for a built-in group-version (a fresh object; callers may keep it). */
export function buildBuiltInDoc(key: string): object | undefined {
  const table = embeddedOpenApi();
  const gv = table.groupVersions[key];
  if (gv === undefined) return undefined;
  const schemas: Record<string, unknown> = {};
  for (const name of gv.schemas) schemas[name] = table.schemas[name];
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: table.source.kubernetesVersion },
    paths: gv.paths,
    components: { schemas, securitySchemes: SECURITY_SCHEMES },
    security: [{ BearerToken: [] }],
  };
}

export function builtInDoc(key: string): SerializedDoc | undefined {
  let cached = builtIn.get(key);
  if (cached === undefined) {
    const doc = buildBuiltInDoc(key);
    if (doc === undefined) return undefined;
    cached = serialize(doc);
    builtIn.set(key, cached);
  }
  return cached;
}

/** Extra (CRD) documents are cached per object: hand in a new object when the content changes. */
export function extraDoc(doc: object): SerializedDoc {
  let cached = extra.get(doc);
  if (cached === undefined) {
    cached = serialize(doc);
    extra.set(doc, cached);
  }
  return cached;
}
