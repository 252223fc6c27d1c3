// The route groups the API server serves besides version and health, in registration order.
import type { FastifyInstance } from 'fastify';
import type { Store } from '../storage/types.ts';

export interface PluginDeps {
  store: Store;
}

export function apiPlugins(_deps: PluginDeps): Array<(app: FastifyInstance) => Promise<void>> {
  return [];
}
