// Sandboxes: the pause container that owns a pod's network (fixed IP on the cluster bridge),
// IPC and UTS namespaces, and the pod's /etc/hosts and /etc/resolv.conf.
import { writeFile } from 'node:fs/promises';
import type Docker from 'dockerode';
import { hostsFile, resolvConf } from '../podfiles.ts';
import type { SandboxConfig } from '../types.ts';
import { L, podLabels, runtimeName } from './labels.ts';
import { networkName } from './network.ts';

export function sandboxCreateOptions(cluster: string, labels: Record<string, string>, image: string, cfg: SandboxConfig): Docker.ContainerCreateOptions {
  const exposed: Record<string, object> = {};
  const bindings: Record<string, Array<{ HostIp: string; HostPort: string }>> = {};
  for (const p of cfg.portMappings ?? []) {
    const key = `${p.containerPort}/${p.protocol.toLowerCase()}`;
    exposed[key] = {};
    (bindings[key] ??= []).push({ HostIp: p.hostIP ?? '', HostPort: String(p.hostPort) });
  }
  const network = cfg.hostNetwork ? 'host' : networkName(cluster);
  return {
    name: runtimeName('POD', cfg.pod, cfg.attempt),
    Image: image,
    // Docker refuses a hostname in host network mode.
    ...(cfg.hostNetwork ? {} : { Hostname: cfg.hostname }),
    Labels: {
      ...cfg.labels,
      ...labels,
      [L.cluster]: cluster,
      [L.kind]: 'sandbox',
      ...podLabels(cfg.pod),
      [L.attempt]: String(cfg.attempt),
      [L.podIP]: cfg.hostNetwork ? '' : cfg.ip,
    },
    ExposedPorts: exposed,
    HostConfig: {
      NetworkMode: network,
      PortBindings: bindings,
      // Containers join with "container:<sandbox>"; IPC is shared explicitly.
      IpcMode: 'shareable',
      Sysctls: cfg.sysctls ?? {},
      // The pause process needs almost nothing; keep it from weighing on the scheduler of the host.
      CpuShares: 2,
    },
    NetworkingConfig: cfg.hostNetwork
      ? {}
      : { EndpointsConfig: { [network]: { IPAMConfig: { IPv4Address: cfg.ip } } } },
  };
}

/**
 * Overwrites the engine's hosts and resolv.conf of a started sandbox. On a user-defined network
 * Docker would point resolv.conf at its embedded DNS (127.0.0.11), and pods must see the cluster
 * DNS. The files live on the engine's host, which is this host (the node runs next to its engine);
 * containers joined to the sandbox share these very files.
 */
export async function writePodFiles(info: Docker.ContainerInspectInfo, cfg: SandboxConfig): Promise<void> {
  if (cfg.hostNetwork) return;
  await writeFile(info.HostsPath, hostsFile(cfg.ip, cfg.hostname, cfg.hostDomain, cfg.hostAliases));
  if (cfg.dns) await writeFile(info.ResolvConfPath, resolvConf(cfg.dns));
}
