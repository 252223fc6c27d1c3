// An in-process API server for controller/scheduler/kubelet tests: the real resource API
// (registry, REST, watch) over a MemoryStore, served on an abstract Unix socket, reached through
// the real HttpClient — the same path the components use inside `nanokube server`.
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import Fastify from 'fastify';
import { registerApi } from '../../src/apiserver/api.ts';
import { builtinRegistry } from '../../src/registry/index.ts';
import { MemoryStore } from '../../src/storage/memory/memory-store.ts';
import { HttpClient } from '../../src/client/http-client.ts';
import type { Client } from '../../src/client/types.ts';
import type { UserInfo } from '../../src/apiserver/auth/user.ts';
import { ensureSystemNamespaces } from '../../src/bootstrap/system-namespaces.ts';

export const testAdmin: UserInfo = { username: 'test-admin', groups: ['system:masters', 'system:authenticated'] };

export interface TestApi {
  client: HttpClient;
  store: MemoryStore;
  socketPath: string;
  /** Another client (e.g. per component); all are admins in this harness. */
  newClient(userAgent?: string): Client;
  close(): Promise<void>;
}

export async function startTestApi(opts: { historyWindow?: number } = {}): Promise<TestApi> {
  const store = new MemoryStore({ ttlSweepMs: 0, historyWindow: opts.historyWindow ?? 10_000 });
  const app = Fastify({ logger: false, bodyLimit: 3 * 1024 * 1024 });
  app.decorateRequest('user', null as never);
  app.addHook('onRequest', async (req) => {
    req.user = testAdmin;
  });
  await registerApi(app, { store, registry: builtinRegistry() });
  await app.ready();
  const socketPath = `\0nanokube-test-api-${randomBytes(6).toString('hex')}`;
  const server = http.createServer((req, res) => app.routing(req, res));
  await new Promise<void>((resolve) => server.listen({ path: socketPath }, resolve));
  const clients: HttpClient[] = [];
  const newClient = (userAgent = 'nanokube-test') => {
    const c = new HttpClient({ transport: { kind: 'unix', socketPath, token: 'test' }, userAgent });
    clients.push(c);
    return c;
  };
  const client = newClient();
  await ensureSystemNamespaces(client);
  return {
    client,
    store,
    socketPath,
    newClient,
    async close() {
      for (const c of clients) c.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await app.close();
      await store.close();
    },
  };
}
