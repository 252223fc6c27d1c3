// Job controller: runs pods until `completions` succeed (NonIndexed, or Indexed with one pod per
// index), retrying failures with exponential backoff up to backoffLimit, honouring
// activeDeadlineSeconds, podFailurePolicy, suspend and ttlSecondsAfterFinished. Pods carry the
// batch.kubernetes.io/job-tracking finalizer until their outcome is recorded in status, so a pod
// deleted early is never lost from the counts.
import type { Job, JobCondition, JobStatus, PodFailurePolicyRule } from 'kubernetes-types/batch/v1.js';
import type { Informer } from '../../client/informer.ts';
import { isNotFound, type KubeObject, type ObjectMeta } from '../../client/types.ts';
import type { EventRecorder } from '../../controller/events.ts';
import type { Request } from '../../controller/runner.ts';
import { WorkloadController, type ControllerDeps } from '../replicaset/deps.ts';
import { Expectations } from '../replicaset/expectations.ts';
import { controllerRefOf, isPodReady, isPodTerminal, nsKey, ownerRefTo, podFromTemplate, refs, rfc3339, slowStartBatch, writeStatus, type PodObject } from '../replicaset/podutil.ts';

export type JobObj = KubeObject & Omit<Job, 'metadata'> & { metadata: ObjectMeta };

export const JOB_TRACKING_FINALIZER = 'batch.kubernetes.io/job-tracking';
export const COMPLETION_INDEX = 'batch.kubernetes.io/job-completion-index';

export interface JobTuning {
  /** First retry delay after a pod failure (upstream: 10 s, doubling, at most 6 min). */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
}

/** "0-2,4" ⇄ [0,1,2,4], the status.completedIndexes format. */
export function parseIndexes(s: string | undefined): Set<number> {
  const out = new Set<number>();
  for (const part of (s ?? '').split(',')) {
    if (!part) continue;
    const [a, b] = part.split('-').map(Number);
    if (a === undefined || !Number.isInteger(a)) continue;
    const end = b !== undefined && Number.isInteger(b) ? b : a;
    for (let i = a; i <= end && i - a < 1_000_000; i++) out.add(i);
  }
  return out;
}

export function formatIndexes(set: Iterable<number>): string {
  const sorted = [...new Set(set)].sort((x, y) => x - y);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    parts.push(i === j ? String(sorted[i]) : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

function indexOf(p: PodObject): number | undefined {
  const v = p.metadata.annotations?.[COMPLETION_INDEX] ?? p.metadata.labels?.[COMPLETION_INDEX];
  const n = Number(v);
  return v !== undefined && Number.isInteger(n) ? n : undefined;
}

/** The first podFailurePolicy rule matching a failed pod, with its index. */
export function matchFailureRule(rules: PodFailurePolicyRule[], pod: PodObject): { rule: PodFailurePolicyRule; index: number; container?: string; exitCode?: number } | undefined {
  for (const [index, rule] of rules.entries()) {
    if (rule.onExitCodes) {
      const { containerName, operator, values } = rule.onExitCodes;
      for (const cs of pod.status?.containerStatuses ?? []) {
        if (containerName && cs.name !== containerName) continue;
        const code = cs.state?.terminated?.exitCode;
        if (code === undefined || code === 0) continue;
        const inValues = values.includes(code);
        if ((operator === 'In' && inValues) || (operator === 'NotIn' && !inValues)) return { rule, index, container: cs.name, exitCode: code };
      }
    }
    for (const pc of rule.onPodConditions ?? []) {
      if (pod.status?.conditions?.some((c) => c.type === pc.type && c.status === (pc.status ?? 'True'))) return { rule, index };
    }
  }
  return undefined;
}

const isTrue = (s: JobStatus | undefined, type: string) => s?.conditions?.some((c) => c.type === type && c.status === 'True') ?? false;

export class JobController extends WorkloadController {
  readonly name = 'job-controller';
  readonly expectations: Expectations;
  private readonly jobs: Informer<JobObj>;
  private readonly pods: Informer<PodObject>;
  private readonly events: EventRecorder;
  private readonly tuning: Required<JobTuning>;

  constructor(deps: ControllerDeps, tuning: JobTuning = {}) {
    super(deps);
    this.tuning = { backoffBaseMs: tuning.backoffBaseMs ?? 10_000, backoffMaxMs: tuning.backoffMaxMs ?? 360_000 };
    this.expectations = new Expectations(deps.clock);
    this.events = deps.recorder('job-controller');
    this.jobs = deps.informers.informerFor<JobObj>(refs.jobs);
    this.pods = deps.informers.informerFor<PodObject>(refs.pods);
    const enqueueJob = (j: JobObj) => this.enqueue({ namespace: j.metadata.namespace, name: j.metadata.name ?? '' });
    this.jobs.addHandlers({ onAdd: enqueueJob, onUpdate: (_o, n) => enqueueJob(n), onDelete: (j) => this.expectations.forget(nsKey(j.metadata.namespace, j.metadata.name)) });
    const owner = (p: PodObject) => {
      const ref = controllerRefOf(p);
      return ref?.kind === 'Job' ? ref.name : undefined;
    };
    this.pods.addHandlers({
      onAdd: (p) => {
        const o = owner(p);
        if (!o) return;
        this.expectations.creationObserved(nsKey(p.metadata.namespace, o));
        this.enqueue({ namespace: p.metadata.namespace, name: o });
      },
      onUpdate: (_old, p) => {
        const o = owner(p);
        if (!o) return;
        if (p.metadata.deletionTimestamp) this.expectations.deletionObserved(nsKey(p.metadata.namespace, o), p.metadata.uid);
        this.enqueue({ namespace: p.metadata.namespace, name: o });
      },
      onDelete: (p) => {
        const o = owner(p);
        if (!o) return;
        this.expectations.deletionObserved(nsKey(p.metadata.namespace, o), p.metadata.uid);
        this.enqueue({ namespace: p.metadata.namespace, name: o });
      },
    });
  }

  private condition(type: string, status: 'True' | 'False', reason: string, message: string): JobCondition {
    const t = rfc3339(this.deps.clock.now());
    return { type, status, reason, message, lastProbeTime: t, lastTransitionTime: t };
  }

  async sync(req: Request): Promise<{ requeueAfterMs?: number } | void> {
    const cached = this.jobs.get(req.name, req.namespace);
    const key = nsKey(req.namespace, req.name);
    if (!cached) return;
    const job = structuredClone(cached);
    const now = this.deps.clock.now();
    const spec = job.spec!;
    const status: JobStatus = structuredClone(job.status ?? {});
    const pods = this.pods.list((p) => p.metadata.namespace === job.metadata.namespace && controllerRefOf(p)?.uid === job.metadata.uid);
    const finished = isTrue(status, 'Complete') || isTrue(status, 'Failed');

    // 1. Record terminal pods still holding our finalizer, then release them.
    const uncounted = { succeeded: [...(status.uncountedTerminatedPods?.succeeded ?? [])], failed: [...(status.uncountedTerminatedPods?.failed ?? [])] };
    const known = new Set([...uncounted.succeeded, ...uncounted.failed]);
    const completed = parseIndexes(status.completedIndexes);
    const toRelease: PodObject[] = [];
    let failJob: { reason: string; message: string } | undefined;
    for (const p of pods) {
      if (!p.metadata.finalizers?.includes(JOB_TRACKING_FINALIZER)) continue;
      const uid = p.metadata.uid ?? '';
      const phase = p.status?.phase;
      if (phase === 'Succeeded' || phase === 'Failed' || p.metadata.deletionTimestamp) {
        toRelease.push(p);
        if (known.has(uid)) continue;
        if (phase === 'Succeeded') {
          const idx = indexOf(p);
          if (spec.completionMode === 'Indexed' && idx !== undefined) {
            if (completed.has(idx)) continue; // a second success for one index counts once
            completed.add(idx);
          }
          uncounted.succeeded.push(uid);
        } else if (phase === 'Failed' || !finished) {
          const match = phase === 'Failed' ? matchFailureRule(spec.podFailurePolicy?.rules ?? [], p) : undefined;
          if (match?.rule.action === 'Ignore') continue;
          if (match?.rule.action === 'FailJob') {
            failJob ??= {
              reason: 'PodFailurePolicy',
              message: match.container ? `Container ${match.container} for pod ${p.metadata.namespace}/${p.metadata.name} failed with exit code ${match.exitCode} matching FailJob rule at index ${match.index}` : `Pod ${p.metadata.namespace}/${p.metadata.name} has condition matching FailJob rule at index ${match.index}`,
            };
          }
          uncounted.failed.push(uid);
        }
      }
    }
    if (uncounted.succeeded.length + uncounted.failed.length > known.size || (spec.completionMode === 'Indexed' && formatIndexes(completed) !== (status.completedIndexes ?? ''))) {
      status.uncountedTerminatedPods = uncounted;
      if (spec.completionMode === 'Indexed') status.completedIndexes = formatIndexes(completed);
      job.metadata = (await writeStatus(this.deps.client, refs.jobs, job, status)).metadata;
    }
    await Promise.all(toRelease.map((p) => this.releasePod(p)));
    // Everything in uncounted is now released (or gone): move it into the counters.
    const newFailures = uncounted.failed.length;
    status.succeeded = (status.succeeded ?? 0) + uncounted.succeeded.length;
    status.failed = (status.failed ?? 0) + newFailures;
    status.uncountedTerminatedPods = {};
    if (newFailures > 0) this.lastFailure.set(key, now);

    const active = pods.filter((p) => !isPodTerminal(p) && !p.metadata.deletionTimestamp);
    let requeue: number | undefined;

    if (!finished) {
      const completions = spec.completions ?? undefined;
      const succeeded = spec.completionMode === 'Indexed' ? completed.size : status.succeeded;
      const complete = completions !== undefined && completions !== null ? succeeded >= completions : status.succeeded > 0 && active.length === 0;
      const deadline = spec.activeDeadlineSeconds;
      const started = status.startTime ? Date.parse(status.startTime) : undefined;
      if (!failJob && status.failed > (spec.backoffLimit ?? 6)) failJob = { reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' };
      if (!failJob && deadline !== undefined && deadline !== null && started !== undefined && !spec.suspend && now - started >= deadline * 1000) {
        failJob = { reason: 'DeadlineExceeded', message: 'Job was active longer than specified deadline' };
      }
      if (failJob) {
        await this.deletePods(key, active);
        this.setCondition(status, this.condition('FailureTarget', 'True', failJob.reason, failJob.message));
        this.setCondition(status, this.condition('Failed', 'True', failJob.reason, failJob.message));
        this.events.event(job, 'Warning', failJob.reason, failJob.message);
        status.active = 0;
        status.ready = 0;
      } else if (complete) {
        await this.deletePods(key, active);
        const message = 'Reached expected number of succeeded pods';
        this.setCondition(status, this.condition('SuccessCriteriaMet', 'True', 'CompletionsReached', message));
        this.setCondition(status, this.condition('Complete', 'True', 'CompletionsReached', message));
        status.completionTime = rfc3339(now);
        status.active = 0;
        status.ready = 0;
        this.events.event(job, 'Normal', 'Completed', 'Job completed');
      } else if (spec.suspend) {
        await this.deletePods(key, active);
        if (!isTrue(status, 'Suspended')) {
          this.setCondition(status, this.condition('Suspended', 'True', 'JobSuspended', 'Job suspended'));
          this.events.event(job, 'Normal', 'Suspended', 'Job suspended');
        }
        status.active = 0;
        status.ready = 0;
      } else {
        if (isTrue(status, 'Suspended')) {
          this.setCondition(status, this.condition('Suspended', 'False', 'JobResumed', 'Job resumed'));
          this.events.event(job, 'Normal', 'Resumed', 'Job resumed');
          status.startTime = rfc3339(now);
        }
        status.startTime ??= rfc3339(now);
        requeue = await this.managePods(key, job, active, completed, status);
        status.active = active.length + (this.created.get(key) ?? 0);
        this.created.delete(key);
        status.ready = active.filter(isPodReady).length;
        if (deadline !== undefined && deadline !== null) {
          const left = Date.parse(status.startTime) + deadline * 1000 - now;
          requeue = Math.min(requeue ?? Infinity, Math.max(left, 0) + 10);
        }
      }
    } else {
      status.active = 0;
    }
    if (status.failed === 0) delete status.failed;
    if (status.succeeded === 0) delete status.succeeded;
    if (JSON.stringify(status) !== JSON.stringify(job.status ?? {})) {
      try {
        Object.assign(job, await writeStatus(this.deps.client, refs.jobs, job, status));
      } catch (e) {
        if (isNotFound(e)) return;
        throw e;
      }
    }
    // ttlSecondsAfterFinished: the finished Job (and, by GC, its pods) goes after the TTL.
    const ttl = spec.ttlSecondsAfterFinished;
    const done = status.conditions?.find((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');
    if (ttl !== undefined && ttl !== null && done) {
      const at = Date.parse(status.completionTime ?? done.lastTransitionTime ?? '') + ttl * 1000;
      if (at <= now) {
        await this.deps.client.delete(refs.jobs, job.metadata.name ?? '', { namespace: job.metadata.namespace, propagationPolicy: 'Background', preconditions: { uid: job.metadata.uid } }).catch((e: unknown) => {
          if (!isNotFound(e)) throw e;
        });
        return;
      }
      requeue = Math.min(requeue ?? Infinity, at - now + 10);
    }
    return requeue !== undefined && Number.isFinite(requeue) ? { requeueAfterMs: requeue } : undefined;
  }

  private readonly lastFailure = new Map<string, number>();
  private readonly created = new Map<string, number>();

  private setCondition(status: JobStatus, cond: JobCondition): void {
    const cur = status.conditions?.find((c) => c.type === cond.type);
    if (cur && cur.status === cond.status && cur.reason === cond.reason) return;
    status.conditions = [...(status.conditions ?? []).filter((c) => c.type !== cond.type), cond];
  }

  private async releasePod(p: PodObject): Promise<void> {
    const finalizers = (p.metadata.finalizers ?? []).filter((f) => f !== JOB_TRACKING_FINALIZER);
    try {
      await this.deps.client.patch(refs.pods, p.metadata.name ?? '', 'merge', { metadata: { resourceVersion: p.metadata.resourceVersion, finalizers: finalizers.length ? finalizers : null } }, { namespace: p.metadata.namespace });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }

  private async deletePods(key: string, pods: PodObject[]): Promise<void> {
    if (!pods.length) return;
    this.expectations.expectDeletions(key, pods.map((p) => p.metadata.uid ?? ''));
    await Promise.all(
      pods.map((p) =>
        this.deps.client.delete(refs.pods, p.metadata.name ?? '', { namespace: p.metadata.namespace }).catch((e: unknown) => {
          this.expectations.deletionObserved(key, p.metadata.uid);
          if (!isNotFound(e)) throw e;
        }),
      ),
    );
  }

  /** Creates the missing pods; returns when to look again if backoff holds creation back. */
  private async managePods(key: string, job: JobObj, active: PodObject[], completed: Set<number>, status: JobStatus): Promise<number | undefined> {
    if (!this.expectations.satisfied(key)) return undefined;
    const spec = job.spec!;
    const parallelism = spec.parallelism ?? 1;
    // Too many running (parallelism lowered): delete the extras.
    if (active.length > parallelism) {
      await this.deletePods(key, [...active].sort((a, b) => (b.metadata.creationTimestamp ?? '').localeCompare(a.metadata.creationTimestamp ?? '')).slice(0, active.length - parallelism));
      return undefined;
    }
    const failures = status.failed ?? 0;
    if (failures > 0) {
      const delay = Math.min(this.tuning.backoffBaseMs * 2 ** (failures - 1), this.tuning.backoffMaxMs);
      const last = this.lastFailure.get(key) ?? 0;
      const wait = last + delay - this.deps.clock.now();
      if (wait > 0) return wait + 5;
    }
    let indexes: Array<number | undefined>;
    if (spec.completionMode === 'Indexed') {
      const running = new Set(active.map(indexOf));
      const missing: number[] = [];
      for (let i = 0; i < (spec.completions ?? 0) && missing.length < parallelism - active.length; i++) if (!completed.has(i) && !running.has(i)) missing.push(i);
      indexes = missing;
    } else {
      const remaining = spec.completions !== undefined && spec.completions !== null ? spec.completions - (status.succeeded ?? 0) - active.length : (status.succeeded ?? 0) > 0 ? 0 : parallelism - active.length;
      indexes = Array.from({ length: Math.max(0, Math.min(parallelism - active.length, remaining)) }, () => undefined);
    }
    if (!indexes.length) return undefined;
    this.expectations.expectCreations(key, indexes.length);
    const queue = [...indexes];
    const res = await slowStartBatch(indexes.length, 1, async () => {
      const idx = queue.shift();
      try {
        await this.deps.client.create(refs.pods, this.podFor(job, idx));
      } catch (e) {
        this.expectations.lowerCreations(key);
        throw e;
      }
    });
    this.expectations.lowerCreations(key, indexes.length - res.attempted);
    this.created.set(key, res.succeeded);
    if (res.succeeded > 0) this.events.event(job, 'Normal', 'SuccessfulCreate', res.succeeded === 1 ? 'Created pod' : `Created ${res.succeeded} pods`);
    if (res.error !== undefined) {
      this.events.event(job, 'Warning', 'FailedCreate', `Error creating: ${(res.error as Error).message}`);
      throw res.error;
    }
    return undefined;
  }

  private podFor(job: JobObj, index: number | undefined): PodObject {
    const pod = podFromTemplate(job.spec?.template, job, ownerRefTo(job, 'batch/v1', 'Job'), { generateName: index === undefined ? `${job.metadata.name}-` : `${job.metadata.name}-${index}-` });
    pod.metadata.finalizers = [...(pod.metadata.finalizers ?? []), JOB_TRACKING_FINALIZER];
    if (index !== undefined) {
      pod.metadata.annotations = { ...(pod.metadata.annotations ?? {}), [COMPLETION_INDEX]: String(index) };
      pod.metadata.labels = { ...(pod.metadata.labels ?? {}), [COMPLETION_INDEX]: String(index) };
      const spec = pod.spec!;
      // A stable hostname per index, so pods can find each other through a headless Service.
      spec.hostname ??= `${job.metadata.name}-${index}`;
      const env = { name: 'JOB_COMPLETION_INDEX', valueFrom: { fieldRef: { fieldPath: `metadata.annotations['${COMPLETION_INDEX}']` } } };
      for (const c of [...spec.containers, ...(spec.initContainers ?? [])]) c.env = [...(c.env ?? []).filter((e) => e.name !== 'JOB_COMPLETION_INDEX'), env];
    }
    return pod;
  }
}
