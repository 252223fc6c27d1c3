// NodeRuntime on the Docker engine: wires the per-concern modules together and keeps dockerode
// behind this boundary.
import net from 'node:net';
import type { Duplex } from 'node:stream';
import Docker from 'dockerode';
import {
  RuntimeNotFoundError,
  type ContainerConfig,
  type ContainerStats,
  type ContainerStatus,
  type ExecOptions,
  type ImageInfo,
  type ListFilter,
  type LogChunk,
  type LogOptions,
  type NetworkConfig,
  type NetworkInfo,
  type NodeRuntime,
  type PullPolicy,
  type RuntimeEvent,
  type RuntimeVersion,
  type SandboxConfig,
  type StreamOptions,
  type StreamSession,
} from '../types.ts';
import { dockerHttpTarget } from './connect.ts';
import { containerCreateOptions } from './containers.ts';
import { events } from './events.ts';
import { attach, exec } from './exec.ts';
import { imageId, listImages, pullImage } from './images.ts';
import { labelFilters, toStatus } from './labels.ts';
import { containerLogs } from './logs.ts';
import { ensureNetwork, removeNetwork } from './network.ts';
import { ensurePauseImage, PAUSE_IMAGE } from './pause.ts';
import { sandboxCreateOptions, writePodFiles } from './sandbox.ts';
import { engineMessage, statusOf } from './streams.ts';

export interface DockerRuntimeOptions {
  cluster: string;
  /** Added to every object created (tests add nanokube.test=true). */
  labels?: Record<string, string>;
  env?: NodeJS.ProcessEnv;
}

/** Inspections in flight at once when listing: enough to be quick, few enough not to flood the engine. */
const INSPECT_CONCURRENCY = 16;

async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

function notFound(err: unknown, what: string): never {
  if (statusOf(err) === 404) throw new RuntimeNotFoundError(`${what} not found: ${engineMessage(err)}`);
  throw err;
}

export class DockerRuntime implements NodeRuntime {
  readonly cluster: string;
  private readonly docker: Docker;
  private readonly labels: Record<string, string>;
  private infraImage: Promise<string> | undefined;

  constructor(options: DockerRuntimeOptions) {
    this.cluster = options.cluster;
    this.labels = options.labels ?? {};
    this.docker = new Docker(dockerHttpTarget(options.env));
  }

  async version(): Promise<RuntimeVersion> {
    const v = await this.docker.version();
    return {
      runtimeName: 'docker',
      runtimeVersion: v.Version,
      apiVersion: v.ApiVersion,
      os: v.Os,
      arch: v.Arch,
      kernelVersion: v.KernelVersion,
    };
  }

  ensureInfraImage(): Promise<string> {
    this.infraImage ??= (async () => ensurePauseImage(this.docker, (await this.version()).arch, PAUSE_IMAGE))().catch((err: unknown) => {
      this.infraImage = undefined;
      throw err;
    });
    return this.infraImage;
  }

  pullImage(ref: string, policy: PullPolicy, signal?: AbortSignal): Promise<string> {
    return pullImage(this.docker, ref, policy, signal);
  }

  async imageExists(ref: string): Promise<boolean> {
    return (await imageId(this.docker, ref)) !== undefined;
  }

  listImages(): Promise<ImageInfo[]> {
    return listImages(this.docker);
  }

  ensureNetwork(config: NetworkConfig): Promise<NetworkInfo> {
    return ensureNetwork(this.docker, this.cluster, this.labels, config);
  }

  removeNetwork(): Promise<void> {
    return removeNetwork(this.docker, this.cluster);
  }

  async createSandbox(config: SandboxConfig): Promise<string> {
    const image = await this.ensureInfraImage();
    const container = await this.docker.createContainer(sandboxCreateOptions(this.cluster, this.labels, image, config));
    try {
      await container.start();
      await writePodFiles(await container.inspect(), config);
    } catch (err) {
      // Never leave a half-made sandbox behind: the kubelet retries from scratch.
      await container.remove({ force: true }).catch(() => {});
      throw err;
    }
    return container.id;
  }

  async stopSandbox(id: string): Promise<void> {
    // The pause process exits on SIGTERM at once; the grace only covers an engine hiccup.
    await this.stopContainer(id, 2);
  }

  removeSandbox(id: string): Promise<void> {
    return this.removeContainer(id);
  }

  listSandboxes(filter?: ListFilter): Promise<ContainerStatus[]> {
    return this.list('sandbox', filter);
  }

  async createContainer(sandboxId: string, config: ContainerConfig): Promise<string> {
    const container = await this.docker.createContainer(containerCreateOptions(this.cluster, this.labels, sandboxId, config));
    return container.id;
  }

  async startContainer(id: string): Promise<void> {
    try {
      await this.docker.getContainer(id).start();
    } catch (err) {
      if (statusOf(err) === 304) return; // already running
      notFound(err, `container ${id}`);
    }
  }

  async stopContainer(id: string, graceSeconds: number): Promise<void> {
    try {
      await this.docker.getContainer(id).stop({ t: Math.max(0, Math.ceil(graceSeconds)) });
    } catch (err) {
      if (statusOf(err) === 304) return; // already stopped
      notFound(err, `container ${id}`);
    }
  }

  async removeContainer(id: string): Promise<void> {
    try {
      await this.docker.getContainer(id).remove({ force: true, v: true });
    } catch (err) {
      // Gone already, or its removal already under way: both are what the caller wants.
      if (statusOf(err) === 404 || statusOf(err) === 409) return;
      throw err;
    }
  }

  listContainers(filter?: ListFilter): Promise<ContainerStatus[]> {
    return this.list('container', filter);
  }

  async containerStatus(id: string): Promise<ContainerStatus> {
    try {
      return toStatus(await this.docker.getContainer(id).inspect());
    } catch (err) {
      notFound(err, `container ${id}`);
    }
  }

  private async list(kind: 'sandbox' | 'container', filter?: ListFilter): Promise<ContainerStatus[]> {
    const found = await this.docker.listContainers({ all: true, filters: labelFilters(this.cluster, kind, filter) });
    const statuses = await mapLimit(found, INSPECT_CONCURRENCY, async (c) => {
      try {
        return toStatus(await this.docker.getContainer(c.Id).inspect());
      } catch (err) {
        if (statusOf(err) === 404) return undefined; // removed between list and inspect
        throw err;
      }
    });
    return statuses.filter((s): s is ContainerStatus => s !== undefined && (filter?.state === undefined || s.state === filter.state));
  }

  containerLogs(id: string, options: LogOptions, signal?: AbortSignal): AsyncIterable<LogChunk> {
    return containerLogs(this.docker, id, options, signal);
  }

  exec(id: string, options: ExecOptions): Promise<StreamSession> {
    return exec(this.docker, id, options);
  }

  attach(id: string, options: StreamOptions): Promise<StreamSession> {
    return attach(this.docker, id, options);
  }

  async portForward(sandboxId: string, port: number): Promise<Duplex> {
    const sandbox = await this.containerStatus(sandboxId);
    if (sandbox.kind !== 'sandbox') throw new Error(`${sandboxId} is not a sandbox`);
    if (sandbox.state !== 'running') throw new Error(`sandbox of pod ${sandbox.pod.namespace}/${sandbox.pod.name} is not running`);
    // The host routes to the bridge directly; host-network pods listen on the host itself.
    const host = sandbox.ip || '127.0.0.1';
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port });
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(socket);
      });
      socket.once('error', reject);
    });
  }

  events(signal: AbortSignal): AsyncIterable<RuntimeEvent> {
    return events(this.docker, this.cluster, signal);
  }

  async stats(id: string): Promise<ContainerStats> {
    let s: Docker.ContainerStats;
    try {
      // one-shot: no second sample for a cpu percentage, which we do not need (usage is cumulative).
      s = await this.docker.getContainer(id).stats({ stream: false, 'one-shot': true } as { stream: false });
    } catch (err) {
      notFound(err, `container ${id}`);
    }
    const mem = s.memory_stats ?? ({} as Docker.MemoryStats);
    const usage = mem.usage ?? 0;
    const stats = (mem.stats ?? {}) as Record<string, number | undefined>;
    const inactive = stats.inactive_file ?? stats.total_inactive_file ?? 0;
    return {
      timestamp: new Date(s.read),
      cpuUsageNanoSeconds: s.cpu_stats?.cpu_usage?.total_usage ?? 0,
      memoryUsageBytes: usage,
      memoryWorkingSetBytes: Math.max(0, usage - inactive),
    };
  }
}

export function createDockerRuntime(options: DockerRuntimeOptions): NodeRuntime {
  return new DockerRuntime(options);
}
