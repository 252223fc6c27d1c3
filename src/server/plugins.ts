// The route groups the API server serves besides version and health, in registration order.
import type { FastifyInstance } from 'fastify';
import type { Store } from '../storage/types.ts';
import type { Registry } from '../registry/index.ts';
import { registerApi } from '../apiserver/api.ts';
import { registerOpenApi } from '../apiserver/openapi/plugin.ts';

export interface PluginDeps {
  store: Store;
  registry: Registry;
}

export function apiPlugins(deps: PluginDeps): Array<(app: FastifyInstance) => Promise<void>> {
  return [
    (app) => registerApi(app, { store: deps.store, registry: deps.registry }),
    (app) => registerOpenApi(app, { groupVersions: () => deps.registry.groupVersions() }),
  ];
}
