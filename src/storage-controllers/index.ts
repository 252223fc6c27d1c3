// The storage controllers as one server component: PV binder, local-path provisioner, in-use
// protection and expansion, sharing one set of informers; the default StorageClass is made first.
import { setMaxListeners } from 'node:events';
import { SharedInformers } from '../client/shared-informers.ts';
import type { Client } from '../client/types.ts';
import { EventRecorder } from '../controller/events.ts';
import { ensureDefaultStorageClass } from '../bootstrap/storageclass.ts';
import type { Component } from '../server/components.ts';
import { logger } from '../util/log.ts';
import { PersistentVolumeController } from './pv-controller.ts';
import { LocalPathProvisioner } from './provisioner.ts';
import { StorageProtectionController } from './protection.ts';
import { VolumeExpander } from './expander.ts';

export { PersistentVolumeController } from './pv-controller.ts';
export { LocalPathProvisioner, LOCAL_PATH_PROVISIONER, volumeNameFor } from './provisioner.ts';
export { StorageProtectionController } from './protection.ts';
export { VolumeExpander } from './expander.ts';
export { admitPersistentVolume, admitPersistentVolumeClaim, validatePersistentVolumeClaimUpdate } from './admission.ts';

const log = logger('storage-controllers');

export interface StorageControllersOptions {
  clientFor(controller: string): Client;
  storageDir: string;
  /** Node for Immediate-mode local-path claims (the server's own node). */
  defaultNode?: string;
}

export interface RunningStorageControllers {
  informers: SharedInformers;
  binder: PersistentVolumeController;
  provisioner: LocalPathProvisioner;
  protection: StorageProtectionController;
  expander: VolumeExpander;
  /** Resolves once every controller stopped (after the signal aborts). */
  done: Promise<void>;
}

/** Starts all four; resolves once their informers are synced. */
export async function startStorageControllers(opts: StorageControllersOptions, signal: AbortSignal): Promise<RunningStorageControllers> {
  setMaxListeners(100, signal);
  // The cluster controllers' read-everything identity (bound by nanokube's RBAC bootstrap).
  const informers = new SharedInformers(opts.clientFor('shared-informers'));
  const binderClient = opts.clientFor('persistent-volume-binder');
  const binder = new PersistentVolumeController({ client: binderClient, informers, recorder: new EventRecorder(binderClient, 'persistentvolume-controller') });
  const provClient = opts.clientFor('local-path-provisioner');
  const provisioner = new LocalPathProvisioner({
    client: provClient,
    informers,
    // k3s' provisioner reports as "<provisioner>_<pod>_<uid>"; one instance here, so the name alone.
    recorder: new EventRecorder(provClient, 'rancher.io/local-path'),
    storageDir: opts.storageDir,
    ...(opts.defaultNode ? { defaultNode: opts.defaultNode } : {}),
  });
  // Upstream splits pvc- and pv-protection; the binder's role covers both objects' updates.
  const protection = new StorageProtectionController({ client: binderClient, informers });
  const resizerClient = opts.clientFor('expand-controller');
  const expander = new VolumeExpander({ client: resizerClient, informers, recorder: new EventRecorder(resizerClient, 'external-resizer rancher.io/local-path') });
  informers.start(signal);
  const done = Promise.all(
    [binder, provisioner, protection, expander].map((c) =>
      c.run(signal).catch((e) => {
        if (!signal.aborted) log.error('storage controller stopped with an error', { controller: c.name, error: e });
      }),
    ),
  ).then(() => undefined);
  await informers.waitForSync(signal);
  return { informers, binder, provisioner, protection, expander, done };
}

/** The identities upstream gives these loops, so the default RBAC (system:controller:*) applies. */
const IDENTITIES: Record<string, { username: string; groups: string[] }> = {
  // k3s runs its provisioner with its own ClusterRole; in-process here, it gets full rights.
  'local-path-provisioner': { username: 'system:serviceaccount:kube-system:local-path-provisioner-service-account', groups: ['system:masters', 'system:authenticated'] },
  'storageclass-bootstrap': { username: 'system:apiserver', groups: ['system:masters'] },
};
const serviceAccount = (name: string) => ({ username: `system:serviceaccount:kube-system:${name}`, groups: ['system:serviceaccounts', 'system:serviceaccounts:kube-system', 'system:authenticated'] });

export const storageControllersComponent: Component = {
  name: 'storage-controllers',
  background: true,
  async start(ctx) {
    const clientFor = (name: string) => ctx.clientFor(IDENTITIES[name] ?? serviceAccount(name), `nanokube/${name}`);
    await ensureDefaultStorageClass(clientFor('storageclass-bootstrap'));
    const stop = new AbortController();
    const signal = AbortSignal.any([ctx.signal, stop.signal]);
    const running = await startStorageControllers({ clientFor, storageDir: ctx.layout.storageDir, defaultNode: ctx.options.nodeName }, signal);
    return {
      detail: 'local-path',
      async stop() {
        stop.abort();
        await running.done;
      },
    };
  },
};
