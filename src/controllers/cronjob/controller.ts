// CronJob controller: creates a Job named <cronjob>-<minutes since epoch> at each scheduled time
// (in spec.timeZone), honouring concurrencyPolicy, startingDeadlineSeconds and suspend, keeps
// status.active/lastScheduleTime/lastSuccessfulTime, and prunes finished Jobs beyond the history
// limits. Jobs made by `kubectl create job --from=cronjob/x` are owned too and simply tracked.
import type { CronJob, CronJobStatus } from 'kubernetes-types/batch/v1.js';
import type { Informer } from '../../client/informer.ts';
import { isAlreadyExists, isNotFound, type KubeObject, type ObjectMeta } from '../../client/types.ts';
import type { EventRecorder } from '../../controller/events.ts';
import type { Request } from '../../controller/runner.ts';
import { WorkloadController, type ControllerDeps } from '../replicaset/deps.ts';
import { controllerRefOf, ownerRefTo, refs, rfc3339, writeStatus } from '../replicaset/podutil.ts';
import type { JobObj } from '../job/controller.ts';
import { CronSyntaxError, parseSchedule, type Schedule } from './schedule.ts';

export type CronJobObj = KubeObject & Omit<CronJob, 'metadata'> & { metadata: ObjectMeta };

export const SCHEDULED_TIMESTAMP = 'batch.kubernetes.io/cronjob-scheduled-timestamp';

const finishedCondition = (j: JobObj) => j.status?.conditions?.find((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');

export class CronJobController extends WorkloadController {
  readonly name = 'cronjob-controller';
  private readonly cronJobs: Informer<CronJobObj>;
  private readonly jobs: Informer<JobObj>;
  private readonly events: EventRecorder;

  constructor(deps: ControllerDeps) {
    super(deps);
    this.events = deps.recorder('cronjob-controller');
    this.cronJobs = deps.informers.informerFor<CronJobObj>(refs.cronjobs);
    this.jobs = deps.informers.informerFor<JobObj>(refs.jobs);
    const enqueueCJ = (c: CronJobObj) => this.enqueue({ namespace: c.metadata.namespace, name: c.metadata.name ?? '' });
    this.cronJobs.addHandlers({ onAdd: enqueueCJ, onUpdate: (_o, n) => enqueueCJ(n) });
    const onJob = (j: JobObj) => {
      const ref = controllerRefOf(j);
      if (ref?.kind === 'CronJob') this.enqueue({ namespace: j.metadata.namespace, name: ref.name });
    };
    this.jobs.addHandlers({ onAdd: onJob, onUpdate: (_o, n) => onJob(n), onDelete: onJob });
  }

  async sync(req: Request): Promise<{ requeueAfterMs?: number } | void> {
    const cached = this.cronJobs.get(req.name, req.namespace);
    if (!cached || cached.metadata.deletionTimestamp) return;
    const cj = structuredClone(cached);
    const now = this.deps.clock.now();
    const status: CronJobStatus = structuredClone(cj.status ?? {});
    const owned = this.jobs.list((j) => j.metadata.namespace === cj.metadata.namespace && controllerRefOf(j)?.uid === cj.metadata.uid);

    // Reconcile status.active with the owned Jobs, noting completions.
    const active: NonNullable<CronJobStatus['active']> = [];
    for (const j of owned) {
      const done = finishedCondition(j);
      if (!done) {
        active.push({ kind: 'Job', apiVersion: 'batch/v1', name: j.metadata.name, namespace: j.metadata.namespace, uid: j.metadata.uid, resourceVersion: j.metadata.resourceVersion });
        continue;
      }
      if (status.active?.some((a) => a.uid === j.metadata.uid)) this.events.event(cj, 'Normal', 'SawCompletedJob', `Saw completed job: ${j.metadata.name}, condition: ${done.type}`);
      if (done.type === 'Complete' && j.status?.completionTime) {
        if (!status.lastSuccessfulTime || Date.parse(j.status.completionTime) > Date.parse(status.lastSuccessfulTime)) status.lastSuccessfulTime = j.status.completionTime;
      }
    }
    status.active = active;
    await this.pruneHistory(cj, owned);

    let requeue: number | undefined;
    let schedule: Schedule | undefined;
    try {
      schedule = parseSchedule(cj.spec?.schedule ?? '', cj.spec?.timeZone);
    } catch (e) {
      if (!(e instanceof CronSyntaxError)) throw e;
      this.events.event(cj, 'Warning', cj.spec?.timeZone && (e.message.includes('time zone')) ? 'UnknownTimeZone' : 'InvalidSchedule', `invalid schedule: ${cj.spec?.schedule} : ${e.message}`);
    }
    if (schedule && !cj.spec?.suspend) {
      const scheduled = this.mostRecentUnmet(cj, schedule, status, now);
      if (scheduled !== undefined) await this.startJob(cj, scheduled, status, owned, now);
      const next = schedule.next(now);
      if (next !== undefined) requeue = next - now + 100;
    }
    if (!status.active.length) delete status.active;
    if (JSON.stringify(status) !== JSON.stringify(cj.status ?? {})) {
      try {
        await writeStatus(this.deps.client, refs.cronjobs, cj, status);
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
    return requeue !== undefined ? { requeueAfterMs: requeue } : undefined;
  }

  /** The latest scheduled time not yet run (and still within startingDeadlineSeconds), if any. */
  private mostRecentUnmet(cj: CronJobObj, schedule: Schedule, status: CronJobStatus, now: number): number | undefined {
    const from = Date.parse(status.lastScheduleTime ?? cj.metadata.creationTimestamp ?? '') || now;
    let earliest = from;
    const deadline = cj.spec?.startingDeadlineSeconds;
    if (deadline !== undefined && deadline !== null) earliest = Math.max(earliest, now - deadline * 1000 - 60_000);
    let latest: number | undefined;
    let missed = 0;
    // Bounded: upstream gives up counting after 100 missed times and just takes the latest.
    for (let t = schedule.next(earliest); t !== undefined && t <= now && missed < 1000; t = schedule.next(t)) {
      latest = t;
      missed++;
    }
    if (missed > 100) this.events.event(cj, 'Warning', 'TooManyMissedTimes', `too many missed start times: ${missed}. Set or decrease .spec.startingDeadlineSeconds or check clock skew`);
    if (latest === undefined) return undefined;
    if (deadline !== undefined && deadline !== null && latest + deadline * 1000 < now) {
      this.events.event(cj, 'Warning', 'MissSchedule', `Missed scheduled time to start a job: ${rfc3339(latest)}`);
      return undefined;
    }
    return latest;
  }

  private async startJob(cj: CronJobObj, scheduled: number, status: CronJobStatus, owned: JobObj[], now: number): Promise<void> {
    const policy = cj.spec?.concurrencyPolicy ?? 'Allow';
    const running = owned.filter((j) => !finishedCondition(j));
    if (policy === 'Forbid' && running.length > 0) {
      // Not started; it will be tried again at the next tick while the scheduled time is still unmet.
      this.events.event(cj, 'Normal', 'JobAlreadyActive', 'Not starting job because prior execution is running and concurrency policy is Forbid');
      return;
    }
    if (policy === 'Replace') {
      for (const j of running) {
        await this.deleteJob(cj, j);
        status.active = (status.active ?? []).filter((a) => a.uid !== j.metadata.uid);
      }
    }
    const name = `${cj.metadata.name}-${Math.floor(scheduled / 60_000)}`;
    const tpl = structuredClone(cj.spec?.jobTemplate ?? {});
    const job: JobObj = {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: {
        name,
        namespace: cj.metadata.namespace,
        labels: { ...(tpl.metadata?.labels ?? {}) },
        annotations: { ...(tpl.metadata?.annotations ?? {}), [SCHEDULED_TIMESTAMP]: rfc3339(scheduled) },
        ownerReferences: [ownerRefTo(cj, 'batch/v1', 'CronJob')],
      },
      spec: tpl.spec ?? { template: { spec: { containers: [] } } },
    };
    let created: JobObj;
    try {
      created = await this.deps.client.create(refs.jobs, job);
      this.events.event(cj, 'Normal', 'SuccessfulCreate', `Created job ${name}`);
    } catch (e) {
      if (!isAlreadyExists(e)) {
        this.events.event(cj, 'Warning', 'FailedCreate', `Error creating job: ${(e as Error).message}`);
        throw e;
      }
      // Made by an earlier pass whose status write was lost: adopt the outcome, do not retry.
      created = await this.deps.client.get<JobObj>(refs.jobs, name, cj.metadata.namespace);
    }
    if (!status.active?.some((a) => a.uid === created.metadata.uid) && !finishedCondition(created)) {
      status.active = [...(status.active ?? []), { kind: 'Job', apiVersion: 'batch/v1', name, namespace: cj.metadata.namespace, uid: created.metadata.uid, resourceVersion: created.metadata.resourceVersion }];
    }
    status.lastScheduleTime = rfc3339(scheduled);
    void now;
  }

  private async deleteJob(cj: CronJobObj, j: JobObj): Promise<void> {
    try {
      await this.deps.client.delete(refs.jobs, j.metadata.name ?? '', { namespace: j.metadata.namespace, propagationPolicy: 'Background' });
      this.events.event(cj, 'Normal', 'SuccessfulDelete', `Deleted job ${j.metadata.name}`);
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }

  private async pruneHistory(cj: CronJobObj, owned: JobObj[]): Promise<void> {
    const byFinish = (a: JobObj, b: JobObj) => (Date.parse(finishedCondition(a)?.lastTransitionTime ?? '') || 0) - (Date.parse(finishedCondition(b)?.lastTransitionTime ?? '') || 0) || (a.metadata.name ?? '').localeCompare(b.metadata.name ?? '');
    const limits: Array<['Complete' | 'Failed', number | undefined]> = [
      ['Complete', cj.spec?.successfulJobsHistoryLimit ?? 3],
      ['Failed', cj.spec?.failedJobsHistoryLimit ?? 1],
    ];
    for (const [type, limit] of limits) {
      if (limit === undefined || limit === null) continue;
      const finished = owned.filter((j) => finishedCondition(j)?.type === type && !j.metadata.deletionTimestamp).sort(byFinish);
      for (const j of finished.slice(0, Math.max(0, finished.length - limit))) await this.deleteJob(cj, j);
    }
  }
}
