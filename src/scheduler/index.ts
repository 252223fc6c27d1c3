// The scheduler's entry point for the server: start it on a Client, stop it with the signal.

import type { Client } from '../client/types.ts';
import { Scheduler, type SchedulerOptions } from './scheduler.ts';

export { Scheduler, type SchedulerOptions } from './scheduler.ts';
export { scheduleOne, FitError, type ScheduleResult, type ScheduleOptions } from './framework.ts';
export { ClusterState, buildState } from './cluster-state.ts';
export { preempt } from './preemption.ts';
export { defaultPlugins } from './plugins/index.ts';
export { newPodInfo, type ClusterSnapshot, type Plugin, type PodInfo, type NodeInfo } from './types.ts';

/** Resolves once the informers synced and the scheduling loop runs; stops when the signal aborts. */
export async function startScheduler(client: Client, signal: AbortSignal, opts: SchedulerOptions = {}): Promise<Scheduler> {
  const s = new Scheduler(client, opts);
  await s.start(signal);
  return s;
}
