// Labels and names of nanokube's Docker objects, and turning `docker inspect` into ContainerStatus.
// Labels are the kubelet's memory: after a restart it rebuilds every pod from them.
import type Docker from 'dockerode';
import type { ContainerState, ContainerStatus, ContainerType, ExitReason, ListFilter, PodRef } from '../types.ts';
import { clusterLabel } from './cleanup.ts';

export const L = {
  cluster: clusterLabel,
  kind: 'nanokube.kind',
  podUid: 'nanokube.pod.uid',
  podNamespace: 'nanokube.pod.namespace',
  podName: 'nanokube.pod.name',
  podIP: 'nanokube.pod.ip',
  sandboxId: 'nanokube.sandbox.id',
  attempt: 'nanokube.sandbox.attempt',
  containerName: 'nanokube.container.name',
  containerType: 'nanokube.container.type',
  restart: 'nanokube.container.restart',
  hash: 'nanokube.container.hash',
} as const;

export function podLabels(pod: PodRef): Record<string, string> {
  return { [L.podUid]: pod.uid, [L.podNamespace]: pod.namespace, [L.podName]: pod.name };
}

/**
 * Engine-side name, unique per (container, pod, attempt) and readable in `docker ps`:
 * k8s_<container>_<pod>_<namespace>_<uid8>_<n>, with "POD" as the container of a sandbox.
 * Docker names allow [a-zA-Z0-9_.-]; Kubernetes names already fit.
 */
export function runtimeName(container: string, pod: PodRef, n: number): string {
  return `k8s_${container}_${pod.name}_${pod.namespace}_${pod.uid.slice(0, 8)}_${n}`;
}

export function labelFilters(cluster: string, kind: 'sandbox' | 'container', filter: ListFilter = {}): string {
  const label = [`${L.cluster}=${cluster}`, `${L.kind}=${kind}`];
  if (filter.podUid !== undefined) label.push(`${L.podUid}=${filter.podUid}`);
  if (filter.namespace !== undefined) label.push(`${L.podNamespace}=${filter.namespace}`);
  if (filter.podName !== undefined) label.push(`${L.podName}=${filter.podName}`);
  if (filter.containerName !== undefined) label.push(`${L.containerName}=${filter.containerName}`);
  return JSON.stringify({ label });
}

const ZERO_TIME = '0001-01-01T00:00:00Z';

function engineState(s: Docker.ContainerInspectInfo['State']): ContainerState {
  if (s.Running || s.Paused || s.Restarting) return 'running';
  if (s.Status === 'created') return 'created';
  if (s.Status === 'exited' || s.Status === 'dead') return 'exited';
  return 'unknown';
}

function exitReason(s: Docker.ContainerInspectInfo['State']): ExitReason {
  if (s.OOMKilled) return 'OOMKilled';
  // A start failure (bad command, missing binary) leaves exit code 127/126 with an Error message.
  if (s.Error) return 'ContainerCannotRun';
  return s.ExitCode === 0 ? 'Completed' : 'Error';
}

export function toStatus(info: Docker.ContainerInspectInfo): ContainerStatus {
  const labels = info.Config.Labels ?? {};
  const state = engineState(info.State);
  const status: ContainerStatus = {
    id: info.Id,
    runtimeName: info.Name.replace(/^\//, ''),
    kind: labels[L.kind] === 'sandbox' ? 'sandbox' : 'container',
    pod: { uid: labels[L.podUid] ?? '', namespace: labels[L.podNamespace] ?? '', name: labels[L.podName] ?? '' },
    containerName: labels[L.containerName] ?? '',
    containerType: (labels[L.containerType] as ContainerType | undefined) ?? 'regular',
    restartCount: Number(labels[L.restart] ?? 0),
    attempt: Number(labels[L.attempt] ?? 0),
    specHash: labels[L.hash] ?? '',
    sandboxId: labels[L.sandboxId] ?? '',
    ip: labels[L.podIP] ?? '',
    state,
    createdAt: info.Created,
    image: info.Config.Image,
    imageID: info.Image,
    labels,
  };
  if (info.State.StartedAt && info.State.StartedAt !== ZERO_TIME) status.startedAt = info.State.StartedAt;
  if (state === 'exited') {
    status.exitCode = info.State.ExitCode;
    status.reason = exitReason(info.State);
    if (info.State.FinishedAt && info.State.FinishedAt !== ZERO_TIME) status.finishedAt = info.State.FinishedAt;
    if (info.State.Error) status.message = info.State.Error;
  }
  return status;
}
