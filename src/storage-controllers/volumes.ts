// Facts shared by the storage controllers: resource refs, the annotations and finalizers upstream
// uses on claims and volumes, and the pure rules deciding whether a volume can serve a claim.
import type { PersistentVolume, PersistentVolumeClaim, Pod } from 'kubernetes-types/core/v1.js';
import type { StorageClass } from 'kubernetes-types/storage/v1.js';
import type { KubeObject, ResourceRef } from '../client/types.ts';
import { selectorFromObject, type LabelSelectorObject } from '../api/labels.ts';
import { parseQuantity } from '../scheduler/quantity.ts';

export const pvcsRef: ResourceRef = { group: '', version: 'v1', resource: 'persistentvolumeclaims', namespaced: true };
export const pvsRef: ResourceRef = { group: '', version: 'v1', resource: 'persistentvolumes', namespaced: false };
export const storageClassesRef: ResourceRef = { group: 'storage.k8s.io', version: 'v1', resource: 'storageclasses', namespaced: false };
export const podsRef: ResourceRef = { group: '', version: 'v1', resource: 'pods', namespaced: true };
export const nodesRef: ResourceRef = { group: '', version: 'v1', resource: 'nodes', namespaced: false };

export const ANN_BIND_COMPLETED = 'pv.kubernetes.io/bind-completed';
export const ANN_BOUND_BY_CONTROLLER = 'pv.kubernetes.io/bound-by-controller';
export const ANN_SELECTED_NODE = 'volume.kubernetes.io/selected-node';
export const ANN_STORAGE_PROVISIONER = 'volume.kubernetes.io/storage-provisioner';
/** Still written next to the GA key: older provisioners (and some charts' checks) read only this one. */
export const ANN_BETA_STORAGE_PROVISIONER = 'volume.beta.kubernetes.io/storage-provisioner';
export const ANN_PROVISIONED_BY = 'pv.kubernetes.io/provisioned-by';
export const ANN_DEFAULT_CLASS = 'storageclass.kubernetes.io/is-default-class';
export const ANN_BETA_DEFAULT_CLASS = 'storageclass.beta.kubernetes.io/is-default-class';
export const FINALIZER_PVC_PROTECTION = 'kubernetes.io/pvc-protection';
export const FINALIZER_PV_PROTECTION = 'kubernetes.io/pv-protection';
/** Provisioners that never create anything (local volumes the admin makes by hand). */
export const NO_PROVISIONER = 'kubernetes.io/no-provisioner';

/** kubernetes-types marks every field readonly; our controllers edit their own structuredClone copies. */
type Writable<T> = T extends readonly (infer E)[] ? Writable<E>[] : T extends object ? { -readonly [K in keyof T]: Writable<T[K]> } : T;
export type PV = Writable<PersistentVolume> & KubeObject;
export type PVC = Writable<PersistentVolumeClaim> & KubeObject;
export type SC = Writable<StorageClass> & KubeObject;
export type PodObj = Writable<Pod> & KubeObject;

/** storageClassName as the binder compares it: unset and "" both mean "no class". */
export const claimClass = (c: PersistentVolumeClaim): string => c.spec?.storageClassName ?? '';
export const volumeClass = (v: PersistentVolume): string => v.spec?.storageClassName ?? '';

export const requestedBytes = (c: PersistentVolumeClaim): number => parseQuantity(c.spec?.resources?.requests?.storage ?? 0) || 0;
export const capacityBytes = (v: PersistentVolume): number => parseQuantity(v.spec?.capacity?.storage ?? 0) || 0;

export function isDefaultClass(sc: StorageClass): boolean {
  const a = sc.metadata?.annotations ?? {};
  return a[ANN_DEFAULT_CLASS] === 'true' || a[ANN_BETA_DEFAULT_CLASS] === 'true';
}

/** Upstream (1.26+): with several default classes, the newest one wins (ties: name order). */
export function pickDefaultClass<T extends StorageClass>(classes: readonly T[]): T | undefined {
  let best: T | undefined;
  for (const sc of classes) {
    if (!isDefaultClass(sc)) continue;
    if (!best) {
      best = sc;
      continue;
    }
    const a = sc.metadata?.creationTimestamp ?? '';
    const b = best.metadata?.creationTimestamp ?? '';
    if (a > b || (a === b && (sc.metadata?.name ?? '') < (best.metadata?.name ?? ''))) best = sc;
  }
  return best;
}

/** The PV's claimRef names this claim (and, when the ref carries a uid, this very incarnation). */
export function claimRefMatches(pv: PersistentVolume, claim: PersistentVolumeClaim): boolean {
  const ref = pv.spec?.claimRef;
  if (!ref) return false;
  if (ref.name !== claim.metadata?.name || (ref.namespace ?? '') !== (claim.metadata?.namespace ?? '')) return false;
  return !ref.uid || ref.uid === claim.metadata?.uid;
}

/**
 * Why this volume cannot serve this claim, or undefined when it can (class, volume mode, access
 * modes, size, selector). The caller checks availability (claimRef) itself.
 */
export function volumeMismatch(pv: PersistentVolume, claim: PersistentVolumeClaim): string | undefined {
  if (volumeClass(pv) !== claimClass(claim)) return 'storageClassName does not match';
  if ((pv.spec?.volumeMode ?? 'Filesystem') !== (claim.spec?.volumeMode ?? 'Filesystem')) return 'incompatible volumeMode';
  const modes = pv.spec?.accessModes ?? [];
  for (const m of claim.spec?.accessModes ?? []) if (!modes.includes(m)) return 'incompatible accessMode';
  if (capacityBytes(pv) < requestedBytes(claim)) return 'requested PV is too small';
  const sel = claim.spec?.selector;
  if (sel && !selectorFromObject(sel as LabelSelectorObject).matches(pv.metadata?.labels ?? {})) return 'volume does not match the claim selector';
  return undefined;
}

/**
 * The volume the binder would give this claim: a volume pre-bound to it first, else the smallest
 * available one that satisfies it (upstream's findBestMatchForClaim). With delayed binding
 * (WaitForFirstConsumer) only pre-bound volumes count: picking a node-local one is the scheduler's job.
 */
export function findBestMatch<T extends PersistentVolume>(pvs: readonly T[], claim: PersistentVolumeClaim, delayBinding: boolean): T | undefined {
  let best: T | undefined;
  for (const pv of pvs) {
    if (pv.metadata?.deletionTimestamp) continue;
    if (pv.spec?.claimRef) {
      if (!claimRefMatches(pv, claim)) continue;
      // Pre-bound to this claim: taken first, but it must still satisfy the claim (as upstream).
      if (volumeMismatch(pv, claim) === undefined) return pv;
      continue;
    }
    if (delayBinding) continue;
    const phase = pv.status?.phase;
    if (phase && phase !== 'Available' && phase !== 'Pending') continue;
    if (volumeMismatch(pv, claim) !== undefined) continue;
    if (!best || capacityBytes(pv) < capacityBytes(best)) best = pv;
  }
  return best;
}

/** Claim names a pod refers to: persistentVolumeClaim volumes and generic ephemeral volumes (<pod>-<volume>). */
export function podClaimNames(pod: Pod): string[] {
  const out: string[] = [];
  for (const v of pod.spec?.volumes ?? []) {
    if (v.persistentVolumeClaim) out.push(v.persistentVolumeClaim.claimName);
    else if (v.ephemeral) out.push(`${pod.metadata?.name ?? ''}-${v.name}`);
  }
  return out;
}

/** A pod still counts as a user of its claims until it has finished. */
export const podIsActive = (pod: Pod): boolean => pod.status?.phase !== 'Succeeded' && pod.status?.phase !== 'Failed';
