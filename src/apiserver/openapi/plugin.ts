// Serves /openapi/v3 (index + one document per group-version) the way kube-apiserver does, and
// answers /openapi/v2 with 404: clients parse v2 as protobuf only, and a 404 makes kubectl rely
// on v3 (see shared/docs/kube-wire.md sec. 3).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../../api/status.ts';
import { groupVersionKey } from './data.ts';
import { builtInDoc, extraDoc, hasBuiltInDoc, serialize } from './documents.ts';
import type { SerializedDoc } from './documents.ts';

export { schemaForGVK, schemaNameForGVK, schemaAt, patchMetaFor } from './schema.ts';
export type { GroupVersionKind, PatchMeta } from './schema.ts';

export interface OpenApiOptions {
  /** Group-versions currently served; those without an embedded document are left out. */
  groupVersions: () => Array<{ group: string; version: string }>;
  /** Further documents keyed like the index (`apis/<group>/<version>`), e.g. for CRDs. A key
   *  here wins over a built-in one. Return the same object while its content is unchanged: the
   *  serialized bytes and hash are cached per object. */
  extraDocs?: () => Map<string, object>;
}

const JSON_TYPE = 'application/json';
const PROTOBUF_V3 = 'application/com.github.proto-openapi.spec.v3@v1.0+protobuf';

function sendStatus(reply: FastifyReply, error: ApiError): FastifyReply {
  return reply.code(error.code).type(JSON_TYPE).send(JSON.stringify(error.toStatus()));
}

const notFound = () => new ApiError(404, 'NotFound', 'the server could not find the requested resource', {});

/**
 * JSON is the only representation we produce. Upstream also offers protobuf and answers 406 to
 * anything it cannot match; client-go asks for `application/json` (kubectl explain/validation).
 */
export function acceptsJson(accept: string | undefined): boolean {
  if (accept === undefined || accept.trim() === '') return true;
  return accept.split(',').some((part) => {
    const type = (part.split(';')[0] ?? '').trim().toLowerCase();
    return type === JSON_TYPE || type === '*/*' || type === 'application/*';
  });
}

function etagMatches(header: string | string[] | undefined, hash: string): boolean {
  if (header === undefined) return false;
  const values = (Array.isArray(header) ? header.join(',') : header).split(',').map((v) => v.trim());
  return values.some((v) => v === '*' || v === `"${hash}"` || v === `W/"${hash}"`);
}

export async function registerOpenApi(app: FastifyInstance, opts: OpenApiOptions): Promise<void> {
  // Built once and never changes while the process runs: upstream sends it as Last-Modified.
  const startedAt = new Date().toUTCString();

  /** The documents the index lists right now, by key; serialisation is deferred until asked. */
  const currentDocs = (): Map<string, () => SerializedDoc | undefined> => {
    const docs = new Map<string, () => SerializedDoc | undefined>();
    for (const { group, version } of opts.groupVersions()) {
      const key = groupVersionKey(group, version);
      if (hasBuiltInDoc(key)) docs.set(key, () => builtInDoc(key));
    }
    for (const [key, doc] of opts.extraDocs?.() ?? []) docs.set(key.replace(/^\/+/, ''), () => extraDoc(doc));
    return docs;
  };

  app.get('/openapi/v3', async (request, reply) => {
    const paths: Record<string, { serverRelativeURL: string }> = {};
    const docs = currentDocs();
    for (const key of [...docs.keys()].sort()) {
      const doc = docs.get(key)?.();
      if (doc !== undefined) paths[key] = { serverRelativeURL: `/openapi/v3/${key}?hash=${doc.hash}` };
    }
    const index = serialize({ paths });
    reply.header('ETag', `"${index.hash}"`).header('Vary', 'Accept');
    if (etagMatches(request.headers['if-none-match'], index.hash)) return reply.code(304).send();
    return reply.type(JSON_TYPE).send(index.bytes);
  });

  app.get('/openapi/v3/*', async (request: FastifyRequest<{ Params: { '*': string }; Querystring: Record<string, string | string[] | undefined> }>, reply) => {
    const key = request.params['*'].replace(/\/+$/, '');
    const doc = currentDocs().get(key)?.();
    if (doc === undefined) return sendStatus(reply, notFound());
    if (!acceptsJson(request.headers.accept)) {
      const only = request.headers.accept?.includes(PROTOBUF_V3) ? ' (protobuf is not served)' : '';
      return sendStatus(
        reply,
        new ApiError(406, 'NotAcceptable', `only the following media types are accepted: ${JSON_TYPE}${only}`, {}),
      );
    }
    const requested = request.query.hash;
    const hash = Array.isArray(requested) ? requested[0] : requested;
    if (hash !== undefined && hash !== '' && hash !== doc.hash) {
      // A stale link from a cached index: send the client to the current bytes (upstream: 301).
      const url = new URL(request.url, 'http://placeholder');
      url.searchParams.set('hash', doc.hash);
      return reply.redirect(`${url.pathname}${url.search}`, 301);
    }
    reply.header('ETag', `"${doc.hash}"`).header('Vary', 'Accept').header('Last-Modified', startedAt);
    if (hash !== undefined && hash !== '') {
      // The URL names the content, so it can be cached for good.
      reply.header('Cache-Control', 'public, immutable');
      reply.header('Expires', new Date(Date.now() + 365 * 24 * 3600 * 1000).toUTCString());
    }
    if (etagMatches(request.headers['if-none-match'], doc.hash)) return reply.code(304).send();
    return reply.type(JSON_TYPE).send(doc.bytes);
  });

  app.get('/openapi/v2', async (_request, reply) => sendStatus(reply, notFound()));
}
