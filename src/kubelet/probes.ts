// Liveness, readiness and startup probes: one timer-driven worker per (container instance, kind)
// with upstream's thresholds and defaults. Workers only record results and tell the pod worker;
// the pod worker decides (restart on liveness/startup failure, Ready from readiness).
import type { ActionTarget, ActionResult } from './actions.ts';
import { runExec, runHttpGet, runTcp } from './actions.ts';
import type { Pod, Probe } from './k8s.ts';

export type ProbeKind = 'liveness' | 'readiness' | 'startup';

const KIND_WORD: Record<ProbeKind, string> = { liveness: 'Liveness', readiness: 'Readiness', startup: 'Startup' };

export interface ProbeEvents {
  /** A result changed: the pod needs a sync. */
  changed(podUid: string): void;
  /** A failed probe: an Unhealthy event on the pod. */
  failed(pod: Pod, containerName: string, kind: ProbeKind, output: string): void;
}

interface Worker {
  kind: ProbeKind;
  probe: Probe;
  timer: NodeJS.Timeout | undefined;
  stopped: boolean;
  successes: number;
  failures: number;
  /** undefined until the first verdict. */
  result: boolean | undefined;
}

interface ContainerProbes {
  podUid: string;
  containerName: string;
  workers: Worker[];
}

export async function runProbe(probe: Probe, target: ActionTarget): Promise<ActionResult> {
  const timeoutMs = (probe.timeoutSeconds ?? 1) * 1000;
  if (probe.exec) return runExec(target, probe.exec.command ?? [], timeoutMs);
  if (probe.httpGet) return runHttpGet(target, probe.httpGet as never, timeoutMs);
  if (probe.tcpSocket) return runTcp(target, probe.tcpSocket.port as number | string, timeoutMs);
  // gRPC health checks are not implemented: they count as success rather than killing the pod.
  return { ok: true, output: '' };
}

export class ProbeManager {
  private readonly byContainer = new Map<string, ContainerProbes>();

  constructor(private readonly events: ProbeEvents) {}

  /**
   * Starts the probes of a running container instance (idempotent per container id). `startedAt`
   * is when the container started: initialDelaySeconds counts from there.
   */
  ensure(pod: Pod, containerName: string, probes: { liveness?: Probe; readiness?: Probe; startup?: Probe }, target: ActionTarget, startedAtMs: number): void {
    const id = target.containerId;
    if (this.byContainer.has(id)) return;
    const entry: ContainerProbes = { podUid: pod.metadata?.uid ?? '', containerName, workers: [] };
    this.byContainer.set(id, entry);
    for (const kind of ['startup', 'liveness', 'readiness'] as const) {
      const probe = probes[kind];
      if (!probe) continue;
      const w: Worker = { kind, probe, timer: undefined, stopped: false, successes: 0, failures: 0, result: undefined };
      entry.workers.push(w);
      const delayMs = Math.max(0, startedAtMs + (probe.initialDelaySeconds ?? 0) * 1000 - Date.now());
      this.schedule(pod, entry, w, target, delayMs);
    }
  }

  private schedule(pod: Pod, entry: ContainerProbes, w: Worker, target: ActionTarget, delayMs: number): void {
    if (w.stopped) return;
    w.timer = setTimeout(() => void this.tick(pod, entry, w, target), delayMs);
    w.timer.unref?.();
  }

  private async tick(pod: Pod, entry: ContainerProbes, w: Worker, target: ActionTarget): Promise<void> {
    if (w.stopped) return;
    const period = (w.probe.periodSeconds ?? 10) * 1000;
    // Liveness and readiness wait for the startup probe, as upstream's do.
    const startup = entry.workers.find((x) => x.kind === 'startup');
    if (w.kind !== 'startup' && startup && startup.result !== true) return this.schedule(pod, entry, w, target, Math.min(period, 1000));
    // A startup probe that has succeeded never runs again.
    if (w.kind === 'startup' && w.result === true) return;
    const res = await runProbe(w.probe, target).catch((err: unknown) => ({ ok: false, output: (err as Error).message }));
    if (w.stopped) return;
    const before = w.result;
    if (res.ok) {
      w.failures = 0;
      w.successes++;
      // Liveness and startup need exactly one success; successThreshold is for readiness.
      const needed = w.kind === 'readiness' ? (w.probe.successThreshold ?? 1) : 1;
      if (w.successes >= needed) w.result = true;
    } else {
      w.successes = 0;
      w.failures++;
      this.events.failed(pod, entry.containerName, w.kind, res.output);
      if (w.failures >= (w.probe.failureThreshold ?? 3)) w.result = false;
    }
    if (w.result !== before) this.events.changed(entry.podUid);
    // A failed liveness/startup verdict ends this instance's probing: the container is restarted.
    if (w.result === false && w.kind !== 'readiness') return;
    this.schedule(pod, entry, w, target, period);
  }

  private result(containerId: string, kind: ProbeKind): boolean | undefined {
    return this.byContainer.get(containerId)?.workers.find((w) => w.kind === kind)?.result;
  }

  private has(containerId: string, kind: ProbeKind): boolean {
    return this.byContainer.get(containerId)?.workers.some((w) => w.kind === kind) ?? false;
  }

  /** Started: no startup probe, or it succeeded. */
  started(containerId: string): boolean {
    return !this.has(containerId, 'startup') || this.result(containerId, 'startup') === true;
  }

  /** Ready: started, and no readiness probe or it passed. */
  ready(containerId: string): boolean {
    if (!this.started(containerId)) return false;
    return !this.has(containerId, 'readiness') || this.result(containerId, 'readiness') === true;
  }

  /** The probe whose failure means the container must be restarted, if any. */
  failedKilling(containerId: string): ProbeKind | undefined {
    if (this.result(containerId, 'startup') === false) return 'startup';
    if (this.result(containerId, 'liveness') === false) return 'liveness';
    return undefined;
  }

  forget(containerId: string): void {
    const entry = this.byContainer.get(containerId);
    if (!entry) return;
    for (const w of entry.workers) {
      w.stopped = true;
      clearTimeout(w.timer);
    }
    this.byContainer.delete(containerId);
  }

  /** Stops every probe of the pod except those of the given container ids. */
  retainForPod(podUid: string, keep: ReadonlySet<string>): void {
    for (const [id, entry] of [...this.byContainer]) if (entry.podUid === podUid && !keep.has(id)) this.forget(id);
  }

  stopAll(): void {
    for (const id of [...this.byContainer.keys()]) this.forget(id);
  }
}

export function probeFailureMessage(kind: ProbeKind, output: string): string {
  return `${KIND_WORD[kind]} probe failed: ${output}`;
}

export function probeKindWord(kind: ProbeKind): string {
  return KIND_WORD[kind];
}
