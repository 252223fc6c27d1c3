// kubectl get pv, pvc and storageclass columns, as upstream's printers (1.32, with VolumeAttributesClass).
import { isObject, type KubeObject } from '../../api/meta.ts';
import type { TablePrinter } from '../types.ts';
import { ageOf, AGE_COLUMN, col, NAME_COLUMN, nameOf } from './common.ts';

const modeAbbreviations: Record<string, string> = {
  ReadWriteOnce: 'RWO',
  ReadOnlyMany: 'ROX',
  ReadWriteMany: 'RWX',
  ReadWriteOncePod: 'RWOP',
};

function accessModes(v: unknown): string {
  if (!Array.isArray(v)) return '';
  return v.map((m) => modeAbbreviations[String(m)] ?? String(m)).join(',');
}

const rec = (v: unknown): Record<string, unknown> => (isObject(v) ? v : {});
const text = (v: unknown): string => (typeof v === 'string' ? v : '');
const vac = (spec: Record<string, unknown>): string => text(spec.volumeAttributesClassName) || '<unset>';

export const persistentVolumeTable: TablePrinter = {
  columns: [
    NAME_COLUMN,
    col('Capacity'),
    col('Access Modes'),
    col('Reclaim Policy'),
    col('Status'),
    col('Claim'),
    col('StorageClass'),
    col('VolumeAttributesClass'),
    col('Reason'),
    AGE_COLUMN,
    col('VolumeMode', 'string', 1),
  ],
  cells: (o: KubeObject, now: number) => {
    const spec = rec(o.spec);
    const status = rec(o.status);
    const claim = rec(spec.claimRef);
    const claimName = text(claim.name) ? `${text(claim.namespace)}/${text(claim.name)}` : '';
    return [
      nameOf(o),
      text(rec(spec.capacity).storage),
      accessModes(spec.accessModes),
      text(spec.persistentVolumeReclaimPolicy),
      text(status.phase),
      claimName,
      text(spec.storageClassName),
      vac(spec),
      text(status.reason),
      ageOf(o, now),
      text(spec.volumeMode),
    ];
  },
};

export const persistentVolumeClaimTable: TablePrinter = {
  columns: [
    NAME_COLUMN,
    col('Status'),
    col('Volume'),
    col('Capacity'),
    col('Access Modes'),
    col('StorageClass'),
    col('VolumeAttributesClass'),
    AGE_COLUMN,
    col('VolumeMode', 'string', 1),
  ],
  cells: (o: KubeObject, now: number) => {
    const spec = rec(o.spec);
    const status = rec(o.status);
    // Capacity and access modes are what was bound (status), empty while Pending.
    return [
      nameOf(o),
      text(status.phase),
      text(spec.volumeName),
      text(rec(status.capacity).storage),
      accessModes(status.accessModes),
      text(spec.storageClassName),
      vac(spec),
      ageOf(o, now),
      text(spec.volumeMode),
    ];
  },
};

const defaultClassAnnotations = ['storageclass.kubernetes.io/is-default-class', 'storageclass.beta.kubernetes.io/is-default-class'];

export const storageClassTable: TablePrinter = {
  columns: [NAME_COLUMN, col('Provisioner'), col('ReclaimPolicy'), col('VolumeBindingMode'), col('AllowVolumeExpansion'), AGE_COLUMN],
  cells: (o: KubeObject, now: number) => {
    const annotations = o.metadata?.annotations ?? {};
    const isDefault = defaultClassAnnotations.some((a) => annotations[a] === 'true');
    return [
      nameOf(o) + (isDefault ? ' (default)' : ''),
      text(o.provisioner),
      text(o.reclaimPolicy) || 'Delete',
      text(o.volumeBindingMode) || 'Immediate',
      String(o.allowVolumeExpansion === true),
      ageOf(o, now),
    ];
  },
};
