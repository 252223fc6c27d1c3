// Shared set-up for the resource API integration tests: fastify + MemoryStore + admin user.

import Fastify, { type FastifyInstance } from 'fastify';
import { registerApi } from '../../src/apiserver/api.ts';
import { builtinRegistry } from '../../src/registry/index.ts';
import { MemoryStore } from '../../src/storage/memory/memory-store.ts';
import type { UserInfo } from '../../src/apiserver/auth/user.ts';

export const admin: UserInfo = { username: 'admin', groups: ['system:masters', 'system:authenticated'] };

export interface TestApi {
  app: FastifyInstance;
  store: MemoryStore;
  close(): Promise<void>;
}

export async function apiServer(opts: { historyWindow?: number } = {}): Promise<TestApi> {
  const store = new MemoryStore({ ttlSweepMs: 0, historyWindow: opts.historyWindow ?? 1000 });
  const app = Fastify({ logger: false, bodyLimit: 3 * 1024 * 1024 });
  app.decorateRequest('user', null as never);
  app.addHook('onRequest', async (req) => {
    req.user = admin;
  });
  await registerApi(app, { store, registry: builtinRegistry() });
  await app.ready();
  return {
    app,
    store,
    close: async () => {
      await app.close();
      await store.close();
    },
  };
}

export async function createNamespace(app: FastifyInstance, name: string): Promise<void> {
  const r = await app.inject({ method: 'POST', url: '/api/v1/namespaces', payload: { apiVersion: 'v1', kind: 'Namespace', metadata: { name } } });
  if (r.statusCode !== 201) throw new Error(`namespace ${name}: ${r.statusCode} ${r.body}`);
}
