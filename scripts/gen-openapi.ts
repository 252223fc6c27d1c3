// Turns upstream's published OpenAPI data into the compact table embedded/openapi/ ships in the
// binary. Facts only: types, properties, refs, formats, enums, required, defaults and every
// x-kubernetes-* extension survive; every `description` text is dropped (kubectl explain then shows
// field trees without prose, which we accept to keep the binary small).
//
//   node --import tsx scripts/gen-openapi.ts --swagger <api/openapi-spec/swagger.json>
//   node --import tsx scripts/gen-openapi.ts --v3-dir  <api/openapi-spec/v3>
//   options: --k8s-version v1.32.4 (recorded as the source), --out embedded/openapi/k8s-openapi.json
//
// Either upstream form works. The v2 swagger (kubernetes/kubernetes release-1.32, also republished
// unchanged by the official Python client as kubernetes/swagger.json.unprocessed at v32.x) is one
// file; its paths/definitions are rewritten into the v3 shape kube-apiserver serves per
// group-version (inline parameters with `schema`, requestBody/response `content` per media type,
// `$ref` with siblings wrapped in `allOf`, IntOrString/Quantity as `oneOf`).
//
// Output: one deduplicated schema table shared by all group-versions plus, per group-version, its
// paths and the names of the schemas its document needs. The JSON is brotli-compressed and stored
// base64 inside a small JSON wrapper, so the bundler inlines it like any other embedded JSON and
// the server inflates it only when the first OpenAPI request arrives.
import { readFileSync, readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants as zlibConstants } from 'node:zlib';
import { createHash } from 'node:crypto';
import type { EmbeddedOpenApi, OpenApiWrapper } from '../src/apiserver/openapi/format.ts';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

/** The GA group-versions nanokube serves; alpha/beta versions are not built into the table. */
export const SERVED_GROUP_VERSIONS: ReadonlyArray<readonly [group: string, version: string]> = [
  ['', 'v1'],
  ['admissionregistration.k8s.io', 'v1'],
  ['apiextensions.k8s.io', 'v1'],
  ['apps', 'v1'],
  ['authentication.k8s.io', 'v1'],
  ['authorization.k8s.io', 'v1'],
  ['autoscaling', 'v1'],
  ['autoscaling', 'v2'],
  ['batch', 'v1'],
  ['certificates.k8s.io', 'v1'],
  ['coordination.k8s.io', 'v1'],
  ['discovery.k8s.io', 'v1'],
  ['events.k8s.io', 'v1'],
  ['networking.k8s.io', 'v1'],
  ['node.k8s.io', 'v1'],
  ['policy', 'v1'],
  ['rbac.authorization.k8s.io', 'v1'],
  ['scheduling.k8s.io', 'v1'],
  ['storage.k8s.io', 'v1'],
];

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch'] as const;

function isObject(v: Json | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function gvKey(group: string, version: string): string {
  return group === '' ? `api/${version}` : `apis/${group}/${version}`;
}

// ---------------------------------------------------------------------------------------------
// Schemas

/**
 * Upstream's v3 documents describe these two as "either type" rather than v2's string-with-format,
 * so client-side tooling accepts `replicas: 1` and `maxSurge: 25%` alike.
 */
const V3_SCHEMA_OVERRIDES: Record<string, JsonObject> = {
  'io.k8s.apimachinery.pkg.util.intstr.IntOrString': {
    format: 'int-or-string',
    oneOf: [{ type: 'integer' }, { type: 'string' }],
  },
  'io.k8s.apimachinery.pkg.api.resource.Quantity': {
    oneOf: [{ type: 'string' }, { type: 'number' }],
  },
};

const SCHEMA_MAP_KEYS = new Set(['properties', 'patternProperties', 'definitions']);
const SCHEMA_LIST_KEYS = new Set(['allOf', 'anyOf', 'oneOf']);
const SCHEMA_SINGLE_KEYS = new Set(['items', 'additionalProperties', 'not']);

/** A v2 (or v3) schema in v3 form without prose; `fromV2` rewrites `#/definitions/` refs. */
export function convertSchema(input: unknown, fromV2: boolean): Json {
  const schema = input as Json;
  if (!isObject(schema)) return schema;
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'description') continue;
    if (key === '$ref' && typeof value === 'string') {
      out[key] = fromV2 ? value.replace('#/definitions/', '#/components/schemas/') : value;
    } else if (SCHEMA_MAP_KEYS.has(key) && isObject(value)) {
      // Keys here are field names (a field may well be called "description"), values are schemas.
      const fields: JsonObject = {};
      for (const [name, sub] of Object.entries(value)) fields[name] = convertSchema(sub, fromV2);
      out[key] = fields;
    } else if (SCHEMA_LIST_KEYS.has(key) && Array.isArray(value)) {
      out[key] = value.map((sub) => convertSchema(sub, fromV2));
    } else if (SCHEMA_SINGLE_KEYS.has(key) && isObject(value)) {
      out[key] = convertSchema(value, fromV2);
    } else {
      out[key] = value;
    }
  }
  // OpenAPI 3.0 ignores siblings of $ref; upstream wraps the ref so `default` etc. still count.
  if (typeof out.$ref === 'string' && Object.keys(out).length > 1) {
    const { $ref, ...rest } = out;
    return { allOf: [{ $ref }], ...rest };
  }
  return out;
}

function collectRefs(node: Json, into: Set<string>): void {
  if (Array.isArray(node)) {
    for (const item of node) collectRefs(item, into);
  } else if (isObject(node)) {
    for (const [key, value] of Object.entries(node)) {
      if (key === '$ref' && typeof value === 'string') {
        const name = value.slice(value.lastIndexOf('/') + 1);
        into.add(name);
      } else {
        collectRefs(value, into);
      }
    }
  }
}

/** Names of every schema reachable from `roots` through $ref, sorted. */
function schemaClosure(roots: Json, schemas: Record<string, Json>): string[] {
  const seen = new Set<string>();
  const pending = new Set<string>();
  collectRefs(roots, pending);
  while (pending.size > 0) {
    const [name] = pending;
    if (name === undefined) break;
    pending.delete(name);
    if (seen.has(name)) continue;
    seen.add(name);
    const schema = schemas[name];
    if (schema === undefined) throw new Error(`dangling $ref to ${name}`);
    const next = new Set<string>();
    collectRefs(schema, next);
    for (const n of next) if (!seen.has(n)) pending.add(n);
  }
  return [...seen].sort();
}

// ---------------------------------------------------------------------------------------------
// Paths from v2

function resolveParameter(param: Json, shared: JsonObject): JsonObject {
  if (isObject(param) && typeof param.$ref === 'string') {
    const name = param.$ref.slice(param.$ref.lastIndexOf('/') + 1);
    const target = shared[name];
    if (!isObject(target)) throw new Error(`unknown parameter ref ${param.$ref}`);
    return target;
  }
  if (!isObject(param)) throw new Error('parameter is not an object');
  return param;
}

/** A v2 non-body parameter as a v3 parameter: type facts move under `schema`. */
function convertParameter(param: JsonObject): JsonObject {
  const out: JsonObject = {};
  const schema: JsonObject = {};
  for (const [key, value] of Object.entries(param)) {
    if (key === 'description') continue;
    if (key === 'name' || key === 'in' || key === 'required' || key.startsWith('x-')) out[key] = value;
    else schema[key] = value;
  }
  out.schema = convertSchema(schema, true);
  return out;
}

function convertOperation(op: JsonObject, sharedParams: JsonObject): JsonObject {
  const out: JsonObject = {};
  const consumes = Array.isArray(op.consumes) ? (op.consumes as string[]) : ['*/*'];
  const produces = Array.isArray(op.produces) ? (op.produces as string[]) : [];
  const parameters: JsonObject[] = [];
  let requestBody: JsonObject | undefined;
  for (const raw of Array.isArray(op.parameters) ? op.parameters : []) {
    const param = resolveParameter(raw, sharedParams);
    if (param.in === 'body') {
      const schema = convertSchema(param.schema ?? {}, true);
      const content: JsonObject = {};
      for (const type of consumes) content[type] = { schema };
      requestBody = { content };
      if (param.required === true) requestBody.required = true;
    } else {
      parameters.push(convertParameter(param));
    }
  }
  if (typeof op.operationId === 'string') out.operationId = op.operationId;
  if (parameters.length > 0) out.parameters = parameters;
  if (requestBody) out.requestBody = requestBody;
  const responses: JsonObject = {};
  for (const [code, rawResponse] of Object.entries(isObject(op.responses) ? op.responses : {})) {
    if (!isObject(rawResponse)) continue;
    // A response's description is required by OpenAPI 3 and is a status word ("OK"), not prose.
    const response: JsonObject = { description: rawResponse.description ?? '' };
    if (rawResponse.schema !== undefined) {
      const schema = convertSchema(rawResponse.schema, true);
      const content: JsonObject = {};
      for (const type of produces) content[type] = { schema };
      response.content = content;
    }
    responses[code] = response;
  }
  out.responses = responses;
  for (const [key, value] of Object.entries(op)) {
    if (key === 'tags' || key.startsWith('x-')) out[key] = value;
  }
  return out;
}

function convertPathItem(item: JsonObject, sharedParams: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(item)) {
    if ((HTTP_METHODS as readonly string[]).includes(key) && isObject(value)) {
      out[key] = convertOperation(value, sharedParams);
    } else if (key === 'parameters' && Array.isArray(value)) {
      out[key] = value.map((p) => convertParameter(resolveParameter(p, sharedParams)));
    } else if (key.startsWith('x-')) {
      out[key] = value;
    }
  }
  return out;
}

function pathBelongsTo(path: string, group: string, version: string): boolean {
  const prefix = `/${gvKey(group, version)}`;
  return path === prefix || path.startsWith(`${prefix}/`);
}

export function fromSwaggerV2(source: object, servedGVs = SERVED_GROUP_VERSIONS): Omit<EmbeddedOpenApi, 'source'> {
  const swagger = source as JsonObject;
  const definitions = isObject(swagger.definitions) ? swagger.definitions : {};
  const sharedParams = isObject(swagger.parameters) ? swagger.parameters : {};
  const allPaths = isObject(swagger.paths) ? swagger.paths : {};
  const schemas: Record<string, Json> = {};
  for (const [name, schema] of Object.entries(definitions)) {
    schemas[name] = V3_SCHEMA_OVERRIDES[name] ?? convertSchema(schema, true);
  }
  const groupVersions: EmbeddedOpenApi['groupVersions'] = {};
  for (const [group, version] of servedGVs) {
    const paths: JsonObject = {};
    for (const path of Object.keys(allPaths).sort()) {
      const item = allPaths[path];
      if (pathBelongsTo(path, group, version) && isObject(item)) paths[path] = convertPathItem(item, sharedParams);
    }
    if (Object.keys(paths).length === 0) throw new Error(`no paths for ${gvKey(group, version)} in the swagger source`);
    groupVersions[gvKey(group, version)] = { paths, schemas: schemaClosure(paths, schemas) };
  }
  return { schemas: pickUsed(schemas, groupVersions), groupVersions };
}

/** Upstream's per-group-version v3 files: already the right shape, so only prose is removed. */
export function fromV3Dir(dir: string, servedGVs = SERVED_GROUP_VERSIONS): Omit<EmbeddedOpenApi, 'source'> {
  const files = new Set(readdirSync(dir));
  const schemas: Record<string, Json> = {};
  const groupVersions: EmbeddedOpenApi['groupVersions'] = {};
  for (const [group, version] of servedGVs) {
    const fileName = `${gvKey(group, version).replaceAll('/', '__')}_openapi.json`;
    if (!files.has(fileName)) throw new Error(`${dir} has no ${fileName}`);
    const doc = JSON.parse(readFileSync(join(dir, fileName), 'utf8')) as JsonObject;
    const docSchemas = isObject(doc.components) && isObject(doc.components.schemas) ? doc.components.schemas : {};
    for (const [name, schema] of Object.entries(docSchemas)) {
      const converted = convertSchema(schema, false);
      const previous = schemas[name];
      if (previous !== undefined && JSON.stringify(previous) !== JSON.stringify(converted)) {
        throw new Error(`schema ${name} differs between group-version documents`);
      }
      schemas[name] = converted;
    }
    const paths = stripOperationProse(isObject(doc.paths) ? doc.paths : {});
    groupVersions[gvKey(group, version)] = { paths, schemas: schemaClosure(paths, schemas) };
  }
  return { schemas: pickUsed(schemas, groupVersions), groupVersions };
}

function stripOperationProse(node: Json): JsonObject {
  const walk = (n: Json, inResponse: boolean): Json => {
    if (Array.isArray(n)) return n.map((x) => walk(x, false));
    if (!isObject(n)) return n;
    const out: JsonObject = {};
    for (const [key, value] of Object.entries(n)) {
      if (key === 'description' && !inResponse) continue;
      if (key === 'schema') out[key] = convertSchema(value, false);
      else if (key === 'responses' && isObject(value)) {
        const responses: JsonObject = {};
        for (const [code, r] of Object.entries(value)) responses[code] = walk(r, true);
        out[key] = responses;
      } else out[key] = walk(value, false);
    }
    return out;
  };
  return walk(node, false) as JsonObject;
}

function pickUsed(schemas: Record<string, Json>, gvs: EmbeddedOpenApi['groupVersions']): Record<string, Json> {
  const used = new Set<string>();
  for (const gv of Object.values(gvs)) for (const name of gv.schemas) used.add(name);
  const out: Record<string, Json> = {};
  for (const name of [...used].sort()) out[name] = schemas[name] ?? null;
  return out;
}

// ---------------------------------------------------------------------------------------------

function argValue(args: string[], flag: string): string | undefined {
  const at = args.indexOf(flag);
  return at >= 0 ? args[at + 1] : undefined;
}

function main(): void {
  const args = process.argv.slice(2);
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
  const swaggerPath = argValue(args, '--swagger');
  const v3Dir = argValue(args, '--v3-dir');
  const k8sVersion = argValue(args, '--k8s-version') ?? 'v1.32.4';
  const outPath = resolve(argValue(args, '--out') ?? join(root, 'embedded/openapi/k8s-openapi.json'));
  if (!swaggerPath === !v3Dir) {
    console.error('usage: gen-openapi.ts (--swagger <swagger.json> | --v3-dir <dir>) [--k8s-version v1.32.4] [--out <file>]');
    process.exit(2);
  }
  const started = performance.now();
  let table: Omit<EmbeddedOpenApi, 'source'>;
  let sourceBytes: Buffer;
  if (swaggerPath) {
    sourceBytes = readFileSync(swaggerPath);
    table = fromSwaggerV2(JSON.parse(sourceBytes.toString('utf8')) as JsonObject);
  } else {
    sourceBytes = Buffer.from(readdirSync(v3Dir!).sort().join('\n'));
    table = fromV3Dir(v3Dir!);
  }
  const embedded: EmbeddedOpenApi = {
    source: {
      kubernetesVersion: k8sVersion,
      form: swaggerPath ? 'swagger-v2' : 'openapi-v3',
      sha256: createHash('sha256').update(sourceBytes).digest('hex'),
    },
    ...table,
  };
  const json = Buffer.from(JSON.stringify(embedded));
  const compressed = brotliCompressSync(json, {
    params: {
      [zlibConstants.BROTLI_PARAM_QUALITY]: 11,
      [zlibConstants.BROTLI_PARAM_LGWIN]: 24,
      [zlibConstants.BROTLI_PARAM_SIZE_HINT]: json.length,
    },
  });
  const wrapper: OpenApiWrapper = {
    format: 'nanokube-openapi/1',
    encoding: 'br+base64',
    rawBytes: json.length,
    data: compressed.toString('base64'),
  };
  mkdirSync(dirname(outPath), { recursive: true });
  writeFileSync(outPath, `${JSON.stringify(wrapper)}\n`);
  const gvCount = Object.keys(table.groupVersions).length;
  const schemaCount = Object.keys(table.schemas).length;
  console.error(
    `wrote ${outPath}: ${gvCount} group-versions, ${schemaCount} schemas; ` +
      `${(json.length / 1024).toFixed(0)} KiB JSON -> ${(compressed.length / 1024).toFixed(0)} KiB brotli ` +
      `(${(wrapper.data.length / 1024).toFixed(0)} KiB base64) in ${Math.round(performance.now() - started)} ms`,
  );
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
