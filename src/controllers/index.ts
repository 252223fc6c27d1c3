// The workload controllers (ReplicaSet/RC, Deployment, Job, CronJob, StatefulSet, DaemonSet) over
// one shared informer factory, as the `controllers` component of `nanokube server` and for tests.
import type { Client } from '../client/types.ts';
import { SharedInformers } from '../client/shared-informers.ts';
import type { Component } from '../server/components.ts';
import { defaultRecorderFactory, type ControllerDeps, type WorkloadController } from './replicaset/deps.ts';
import { systemClock, type Clock } from './replicaset/podutil.ts';
import { ReplicaSetController, ReplicationControllerController } from './replicaset/controller.ts';
import { DeploymentController } from './deployment/controller.ts';
import { JobController, type JobTuning } from './job/controller.ts';
import { CronJobController } from './cronjob/controller.ts';
import { StatefulSetController } from './statefulset/controller.ts';
import { DaemonSetController } from './daemonset/controller.ts';

export const workloadControllerFactories = {
  replicaset: (d: ControllerDeps) => new ReplicaSetController(d),
  replicationcontroller: (d: ControllerDeps) => new ReplicationControllerController(d),
  deployment: (d: ControllerDeps) => new DeploymentController(d),
  job: (d: ControllerDeps) => new JobController(d, d.tuning?.job),
  cronjob: (d: ControllerDeps) => new CronJobController(d),
  statefulset: (d: ControllerDeps) => new StatefulSetController(d),
  daemonset: (d: ControllerDeps) => new DaemonSetController(d),
} satisfies Record<string, (d: ControllerDeps) => WorkloadController>;

export type WorkloadControllerName = keyof typeof workloadControllerFactories;

export interface StartOptions {
  signal: AbortSignal;
  clock?: Clock;
  /** Start only these (default all). */
  only?: WorkloadControllerName[];
  workers?: number;
  informers?: SharedInformers;
  /** Test knobs (e.g. a short Job backoff). */
  tuning?: { job?: JobTuning };
}

export interface RunningControllers {
  informers: SharedInformers;
  controllers: Map<WorkloadControllerName, WorkloadController>;
}

/** Builds the controllers, starts their informers, waits for the caches, then runs the workers. */
export async function startWorkloadControllers(client: Client, opts: StartOptions): Promise<RunningControllers> {
  const informers = opts.informers ?? new SharedInformers(client);
  const deps: ControllerDeps = { client, informers, clock: opts.clock ?? systemClock, recorder: defaultRecorderFactory(client), ...(opts.workers ? { workers: opts.workers } : {}), ...(opts.tuning ? { tuning: opts.tuning } : {}) };
  const controllers = new Map<WorkloadControllerName, WorkloadController>();
  const names = opts.only ?? (Object.keys(workloadControllerFactories) as WorkloadControllerName[]);
  for (const name of names) controllers.set(name, workloadControllerFactories[name](deps));
  informers.start(opts.signal);
  await informers.waitForSync(opts.signal);
  for (const c of controllers.values()) void c.run(opts.signal);
  return { informers, controllers };
}

/** Entry for src/server/components.ts: `components.push(workloadControllersComponent)`. */
export const workloadControllersComponent: Component = {
  name: 'controllers',
  background: true,
  async start(ctx) {
    const client = ctx.clientFor({ username: 'system:kube-controller-manager', groups: ['system:masters', 'system:authenticated'] }, 'nanokube/workload-controllers');
    const { controllers } = await startWorkloadControllers(client, { signal: ctx.signal });
    return { detail: `${controllers.size} workload controllers` };
  },
};
