// Storage object in-use protection (upstream's pvc-protection and pv-protection controllers): every
// claim carries kubernetes.io/pvc-protection and every volume kubernetes.io/pv-protection. A claim
// being deleted keeps its finalizer while a pod that has not finished still uses it; a volume being
// deleted keeps its finalizer while it is Bound. Adds the finalizers to objects that lack them
// (created before admission added them, or written straight to the store).
import { isNotFound, type Client } from '../client/types.ts';
import type { SharedInformers } from '../client/shared-informers.ts';
import type { Informer } from '../client/informer.ts';
import { ControllerRunner, type Request } from '../controller/runner.ts';
import { FINALIZER_PV_PROTECTION, FINALIZER_PVC_PROTECTION, podClaimNames, podIsActive, podsRef, pvcsRef, pvsRef, type PodObj, type PV, type PVC } from './volumes.ts';

export interface StorageProtectionOptions {
  client: Client;
  informers: SharedInformers;
}

export class StorageProtectionController {
  readonly name = 'storage-protection';
  readonly claims = new ControllerRunner({ name: 'pvc-protection', reconcile: (r) => this.syncClaim(r) }, 2);
  readonly volumes = new ControllerRunner({ name: 'pv-protection', reconcile: (r) => this.syncVolume(r) }, 1);
  private readonly pvcInformer: Informer<PVC>;
  private readonly pvInformer: Informer<PV>;
  private readonly podInformer: Informer<PodObj>;

  constructor(private readonly opts: StorageProtectionOptions) {
    this.pvcInformer = opts.informers.informerFor<PVC>(pvcsRef);
    this.pvInformer = opts.informers.informerFor<PV>(pvsRef);
    this.podInformer = opts.informers.informerFor<PodObj>(podsRef);
    const claim = (c: PVC) => this.claims.enqueue({ namespace: c.metadata.namespace!, name: c.metadata.name! });
    this.pvcInformer.addHandlers({ onAdd: claim, onUpdate: (_o, c) => claim(c) });
    const volume = (v: PV) => this.volumes.enqueue({ name: v.metadata.name! });
    this.pvInformer.addHandlers({ onAdd: volume, onUpdate: (_o, v) => volume(v) });
    // A pod going away (or finishing) may be what a terminating claim waits for.
    const podClaims = (p: PodObj) => {
      for (const name of podClaimNames(p)) this.claims.enqueue({ namespace: p.metadata.namespace!, name });
    };
    this.podInformer.addHandlers({ onUpdate: (_o, p) => podClaims(p), onDelete: podClaims });
  }

  async run(signal: AbortSignal): Promise<void> {
    await Promise.all([this.pvcInformer.waitForSync(signal), this.pvInformer.waitForSync(signal), this.podInformer.waitForSync(signal)]);
    await Promise.all([this.claims.run(signal), this.volumes.run(signal)]);
  }

  /** Whether the cache has the claim in its terminating state (tests wait on it before a direct sync). */
  claimsInformerSees(namespace: string, name: string): boolean {
    return Boolean(this.pvcInformer.get(name, namespace)?.metadata.deletionTimestamp);
  }

  /** Pods (not finished) in the claim's namespace that use it. */
  usersOf(namespace: string, claimName: string): PodObj[] {
    return this.podInformer.list((p) => p.metadata.namespace === namespace && podIsActive(p) && podClaimNames(p).includes(claimName));
  }

  async syncClaim(req: Request): Promise<void> {
    const claim = this.pvcInformer.get(req.name, req.namespace);
    if (!claim) return;
    const finalizers = claim.metadata.finalizers ?? [];
    if (!claim.metadata.deletionTimestamp) {
      if (!finalizers.includes(FINALIZER_PVC_PROTECTION)) await this.setFinalizers(pvcsRef, claim, [...finalizers, FINALIZER_PVC_PROTECTION]);
      return;
    }
    if (!finalizers.includes(FINALIZER_PVC_PROTECTION)) return;
    if (this.usersOf(req.namespace!, req.name).length > 0) return;
    // The cache may miss a pod created a moment ago: ask the API before letting go (as upstream).
    const live = await this.opts.client.list<PodObj>(podsRef, { namespace: req.namespace! });
    if (live.items.some((p) => podIsActive(p) && podClaimNames(p).includes(req.name))) return;
    await this.setFinalizers(pvcsRef, claim, finalizers.filter((f) => f !== FINALIZER_PVC_PROTECTION));
  }

  async syncVolume(req: Request): Promise<void> {
    const pv = this.pvInformer.get(req.name);
    if (!pv) return;
    const finalizers = pv.metadata.finalizers ?? [];
    if (!pv.metadata.deletionTimestamp) {
      if (!finalizers.includes(FINALIZER_PV_PROTECTION)) await this.setFinalizers(pvsRef, pv, [...finalizers, FINALIZER_PV_PROTECTION]);
      return;
    }
    if (!finalizers.includes(FINALIZER_PV_PROTECTION) || pv.status?.phase === 'Bound') return;
    await this.setFinalizers(pvsRef, pv, finalizers.filter((f) => f !== FINALIZER_PV_PROTECTION));
  }

  private async setFinalizers(ref: typeof pvsRef, obj: PV | PVC, finalizers: string[]): Promise<void> {
    // An update carrying the cached resourceVersion: a concurrent write (say, another finalizer
    // added meanwhile) makes it fail with a conflict and we retry from fresh state.
    const next = structuredClone(obj);
    next.metadata.finalizers = finalizers;
    try {
      await this.opts.client.update(ref, next);
    } catch (e) {
      if (isNotFound(e)) return;
      throw e;
    }
  }
}
