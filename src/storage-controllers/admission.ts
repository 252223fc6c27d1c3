// Admission for claims and volumes, called by the API server's PVC/PV definitions: upstream's
// DefaultStorageClass (a claim without storageClassName gets the default class), the in-use
// protection finalizers added at create (StorageObjectInUseProtection), PersistentVolumeClaimResize
// (only bound claims of classes with allowVolumeExpansion may grow) and the claim spec's
// immutability rules.
import type { KubeObject } from '../api/meta.ts';
import type { StoredObjects } from '../registry/types.ts';
import { fieldForbidden, forbidden, type FieldError } from '../api/status.ts';
import { parseQuantity } from '../scheduler/quantity.ts';
import { FINALIZER_PV_PROTECTION, FINALIZER_PVC_PROTECTION, pickDefaultClass, type PV, type PVC, type SC } from './volumes.ts';


const addFinalizer = (o: KubeObject, f: string) => {
  const meta = o.metadata as { finalizers?: string[] };
  if (!meta.finalizers?.includes(f)) meta.finalizers = [...(meta.finalizers ?? []), f];
};

const storageOf = (c: PVC | undefined) => parseQuantity(c?.spec?.resources?.requests?.storage ?? 0) || 0;

export async function admitPersistentVolumeClaim(obj: KubeObject, old: KubeObject | undefined, stored: StoredObjects): Promise<void> {
  const claim = obj as PVC;
  if (!old) {
    addFinalizer(claim, FINALIZER_PVC_PROTECTION);
    // Unset (not "") means "the default"; "" explicitly asks for no class.
    if (claim.spec && claim.spec.storageClassName === undefined) {
      const def = pickDefaultClass((await stored.list('storage.k8s.io', 'storageclasses')) as SC[]);
      if (def?.metadata?.name) claim.spec.storageClassName = def.metadata.name;
    }
    return;
  }
  const prev = old as PVC;
  if (storageOf(claim) <= storageOf(prev)) return;
  const gr = { group: '', resource: 'persistentvolumeclaims' };
  const name = claim.metadata?.name ?? '';
  if (!prev.spec?.volumeName || prev.status?.phase !== 'Bound') throw forbidden(gr, name, 'spec: Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims');
  const className = prev.spec.storageClassName ?? '';
  const sc = ((await stored.list('storage.k8s.io', 'storageclasses')) as SC[]).find((c) => c.metadata?.name === className);
  if (!sc?.allowVolumeExpansion) throw forbidden(gr, name, 'only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize');
}

/** Everything in a claim's spec is fixed once made, except what binding and resizing change. */
export function validatePersistentVolumeClaimUpdate(obj: KubeObject, old: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  if (storageOf(obj as PVC) < storageOf(old as PVC)) errs.push(fieldForbidden('spec.resources.requests.storage', 'field can not be less than previous value'));
  const spec = withoutRequests((obj as PVC).spec);
  const prevSpec = withoutRequests((old as PVC).spec);
  // The changes the system itself makes: the binder fills volumeName, retroactive defaulting the class.
  if (!prevSpec.volumeName) delete spec.volumeName;
  if (prevSpec.storageClassName === undefined) delete spec.storageClassName;
  if (canonical(spec) !== canonical(prevSpec)) errs.push(fieldForbidden('spec', 'spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims'));
  return errs;
}

function withoutRequests(spec: PVC['spec']): NonNullable<PVC['spec']> {
  const s = structuredClone(spec ?? {});
  if (s.resources) {
    const { requests: _r, ...rest } = s.resources;
    if (Object.keys(rest).length > 0) s.resources = rest;
    else delete s.resources;
  }
  return s;
}

export function admitPersistentVolume(obj: KubeObject, old: KubeObject | undefined): void {
  if (old) return;
  addFinalizer(obj, FINALIZER_PV_PROTECTION);
  // Upstream's create strategy: a new volume starts Pending until the binder looks at it.
  (obj as PV).status = { phase: 'Pending' };
}

/** JSON with sorted keys: field order from different clients must not count as a change. */
function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, val: unknown) => {
    if (val && typeof val === 'object' && !Array.isArray(val)) {
      return Object.fromEntries(Object.entries(val as Record<string, unknown>).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)));
    }
    return val;
  });
}
