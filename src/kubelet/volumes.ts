// Pod volumes on the host, under <kubelet dir>/pods/<uid>/volumes/<plugin>/<name>, bind-mounted
// into the containers: emptyDir, configMap, secret, downwardAPI, projected (incl. service account
// tokens), hostPath with type checks, and PVCs bound to hostPath/local PVs. Content volumes are
// rewritten on every pod sync through the atomic writer, so updates reach running containers.
import { createHash } from 'node:crypto';
import { chmod, mkdir, realpath, stat, writeFile } from 'node:fs/promises';
import { dirname, join, normalize, sep } from 'node:path';
import type { Mount } from '../runtime/types.ts';
import { writeAtomically, type VolumeFile } from './atomic-writer.ts';
import { fieldRefValue, resourceFieldValue, type ObjectSource, type PodRuntimeFacts } from './env.ts';
import { expandVars } from './expand.ts';
import type { ConfigMap, Container, PersistentVolume, PersistentVolumeClaim, Pod, Secret, Volume, VolumeMount } from './k8s.ts';

/** A volume that cannot be set up: the pod waits in ContainerCreating with a FailedMount event. */
export class VolumeError extends Error {
  override name = 'VolumeError';
  constructor(
    readonly volume: string,
    message: string,
  ) {
    super(message);
  }
}

export const SERVICE_ACCOUNT_MOUNT = '/var/run/secrets/kubernetes.io/serviceaccount';
const DEFAULT_MODE = 0o644;
/** What the kubelet asks for in the default token volume (upstream's odd 1h + 7s marker). */
export const DEFAULT_TOKEN_SECONDS = 3607;

export interface VolumeSources extends ObjectSource {
  pvc(namespace: string, name: string): Promise<PersistentVolumeClaim | undefined>;
  pv(name: string): Promise<PersistentVolume | undefined>;
  /** A bound service account token, or undefined when the API cannot issue one (no TokenRequest). */
  token(pod: Pod, audiences: string[], expirationSeconds: number): Promise<string | undefined>;
  /** The cluster CA bundle for ca.crt when the kube-root-ca.crt ConfigMap is not published yet. */
  fallbackCA?: string;
}

export interface VolumeSetupResult {
  /** volume name → host directory (or file) */
  paths: Map<string, string>;
  /** Volumes whose content could not be complete (e.g. no token issued); shown as events by the caller. */
  warnings: string[];
}

type PluginDir = 'kubernetes.io~empty-dir' | 'kubernetes.io~configmap' | 'kubernetes.io~secret' | 'kubernetes.io~downward-api' | 'kubernetes.io~projected';

export function podDir(root: string, uid: string): string {
  return join(root, 'pods', uid);
}

function volumeDir(root: string, uid: string, plugin: PluginDir, name: string): string {
  return join(podDir(root, uid), 'volumes', plugin, name);
}

/**
 * Adds the token volume every pod gets unless it opts out, as upstream's ServiceAccount admission
 * does: a projected volume with the token, ca.crt and namespace at the well-known path. Our API
 * does not inject it, so the kubelet adds it here (to its own copy; the stored pod is unchanged).
 */
export function withServiceAccountVolume(pod: Pod, saAutomount: boolean | undefined): Pod {
  const spec = pod.spec;
  if (!spec) return pod;
  if ((spec.automountServiceAccountToken ?? saAutomount ?? true) === false) return pod;
  const all = [...(spec.containers ?? []), ...(spec.initContainers ?? [])];
  if (all.every((c) => (c.volumeMounts ?? []).some((m) => m.mountPath === SERVICE_ACCOUNT_MOUNT))) return pod;
  const existing = (spec.volumes ?? []).find((v) => v.name.startsWith('kube-api-access-'));
  const name = existing?.name ?? `kube-api-access-${createHash('sha256').update(pod.metadata?.uid ?? '').digest('hex').slice(0, 5)}`;
  const out = structuredClone(pod);
  const s = out.spec!;
  if (!existing) {
    s.volumes = [
      ...(s.volumes ?? []),
      {
        name,
        projected: {
          defaultMode: DEFAULT_MODE,
          sources: [
            { serviceAccountToken: { path: 'token', expirationSeconds: DEFAULT_TOKEN_SECONDS } },
            { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
            { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
          ],
        },
      },
    ];
  }
  for (const c of [...(s.containers ?? []), ...(s.initContainers ?? [])]) {
    if ((c.volumeMounts ?? []).some((m) => m.mountPath === SERVICE_ACCOUNT_MOUNT)) continue;
    c.volumeMounts = [...(c.volumeMounts ?? []), { name, mountPath: SERVICE_ACCOUNT_MOUNT, readOnly: true }];
  }
  return out;
}

function keyData(obj: ConfigMap | Secret, kind: 'configmap' | 'secret'): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  if (kind === 'configmap') {
    const cm = obj as ConfigMap;
    for (const [k, v] of Object.entries(cm.data ?? {})) out.set(k, Buffer.from(v));
    for (const [k, v] of Object.entries(cm.binaryData ?? {})) out.set(k, Buffer.from(v, 'base64'));
  } else {
    const s = obj as Secret;
    for (const [k, v] of Object.entries(s.data ?? {})) out.set(k, Buffer.from(v, 'base64'));
    for (const [k, v] of Object.entries(s.stringData ?? {})) out.set(k, Buffer.from(v));
  }
  return out;
}

interface KeyProjection {
  name?: string;
  items?: Array<{ key: string; path: string; mode?: number }>;
  optional?: boolean;
}

async function projectKeys(
  files: Map<string, VolumeFile>,
  volume: string,
  kind: 'configmap' | 'secret',
  ns: string,
  src: KeyProjection,
  defaultMode: number,
  sources: VolumeSources,
): Promise<void> {
  const name = src.name ?? '';
  const obj = kind === 'configmap' ? await sources.configMap(ns, name) : await sources.secret(ns, name);
  if (!obj) {
    if (src.optional) return;
    throw new VolumeError(volume, `${kind} "${name}" not found`);
  }
  const data = keyData(obj, kind);
  if (src.items?.length) {
    for (const item of src.items) {
      const value = data.get(item.key);
      if (value === undefined) {
        if (src.optional) continue;
        throw new VolumeError(volume, `${kind} references non-existent ${kind === 'configmap' ? 'config' : 'secret'} key: ${item.key}`);
      }
      files.set(item.path, { data: value, mode: item.mode ?? defaultMode });
    }
    return;
  }
  for (const [k, v] of data) files.set(k, { data: v, mode: defaultMode });
}

function downwardFiles(
  files: Map<string, VolumeFile>,
  pod: Pod,
  items: Array<{ path: string; mode?: number; fieldRef?: { fieldPath: string }; resourceFieldRef?: { containerName?: string; resource: string; divisor?: string | number } }>,
  defaultMode: number,
  facts: PodRuntimeFacts,
): void {
  for (const item of items) {
    let value = '';
    if (item.fieldRef) value = fieldRefValue(pod, item.fieldRef.fieldPath, facts);
    else if (item.resourceFieldRef) value = resourceFieldValue(pod, item.resourceFieldRef.containerName, item.resourceFieldRef.resource, item.resourceFieldRef.divisor, facts);
    files.set(item.path, { data: Buffer.from(value), mode: item.mode ?? defaultMode });
  }
}

async function checkHostPath(path: string, type: string | undefined, volume: string): Promise<void> {
  const info = await stat(path).catch(() => undefined);
  const fail = (what: string): never => {
    throw new VolumeError(volume, `hostPath type check failed: ${path} is not ${what}`);
  };
  switch (type ?? '') {
    case '':
      return;
    case 'DirectoryOrCreate':
      if (!info) await mkdir(path, { recursive: true, mode: 0o755 });
      else if (!info.isDirectory()) fail('a directory');
      return;
    case 'Directory':
      if (!info?.isDirectory()) fail('a directory');
      return;
    case 'FileOrCreate':
      if (!info) {
        await mkdir(dirname(path), { recursive: true, mode: 0o755 });
        await writeFile(path, '', { mode: 0o644, flag: 'a' });
      } else if (!info.isFile()) fail('a file');
      return;
    case 'File':
      if (!info?.isFile()) fail('a file');
      return;
    case 'Socket':
      if (!info?.isSocket()) fail('a socket file');
      return;
    case 'CharDevice':
      if (!info?.isCharacterDevice()) fail('a character device');
      return;
    case 'BlockDevice':
      if (!info?.isBlockDevice()) fail('a block device');
      return;
    default:
      throw new VolumeError(volume, `hostPath type ${type} is not supported`);
  }
}

async function pvcPath(pod: Pod, v: Volume, sources: VolumeSources): Promise<string> {
  const ns = pod.metadata?.namespace ?? 'default';
  const claim = v.persistentVolumeClaim!.claimName;
  const pvc = await sources.pvc(ns, claim);
  if (!pvc) throw new VolumeError(v.name, `persistentvolumeclaim "${claim}" not found`);
  const pvName = pvc.spec?.volumeName;
  if (!pvName || pvc.status?.phase !== 'Bound') throw new VolumeError(v.name, `persistentvolumeclaim "${claim}" is not bound yet`);
  const pv = await sources.pv(pvName);
  if (!pv) throw new VolumeError(v.name, `persistentvolume "${pvName}" not found`);
  const path = pv.spec?.hostPath?.path ?? pv.spec?.local?.path;
  if (!path) throw new VolumeError(v.name, `persistentvolume "${pvName}" is neither hostPath nor local; nanokube can only mount those`);
  if (pv.spec?.hostPath) await checkHostPath(path, pv.spec.hostPath.type ?? 'DirectoryOrCreate', v.name);
  else await checkHostPath(path, 'Directory', v.name);
  return path;
}

/** Creates or refreshes every volume of the pod; idempotent, cheap when nothing changed. */
export async function setupVolumes(root: string, pod: Pod, sources: VolumeSources, facts: PodRuntimeFacts): Promise<VolumeSetupResult> {
  const uid = pod.metadata?.uid ?? '';
  const ns = pod.metadata?.namespace ?? 'default';
  const paths = new Map<string, string>();
  const warnings: string[] = [];
  for (const v of pod.spec?.volumes ?? []) {
    if (v.emptyDir) {
      // medium: Memory is a plain directory too (no tmpfs through bind mounts); sizeLimit is not enforced.
      const dir = volumeDir(root, uid, 'kubernetes.io~empty-dir', v.name);
      await mkdir(dir, { recursive: true });
      await chmod(dir, 0o777);
      paths.set(v.name, dir);
    } else if (v.configMap || v.secret) {
      const kind = v.configMap ? 'configmap' : 'secret';
      const src = v.configMap ?? { name: v.secret!.secretName, items: v.secret!.items, optional: v.secret!.optional, defaultMode: v.secret!.defaultMode };
      const files = new Map<string, VolumeFile>();
      await projectKeys(files, v.name, kind, ns, src, src.defaultMode ?? DEFAULT_MODE, sources);
      const dir = volumeDir(root, uid, kind === 'configmap' ? 'kubernetes.io~configmap' : 'kubernetes.io~secret', v.name);
      await writeAtomically(dir, files);
      paths.set(v.name, dir);
    } else if (v.downwardAPI) {
      const files = new Map<string, VolumeFile>();
      downwardFiles(files, pod, v.downwardAPI.items ?? [], v.downwardAPI.defaultMode ?? DEFAULT_MODE, facts);
      const dir = volumeDir(root, uid, 'kubernetes.io~downward-api', v.name);
      await writeAtomically(dir, files);
      paths.set(v.name, dir);
    } else if (v.projected) {
      const files = new Map<string, VolumeFile>();
      const mode = v.projected.defaultMode ?? DEFAULT_MODE;
      for (const s of v.projected.sources ?? []) {
        if (s.configMap) {
          try {
            await projectKeys(files, v.name, 'configmap', ns, s.configMap, mode, sources);
          } catch (err) {
            // The root CA ConfigMap appears shortly after a namespace; the cluster CA stands in meanwhile.
            if (s.configMap.name === 'kube-root-ca.crt' && sources.fallbackCA) files.set('ca.crt', { data: Buffer.from(sources.fallbackCA), mode });
            else if (s.configMap.name === 'kube-root-ca.crt') warnings.push(`volume ${v.name}: kube-root-ca.crt not published yet; ca.crt left out`);
            else throw err;
          }
        } else if (s.secret) await projectKeys(files, v.name, 'secret', ns, s.secret, mode, sources);
        else if (s.downwardAPI) downwardFiles(files, pod, s.downwardAPI.items ?? [], mode, facts);
        else if (s.serviceAccountToken) {
          const t = s.serviceAccountToken;
          const token = await sources.token(pod, t.audience ? [t.audience] : [], t.expirationSeconds ?? DEFAULT_TOKEN_SECONDS);
          if (token === undefined) warnings.push(`volume ${v.name}: the API server issued no service account token (TokenRequest unavailable); ${t.path} left out`);
          else files.set(t.path, { data: Buffer.from(token), mode });
        }
        // clusterTrustBundle projections are not supported; they are left out.
      }
      const dir = volumeDir(root, uid, 'kubernetes.io~projected', v.name);
      await writeAtomically(dir, files);
      paths.set(v.name, dir);
    } else if (v.hostPath) {
      await checkHostPath(v.hostPath.path, v.hostPath.type, v.name);
      paths.set(v.name, v.hostPath.path);
    } else if (v.persistentVolumeClaim) {
      paths.set(v.name, await pvcPath(pod, v, sources));
    } else {
      const kind = Object.keys(v).find((k) => k !== 'name') ?? 'unknown';
      throw new VolumeError(v.name, `volume type ${kind} is not supported by nanokube (emptyDir, configMap, secret, downwardAPI, projected, hostPath and persistentVolumeClaim are)`);
    }
  }
  return { paths, warnings };
}

const READ_ONLY_KINDS = ['configMap', 'secret', 'downwardAPI', 'projected'] as const;

/** The bind mounts of one container: its volumeMounts resolved against the set-up volumes. */
export async function containerMounts(pod: Pod, container: Container, volumes: Map<string, string>, env: ReadonlyMap<string, string>): Promise<Mount[]> {
  const mounts: Mount[] = [];
  const specs = new Map((pod.spec?.volumes ?? []).map((v) => [v.name, v]));
  for (const m of container.volumeMounts ?? ([] as VolumeMount[])) {
    const base = volumes.get(m.name);
    const spec = specs.get(m.name);
    if (!base || !spec) throw new VolumeError(m.name, `volume "${m.name}" of container ${container.name} is not defined in the pod`);
    const sub = m.subPathExpr ? expandVars(m.subPathExpr, (n) => env.get(n)) : (m.subPath ?? '');
    let hostPath = base;
    if (sub) {
      const n = normalize(sub);
      if (sub.startsWith('/') || n === '..' || n.startsWith(`..${sep}`)) throw new VolumeError(m.name, `subPath "${sub}" must be a relative path inside the volume`);
      hostPath = join(base, n);
      const exists = await stat(hostPath).catch(() => undefined);
      // A missing subPath is created as a directory, as upstream does.
      if (!exists) await mkdir(hostPath, { recursive: true, mode: 0o755 });
      // Content volumes' keys are symlinks through ..data; bind the file itself (no live updates, as upstream).
      hostPath = await realpath(hostPath);
    }
    const readOnly = m.readOnly === true || READ_ONLY_KINDS.some((k) => spec[k] !== undefined) || (spec.persistentVolumeClaim?.readOnly ?? false);
    mounts.push({ hostPath, containerPath: m.mountPath, readOnly });
  }
  return mounts;
}
