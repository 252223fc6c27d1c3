// The resource API: /api and /apis routes (discovery, CRUD, subresources, watch) generated from
// the registry. Paths are resolved here the way upstream's RequestInfo does; the verbs themselves
// live in rest/handlers.ts, watch streams in watch/watch.ts.

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import YAML from 'yaml';
import type { KubeObject } from '../api/meta.ts';
import { ApiError, badRequest, internalError, methodNotAllowed, pathNotFound, unsupportedMediaType } from '../api/status.ts';
import type { Registry, ResourceDef } from '../registry/types.ts';
import type { Store } from '../storage/types.ts';
import { logger } from '../util/log.ts';
import { Discovery, wantsAggregated, type DiscoveryDoc } from './discovery/discovery.ts';
import { MAX_BODY_BYTES, registerBodyParsers, UnsupportedBody } from './encoding/body.ts';
import { negotiate, parseIncludeObject, SERVED_MEDIA_TYPES, type Negotiated } from './encoding/negotiate.ts';
import { RestHandlers, type ApiRequest, type ApiResult } from './rest/handlers.ts';
import { parseListOptions, q, type Query } from './rest/options.ts';
import { CUSTOM_PATCH_MEDIA_TYPES, PATCH_MEDIA_TYPES, patchTypeOf } from './rest/patch.ts';
import { toPartialList, toTable, partialObjectMetadata } from './table/table.ts';
import { serveWatch } from './watch/watch.ts';
import { podSubresources } from './rest/pod-subresources.ts';
import { CrdRegistrar } from '../registry/crd/registrar.ts';

const log = logger('apiserver/api');

/** A handler for a subresource the generic layer does not implement (logs, exec, token, ...). */
export type SubresourceHandler = (ctx: {
  req: ApiRequest;
  method: string;
  request: FastifyRequest;
  reply: FastifyReply;
  rest: RestHandlers;
}) => Promise<ApiResult | void>;

export interface ApiDeps {
  store: Store;
  registry: Registry;
  /** Extra subresource handlers keyed `<group>/<plural>/<subresource>` (core group: `/pods/log`). */
  subresources?: Map<string, SubresourceHandler>;
  now?: () => number;
  /**
   * Keeps the registry in step with stored CRDs; pass one to share its OpenAPI documents with the
   * OpenAPI plugin, or let registerApi make its own.
   */
  crds?: CrdRegistrar;
}

const isCrdDef = (def: ResourceDef) => def.group === 'apiextensions.k8s.io' && def.plural === 'customresourcedefinitions';

interface ResolvedPath {
  def: ResourceDef;
  namespace?: string;
  name?: string;
  subresource?: string;
  watch: boolean;
}

function resolveResourcePath(registry: Registry, group: string, version: string, rest: string[]): ResolvedPath {
  let parts = rest;
  let watch = false;
  if (parts[0] === 'watch') {
    watch = true;
    parts = parts.slice(1);
  }
  let namespace: string | undefined;
  if (parts[0] === 'namespaces' && parts.length > 2 && parts[2] !== 'status' && parts[2] !== 'finalize') {
    namespace = parts[1];
    parts = parts.slice(2);
  }
  const [resource, name, subresource, ...extra] = parts;
  if (!resource) throw pathNotFound();
  const def = registry.byResource(group, version, resource);
  if (!def) throw pathNotFound();
  if (namespace !== undefined && !def.namespaced) throw pathNotFound();
  // Subresource paths may carry more segments (pods/proxy/<path>); only proxy uses them.
  if (extra.length > 0 && subresource !== 'proxy') throw pathNotFound();
  if (subresource && !(def.subresources ?? []).some((s) => s.name === subresource)) throw pathNotFound();
  const out: ResolvedPath = { def, watch };
  if (namespace !== undefined) out.namespace = namespace;
  if (name !== undefined && name !== '') out.name = name;
  if (subresource !== undefined) out.subresource = subresource;
  return out;
}

function warningHeader(text: string): string {
  return `299 - "${text.replace(/[\\"]/g, (c) => '\\' + c).replace(/[\x00-\x1f\x7f]/g, ' ')}"`;
}

function sendDoc(request: FastifyRequest, reply: FastifyReply, d: DiscoveryDoc): FastifyReply {
  reply.header('Vary', 'Accept').header('Cache-Control', 'public').header('ETag', d.etag);
  if (request.headers['if-none-match'] === d.etag) return reply.code(304).send();
  return reply.code(200).header('Content-Type', d.contentType).send(d.bodyBuffer);
}

export async function registerApi(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const { store, registry } = deps;
  const now = deps.now ?? Date.now;
  const rest = new RestHandlers(store, now);
  const discovery = new Discovery(registry);
  const crds = deps.crds ?? new CrdRegistrar(store, registry, now);
  // CRDs are objects like any other: their kinds come back from the store at every start.
  await crds.restore();
  const subresources = new Map<string, SubresourceHandler>([...podSubresources(), ...(deps.subresources ?? [])]);

  await app.register(async (api) => {
    registerBodyParsers(api);

    api.setErrorHandler((err, request, reply) => {
      let apiErr: ApiError;
      const code = (err as { code?: string }).code;
      if (err instanceof ApiError) apiErr = err;
      else if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') apiErr = new ApiError(413, 'RequestEntityTooLarge', `Request entity too large: limit is ${MAX_BODY_BYTES}`, {});
      else if (code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') apiErr = unsupportedMediaType(SERVED_MEDIA_TYPES);
      else if (typeof (err as { statusCode?: number }).statusCode === 'number' && (err as { statusCode: number }).statusCode < 500) {
        apiErr = badRequest((err as Error).message);
      } else {
        log.error('request failed', { method: request.method, url: request.url, err: err as Error, stack: (err as Error).stack });
        apiErr = internalError((err as Error).message);
      }
      if (apiErr.code === 429 && apiErr.details?.retryAfterSeconds) reply.header('Retry-After', String(apiErr.details.retryAfterSeconds));
      void reply.code(apiErr.code).header('Content-Type', 'application/json').send(Buffer.from(JSON.stringify(apiErr.toStatus())));
    });

    const methods = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

    api.route({
      method: [...methods],
      url: '/api',
      handler: async (request, reply) => {
        if (request.method !== 'GET') throw methodNotAllowed(request.method.toLowerCase(), 'api');
        const agg = wantsAggregated(request.headers.accept);
        return sendDoc(request, reply, agg ? discovery.aggregated('core', agg) : discovery.apiVersions());
      },
    });
    api.route({
      method: [...methods],
      url: '/apis',
      handler: async (request, reply) => {
        if (request.method !== 'GET') throw methodNotAllowed(request.method.toLowerCase(), 'apis');
        const agg = wantsAggregated(request.headers.accept);
        return sendDoc(request, reply, agg ? discovery.aggregated('groups', agg) : discovery.apiGroupList());
      },
    });

    const handle = async (request: FastifyRequest, reply: FastifyReply, legacy: boolean) => {
      const path = request.url.split('?')[0]!;
      const segs = path.split('/').filter((s) => s !== '').map((s) => decodeURIComponent(s));
      // segs[0] is 'api' or 'apis'
      let group: string;
      let version: string | undefined;
      let restParts: string[];
      if (legacy) {
        group = '';
        version = segs[1];
        restParts = segs.slice(2);
      } else {
        group = segs[1] ?? '';
        version = segs[2];
        restParts = segs.slice(3);
        if (version === undefined) {
          const d = discovery.apiGroup(group);
          if (!d) throw pathNotFound();
          return sendDoc(request, reply, d);
        }
      }
      if (version === undefined) throw pathNotFound();
      if (restParts.length === 0) {
        const d = discovery.resourceList(group, version);
        if (!d) throw pathNotFound();
        return sendDoc(request, reply, d);
      }
      const resolved = resolveResourcePath(registry, group, version, restParts);
      return serveResource(request, reply, resolved);
    };

    const serveResource = async (request: FastifyRequest, reply: FastifyReply, p: ResolvedPath) => {
      const query = request.query as Query;
      const method = request.method;
      const { def } = p;
      let namespace = p.namespace;
      // The Namespace object's own name doubles as its namespace for authorization; not needed here.
      const base: ApiRequest = { def, query, user: request.user, body: request.body };
      const ua = request.headers['user-agent'];
      if (ua) base.userAgent = ua;
      if (namespace !== undefined) base.namespace = namespace;
      if (p.name !== undefined) base.name = p.name;
      if (p.subresource !== undefined) base.subresource = p.subresource;

      if (request.body instanceof UnsupportedBody) {
        throw unsupportedMediaType(method === 'PATCH' ? (def.custom ? CUSTOM_PATCH_MEDIA_TYPES : PATCH_MEDIA_TYPES) : SERVED_MEDIA_TYPES);
      }

      const custom = p.subresource ? subresources.get(`${def.group}/${def.plural}/${p.subresource}`) : undefined;
      if (custom) {
        const r = await custom({ req: base, method, request, reply, rest });
        if (r) return sendResult(request, reply, def, r, undefined);
        return reply;
      }

      if (method !== 'GET' && isCrdDef(def)) {
        // The CRD's kinds must be served (or gone) by the time the client hears back.
        try {
          return await serveVerb(request, reply, p, base, namespace);
        } finally {
          const names = p.name ? [p.name] : (await store.list('/registry/apiextensions.k8s.io/customresourcedefinitions/')).items.map((kv) => kv.key.split('/').pop()!);
          for (const n of names) await crds.reconcile(n);
        }
      }
      return serveVerb(request, reply, p, base, namespace);
    };

    const serveVerb = async (request: FastifyRequest, reply: FastifyReply, p: ResolvedPath, base: ApiRequest, namespace: string | undefined) => {
      const { def } = p;
      const method = request.method;
      const query = base.query;
      if (method === 'GET') {
        if (p.watch || (!p.name && isTrue(q(query, 'watch')))) {
          if (p.name) {
            // /watch/<res>/<name> = watch with a metadata.name field selector.
            base.query = { ...query, fieldSelector: [q(query, 'fieldSelector'), `metadata.name=${p.name}`].filter(Boolean).join(',') };
          }
          return startWatch(request, reply, base, true);
        }
        if (!p.name) {
          const neg = negotiate(request.headers.accept, ['Table', 'PartialObjectMetadataList']);
          if (neg.format === 'json' && neg.as === undefined) base.rawJson = true;
          return sendResult(request, reply, def, await rest.list(base), 'list');
        }
        if (p.subresource === 'scale') return sendResult(request, reply, def, await rest.getScale(base), 'get');
        if (p.subresource && p.subresource !== 'status') throw methodNotAllowed('get', `${def.plural}/${p.subresource}`);
        return sendResult(request, reply, def, await rest.get(base), 'get');
      }
      if (def.namespaced && namespace === undefined && method !== 'GET') {
        // Cluster-wide paths of namespaced kinds only list and watch.
        throw methodNotAllowed(method.toLowerCase(), def.plural);
      }
      if (method === 'POST') {
        if (p.name || p.subresource) throw methodNotAllowed('create', p.subresource ? `${def.plural}/${p.subresource}` : def.plural);
        return sendResult(request, reply, def, await rest.create(base), undefined);
      }
      if (method === 'PUT') {
        if (!p.name) throw methodNotAllowed('update', def.plural);
        if (p.subresource === 'scale') return sendResult(request, reply, def, await rest.updateScale(base), undefined);
        return sendResult(request, reply, def, await rest.update(base), undefined);
      }
      if (method === 'PATCH') {
        if (!p.name) throw methodNotAllowed('patch', def.plural);
        const pt = patchTypeOf(String(request.headers['content-type'] ?? ''));
        if (!pt || (pt === 'strategic' && def.custom)) throw unsupportedMediaType(def.custom ? CUSTOM_PATCH_MEDIA_TYPES : PATCH_MEDIA_TYPES);
        base.patchType = pt;
        if (p.subresource === 'scale') return sendResult(request, reply, def, await rest.updateScale(base), undefined);
        return sendResult(request, reply, def, await rest.patch(base), undefined);
      }
      if (method === 'DELETE') {
        if (p.subresource) throw methodNotAllowed('delete', `${def.plural}/${p.subresource}`);
        if (!p.name) return sendResult(request, reply, def, await rest.deleteCollection(base), undefined);
        return sendResult(request, reply, def, await rest.delete(base), undefined);
      }
      throw methodNotAllowed(method.toLowerCase(), def.plural);
    };

    const startWatch = async (request: FastifyRequest, reply: FastifyReply, base: ApiRequest, _fromPath: boolean) => {
      const { def } = base;
      if (def.verbs && !def.verbs.includes('watch')) throw methodNotAllowed('watch', def.plural);
      const opts = parseListOptions(base.query, true);
      const matches = rest.matcher(def, opts.labelSelector, opts.fieldSelector);
      const neg = negotiate(request.headers.accept, ['Table']);
      reply.hijack();
      const w: Parameters<typeof serveWatch>[2] = { def, opts, matches, selectAll: opts.labelSelector === undefined && opts.fieldSelector === undefined };
      if (base.namespace !== undefined) w.namespace = base.namespace;
      if (neg.as === 'Table') w.table = { include: parseIncludeObject(q(base.query, 'includeObject')), version: neg.asVersion ?? 'v1' };
      await serveWatch(reply.raw, store, w);
    };

    const sendResult = (request: FastifyRequest, reply: FastifyReply, def: ResourceDef, r: ApiResult, read: 'get' | 'list' | undefined) => {
      // One header line per warning (setting the header twice would keep only the last).
      if (r.warnings.length === 1) reply.header('Warning', warningHeader(r.warnings[0]!));
      else if (r.warnings.length > 1) reply.header('Warning', r.warnings.map(warningHeader));
      const allowAs = read === 'list' ? (['Table', 'PartialObjectMetadataList'] as const) : read === 'get' ? (['Table', 'PartialObjectMetadata'] as const) : (['Table'] as const);
      let neg: Negotiated;
      try {
        neg = negotiate(request.headers.accept, allowAs);
      } catch (e) {
        // Writes still succeed when only the reply format is unsupported; answer JSON.
        if (!read) neg = { format: 'json' };
        else throw e;
      }
      let body = r.body as KubeObject;
      if (neg.as === 'Table' && body.kind !== 'Status') {
        body = toTable(def, body, { include: parseIncludeObject(q(request.query as Query, 'includeObject')), now: now(), version: neg.asVersion ?? 'v1' });
      } else if (neg.as === 'PartialObjectMetadataList') {
        body = toPartialList(body, neg.asVersion);
      } else if (neg.as === 'PartialObjectMetadata') {
        body = partialObjectMetadata(body, neg.asVersion);
      }
      reply.code(r.code);
      if (r.json !== undefined && neg.format === 'json' && neg.as === undefined) return reply.header('Content-Type', 'application/json').send(Buffer.from(r.json));
      if (neg.format === 'yaml') return reply.header('Content-Type', 'application/yaml').send(Buffer.from(YAML.stringify(body)));
      return reply.header('Content-Type', 'application/json').send(Buffer.from(JSON.stringify(body)));
    };

    api.route({ method: [...methods], url: '/api/*', handler: (request, reply) => handle(request, reply, true) });
    api.route({ method: [...methods], url: '/apis/*', handler: (request, reply) => handle(request, reply, false) });
  });
}

function isTrue(v: string | undefined): boolean {
  return v === 'true' || v === '1';
}
