// NodeRuntime: everything the kubelet asks of a container engine, in our own types. The Docker
// implementation (runtime/docker) and the in-memory fake (runtime/fake) both satisfy it and pass
// the same contract suite (test/contract/runtime.test.ts).
import type { Duplex, Readable, Writable } from 'node:stream';

export type PullPolicy = 'Always' | 'IfNotPresent' | 'Never';

/** Why an image could not be made available; the kubelet maps it to the container's waiting reason. */
export type ImagePullReason = 'ErrImagePull' | 'ErrImageNeverPull' | 'InvalidImageName';

export class ImagePullError extends Error {
  override name = 'ImagePullError';
  constructor(
    readonly reason: ImagePullReason,
    readonly image: string,
    message: string,
  ) {
    super(message);
  }
}

/** The object asked for does not exist (any more). */
export class RuntimeNotFoundError extends Error {
  override name = 'RuntimeNotFoundError';
}

export interface ImageInfo {
  /** Content id, e.g. "sha256:…". */
  id: string;
  repoTags: string[];
  repoDigests: string[];
  sizeBytes: number;
}

export interface NetworkConfig {
  /** The node's pod CIDR, e.g. "10.42.0.0/24". */
  cidr: string;
  /** Defaults to the first address of the CIDR. */
  gateway?: string;
}

export interface NetworkInfo {
  name: string;
  id: string;
  cidr: string;
  gateway: string;
  /** Host interface of the bridge, e.g. "br-0123456789ab" (for iptables and hairpin set-up). */
  bridge: string;
}

export interface PodRef {
  uid: string;
  namespace: string;
  name: string;
}

export interface DnsConfig {
  nameservers: string[];
  searches: string[];
  /** resolv.conf options, e.g. ["ndots:5"]. */
  options: string[];
}

export interface HostAlias {
  ip: string;
  hostnames: string[];
}

export interface PortMapping {
  containerPort: number;
  hostPort: number;
  protocol: 'TCP' | 'UDP' | 'SCTP';
  hostIP?: string;
}

export interface SandboxConfig {
  pod: PodRef;
  /** Sandbox attempt: bumped each time the kubelet recreates the sandbox of the same pod. */
  attempt: number;
  /** Fixed pod IP inside the network's CIDR, chosen by the kubelet. Ignored with hostNetwork. */
  ip: string;
  hostname: string;
  /** With a subdomain: "<subdomain>.<ns>.svc.<domain>", giving "<ip> <hostname>.<domain> <hostname>" in /etc/hosts. */
  hostDomain?: string;
  /** Written verbatim to /etc/resolv.conf; without it the engine's default applies. */
  dns?: DnsConfig;
  hostAliases?: HostAlias[];
  portMappings?: PortMapping[];
  hostNetwork?: boolean;
  /** Namespaced sysctls for the pod (net.*, kernel.shm*). */
  sysctls?: Record<string, string>;
  /** Extra labels to keep with the sandbox (e.g. pod annotations the kubelet wants back). */
  labels?: Record<string, string>;
}

export interface EnvVar {
  name: string;
  value: string;
}

export interface Mount {
  hostPath: string;
  containerPath: string;
  readOnly?: boolean;
}

export interface Resources {
  /** cpu request in millicores → relative cpu shares. */
  cpuRequestMillis?: number;
  /** cpu limit in millicores → CFS quota per 100 ms period. */
  cpuLimitMillis?: number;
  memoryLimitBytes?: number;
}

export interface SecurityConfig {
  runAsUser?: number;
  runAsGroup?: number;
  supplementalGroups?: number[];
  privileged?: boolean;
  readOnlyRootFilesystem?: boolean;
  allowPrivilegeEscalation?: boolean;
  /** Capability names without the CAP_ prefix, e.g. "NET_ADMIN"; "ALL" allowed. */
  capAdd?: string[];
  capDrop?: string[];
}

export type ContainerType = 'init' | 'regular' | 'ephemeral';

export interface ContainerConfig {
  pod: PodRef;
  name: string;
  image: string;
  type?: ContainerType;
  /** Replaces the image entrypoint (and drops the image's cmd), as pod `command` does. */
  command?: string[];
  /** Replaces the image cmd, as pod `args` does. */
  args?: string[];
  env?: EnvVar[];
  workingDir?: string;
  mounts?: Mount[];
  resources?: Resources;
  security?: SecurityConfig;
  tty?: boolean;
  stdin?: boolean;
  stdinOnce?: boolean;
  restartCount: number;
  /** Hash of the container spec, kept as a label so the kubelet can notice spec changes. */
  specHash: string;
  /** Join the sandbox's PID namespace (pod.spec.shareProcessNamespace). */
  shareProcessNamespace?: boolean;
  labels?: Record<string, string>;
}

export type ContainerState = 'created' | 'running' | 'exited' | 'unknown';
export type ExitReason = 'Completed' | 'Error' | 'OOMKilled' | 'ContainerCannotRun';

export interface ContainerStatus {
  id: string;
  /** Engine-side name, e.g. "k8s_web_nginx-1_default_0123abcd_0". */
  runtimeName: string;
  kind: 'sandbox' | 'container';
  pod: PodRef;
  /** Container name in the pod spec; "" for sandboxes. */
  containerName: string;
  containerType: ContainerType;
  restartCount: number;
  /** Sandbox attempt (sandboxes) */
  attempt: number;
  specHash: string;
  /** Sandbox id the container belongs to ("" for sandboxes). */
  sandboxId: string;
  /** Pod IP (sandboxes; "" otherwise). */
  ip: string;
  state: ContainerState;
  createdAt: string;
  /** RFC 3339; undefined while never started. */
  startedAt?: string;
  finishedAt?: string;
  exitCode?: number;
  reason?: ExitReason;
  message?: string;
  image: string;
  imageID: string;
  labels: Record<string, string>;
}

/** Label filter for listings; every given field must match. */
export interface ListFilter {
  podUid?: string;
  namespace?: string;
  podName?: string;
  containerName?: string;
  state?: ContainerState;
}

export type LogStream = 'stdout' | 'stderr';

export interface LogOptions {
  follow?: boolean;
  /** Only lines at or after this time. */
  since?: Date;
  /** Only the last N lines. */
  tail?: number;
  /** Prefix each line with its RFC 3339 time and a space (as `kubectl logs --timestamps` shows). */
  timestamps?: boolean;
  stream?: LogStream | 'all';
}

export interface LogChunk {
  stream: LogStream;
  data: Buffer;
}

export interface StreamOptions {
  stdin?: boolean;
  stdout?: boolean;
  stderr?: boolean;
  tty?: boolean;
}

export interface ExecOptions extends StreamOptions {
  cmd: string[];
}

/** An exec or attach session. With tty, everything arrives on stdout and stderr is null. */
export interface StreamSession {
  stdin: Writable | null;
  stdout: Readable | null;
  stderr: Readable | null;
  resize(width: number, height: number): Promise<void>;
  /** Exit code of the exec'd process (exec) or of the container once the stream ends (attach). */
  exitCode: Promise<number>;
  /** Tears the session down early; exitCode then still settles. */
  close(): void;
}

export type RuntimeEventType = 'create' | 'start' | 'die' | 'oom' | 'destroy';

export interface RuntimeEvent {
  type: RuntimeEventType;
  id: string;
  kind: 'sandbox' | 'container';
  pod: PodRef;
  containerName: string;
  /** For "die". */
  exitCode?: number;
  time: Date;
}

export interface ContainerStats {
  timestamp: Date;
  /** Cumulative cpu time used, in nanoseconds. */
  cpuUsageNanoSeconds: number;
  memoryUsageBytes: number;
  /** Usage minus inactive file cache: what the kubelet and metrics-server report. */
  memoryWorkingSetBytes: number;
}

export interface RuntimeVersion {
  runtimeName: string;
  runtimeVersion: string;
  apiVersion: string;
  os: string;
  arch: string;
  kernelVersion: string;
}

export interface NodeRuntime {
  readonly cluster: string;
  version(): Promise<RuntimeVersion>;

  /** Makes sure the sandbox image exists (building it locally when missing) and returns its reference. */
  ensureInfraImage(): Promise<string>;
  /** Returns the image id once `ref` is present according to policy; throws ImagePullError otherwise. */
  pullImage(ref: string, policy: PullPolicy, signal?: AbortSignal): Promise<string>;
  imageExists(ref: string): Promise<boolean>;
  listImages(): Promise<ImageInfo[]>;

  /** Creates the cluster's pod network, or checks that the existing one has the same CIDR. */
  ensureNetwork(config: NetworkConfig): Promise<NetworkInfo>;
  /** Removes the pod network; the caller removes its sandboxes first. */
  removeNetwork(): Promise<void>;

  /** Creates and starts a sandbox; returns its id. Needs ensureNetwork and ensureInfraImage first. */
  createSandbox(config: SandboxConfig): Promise<string>;
  /** Stops (grace 0 by default: nothing runs in it but the pause process) and removes a sandbox. */
  removeSandbox(id: string): Promise<void>;
  stopSandbox(id: string): Promise<void>;
  listSandboxes(filter?: ListFilter): Promise<ContainerStatus[]>;

  /** Creates (does not start) a container in the sandbox's namespaces; returns its id. */
  createContainer(sandboxId: string, config: ContainerConfig): Promise<string>;
  startContainer(id: string): Promise<void>;
  /** SIGTERM, then SIGKILL after graceSeconds; returns once the container has exited. */
  stopContainer(id: string, graceSeconds: number): Promise<void>;
  removeContainer(id: string): Promise<void>;
  listContainers(filter?: ListFilter): Promise<ContainerStatus[]>;
  containerStatus(id: string): Promise<ContainerStatus>;

  containerLogs(id: string, options: LogOptions, signal?: AbortSignal): AsyncIterable<LogChunk>;
  exec(id: string, options: ExecOptions): Promise<StreamSession>;
  attach(id: string, options: StreamOptions): Promise<StreamSession>;
  /** A connected byte stream to podIP:port of the sandbox (a net.Socket for Docker). */
  portForward(sandboxId: string, port: number): Promise<Duplex>;

  /** Container events of this cluster until the signal aborts. */
  events(signal: AbortSignal): AsyncIterable<RuntimeEvent>;
  stats(id: string): Promise<ContainerStats>;
}
