// The namespaces every cluster has (created at every start if missing, like upstream's
// system-namespaces controller): default, kube-system, kube-public, kube-node-lease.
import { isAlreadyExists, type Client, type ResourceRef } from '../client/types.ts';
import type { Component } from '../server/components.ts';

export const systemNamespaces = ['default', 'kube-system', 'kube-public', 'kube-node-lease'] as const;

const namespaces: ResourceRef = { group: '', version: 'v1', resource: 'namespaces', namespaced: false };

export async function ensureSystemNamespaces(client: Client): Promise<number> {
  let created = 0;
  await Promise.all(
    systemNamespaces.map(async (name) => {
      try {
        await client.create(namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
        created++;
      } catch (e) {
        if (!isAlreadyExists(e)) throw e;
      }
    }),
  );
  return created;
}

export const systemNamespacesComponent: Component = {
  name: 'namespaces',
  async start(ctx) {
    const client = ctx.clientFor({ username: 'system:apiserver', groups: ['system:masters'] }, 'nanokube/bootstrap');
    const created = await ensureSystemNamespaces(client);
    return { detail: created > 0 ? `created ${created}` : 'present' };
  },
};
