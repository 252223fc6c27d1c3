// App containers: translating a ContainerConfig into Docker's create options, joined to the
// namespaces of the pod's sandbox.
import type Docker from 'dockerode';
import type { ContainerConfig, Resources, SecurityConfig } from '../types.ts';
import { L, podLabels, runtimeName } from './labels.ts';

const CPU_PERIOD_US = 100_000;
/** The kernel's floor for cpu.shares, and the quota floor of 1 ms per period. */
const MIN_SHARES = 2;
const MIN_QUOTA_US = 1_000;

export function resourceOptions(r: Resources = {}): Docker.HostConfig {
  const host: Docker.HostConfig = {};
  if (r.cpuRequestMillis !== undefined) host.CpuShares = Math.max(MIN_SHARES, Math.floor((r.cpuRequestMillis * 1024) / 1000));
  if (r.cpuLimitMillis !== undefined) {
    host.CpuPeriod = CPU_PERIOD_US;
    host.CpuQuota = Math.max(MIN_QUOTA_US, Math.floor((r.cpuLimitMillis * CPU_PERIOD_US) / 1000));
  }
  if (r.memoryLimitBytes !== undefined) {
    host.Memory = r.memoryLimitBytes;
    // Same value as Memory: no swap on top of the limit, so going over it is an OOM kill as on a kubelet.
    host.MemorySwap = r.memoryLimitBytes;
  }
  return host;
}

export function securityOptions(s: SecurityConfig = {}): { user?: string; host: Docker.HostConfig } {
  const host: Docker.HostConfig = {};
  if (s.privileged) host.Privileged = true;
  if (s.readOnlyRootFilesystem) host.ReadonlyRootfs = true;
  if (s.capAdd?.length) host.CapAdd = s.capAdd;
  if (s.capDrop?.length) host.CapDrop = s.capDrop;
  if (s.supplementalGroups?.length) host.GroupAdd = s.supplementalGroups.map(String);
  if (s.allowPrivilegeEscalation === false) host.SecurityOpt = ['no-new-privileges'];
  let user: string | undefined;
  if (s.runAsUser !== undefined) user = s.runAsGroup !== undefined ? `${s.runAsUser}:${s.runAsGroup}` : String(s.runAsUser);
  // A group without a user keeps the image's user; Docker has no way to say "only the group" but the
  // numeric uid 0 would be wrong, so the kubelet is expected to pass runAsUser when it has it.
  return user === undefined ? { host } : { user, host };
}

export function containerCreateOptions(
  cluster: string,
  labels: Record<string, string>,
  sandboxId: string,
  cfg: ContainerConfig,
): Docker.ContainerCreateOptions {
  const security = securityOptions(cfg.security);
  const sandbox = `container:${sandboxId}`;
  return {
    name: runtimeName(cfg.name, cfg.pod, cfg.restartCount),
    Image: cfg.image,
    ...(cfg.command ? { Entrypoint: cfg.command } : {}),
    ...(cfg.args ? { Cmd: cfg.args } : {}),
    Env: (cfg.env ?? []).map((e) => `${e.name}=${e.value}`),
    ...(cfg.workingDir ? { WorkingDir: cfg.workingDir } : {}),
    ...(security.user !== undefined ? { User: security.user } : {}),
    Tty: cfg.tty ?? false,
    OpenStdin: cfg.stdin ?? false,
    StdinOnce: cfg.stdinOnce ?? false,
    AttachStdin: cfg.stdin ?? false,
    Labels: {
      ...cfg.labels,
      ...labels,
      [L.cluster]: cluster,
      [L.kind]: 'container',
      ...podLabels(cfg.pod),
      [L.sandboxId]: sandboxId,
      [L.containerName]: cfg.name,
      [L.containerType]: cfg.type ?? 'regular',
      [L.restart]: String(cfg.restartCount),
      [L.hash]: cfg.specHash,
    },
    HostConfig: {
      NetworkMode: sandbox,
      IpcMode: sandbox,
      ...(cfg.shareProcessNamespace ? { PidMode: sandbox } : {}),
      Binds: (cfg.mounts ?? []).map((m) => `${m.hostPath}:${m.containerPath}${m.readOnly ? ':ro' : ''}`),
      ...resourceOptions(cfg.resources),
      ...security.host,
    },
  };
}
