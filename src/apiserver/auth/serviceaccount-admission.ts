// ServiceAccount admission for pods, as upstream's plugin does it on create: every pod runs as a
// ServiceAccount (`default` unless named) and, unless automount is switched off on the pod or the
// ServiceAccount, gets the projected `kube-api-access-<5>` volume mounted read-only at
// /var/run/secrets/kubernetes.io/serviceaccount in every container:
//   projected (defaultMode 420):
//     serviceAccountToken {expirationSeconds: 3607, path: token}
//     configMap kube-root-ca.crt {items: [{key: ca.crt, path: ca.crt}]}
//     downwardAPI {items: [{path: namespace, fieldRef: {apiVersion: v1, fieldPath: metadata.namespace}}]}
import { randomInt } from 'node:crypto';
import type { KubeObject } from '../../api/meta.ts';

export const SERVICE_ACCOUNT_MOUNT_PATH = '/var/run/secrets/kubernetes.io/serviceaccount';
export const API_ACCESS_VOLUME_PREFIX = 'kube-api-access-';
/** The kubelet asks for this odd lifetime; the API then issues a long token that carries `warnafter`. */
export const PROJECTED_TOKEN_EXPIRATION_SECONDS = 3607;
const MIRROR_POD_ANNOTATION = 'kubernetes.io/config.mirror';
// Upstream's generateName alphabet (no vowels, no look-alikes).
const NAME_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const list = (v: unknown): Obj[] => (Array.isArray(v) ? v.filter(isObj) : []);

/** The volume upstream's admission adds (exported so the kubelet's tests can build the same). */
export function apiAccessVolume(name: string): Obj {
  return {
    name,
    projected: {
      defaultMode: 420,
      sources: [
        { serviceAccountToken: { expirationSeconds: PROJECTED_TOKEN_EXPIRATION_SECONDS, path: 'token' } },
        { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
        { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
      ],
    },
  };
}

function isApiAccessVolume(v: Obj): boolean {
  const name = typeof v.name === 'string' ? v.name : '';
  const sources = isObj(v.projected) ? list(v.projected.sources) : [];
  return name.startsWith(API_ACCESS_VOLUME_PREFIX) && sources.some((s) => isObj(s.serviceAccountToken));
}

function randomSuffix(): string {
  let s = '';
  for (let i = 0; i < 5; i++) s += NAME_ALPHABET[randomInt(NAME_ALPHABET.length)];
  return s;
}

/**
 * Mutates a pod being created. `serviceAccount` reads the named ServiceAccount from a cache; when it
 * is not (yet) known the pod is still admitted with the default automount, where upstream would
 * refuse it: the ServiceAccount controller creates `default` a moment after the namespace.
 */
export function admitServiceAccount(pod: KubeObject, serviceAccount: (namespace: string, name: string) => KubeObject | undefined): void {
  if (pod.metadata?.annotations?.[MIRROR_POD_ANNOTATION] !== undefined) return;
  const spec: Obj = isObj(pod.spec) ? pod.spec : {};
  pod.spec = spec;
  const saName = (typeof spec.serviceAccountName === 'string' && spec.serviceAccountName) || (typeof spec.serviceAccount === 'string' && spec.serviceAccount) || 'default';
  spec.serviceAccountName = saName;
  spec.serviceAccount = saName;

  let automount = spec.automountServiceAccountToken;
  if (typeof automount !== 'boolean') {
    const sa = serviceAccount(pod.metadata?.namespace ?? '', saName);
    automount = sa?.automountServiceAccountToken !== false;
  }
  if (!automount) return;

  const volumes = list(spec.volumes);
  let volumeName = volumes.find(isApiAccessVolume)?.name as string | undefined;
  if (!volumeName) {
    const taken = new Set(volumes.map((v) => v.name));
    do volumeName = API_ACCESS_VOLUME_PREFIX + randomSuffix();
    while (taken.has(volumeName));
    volumes.push(apiAccessVolume(volumeName));
  }
  spec.volumes = volumes;

  for (const key of ['initContainers', 'containers'] as const) {
    if (!Array.isArray(spec[key])) continue;
    for (const c of list(spec[key])) {
      const mounts = list(c.volumeMounts);
      // A container that mounts something of its own there keeps it.
      if (mounts.some((m) => m.mountPath === SERVICE_ACCOUNT_MOUNT_PATH)) continue;
      mounts.push({ name: volumeName, readOnly: true, mountPath: SERVICE_ACCOUNT_MOUNT_PATH });
      c.volumeMounts = mounts;
    }
  }
}
