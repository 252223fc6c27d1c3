// ClusterRole aggregation: keeps the rules of every ClusterRole that has an aggregationRule equal
// to the union of the rules of the ClusterRoles its selectors match (admin/edit/view collecting
// system:aggregate-to-* and CRD authors' roles). One reconcile per aggregated role; any ClusterRole
// change re-queues every aggregated role, which is cheap (a dev cluster has a handful).
import type { ClusterRole } from 'kubernetes-types/rbac/v1.js';
import { aggregateClusterRoles, aggregationUpToDate } from '../apiserver/auth/aggregation.ts';
import { Informer } from '../client/informer.ts';
import type { Client, KubeObject, ResourceRef } from '../client/types.ts';
import { ControllerRunner, type Reconciler, type Request } from '../controller/runner.ts';
import type { Component } from '../server/components.ts';

export const clusterRolesRef: ResourceRef = { group: 'rbac.authorization.k8s.io', version: 'v1', resource: 'clusterroles', namespaced: false };
const CONTROLLER = 'clusterrole-aggregation-controller';

export class ClusterRoleAggregationController implements Reconciler {
  readonly name = CONTROLLER;
  readonly informer: Informer<KubeObject>;
  private readonly runner = new ControllerRunner(this, 1);

  constructor(private readonly client: Client) {
    this.informer = new Informer<KubeObject>(client, clusterRolesRef);
    const requeueAll = () => {
      for (const r of this.informer.list((o) => (o as unknown as ClusterRole).aggregationRule != null)) this.runner.enqueue({ name: r.metadata.name ?? '' });
    };
    this.informer.addHandlers({ onAdd: requeueAll, onUpdate: requeueAll, onDelete: requeueAll });
  }

  async reconcile(req: Request): Promise<void> {
    const role = this.informer.get(req.name) as unknown as ClusterRole | undefined;
    if (!role?.aggregationRule) return;
    const all = this.informer.list() as unknown as ClusterRole[];
    const rules = aggregateClusterRoles(all).get(req.name) ?? [];
    if (aggregationUpToDate(role, rules)) return;
    const next = structuredClone(role);
    next.rules = rules;
    // A conflict throws and the runner retries from the newer cached copy.
    await this.client.update(clusterRolesRef, next as unknown as KubeObject);
  }

  async run(signal: AbortSignal): Promise<void> {
    const informer = this.informer.run(signal);
    await this.informer.waitForSync(signal);
    await Promise.all([informer, this.runner.run(signal)]);
  }
}

export const clusterRoleAggregationComponent: Component = {
  name: 'clusterrole-aggregation',
  background: true,
  async start(ctx) {
    const client = ctx.clientFor(
      { username: `system:serviceaccount:kube-system:${CONTROLLER}`, groups: ['system:serviceaccounts', 'system:serviceaccounts:kube-system', 'system:authenticated'] },
      `nanokube/${CONTROLLER}`,
    );
    const controller = new ClusterRoleAggregationController(client);
    const stop = new AbortController();
    const signal = AbortSignal.any([ctx.signal, stop.signal]);
    const done = controller.run(signal).catch(() => undefined);
    await controller.informer.waitForSync(signal);
    return {
      async stop() {
        stop.abort();
        await done;
      },
    };
  },
};
