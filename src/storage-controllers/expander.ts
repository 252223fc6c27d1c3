// Volume expansion (what upstream's external-resizer does for a CSI driver): a bound claim asking
// for more than its status.capacity, in a class with allowVolumeExpansion, gets the larger size on
// its PV and then in its own status. A local directory has no size of its own, so nothing real is
// grown or enforced — capacity is bookkeeping here, and no filesystem resize step is needed.
import type { Client } from '../client/types.ts';
import type { SharedInformers } from '../client/shared-informers.ts';
import type { Informer } from '../client/informer.ts';
import { ControllerRunner, type Request } from '../controller/runner.ts';
import type { EventRecorder } from '../controller/events.ts';
import { parseQuantity } from '../scheduler/quantity.ts';
import { capacityBytes, claimClass, pvcsRef, pvsRef, requestedBytes, storageClassesRef, type PV, type PVC, type SC } from './volumes.ts';

export interface VolumeExpanderOptions {
  client: Client;
  informers: SharedInformers;
  recorder: EventRecorder;
}

export class VolumeExpander {
  readonly name = 'volume-expander';
  readonly runner = new ControllerRunner({ name: 'volume-expander', reconcile: (r) => this.sync(r) }, 1);
  private readonly pvcInformer: Informer<PVC>;
  private readonly pvInformer: Informer<PV>;
  private readonly scInformer: Informer<SC>;

  constructor(private readonly opts: VolumeExpanderOptions) {
    this.pvcInformer = opts.informers.informerFor<PVC>(pvcsRef);
    this.pvInformer = opts.informers.informerFor<PV>(pvsRef);
    this.scInformer = opts.informers.informerFor<SC>(storageClassesRef);
    const claim = (c: PVC) => {
      if (c.status?.phase === 'Bound') this.runner.enqueue({ namespace: c.metadata.namespace!, name: c.metadata.name! });
    };
    this.pvcInformer.addHandlers({ onAdd: claim, onUpdate: (_o, c) => claim(c) });
  }

  async run(signal: AbortSignal): Promise<void> {
    await Promise.all([this.pvcInformer.waitForSync(signal), this.pvInformer.waitForSync(signal), this.scInformer.waitForSync(signal)]);
    await this.runner.run(signal);
  }

  async sync(req: Request): Promise<void> {
    const claim = this.pvcInformer.get(req.name, req.namespace);
    if (!claim || claim.status?.phase !== 'Bound' || !claim.spec?.volumeName) return;
    const want = requestedBytes(claim);
    const have = parseQuantity(claim.status.capacity?.storage ?? 0) || 0;
    if (want <= have) return;
    const sc = this.scInformer.get(claimClass(claim));
    // Admission refuses the resize in such classes; a claim that got past it (class changed later) just waits.
    if (!sc?.allowVolumeExpansion) return;
    const pv = this.pvInformer.get(claim.spec.volumeName);
    if (!pv) return;
    const size = claim.spec.resources!.requests!.storage!;
    if (capacityBytes(pv) < want) {
      this.opts.recorder.event(claim, 'Normal', 'Resizing', `External resizer is resizing volume ${pv.metadata.name}`);
      const next = structuredClone(pv);
      next.spec = { ...next.spec, capacity: { ...next.spec?.capacity, storage: size } };
      await this.opts.client.update(pvsRef, next);
    }
    const next = structuredClone(claim);
    const status = { ...next.status, capacity: { ...next.status?.capacity, storage: size }, allocatedResources: { ...next.status?.allocatedResources, storage: size } };
    // Any Resizing/FileSystemResizePending condition is over: the size is in effect.
    status.conditions = (status.conditions ?? []).filter((c) => c.type !== 'Resizing' && c.type !== 'FileSystemResizePending');
    if (status.conditions.length === 0) delete status.conditions;
    next.status = status;
    await this.opts.client.update(pvcsRef, next, { subresource: 'status' });
    this.opts.recorder.event(claim, 'Normal', 'VolumeResizeSuccessful', 'Resize volume succeeded');
  }
}
