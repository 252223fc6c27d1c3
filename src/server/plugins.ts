// The route groups the API server serves besides version and health, in registration order.
import type { FastifyInstance } from 'fastify';
import type { Store } from '../storage/types.ts';
import type { Registry } from '../registry/index.ts';
import { registerApi, type SubresourceHandler } from '../apiserver/api.ts';
import { registerOpenApi } from '../apiserver/openapi/plugin.ts';
import { CrdRegistrar } from '../registry/crd/registrar.ts';
import { registerStreaming, streamingSubresources, type StreamingDeps } from '../apiserver/streaming/register.ts';

export interface PluginDeps {
  store: Store;
  registry: Registry;
  /** Subresources served outside the generic layer (serviceaccounts/token, ...). */
  subresources?: Map<string, SubresourceHandler>;
  /** logs, exec, attach and port-forward through the nodes' kubelets. */
  streaming?: StreamingDeps;
  /** Further route groups (OIDC discovery, ...), registered last. */
  extra?: Array<(app: FastifyInstance) => Promise<void>>;
}

export function apiPlugins(deps: PluginDeps): Array<(app: FastifyInstance) => Promise<void>> {
  // One registrar: the API registers CRD kinds, OpenAPI serves their documents.
  const crds = new CrdRegistrar(deps.store, deps.registry);
  const subresources = new Map([...(deps.subresources ?? []), ...(deps.streaming ? streamingSubresources(deps.streaming) : [])]);
  const streaming = deps.streaming;
  return [
    (app) => registerApi(app, { store: deps.store, registry: deps.registry, crds, subresources }),
    ...(streaming ? [async (app: FastifyInstance) => registerStreaming(app, streaming)] : []),
    (app) => registerOpenApi(app, { groupVersions: () => deps.registry.groupVersions(), extraDocs: () => crds.openApiDocs() }),
    ...(deps.extra ?? []),
  ];
}
