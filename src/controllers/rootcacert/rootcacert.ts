// Root CA publisher: a `kube-root-ca.crt` ConfigMap holding the cluster CA in every active
// namespace, so pods (projected service account volumes) can verify the API server. Recreated if
// deleted, put back if edited.
import { ClientError, isAlreadyExists, isNotFound, type Client, type KubeObject, type ResourceRef } from '../../client/types.ts';
import type { SharedInformers } from '../../client/shared-informers.ts';
import type { Informer } from '../../client/informer.ts';
import { ControllerRunner, type Reconciler, type Request } from '../../controller/runner.ts';
import { namespacesRef } from '../namespace/namespace.ts';

export const configMapsRef: ResourceRef = { group: '', version: 'v1', resource: 'configmaps', namespaced: true };
export const ROOT_CA_CONFIGMAP = 'kube-root-ca.crt';
const DESCRIPTION_ANNOTATION = 'kubernetes.io/description';
const DESCRIPTION = 'The CA bundle of this cluster, for verifying the API server at its in-cluster addresses (kubernetes.default.svc).';

export class RootCACertPublisher implements Reconciler {
  readonly name = 'root-ca-cert-publisher';
  readonly runner = new ControllerRunner(this, 2);
  private readonly namespaces: Informer;
  private readonly configMaps: Informer;

  constructor(
    private readonly client: Client,
    informers: SharedInformers,
    private readonly caPem: string,
  ) {
    this.namespaces = informers.informerFor(namespacesRef);
    this.configMaps = informers.informerFor(configMapsRef, { fieldSelector: `metadata.name=${ROOT_CA_CONFIGMAP}` });
    const enqueueNs = (o: KubeObject) => this.runner.enqueue({ name: o.metadata.name! });
    this.namespaces.addHandlers({ onAdd: enqueueNs, onUpdate: (_o, n) => enqueueNs(n) });
    const enqueueCm = (o: KubeObject) => this.runner.enqueue({ name: o.metadata.namespace! });
    this.configMaps.addHandlers({ onUpdate: (_o, n) => enqueueCm(n), onDelete: enqueueCm });
  }

  async run(signal: AbortSignal): Promise<void> {
    await Promise.all([this.namespaces.waitForSync(signal), this.configMaps.waitForSync(signal)]);
    await this.runner.run(signal);
  }

  async reconcile(req: Request): Promise<void> {
    const ns = this.namespaces.get(req.name);
    if (!ns || ns.metadata.deletionTimestamp) return;
    const cm = this.configMaps.get(ROOT_CA_CONFIGMAP, req.name);
    try {
      if (!cm) {
        await this.client.create(configMapsRef, {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: ROOT_CA_CONFIGMAP, namespace: req.name, annotations: { [DESCRIPTION_ANNOTATION]: DESCRIPTION } },
          data: { 'ca.crt': this.caPem },
        });
        return;
      }
      const data = cm.data as Record<string, string> | undefined;
      if (data?.['ca.crt'] === this.caPem && Object.keys(data).length === 1) return;
      const fixed = structuredClone(cm);
      fixed.data = { 'ca.crt': this.caPem };
      await this.client.update(configMapsRef, fixed);
    } catch (e) {
      if (isAlreadyExists(e) || isNotFound(e) || (e instanceof ClientError && e.code === 403)) return;
      throw e; // conflicts retry against the newer object
    }
  }
}
