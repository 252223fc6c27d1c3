// PersistentVolume binder (upstream's persistentvolume-controller): pairs claims with volumes —
// pre-bound ones (claim.spec.volumeName / pv.spec.claimRef) first, else the smallest available
// match — and keeps both phases true: Pending/Bound/Lost for claims, Pending/Available/Bound/
// Released/Failed for volumes. Dynamic provisioning and reclaim Delete belong to the provisioner;
// this controller announces which provisioner a claim waits for and releases volumes.
import { isConflict, isNotFound, type Client, type KubeObject } from '../client/types.ts';
import type { SharedInformers } from '../client/shared-informers.ts';
import type { Informer } from '../client/informer.ts';
import { ControllerRunner, type Request } from '../controller/runner.ts';
import type { EventRecorder } from '../controller/events.ts';
import {
  ANN_BETA_STORAGE_PROVISIONER,
  ANN_BIND_COMPLETED,
  ANN_BOUND_BY_CONTROLLER,
  ANN_PROVISIONED_BY,
  ANN_SELECTED_NODE,
  ANN_STORAGE_PROVISIONER,
  NO_PROVISIONER,
  claimClass,
  claimRefMatches,
  findBestMatch,
  pickDefaultClass,
  pvcsRef,
  pvsRef,
  storageClassesRef,
  volumeMismatch,
  type PV,
  type PVC,
  type SC,
} from './volumes.ts';

export interface PersistentVolumeControllerOptions {
  client: Client;
  informers: SharedInformers;
  recorder: EventRecorder;
}

type ClaimPhase = 'Pending' | 'Bound' | 'Lost';
type VolumePhase = 'Pending' | 'Available' | 'Bound' | 'Released' | 'Failed';

/** Newer-of (cache, our own last write): the informer lags our writes by a watch round trip. */
class WrittenObjects<T extends KubeObject> {
  private readonly objects = new Map<string, T>();
  remember(key: string, obj: T): void {
    this.objects.set(key, obj);
  }
  forget(key: string): void {
    this.objects.delete(key);
  }
  newest(key: string, cached: T | undefined): T | undefined {
    const mine = this.objects.get(key);
    if (!mine) return cached;
    if (!cached) return mine; // deleted meanwhile, or the add has not arrived yet
    if (Number(cached.metadata.resourceVersion ?? 0) >= Number(mine.metadata.resourceVersion ?? 0)) {
      this.objects.delete(key);
      return cached;
    }
    return mine;
  }
}

export class PersistentVolumeController {
  readonly name = 'persistentvolume-binder';
  // One worker per queue, as upstream: two claims must never race for the same volume.
  readonly claims = new ControllerRunner({ name: 'persistentvolume-binder/claims', reconcile: (r) => this.syncClaim(r) }, 1);
  readonly volumes = new ControllerRunner({ name: 'persistentvolume-binder/volumes', reconcile: (r) => this.syncVolume(r) }, 1);
  private readonly pvcInformer: Informer<PVC>;
  private readonly pvInformer: Informer<PV>;
  private readonly scInformer: Informer<SC>;
  private readonly writtenClaims = new WrittenObjects<PVC>();
  private readonly writtenVolumes = new WrittenObjects<PV>();
  private readonly client: Client;
  private readonly recorder: EventRecorder;

  constructor(opts: PersistentVolumeControllerOptions) {
    this.client = opts.client;
    this.recorder = opts.recorder;
    this.pvcInformer = opts.informers.informerFor<PVC>(pvcsRef);
    this.pvInformer = opts.informers.informerFor<PV>(pvsRef);
    this.scInformer = opts.informers.informerFor<SC>(storageClassesRef);
    const claimChanged = (c: PVC) => {
      this.claims.enqueue({ namespace: c.metadata.namespace!, name: c.metadata.name! });
      if (c.spec?.volumeName) this.volumes.enqueue({ name: c.spec.volumeName });
    };
    this.pvcInformer.addHandlers({
      onAdd: claimChanged,
      onUpdate: (_o, c) => claimChanged(c),
      onDelete: (c) => {
        this.writtenClaims.forget(`${c.metadata.namespace}/${c.metadata.name}`);
        if (c.spec?.volumeName) this.volumes.enqueue({ name: c.spec.volumeName });
        // Volumes pre-bound to it by claimRef only.
        for (const pv of this.pvInformer.list((v) => claimRefMatches(v, c))) this.volumes.enqueue({ name: pv.metadata.name! });
      },
    });
    const volumeChanged = (v: PV) => {
      this.volumes.enqueue({ name: v.metadata.name! });
      const ref = v.spec?.claimRef;
      if (ref?.name && ref.namespace) this.claims.enqueue({ namespace: ref.namespace, name: ref.name });
    };
    this.pvInformer.addHandlers({
      onAdd: volumeChanged,
      onUpdate: (_o, v) => volumeChanged(v),
      onDelete: (v) => {
        this.writtenVolumes.forget(v.metadata.name!);
        const ref = v.spec?.claimRef;
        if (ref?.name && ref.namespace) this.claims.enqueue({ namespace: ref.namespace, name: ref.name });
        // A claim bound to a vanished volume becomes Lost.
        for (const c of this.pvcInformer.list((c) => c.spec?.volumeName === v.metadata.name)) this.claims.enqueue({ namespace: c.metadata.namespace!, name: c.metadata.name! });
      },
    });
    // A new or changed class can unblock pending claims (default class, provisioner name).
    const classChanged = () => {
      for (const c of this.pvcInformer.list((c) => !c.spec?.volumeName)) this.claims.enqueue({ namespace: c.metadata.namespace!, name: c.metadata.name! });
    };
    this.scInformer.addHandlers({ onAdd: classChanged, onUpdate: classChanged });
  }

  async run(signal: AbortSignal): Promise<void> {
    await Promise.all([this.pvcInformer.waitForSync(signal), this.pvInformer.waitForSync(signal), this.scInformer.waitForSync(signal)]);
    await Promise.all([this.claims.run(signal), this.volumes.run(signal)]);
  }

  private claim(namespace: string, name: string): PVC | undefined {
    return this.writtenClaims.newest(`${namespace}/${name}`, this.pvcInformer.get(name, namespace));
  }

  private volume(name: string): PV | undefined {
    return this.writtenVolumes.newest(name, this.pvInformer.get(name));
  }

  private allVolumes(): PV[] {
    return this.pvInformer.list().map((v) => this.volume(v.metadata.name!) ?? v);
  }

  // ---- claims

  async syncClaim(req: Request): Promise<void> {
    const claim = this.claim(req.namespace!, req.name);
    if (!claim) return;
    // Retroactive default class (upstream 1.28+): a claim created before any default class existed
    // gets it later; "" stays "" (it asks for no class).
    if (claim.spec?.storageClassName === undefined && !claim.spec?.volumeName) {
      const def = pickDefaultClass(this.scInformer.list());
      if (def) {
        const next = structuredClone(claim);
        next.spec = { ...next.spec, storageClassName: def.metadata.name! };
        await this.writeClaim(next);
        return;
      }
    }
    if (claim.metadata.annotations?.[ANN_BIND_COMPLETED]) await this.syncBoundClaim(claim);
    else await this.syncUnboundClaim(claim);
  }

  private async syncUnboundClaim(claim: PVC): Promise<void> {
    const volumeName = claim.spec?.volumeName;
    if (volumeName) {
      // Pre-bound by the user to a named volume.
      const pv = this.volume(volumeName);
      if (!pv) {
        await this.setClaimPhase(claim, 'Pending');
        this.recorder.event(claim, 'Warning', 'FailedBinding', `volume "${volumeName}" not found`);
        return;
      }
      if (!pv.spec?.claimRef) {
        const why = volumeMismatch(pv, claim);
        if (why) {
          await this.setClaimPhase(claim, 'Pending');
          this.recorder.event(claim, 'Warning', 'VolumeMismatch', `Cannot bind to requested volume "${volumeName}": ${why}`);
          return;
        }
        await this.bind(claim, pv);
        return;
      }
      if (claimRefMatches(pv, claim)) {
        await this.bind(claim, pv);
        return;
      }
      await this.setClaimPhase(claim, 'Pending');
      this.recorder.event(claim, 'Warning', 'FailedBinding', `volume "${volumeName}" already bound to a different claim.`);
      return;
    }

    const className = claimClass(claim);
    const sc = className ? this.scInformer.get(className) : undefined;
    if (className && !sc) {
      // Still matched against static volumes of that class, but nothing can provision it.
      const pv = findBestMatch(this.allVolumes(), claim, false);
      if (pv) return this.bind(claim, pv);
      await this.setClaimPhase(claim, 'Pending');
      this.recorder.event(claim, 'Warning', 'ProvisioningFailed', `storageclass.storage.k8s.io "${className}" not found`);
      return;
    }
    const delayed = sc?.volumeBindingMode === 'WaitForFirstConsumer';
    const pv = findBestMatch(this.allVolumes(), claim, delayed);
    if (pv) return this.bind(claim, pv);
    if (delayed && !claim.metadata.annotations?.[ANN_SELECTED_NODE]) {
      await this.setClaimPhase(claim, 'Pending');
      this.recorder.event(claim, 'Normal', 'WaitForFirstConsumer', 'waiting for first consumer to be created before binding');
      return;
    }
    if (sc && sc.provisioner !== NO_PROVISIONER) {
      const ann = claim.metadata.annotations ?? {};
      if (ann[ANN_STORAGE_PROVISIONER] !== sc.provisioner || ann[ANN_BETA_STORAGE_PROVISIONER] !== sc.provisioner) {
        const next = structuredClone(claim);
        next.metadata.annotations = { ...ann, [ANN_STORAGE_PROVISIONER]: sc.provisioner, [ANN_BETA_STORAGE_PROVISIONER]: sc.provisioner };
        claim = await this.writeClaim(next);
      }
      await this.setClaimPhase(claim, 'Pending');
      this.recorder.event(
        claim,
        'Normal',
        'ExternalProvisioning',
        `Waiting for a volume to be created either by the external provisioner '${sc.provisioner}' or manually by the system administrator. If volume creation is delayed, please verify that the provisioner is running and correctly registered.`,
      );
      return;
    }
    await this.setClaimPhase(claim, 'Pending');
    const message = className ? `no persistent volumes available for this claim and storage class "${className}" has no provisioner` : 'no persistent volumes available for this claim and no storage class is set';
    this.recorder.event(claim, 'Normal', 'FailedBinding', message);
  }

  private async syncBoundClaim(claim: PVC): Promise<void> {
    const volumeName = claim.spec?.volumeName;
    if (!volumeName) {
      await this.setClaimPhase(claim, 'Lost');
      this.recorder.event(claim, 'Warning', 'ClaimLost', 'Bound claim has lost reference to PersistentVolume. Data on the volume is lost!');
      return;
    }
    const pv = this.volume(volumeName);
    if (!pv) {
      await this.setClaimPhase(claim, 'Lost');
      this.recorder.event(claim, 'Warning', 'ClaimLost', 'Bound claim has lost its PersistentVolume. Data on the volume is lost!');
      return;
    }
    if (!pv.spec?.claimRef || claimRefMatches(pv, claim)) {
      // Finish (or repair) the binding: both sides, then both phases.
      await this.bind(claim, pv);
      return;
    }
    await this.setClaimPhase(claim, 'Lost');
    this.recorder.event(claim, 'Warning', 'ClaimMisbound', 'Two claims are bound to the same volume, this one is bound incorrectly');
  }

  /**
   * Binds in upstream's order — volume claimRef, volume phase, claim volumeName, claim phase — so
   * that a crash half-way leaves a state the next sync completes. Each step is skipped when done.
   */
  private async bind(claim: PVC, pv: PV): Promise<void> {
    const name = pv.metadata.name!;
    const ref = pv.spec?.claimRef;
    if (!ref || ref.uid !== claim.metadata.uid || ref.name !== claim.metadata.name || ref.namespace !== claim.metadata.namespace) {
      const next = structuredClone(pv);
      next.spec = {
        ...next.spec,
        claimRef: { kind: 'PersistentVolumeClaim', apiVersion: 'v1', namespace: claim.metadata.namespace!, name: claim.metadata.name!, uid: claim.metadata.uid!, resourceVersion: claim.metadata.resourceVersion! },
      };
      // A claimRef the user wrote is theirs; one we add is ours to undo.
      if (!ref) next.metadata.annotations = { ...next.metadata.annotations, [ANN_BOUND_BY_CONTROLLER]: 'yes' };
      pv = await this.writeVolume(next);
    }
    pv = await this.setVolumePhase(pv, 'Bound');

    if (claim.spec?.volumeName !== name || !claim.metadata.annotations?.[ANN_BIND_COMPLETED]) {
      const next = structuredClone(claim);
      const ann: Record<string, string> = { ...next.metadata.annotations, [ANN_BIND_COMPLETED]: 'yes' };
      if (claim.spec?.volumeName !== name) ann[ANN_BOUND_BY_CONTROLLER] = 'yes';
      next.metadata.annotations = ann;
      next.spec = { ...next.spec, volumeName: name };
      claim = await this.writeClaim(next);
    }
    const status = claim.status ?? {};
    const capacity = pv.spec?.capacity ?? {};
    if (status.phase !== 'Bound' || JSON.stringify(status.accessModes ?? []) !== JSON.stringify(pv.spec?.accessModes ?? []) || (status.capacity?.storage === undefined && capacity.storage !== undefined)) {
      const next = structuredClone(claim);
      // Capacity is only set on the first bind: after an expansion the resizer owns it.
      next.status = { ...next.status, phase: 'Bound', accessModes: pv.spec?.accessModes ?? [], capacity: status.capacity?.storage !== undefined ? status.capacity : capacity };
      await this.writeClaim(next, 'status');
    }
  }

  private async setClaimPhase(claim: PVC, phase: ClaimPhase): Promise<PVC> {
    if (claim.status?.phase === phase) return claim;
    const next = structuredClone(claim);
    next.status = { ...next.status, phase };
    return this.writeClaim(next, 'status');
  }

  private async writeClaim(obj: PVC, subresource?: 'status'): Promise<PVC> {
    const key = `${obj.metadata.namespace}/${obj.metadata.name}`;
    try {
      const out = await this.client.update<PVC>(pvcsRef, obj, subresource ? { subresource } : {});
      this.writtenClaims.remember(key, out);
      return out;
    } catch (e) {
      if (isConflict(e)) this.writtenClaims.forget(key);
      throw e;
    }
  }

  // ---- volumes

  async syncVolume(req: Request): Promise<void> {
    const pv = this.volume(req.name);
    if (!pv) return;
    const ref = pv.spec?.claimRef;
    if (!ref) {
      await this.setVolumePhase(pv, 'Available');
      return;
    }
    if (!ref.uid) {
      // Pre-bound by the user to a claim that does not exist yet (or has not been matched yet).
      await this.setVolumePhase(pv, 'Available');
      if (ref.namespace && ref.name) this.claims.enqueue({ namespace: ref.namespace, name: ref.name });
      return;
    }
    let claim = ref.namespace && ref.name ? this.claim(ref.namespace, ref.name) : undefined;
    if (!claim && ref.namespace && ref.name) {
      // The cache may be behind a claim created a moment ago: releasing on that would lose data.
      claim = await this.client.get<PVC>(pvcsRef, ref.name, ref.namespace).catch((e: unknown) => {
        if (isNotFound(e)) return undefined;
        throw e;
      });
    }
    if (!claim || claim.metadata.uid !== ref.uid) {
      await this.release(pv);
      return;
    }
    const claimVolume = claim.spec?.volumeName;
    if (!claimVolume) {
      // Bound on our side (by us, the scheduler or a provisioner); the claim side is next.
      this.claims.enqueue({ namespace: ref.namespace!, name: ref.name! });
      return;
    }
    if (claimVolume === pv.metadata.name) {
      await this.setVolumePhase(pv, 'Bound');
      return;
    }
    // The claim went to another volume. Undo our own claimRef; a user's stays (they asked for it).
    if (pv.metadata.annotations?.[ANN_BOUND_BY_CONTROLLER]) {
      const next = structuredClone(pv);
      delete next.spec!.claimRef;
      const ann = { ...next.metadata.annotations };
      delete ann[ANN_BOUND_BY_CONTROLLER];
      next.metadata.annotations = ann;
      const out = await this.writeVolume(next);
      await this.setVolumePhase(out, 'Available');
    }
  }

  /** The claim is gone: Released, then the reclaim policy decides (Retain keeps it Released). */
  private async release(pv: PV): Promise<void> {
    if (pv.status?.phase === 'Failed') return;
    pv = await this.setVolumePhase(pv, 'Released');
    const policy = pv.spec?.persistentVolumeReclaimPolicy ?? 'Retain';
    if (policy === 'Retain') return;
    if (policy === 'Recycle') {
      await this.setVolumePhase(pv, 'Failed', 'recycling is not supported by nanokube (deprecated upstream); delete the volume or set reclaim policy Retain');
      this.recorder.event(pv, 'Warning', 'VolumeFailedRecycle', 'recycling of volumes is not supported by nanokube');
      return;
    }
    // Delete: a provisioner named on the volume deletes it (ours runs in-process). A hand-made
    // volume has no deleter: upstream fails it the same way for hostPath outside /tmp.
    if (pv.metadata.annotations?.[ANN_PROVISIONED_BY]) return;
    const message = `error getting deleter volume plugin for volume "${pv.metadata.name}": no deletable volume plugin matched`;
    await this.setVolumePhase(pv, 'Failed', message);
    this.recorder.event(pv, 'Warning', 'VolumeFailedDelete', message);
  }

  private async setVolumePhase(pv: PV, phase: VolumePhase, message?: string): Promise<PV> {
    if (pv.status?.phase === phase && (message === undefined || pv.status.message === message)) return pv;
    const next = structuredClone(pv);
    const status: NonNullable<PV['status']> = { ...next.status, phase };
    if (message) status.message = message;
    else delete status.message;
    // lastPhaseTransitionTime: GA in 1.31, shown by `kubectl describe pv`.
    if (pv.status?.phase !== phase) status.lastPhaseTransitionTime = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    next.status = status;
    return this.writeVolume(next, 'status');
  }

  private async writeVolume(obj: PV, subresource?: 'status'): Promise<PV> {
    try {
      const out = await this.client.update<PV>(pvsRef, obj, subresource ? { subresource } : {});
      this.writtenVolumes.remember(out.metadata.name!, out);
      return out;
    } catch (e) {
      // Someone else wrote first (another claim's bind, the scheduler): drop our copy, retry from the cache.
      if (isConflict(e)) this.writtenVolumes.forget(obj.metadata.name!);
      throw e;
    }
  }
}
