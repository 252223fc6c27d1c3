// Volumes that cannot be shared: a ReadWriteOncePod claim already in use by another pod, and the
// same GCE PD / AWS EBS volume mounted read-write by a pod on the node.

import type { Pod, Volume } from '../k8s.ts';
import { skip, unschedulable, type Plugin } from '../types.ts';

const STATE = 'VolumeRestrictions';

function diskConflict(v: Volume, other: Pod): boolean {
  for (const o of other.spec?.volumes ?? []) {
    if (v.gcePersistentDisk && o.gcePersistentDisk && v.gcePersistentDisk.pdName === o.gcePersistentDisk.pdName) {
      // Read-only mounts of one PD may coexist.
      if (!(v.gcePersistentDisk.readOnly && o.gcePersistentDisk.readOnly)) return true;
    }
    if (v.awsElasticBlockStore && o.awsElasticBlockStore && v.awsElasticBlockStore.volumeID === o.awsElasticBlockStore.volumeID) return true;
    if (v.iscsi && o.iscsi && v.iscsi.iqn === o.iscsi.iqn && !(v.iscsi.readOnly && o.iscsi.readOnly)) return true;
  }
  return false;
}

export const volumeRestrictions: Plugin = {
  name: 'VolumeRestrictions',
  preFilter(ctx) {
    const vols = ctx.pod.pod.spec?.volumes ?? [];
    const disks = vols.filter((v) => v.gcePersistentDisk || v.awsElasticBlockStore || v.iscsi);
    let rwopInUse = false;
    for (const v of vols) {
      const name = v.persistentVolumeClaim?.claimName;
      if (!name) continue;
      const claim = ctx.snapshot.pvc(ctx.pod.namespace, name);
      if (claim?.spec?.accessModes?.includes('ReadWriteOncePod') && ctx.snapshot.claimUsers(ctx.pod.namespace, name) > 0) rwopInUse = true;
    }
    if (disks.length === 0 && !rwopInUse) return { status: skip };
    ctx.state.set(STATE, { disks, rwopInUse });
    return undefined;
  },
  filter(ctx, node) {
    const st = ctx.state.get(STATE) as { disks: Volume[]; rwopInUse: boolean };
    for (const v of st.disks) for (const p of node.pods) if (diskConflict(v, p.pod)) return unschedulable('node(s) had no available disk');
    if (st.rwopInUse) return unschedulable('node has pod using PersistentVolumeClaim with the same name and ReadWriteOncePod access mode');
    return undefined;
  },
};
