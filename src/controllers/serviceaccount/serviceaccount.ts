// ServiceAccount controller: every active namespace has a `default` ServiceAccount; created when
// the namespace appears and again if someone deletes it.
import { ClientError, isAlreadyExists, isNotFound, type Client, type KubeObject, type ResourceRef } from '../../client/types.ts';
import type { SharedInformers } from '../../client/shared-informers.ts';
import type { Informer } from '../../client/informer.ts';
import { ControllerRunner, type Reconciler, type Request } from '../../controller/runner.ts';
import { namespacesRef } from '../namespace/namespace.ts';

export const serviceAccountsRef: ResourceRef = { group: '', version: 'v1', resource: 'serviceaccounts', namespaced: true };
export const DEFAULT_SERVICE_ACCOUNT = 'default';

export class ServiceAccountController implements Reconciler {
  readonly name = 'serviceaccount';
  readonly runner = new ControllerRunner(this, 2);
  private readonly namespaces: Informer;
  private readonly accounts: Informer;

  constructor(private readonly client: Client, informers: SharedInformers) {
    this.namespaces = informers.informerFor(namespacesRef);
    this.accounts = informers.informerFor(serviceAccountsRef, { fieldSelector: `metadata.name=${DEFAULT_SERVICE_ACCOUNT}` });
    const enqueueNs = (o: KubeObject) => this.runner.enqueue({ name: o.metadata.name! });
    this.namespaces.addHandlers({ onAdd: enqueueNs, onUpdate: (_o, n) => enqueueNs(n) });
    this.accounts.addHandlers({ onDelete: (o) => this.runner.enqueue({ name: o.metadata.namespace! }) });
  }

  async run(signal: AbortSignal): Promise<void> {
    await Promise.all([this.namespaces.waitForSync(signal), this.accounts.waitForSync(signal)]);
    await this.runner.run(signal);
  }

  async reconcile(req: Request): Promise<void> {
    const ns = this.namespaces.get(req.name);
    if (!ns || ns.metadata.deletionTimestamp) return;
    if (this.accounts.get(DEFAULT_SERVICE_ACCOUNT, req.name)) return;
    try {
      await this.client.create(serviceAccountsRef, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: DEFAULT_SERVICE_ACCOUNT, namespace: req.name } });
    } catch (e) {
      // Present already (cache behind), or the namespace went away / started terminating meanwhile.
      if (isAlreadyExists(e) || isNotFound(e) || (e instanceof ClientError && e.code === 403)) return;
      throw e;
    }
  }
}
