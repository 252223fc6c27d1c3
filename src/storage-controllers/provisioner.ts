// Local-path provisioner (what k3s ships as rancher.io/local-path): for a claim of a class it
// serves, once the node is known (the scheduler's selected-node annotation for
// WaitForFirstConsumer), makes <storageDir>/<pv-name> and a hostPath PV pinned to that node and
// pre-bound to the claim; the binder then completes the binding. A Released volume it made with
// reclaim policy Delete loses its directory, then its PV object.
import { mkdir, rm } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { isAlreadyExists, isNotFound, type Client } from '../client/types.ts';
import type { SharedInformers } from '../client/shared-informers.ts';
import type { Informer } from '../client/informer.ts';
import { ControllerRunner, type Request } from '../controller/runner.ts';
import type { EventRecorder } from '../controller/events.ts';
import { ANN_PROVISIONED_BY, ANN_SELECTED_NODE, claimClass, pvcsRef, pvsRef, storageClassesRef, type PV, type PVC, type SC } from './volumes.ts';

/**
 * k3s' provisioner name, so manifests and charts written for k3s (and tools that recognise its
 * local-path class) work unchanged here.
 */
export const LOCAL_PATH_PROVISIONER = 'rancher.io/local-path';
/** Node label the PV's node affinity uses; every kubelet sets it to its node name. */
const HOSTNAME_LABEL = 'kubernetes.io/hostname';

export interface LocalPathProvisionerOptions {
  client: Client;
  informers: SharedInformers;
  recorder: EventRecorder;
  /** Where volume directories live (<data>/storage). */
  storageDir: string;
  /** For Immediate-mode classes, where no scheduler picks a node: the server's own node. */
  defaultNode?: string;
  provisionerName?: string;
}

/** Volume objects are named after the claim uid, as upstream's provisioners do: retries are idempotent. */
export const volumeNameFor = (claim: PVC): string => `pvc-${claim.metadata.uid}`;

export class LocalPathProvisioner {
  readonly name = 'local-path-provisioner';
  readonly claims = new ControllerRunner({ name: 'local-path-provisioner/claims', reconcile: (r) => this.syncClaim(r) }, 2);
  readonly volumes = new ControllerRunner({ name: 'local-path-provisioner/volumes', reconcile: (r) => this.syncVolume(r) }, 2);
  readonly provisioner: string;
  private readonly pvcInformer: Informer<PVC>;
  private readonly pvInformer: Informer<PV>;
  private readonly scInformer: Informer<SC>;
  private readonly storageDir: string;

  constructor(private readonly opts: LocalPathProvisionerOptions) {
    this.provisioner = opts.provisionerName ?? LOCAL_PATH_PROVISIONER;
    this.storageDir = resolve(opts.storageDir);
    this.pvcInformer = opts.informers.informerFor<PVC>(pvcsRef);
    this.pvInformer = opts.informers.informerFor<PV>(pvsRef);
    this.scInformer = opts.informers.informerFor<SC>(storageClassesRef);
    const claimChanged = (c: PVC) => {
      if (!c.spec?.volumeName) this.claims.enqueue({ namespace: c.metadata.namespace!, name: c.metadata.name! });
    };
    this.pvcInformer.addHandlers({ onAdd: claimChanged, onUpdate: (_o, c) => claimChanged(c) });
    const volumeChanged = (v: PV) => {
      if (v.metadata.annotations?.[ANN_PROVISIONED_BY] === this.provisioner) this.volumes.enqueue({ name: v.metadata.name! });
    };
    this.pvInformer.addHandlers({ onAdd: volumeChanged, onUpdate: (_o, v) => volumeChanged(v) });
  }

  async run(signal: AbortSignal): Promise<void> {
    await Promise.all([this.pvcInformer.waitForSync(signal), this.pvInformer.waitForSync(signal), this.scInformer.waitForSync(signal)]);
    await Promise.all([this.claims.run(signal), this.volumes.run(signal)]);
  }

  /** The directory of a volume this provisioner made; refuses anything outside storageDir. */
  pathFor(pvName: string): string {
    const p = resolve(this.storageDir, pvName);
    if (dirname(p) !== this.storageDir) throw new Error(`volume name ${JSON.stringify(pvName)} does not map to a directory under ${this.storageDir}`);
    return p;
  }

  async syncClaim(req: Request): Promise<void> {
    const claim = this.pvcInformer.get(req.name, req.namespace);
    if (!claim || claim.spec?.volumeName || claim.metadata.deletionTimestamp) return;
    const sc = this.scInformer.get(claimClass(claim));
    if (!sc || sc.provisioner !== this.provisioner) return;
    const pvName = volumeNameFor(claim);
    if (this.pvInformer.get(pvName)) return;
    let node = claim.metadata.annotations?.[ANN_SELECTED_NODE];
    if (!node) {
      // The binder announces WaitForFirstConsumer; nothing to do until the scheduler picks a node.
      if (sc.volumeBindingMode === 'WaitForFirstConsumer') return;
      node = this.opts.defaultNode;
      if (!node) {
        this.opts.recorder.event(claim, 'Warning', 'ProvisioningFailed', 'failed to provision volume: no node was specified; use a WaitForFirstConsumer class');
        return;
      }
    }
    // The same refusals as upstream's external-provisioner library: a local directory cannot honour these.
    if (claim.spec?.selector) {
      this.opts.recorder.event(claim, 'Warning', 'ProvisioningFailed', 'failed to provision volume with StorageClass "' + sc.metadata.name + '": claim Selector is not supported');
      return;
    }
    if (claim.spec?.dataSource || claim.spec?.dataSourceRef) {
      this.opts.recorder.event(claim, 'Warning', 'ProvisioningFailed', `failed to provision volume with StorageClass "${sc.metadata.name}": data sources are not supported by ${this.provisioner}`);
      return;
    }
    const claimKey = `${claim.metadata.namespace}/${claim.metadata.name}`;
    this.opts.recorder.event(claim, 'Normal', 'Provisioning', `External provisioner is provisioning volume for claim "${claimKey}"`);
    const path = this.pathFor(pvName);
    // 0777 like k3s: containers running as any uid can write to their volume.
    await mkdir(path, { recursive: true, mode: 0o777 });
    const pv: PV = {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: pvName, annotations: { [ANN_PROVISIONED_BY]: this.provisioner, 'local.path.provisioner/selected-node': node } },
      spec: {
        capacity: { storage: claim.spec?.resources?.requests?.storage ?? '0' },
        accessModes: claim.spec?.accessModes ?? ['ReadWriteOnce'],
        persistentVolumeReclaimPolicy: sc.reclaimPolicy ?? 'Delete',
        storageClassName: sc.metadata.name!,
        volumeMode: claim.spec?.volumeMode ?? 'Filesystem',
        ...(sc.mountOptions ? { mountOptions: sc.mountOptions } : {}),
        hostPath: { path, type: 'DirectoryOrCreate' },
        nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: HOSTNAME_LABEL, operator: 'In', values: [node] }] }] } },
        claimRef: { kind: 'PersistentVolumeClaim', apiVersion: 'v1', namespace: claim.metadata.namespace!, name: claim.metadata.name!, uid: claim.metadata.uid!, resourceVersion: claim.metadata.resourceVersion! },
      },
    };
    try {
      await this.opts.client.create(pvsRef, pv);
    } catch (e) {
      if (!isAlreadyExists(e)) {
        this.opts.recorder.event(claim, 'Warning', 'ProvisioningFailed', `failed to provision volume with StorageClass "${sc.metadata.name}": ${(e as Error).message}`);
        throw e;
      }
      return;
    }
    this.opts.recorder.event(claim, 'Normal', 'ProvisioningSucceeded', `Successfully provisioned volume ${pvName}`);
  }

  async syncVolume(req: Request): Promise<void> {
    const pv = this.pvInformer.get(req.name);
    if (!pv || pv.metadata.annotations?.[ANN_PROVISIONED_BY] !== this.provisioner) return;
    if (pv.status?.phase !== 'Released' || (pv.spec?.persistentVolumeReclaimPolicy ?? 'Delete') !== 'Delete') return;
    // Only ever a directory we made: <storageDir>/<pv-name>, whatever the object claims.
    const path = this.pathFor(pv.metadata.name!);
    const declared = pv.spec?.hostPath?.path ?? pv.spec?.local?.path;
    if (declared && resolve(declared) !== path) {
      this.opts.recorder.event(pv, 'Warning', 'VolumeFailedDelete', `refusing to delete ${declared}: not the directory ${this.provisioner} created`);
      return;
    }
    try {
      await rm(path, { recursive: true, force: true });
    } catch (e) {
      this.opts.recorder.event(pv, 'Warning', 'VolumeFailedDelete', `failed to remove ${path}: ${(e as Error).message}`);
      throw e;
    }
    try {
      await this.opts.client.delete(pvsRef, pv.metadata.name!, { preconditions: { uid: pv.metadata.uid! } });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
}
