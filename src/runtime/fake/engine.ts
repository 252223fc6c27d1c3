// The fake engine's shared state: images, networks, containers and their processes. Several
// FakeRuntime instances may share one engine, which is how tests simulate a kubelet restart.
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import type { ContainerConfig, ContainerState, ExitReason, NetworkInfo, RuntimeEvent, SandboxConfig } from '../types.ts';
import { runUntilStopped, type FakeProgram, type RunningProcess } from './process.ts';

export interface FakeImage {
  ref: string;
  entrypoint?: string[];
  cmd?: string[];
  sizeBytes?: number;
}

export interface StoredImage extends Required<Omit<FakeImage, 'entrypoint' | 'cmd'>> {
  id: string;
  entrypoint: string[];
  cmd: string[];
}

export interface LogRecord {
  stream: 'stdout' | 'stderr';
  data: Buffer;
  time: Date;
}

export interface FakeContainer {
  id: string;
  name: string;
  cluster: string;
  kind: 'sandbox' | 'container';
  labels: Record<string, string>;
  image: string;
  imageID: string;
  argv: string[];
  sandbox?: SandboxConfig;
  config?: ContainerConfig;
  sandboxId: string;
  state: ContainerState;
  createdAt: Date;
  startedAt?: Date;
  finishedAt?: Date;
  exitCode?: number;
  reason?: ExitReason;
  logs: LogRecord[];
  files: Map<string, string>;
  listeners: Map<number, (conn: Duplex) => void>;
  process?: RunningProcess;
}

export interface FakeEngineOptions {
  /** Images present from the start. */
  images?: FakeImage[];
  /** Images a pull can fetch (the fake registry). */
  registry?: FakeImage[];
  /** Tried in order; the first match runs. Containers with no match run until stopped. */
  programs?: FakeProgram[];
}

export function imageId(ref: string): string {
  return 'sha256:' + createHash('sha256').update(ref).digest('hex');
}

function stored(i: FakeImage): StoredImage {
  return { ref: i.ref, id: imageId(i.ref), entrypoint: i.entrypoint ?? [], cmd: i.cmd ?? [], sizeBytes: i.sizeBytes ?? 1 << 20 };
}

export class FakeEngine {
  readonly images = new Map<string, StoredImage>();
  readonly registry = new Map<string, StoredImage>();
  readonly networks = new Map<string, NetworkInfo>();
  readonly containers = new Map<string, FakeContainer>();
  /** Engine-side names in use, so creating a pod stays O(1) with thousands of containers. */
  readonly names = new Set<string>();
  readonly programs: FakeProgram[];
  /** Emits ('event', cluster, RuntimeEvent). */
  readonly bus = new EventEmitter();
  private seq = 0;

  constructor(options: FakeEngineOptions = {}) {
    for (const i of options.images ?? []) this.images.set(i.ref, stored(i));
    for (const i of options.registry ?? []) this.registry.set(i.ref, stored(i));
    this.programs = [...(options.programs ?? [])];
    this.bus.setMaxListeners(0);
  }

  addImage(image: FakeImage): void {
    this.images.set(image.ref, stored(image));
  }

  addProgram(p: FakeProgram): void {
    this.programs.push(p);
  }

  findProgram(argv: string[], image: string): FakeProgram | undefined {
    return this.programs.find((p) => p.match(argv, image));
  }

  programFor(argv: string[], image: string): FakeProgram {
    return this.findProgram(argv, image) ?? runUntilStopped;
  }

  newId(): string {
    return createHash('sha256').update(`fake-${process.pid}-${Date.now()}-${++this.seq}`).digest('hex');
  }

  emit(c: FakeContainer, type: RuntimeEvent['type'], exitCode?: number): void {
    const event: RuntimeEvent = {
      type,
      id: c.id,
      kind: c.kind,
      pod: { uid: c.labels['nanokube.pod.uid'] ?? '', namespace: c.labels['nanokube.pod.namespace'] ?? '', name: c.labels['nanokube.pod.name'] ?? '' },
      containerName: c.labels['nanokube.container.name'] ?? '',
      time: new Date(),
    };
    if (exitCode !== undefined) event.exitCode = exitCode;
    this.bus.emit('event', c.cluster, event);
  }

  /** Appends output to a container's log, as a program's stdout/stderr does; for tests too. */
  writeLog(id: string, stream: 'stdout' | 'stderr', data: string | Buffer): void {
    const c = this.containers.get(id);
    if (!c) return;
    c.logs.push({ stream, data: Buffer.from(data), time: new Date() });
    this.bus.emit(`log:${id}`);
  }

  /** Records an exit (from the process or forced by a test) and tells event listeners. */
  finish(c: FakeContainer, code: number, oom: boolean): void {
    if (c.state !== 'running') return;
    c.state = 'exited';
    c.exitCode = code;
    c.finishedAt = new Date();
    c.reason = oom ? 'OOMKilled' : code === 0 ? 'Completed' : 'Error';
    c.listeners.clear();
    c.process = undefined;
    if (oom) this.emit(c, 'oom');
    this.emit(c, 'die', code);
    this.bus.emit(`log:${c.id}`);
  }
}
