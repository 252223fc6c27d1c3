// NodeRuntime in memory (kwok-style): containers "run" fake programs, nothing touches the host.
// Used by kubelet unit tests and by scheduler/controller scale benchmarks with many fake nodes.
import { on } from 'node:events';
import { PassThrough, type Duplex } from 'node:stream';
import { podFiles } from '../podfiles.ts';
import { invalidReferenceMessage, isValidReference, neverPullMessage } from '../reference.ts';
import {
  ImagePullError,
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
import { L, podLabels, runtimeName } from '../docker/labels.ts';
import { firstAddress } from '../docker/network.ts';
import { FakeEngine, type FakeContainer } from './engine.ts';
import { duplexPair, startProcess, type FakeProgram } from './process.ts';

export const FAKE_PAUSE_IMAGE = 'nanokube/pause:fake';

export interface FakeRuntimeOptions {
  cluster: string;
  engine?: FakeEngine;
  labels?: Record<string, string>;
}

function pick(c: FakeContainer, filter: ListFilter = {}): boolean {
  const l = c.labels;
  return (
    (filter.podUid === undefined || l[L.podUid] === filter.podUid) &&
    (filter.namespace === undefined || l[L.podNamespace] === filter.namespace) &&
    (filter.podName === undefined || l[L.podName] === filter.podName) &&
    (filter.containerName === undefined || l[L.containerName] === filter.containerName) &&
    (filter.state === undefined || c.state === filter.state)
  );
}

export class FakeRuntime implements NodeRuntime {
  readonly cluster: string;
  readonly engine: FakeEngine;
  private readonly labels: Record<string, string>;

  constructor(options: FakeRuntimeOptions) {
    this.cluster = options.cluster;
    this.engine = options.engine ?? new FakeEngine();
    this.labels = options.labels ?? {};
  }

  async version(): Promise<RuntimeVersion> {
    return { runtimeName: 'fake', runtimeVersion: '0.0.0', apiVersion: '1', os: 'linux', arch: 'amd64', kernelVersion: 'fake' };
  }

  async ensureInfraImage(): Promise<string> {
    if (!this.engine.images.has(FAKE_PAUSE_IMAGE)) this.engine.addImage({ ref: FAKE_PAUSE_IMAGE, entrypoint: ['/pause'], sizeBytes: 300 });
    return FAKE_PAUSE_IMAGE;
  }

  async pullImage(ref: string, policy: PullPolicy): Promise<string> {
    if (!isValidReference(ref)) throw new ImagePullError('InvalidImageName', ref, invalidReferenceMessage(ref));
    const present = this.engine.images.get(ref);
    if (present && policy !== 'Always') return present.id;
    if (policy === 'Never') throw new ImagePullError('ErrImageNeverPull', ref, neverPullMessage(ref));
    const remote = this.engine.registry.get(ref);
    if (!remote) throw new ImagePullError('ErrImagePull', ref, `Failed to pull image "${ref}": not found in the fake registry`);
    this.engine.images.set(ref, remote);
    return remote.id;
  }

  async imageExists(ref: string): Promise<boolean> {
    return this.engine.images.has(ref);
  }

  async listImages(): Promise<ImageInfo[]> {
    return [...this.engine.images.values()].map((i) => ({ id: i.id, repoTags: [i.ref], repoDigests: [], sizeBytes: i.sizeBytes }));
  }

  async ensureNetwork(config: NetworkConfig): Promise<NetworkInfo> {
    const gateway = config.gateway ?? firstAddress(config.cidr);
    const existing = this.engine.networks.get(this.cluster);
    if (existing) {
      if (existing.cidr !== config.cidr || existing.gateway !== gateway) {
        throw new Error(`network ${existing.name} exists with subnet ${existing.cidr} gateway ${existing.gateway}, not ${config.cidr} gateway ${gateway}`);
      }
      return existing;
    }
    const info: NetworkInfo = { name: `nanokube-${this.cluster}`, id: this.engine.newId(), cidr: config.cidr, gateway, bridge: 'fake0' };
    this.engine.networks.set(this.cluster, info);
    return info;
  }

  async removeNetwork(): Promise<void> {
    this.engine.networks.delete(this.cluster);
  }

  private get(id: string): FakeContainer {
    const c = this.engine.containers.get(id);
    if (!c || c.cluster !== this.cluster) throw new RuntimeNotFoundError(`container ${id} not found`);
    return c;
  }

  private image(ref: string) {
    const image = this.engine.images.get(ref);
    if (!image) throw new Error(`No such image: ${ref}`);
    return image;
  }

  async createSandbox(cfg: SandboxConfig): Promise<string> {
    const image = this.image(await this.ensureInfraImage());
    if (!cfg.hostNetwork && !this.engine.networks.has(this.cluster)) throw new Error(`network nanokube-${this.cluster} not found`);
    const name = runtimeName('POD', cfg.pod, cfg.attempt);
    if (this.engine.names.has(name)) throw new Error(`Conflict. The container name "/${name}" is already in use`);
    const c: FakeContainer = {
      id: this.engine.newId(),
      name,
      cluster: this.cluster,
      kind: 'sandbox',
      labels: { ...cfg.labels, ...this.labels, [L.cluster]: this.cluster, [L.kind]: 'sandbox', ...podLabels(cfg.pod), [L.attempt]: String(cfg.attempt), [L.podIP]: cfg.hostNetwork ? '' : cfg.ip },
      image: image.ref,
      imageID: image.id,
      argv: image.entrypoint,
      sandbox: cfg,
      sandboxId: '',
      state: 'running',
      createdAt: new Date(),
      startedAt: new Date(),
      logs: [],
      files: podFiles(cfg),
      listeners: new Map(),
    };
    this.engine.containers.set(c.id, c);
    this.engine.names.add(c.name);
    this.engine.emit(c, 'create');
    this.engine.emit(c, 'start');
    return c.id;
  }

  async stopSandbox(id: string): Promise<void> {
    this.engine.finish(this.get(id), 0, false);
  }

  async removeSandbox(id: string): Promise<void> {
    return this.removeContainer(id);
  }

  async listSandboxes(filter?: ListFilter): Promise<ContainerStatus[]> {
    return this.list('sandbox', filter);
  }

  async createContainer(sandboxId: string, cfg: ContainerConfig): Promise<string> {
    const sandbox = this.get(sandboxId);
    const image = this.image(cfg.image);
    const name = runtimeName(cfg.name, cfg.pod, cfg.restartCount);
    if (this.engine.names.has(name)) throw new Error(`Conflict. The container name "/${name}" is already in use`);
    const argv = [...(cfg.command ?? image.entrypoint), ...(cfg.args ?? (cfg.command ? [] : image.cmd))];
    const c: FakeContainer = {
      id: this.engine.newId(),
      name,
      cluster: this.cluster,
      kind: 'container',
      labels: {
        ...cfg.labels,
        ...this.labels,
        [L.cluster]: this.cluster,
        [L.kind]: 'container',
        ...podLabels(cfg.pod),
        [L.sandboxId]: sandboxId,
        [L.containerName]: cfg.name,
        [L.containerType]: cfg.type ?? 'regular',
        [L.restart]: String(cfg.restartCount),
        [L.hash]: cfg.specHash,
      },
      image: cfg.image,
      imageID: image.id,
      argv,
      config: cfg,
      sandboxId,
      state: 'created',
      createdAt: new Date(),
      logs: [],
      files: sandbox.files,
      listeners: sandbox.listeners,
    };
    this.engine.containers.set(c.id, c);
    this.engine.names.add(c.name);
    this.engine.emit(c, 'create');
    return c.id;
  }

  async startContainer(id: string): Promise<void> {
    const c = this.get(id);
    if (c.state === 'running') return;
    const sandbox = this.engine.containers.get(c.sandboxId);
    if (!sandbox || sandbox.state !== 'running') throw new Error(`cannot join network of a non running container: ${c.sandboxId}`);
    const cfg = c.config!;
    if (c.argv.length === 0) {
      c.state = 'exited';
      c.exitCode = 127;
      c.reason = 'ContainerCannotRun';
      return;
    }
    c.state = 'running';
    c.startedAt = new Date();
    c.finishedAt = undefined;
    const env = Object.fromEntries((cfg.env ?? []).map((e) => [e.name, e.value]));
    const proc = startProcess(this.engine.programFor(c.argv, c.image), c.argv, c.image, env, {
      memoryLimit: cfg.resources?.memoryLimitBytes,
      files: c.files,
      listen: (port, handler) => c.listeners.set(port, handler),
      output: (stream, data) => {
        if (c.process === proc) this.engine.writeLog(c.id, cfg.tty ? 'stdout' : stream, data);
      },
    });
    c.process = proc;
    if (!cfg.stdin) proc.stdin.end();
    this.engine.emit(c, 'start');
    void proc.exit.then(({ code, oom }) => {
      if (c.process === proc) this.engine.finish(c, code, oom);
    });
  }

  async stopContainer(id: string, graceSeconds: number): Promise<void> {
    const c = this.get(id);
    const proc = c.process;
    if (c.state !== 'running' || !proc) return;
    proc.term();
    const timer = setTimeout(() => proc.kill(), Math.max(0, graceSeconds) * 1000);
    await proc.exit;
    clearTimeout(timer);
    // The exit handler runs in a later microtask; record it now so the caller sees "exited".
    const { code, oom } = await proc.exit;
    if (c.process === proc) this.engine.finish(c, code, oom);
  }

  async removeContainer(id: string): Promise<void> {
    const c = this.engine.containers.get(id);
    if (!c || c.cluster !== this.cluster) return;
    if (c.state === 'running') {
      c.process?.kill();
      this.engine.finish(c, 137, false);
    }
    this.engine.containers.delete(id);
    this.engine.names.delete(c.name);
    this.engine.emit(c, 'destroy');
  }

  async listContainers(filter?: ListFilter): Promise<ContainerStatus[]> {
    return this.list('container', filter);
  }

  async containerStatus(id: string): Promise<ContainerStatus> {
    return this.status(this.get(id));
  }

  private list(kind: 'sandbox' | 'container', filter?: ListFilter): ContainerStatus[] {
    return [...this.engine.containers.values()].filter((c) => c.cluster === this.cluster && c.kind === kind && pick(c, filter)).map((c) => this.status(c));
  }

  private status(c: FakeContainer): ContainerStatus {
    const l = c.labels;
    const s: ContainerStatus = {
      id: c.id,
      runtimeName: c.name,
      kind: c.kind,
      pod: { uid: l[L.podUid] ?? '', namespace: l[L.podNamespace] ?? '', name: l[L.podName] ?? '' },
      containerName: l[L.containerName] ?? '',
      containerType: c.config?.type ?? 'regular',
      restartCount: Number(l[L.restart] ?? 0),
      attempt: Number(l[L.attempt] ?? 0),
      specHash: l[L.hash] ?? '',
      sandboxId: c.sandboxId,
      ip: l[L.podIP] ?? '',
      state: c.state,
      createdAt: c.createdAt.toISOString(),
      image: c.image,
      imageID: c.imageID,
      labels: { ...l },
    };
    if (c.startedAt) s.startedAt = c.startedAt.toISOString();
    if (c.state === 'exited') {
      s.exitCode = c.exitCode ?? 0;
      if (c.reason) s.reason = c.reason;
      if (c.finishedAt) s.finishedAt = c.finishedAt.toISOString();
    }
    return s;
  }

  async *containerLogs(id: string, options: LogOptions, signal?: AbortSignal): AsyncIterable<LogChunk> {
    const c = this.get(id);
    const which = options.stream ?? 'all';
    const wanted = (r: FakeContainer['logs'][number]) => (which === 'all' || r.stream === which) && (!options.since || r.time >= options.since);
    const render = (r: FakeContainer['logs'][number]): LogChunk => ({
      stream: r.stream,
      data: options.timestamps ? Buffer.concat([Buffer.from(r.time.toISOString() + ' '), r.data]) : r.data,
    });
    let next = 0;
    // As Docker does: the tail counts lines of both streams, the stream filter applies after it.
    const backlog = c.logs.filter((r) => !options.since || r.time >= options.since);
    const start = options.tail !== undefined ? Math.max(0, backlog.length - options.tail) : 0;
    for (const r of backlog.slice(start)) if (wanted(r)) yield render(r);
    next = c.logs.length;
    if (!options.follow) return;
    const wake = new EventTarget();
    const onLog = () => wake.dispatchEvent(new Event('log'));
    this.engine.bus.on(`log:${id}`, onLog);
    try {
      for (;;) {
        for (; next < c.logs.length; next++) {
          const r = c.logs[next]!;
          if (wanted(r)) yield render(r);
        }
        if (c.state === 'exited' || signal?.aborted || !this.engine.containers.has(id)) return;
        await new Promise<void>((resolve) => {
          const done = () => resolve();
          wake.addEventListener('log', done, { once: true });
          signal?.addEventListener('abort', done, { once: true });
        });
      }
    } finally {
      this.engine.bus.off(`log:${id}`, onLog);
    }
  }

  async exec(id: string, options: ExecOptions): Promise<StreamSession> {
    const c = this.get(id);
    if (c.state !== 'running') throw new Error(`container ${id} is not running`);
    const found = this.engine.findProgram(options.cmd, c.image);
    const notFound: FakeProgram = {
      name: 'missing',
      match: () => true,
      run: async (p) => {
        p.stderr(`exec: "${options.cmd[0] ?? ''}": executable file not found in $PATH\n`);
        return 126;
      },
    };
    return this.session(found ?? notFound, options.cmd, c, options);
  }

  async attach(id: string, options: StreamOptions): Promise<StreamSession> {
    const c = this.get(id);
    if (c.state !== 'running' || !c.process) throw new Error(`container ${id} is not running`);
    const proc = c.process;
    const stdout = options.stdout !== false ? new PassThrough() : null;
    const stderr = options.stderr !== false && !c.config?.tty ? new PassThrough() : null;
    let seen = c.logs.length;
    const pump = () => {
      for (; seen < c.logs.length; seen++) {
        const r = c.logs[seen]!;
        (r.stream === 'stderr' && stderr ? stderr : stdout)?.write(r.data);
      }
      if (c.state === 'exited') {
        this.engine.bus.off(`log:${id}`, pump);
        stdout?.end();
        stderr?.end();
      }
    };
    this.engine.bus.on(`log:${id}`, pump);
    let stdin: StreamSession['stdin'] = null;
    if (options.stdin) {
      const w = new PassThrough();
      w.on('data', (d: Buffer) => proc.stdin.write(d));
      // stdinOnce: the container's stdin closes with the first attached client's.
      w.on('end', () => {
        if (c.config?.stdinOnce) proc.stdin.end();
      });
      stdin = w;
    }
    return {
      stdin,
      stdout,
      stderr,
      resize: async () => {},
      exitCode: proc.exit.then((r) => r.code),
      close: () => {
        this.engine.bus.off(`log:${id}`, pump);
        stdout?.end();
        stderr?.end();
      },
    };
  }

  private session(prog: FakeProgram, argv: string[], c: FakeContainer, options: StreamOptions): StreamSession {
    const stdout = options.stdout !== false ? new PassThrough() : null;
    const stderr = options.stderr !== false && !options.tty ? new PassThrough() : null;
    const proc = startProcess(prog, argv, c.image, {}, {
      memoryLimit: c.config?.resources?.memoryLimitBytes,
      files: c.files,
      listen: (port, handler) => c.listeners.set(port, handler),
      output: (stream, data) => (stream === 'stderr' && stderr ? stderr : stdout)?.write(data),
    });
    if (!options.stdin) proc.stdin.end();
    const exitCode = proc.exit.then(({ code }) => {
      stdout?.end();
      stderr?.end();
      return code;
    });
    return {
      stdin: options.stdin ? proc.stdin : null,
      stdout,
      stderr,
      resize: async () => {},
      exitCode,
      close: () => proc.kill(),
    };
  }

  async portForward(sandboxId: string, port: number): Promise<Duplex> {
    const sandbox = this.get(sandboxId);
    if (sandbox.kind !== 'sandbox') throw new Error(`${sandboxId} is not a sandbox`);
    if (sandbox.state !== 'running') throw new Error(`sandbox of pod ${sandbox.labels[L.podName]} is not running`);
    const handler = sandbox.listeners.get(port);
    if (!handler) throw Object.assign(new Error(`connect ECONNREFUSED ${sandbox.labels[L.podIP]}:${port}`), { code: 'ECONNREFUSED' });
    const [ours, theirs] = duplexPair();
    handler(theirs);
    return ours;
  }

  async *events(signal: AbortSignal): AsyncIterable<RuntimeEvent> {
    if (signal.aborted) return;
    try {
      for await (const [cluster, event] of on(this.engine.bus, 'event', { signal })) {
        if (cluster === this.cluster) yield event as RuntimeEvent;
      }
    } catch (err) {
      if (!signal.aborted) throw err;
    }
  }

  async stats(id: string): Promise<ContainerStats> {
    const c = this.get(id);
    const used = c.process?.allocated() ?? 0;
    const ran = c.startedAt ? (c.finishedAt ?? new Date()).getTime() - c.startedAt.getTime() : 0;
    // A fake process "uses" 1% of a core while it runs: enough for metrics code to see movement.
    return { timestamp: new Date(), cpuUsageNanoSeconds: Math.round(ran * 1e4), memoryUsageBytes: used, memoryWorkingSetBytes: used };
  }
}

export function createFakeRuntime(options: FakeRuntimeOptions): FakeRuntime {
  return new FakeRuntime(options);
}
