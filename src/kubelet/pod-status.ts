// PodStatus from what the kubelet observed: container states with upstream's waiting/terminated
// reasons, the phase rules of upstream's getPhase, and the five kubelet-owned conditions with
// transition times that only move when a condition's status does.
import { qosClass } from '../registry/kinds/core/podspec.ts';
import type { ContainerStatus } from '../runtime/types.ts';
import type { Pod, PodCondition, PodContainerStatus, PodStatus, ContainerState } from './k8s.ts';

export interface Waiting {
  reason: string;
  message?: string;
}

export interface ObservedContainer {
  name: string;
  image: string;
  /** Sidecar: an init container with restartPolicy Always. */
  sidecar?: boolean;
  /** The newest instance in the runtime. */
  current?: ContainerStatus;
  /** The instance before it (lastState), if still known. */
  previous?: ContainerStatus;
  /** Set when the kubelet could not (re)start it this round: ErrImagePull, CrashLoopBackOff, ... */
  waiting?: Waiting;
  ready: boolean;
  started: boolean;
  /** Termination message read from the container's message file. */
  message?: string;
}

export interface PodObservation {
  init: ObservedContainer[];
  app: ObservedContainer[];
  /** Every regular init container exited 0 and every sidecar started. */
  initialized: boolean;
  sandboxReady: boolean;
  podIP: string;
  hostIP: string;
  startTime: string;
  /** "docker" → container ids "docker://<id>". */
  runtimeName: string;
  /** Set once the kubelet decided the pod is finished for good (deadline, or terminal phase). */
  terminal?: { phase: 'Succeeded' | 'Failed'; reason?: string; message?: string };
}

function terminatedState(c: ContainerStatus, runtimeName: string, message?: string): ContainerState {
  return {
    terminated: {
      exitCode: c.exitCode ?? 0,
      reason: c.reason ?? (c.exitCode === 0 ? 'Completed' : 'Error'),
      ...(message || c.message ? { message: message || c.message } : {}),
      ...(c.startedAt ? { startedAt: c.startedAt } : {}),
      ...(c.finishedAt ? { finishedAt: c.finishedAt } : {}),
      containerID: `${runtimeName}://${c.id}`,
    },
  };
}

export function containerStatus(o: ObservedContainer, runtimeName: string, defaultWaiting: string): PodContainerStatus {
  const cur = o.current;
  let state: ContainerState;
  let lastState: ContainerState = {};
  const last = cur && cur.state === 'exited' ? cur : o.previous;
  if (o.waiting) {
    state = { waiting: { reason: o.waiting.reason, ...(o.waiting.message ? { message: o.waiting.message } : {}) } };
    if (last?.state === 'exited') lastState = terminatedState(last, runtimeName);
  } else if (!cur || cur.state === 'created' || cur.state === 'unknown') {
    state = { waiting: { reason: defaultWaiting } };
    if (o.previous?.state === 'exited') lastState = terminatedState(o.previous, runtimeName);
  } else if (cur.state === 'running') {
    state = { running: { startedAt: cur.startedAt ?? cur.createdAt } };
    if (o.previous?.state === 'exited') lastState = terminatedState(o.previous, runtimeName);
  } else {
    state = terminatedState(cur, runtimeName, o.message);
    if (o.previous?.state === 'exited') lastState = terminatedState(o.previous, runtimeName);
  }
  const running = cur?.state === 'running' && !o.waiting;
  const s: PodContainerStatus = {
    name: o.name,
    state,
    lastState,
    ready: running && o.ready,
    restartCount: cur?.restartCount ?? o.previous?.restartCount ?? 0,
    image: o.image,
    imageID: cur?.imageID ? `${runtimeName}://${cur.imageID}` : '',
    started: running && o.started,
  };
  if (cur) s.containerID = `${runtimeName}://${cur.id}`;
  return s;
}

/** Upstream's getPhase over the app containers (init handled by the caller). */
export function podPhase(restartPolicy: string, statuses: PodContainerStatus[]): PodStatus['phase'] {
  let running = 0;
  let waiting = 0;
  let stopped = 0;
  let succeeded = 0;
  for (const s of statuses) {
    if (s.state?.running) running++;
    else if (s.state?.terminated) {
      stopped++;
      if (s.state.terminated.exitCode === 0) succeeded++;
    } else if (s.state?.waiting) {
      // A container waiting to restart has run before: it counts as stopped, not as "not started".
      if (s.lastState?.terminated) stopped++;
      else waiting++;
    }
  }
  if (waiting > 0) return 'Pending';
  if (running > 0) return 'Running';
  if (stopped > 0) {
    if (restartPolicy === 'Always') return 'Running';
    if (stopped === succeeded) return 'Succeeded';
    return restartPolicy === 'Never' ? 'Failed' : 'Running';
  }
  return 'Pending';
}

function setCondition(out: PodCondition[], prev: PodCondition[] | undefined, type: string, ok: boolean, now: string, reason?: string, message?: string): void {
  const status = ok ? 'True' : 'False';
  const old = prev?.find((c) => c.type === type);
  const c: PodCondition = {
    type,
    status,
    lastProbeTime: null as unknown as string,
    lastTransitionTime: old && old.status === status && old.lastTransitionTime ? old.lastTransitionTime : now,
  };
  if (!ok && reason) c.reason = reason;
  if (!ok && message) c.message = message;
  out.push(c);
}

const KUBELET_CONDITIONS = new Set(['PodReadyToStartContainers', 'Initialized', 'ContainersReady', 'Ready']);

export function buildPodStatus(pod: Pod, obs: PodObservation, nowIso: string): PodStatus {
  const prev = pod.status;
  const spec = pod.spec ?? { containers: [] };
  const restartPolicy = spec.restartPolicy ?? 'Always';
  const initStatuses = obs.init.map((o) => containerStatus(o, obs.runtimeName, 'PodInitializing'));
  const appStatuses = obs.app.map((o) => containerStatus(o, obs.runtimeName, obs.initialized ? 'ContainerCreating' : 'PodInitializing'));

  let phase: PodStatus['phase'];
  if (obs.terminal) phase = obs.terminal.phase;
  else if (!obs.initialized) {
    const failedInit = obs.init.some((o) => !o.sidecar && o.current?.state === 'exited' && (o.current.exitCode ?? 0) !== 0);
    phase = failedInit && restartPolicy === 'Never' ? 'Failed' : 'Pending';
  } else phase = podPhase(restartPolicy, appStatuses);

  const conditions: PodCondition[] = [];
  const prevConds = prev?.conditions;
  setCondition(conditions, prevConds, 'PodReadyToStartContainers', obs.sandboxReady, nowIso);
  const incompleteInit = obs.init.filter((o, i) => {
    const s = initStatuses[i]!;
    return o.sidecar ? !s.started : s.state?.terminated?.exitCode !== 0;
  });
  const initOk = obs.initialized || (phase === 'Succeeded' && incompleteInit.length === 0);
  setCondition(conditions, prevConds, 'Initialized', initOk, nowIso, 'ContainersNotInitialized', `containers with incomplete status: [${incompleteInit.map((o) => o.name).join(' ')}]`);
  const unready = [...obs.init.filter((o) => o.sidecar), ...obs.app].filter((o) => {
    const s = o.sidecar ? initStatuses[obs.init.indexOf(o)] : appStatuses[obs.app.indexOf(o)];
    return !s?.ready;
  });
  const terminalPhase = phase === 'Succeeded' || phase === 'Failed';
  const containersReady = unready.length === 0 && !terminalPhase;
  const unreadyMsg = `containers with unready status: [${unready.map((o) => o.name).join(' ')}]`;
  const notReadyReason = terminalPhase ? 'PodCompleted' : 'ContainersNotReady';
  // Readiness gates: every named condition must be True as well.
  const gates = (spec.readinessGates ?? []).map((g) => g.conditionType);
  const missingGates = gates.filter((g) => prevConds?.find((c) => c.type === g)?.status !== 'True');
  const ready = containersReady && missingGates.length === 0;
  const readyMsg = !containersReady ? unreadyMsg : `corresponding condition of pod readiness gate "${missingGates[0] ?? ''}" does not exist.`;
  // Upstream's order: ... Ready, ContainersReady, then conditions owned by others (PodScheduled,
  // readiness gates, DisruptionTarget), which are kept as they are.
  setCondition(conditions, prevConds, 'Ready', ready, nowIso, containersReady ? 'ReadinessGatesNotReady' : notReadyReason, terminalPhase ? undefined : readyMsg);
  setCondition(conditions, prevConds, 'ContainersReady', containersReady, nowIso, notReadyReason, terminalPhase ? undefined : unreadyMsg);
  for (const c of prevConds ?? []) if (!KUBELET_CONDITIONS.has(c.type)) conditions.push(c);

  const status: PodStatus = {
    ...(prev ?? {}),
    phase,
    conditions,
    hostIP: obs.hostIP,
    hostIPs: [{ ip: obs.hostIP }],
    startTime: obs.startTime,
    qosClass: prev?.qosClass ?? (qosClass(spec as unknown as Record<string, unknown>) as PodStatus['qosClass']),
    containerStatuses: appStatuses,
  };
  if (obs.podIP) {
    status.podIP = obs.podIP;
    status.podIPs = [{ ip: obs.podIP }];
  }
  if (initStatuses.length) status.initContainerStatuses = initStatuses;
  else delete status.initContainerStatuses;
  if (obs.terminal?.reason) status.reason = obs.terminal.reason;
  if (obs.terminal?.message) status.message = obs.terminal.message;
  return status;
}
