// The default StorageClass every cluster starts with, as k3s ships one: `local-path`, served by the
// in-process local-path provisioner. Created when missing (so deleting it undoes at the next start,
// as k3s re-applies its manifests); an existing one is left as the user edited it.
import { isAlreadyExists, isNotFound, type Client } from '../client/types.ts';
import { LOCAL_PATH_PROVISIONER } from '../storage-controllers/provisioner.ts';
import { ANN_DEFAULT_CLASS, storageClassesRef, type SC } from '../storage-controllers/volumes.ts';

export const DEFAULT_STORAGE_CLASS = 'local-path';

export function defaultStorageClass(): SC {
  return {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: { name: DEFAULT_STORAGE_CLASS, annotations: { [ANN_DEFAULT_CLASS]: 'true' } },
    provisioner: LOCAL_PATH_PROVISIONER,
    reclaimPolicy: 'Delete',
    // The directory lives on one node: the claim must wait for the pod's node to be chosen.
    volumeBindingMode: 'WaitForFirstConsumer',
    // Capacity is bookkeeping for a directory, so growing it is always possible.
    allowVolumeExpansion: true,
  };
}

/** true when it was created now. */
export async function ensureDefaultStorageClass(client: Client): Promise<boolean> {
  try {
    await client.get(storageClassesRef, DEFAULT_STORAGE_CLASS);
    return false;
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
  try {
    await client.create(storageClassesRef, defaultStorageClass());
    return true;
  } catch (e) {
    if (isAlreadyExists(e)) return false;
    throw e;
  }
}
