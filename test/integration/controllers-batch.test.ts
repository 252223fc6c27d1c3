// Jobs and CronJobs against the real resource API with the fake kubelet: parallelism/completions,
// Indexed jobs, backoffLimit, podFailurePolicy, activeDeadlineSeconds, suspend, finalizer
// tracking; CronJobs driven by an injectable clock, with time zones and concurrency policies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApi, type TestApi } from '../helpers/api.ts';
import { startFakeKubelet, type FakeKubelet, type PodFate } from '../helpers/fake-kubelet.ts';
import { waitFor } from '../helpers/wait.ts';
import { startWorkloadControllers, type RunningControllers } from '../../src/controllers/index.ts';
import { refs, type PodObject } from '../../src/controllers/replicaset/podutil.ts';
import { COMPLETION_INDEX, JOB_TRACKING_FINALIZER, type JobObj } from '../../src/controllers/job/controller.ts';
import type { CronJobObj } from '../../src/controllers/cronjob/controller.ts';
import { Informer } from '../../src/client/informer.ts';

interface Env {
  api: TestApi;
  kubelet: FakeKubelet;
  ac: AbortController;
  running: RunningControllers;
  clock: { t: number; now(): number };
}

async function setup(fate: (p: PodObject) => PodFate): Promise<Env> {
  const api = await startTestApi();
  const ac = new AbortController();
  const clock = { t: Date.parse('2024-03-10T11:58:30Z'), now: () => clock.t };
  const kubelet = await startFakeKubelet(api.newClient('fake-kubelet'), { nodes: ['n1'], fate });
  const running = await startWorkloadControllers(api.newClient('controllers'), { signal: ac.signal, only: ['job', 'cronjob'], tuning: { job: { backoffBaseMs: 20 } } });
  return { api, kubelet, ac, running, clock };
}

async function teardown(env: Env): Promise<void> {
  env.ac.abort();
  env.kubelet.stop();
  await env.api.close();
}

function job(name: string, spec: Record<string, unknown>, image = 'busybox'): JobObj {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, namespace: 'default' },
    spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'main', image }] } }, ...spec },
  } as JobObj;
}

const getJob = (env: Env, name: string) => env.api.client.get<JobObj>(refs.jobs, name, 'default');
const condTrue = (j: JobObj, type: string) => j.status?.conditions?.some((c) => c.type === type && c.status === 'True') ?? false;
const jobPods = async (env: Env, name: string) => (await env.api.client.list<PodObject>(refs.pods, { namespace: 'default', labelSelector: `batch.kubernetes.io/job-name=${name}` })).items;

test('parallelism 3, completions 6: never more than 3 running, completes with 6 succeeded and no finalizers left', async () => {
  const env = await setup(() => 'succeed');
  const watchAc = new AbortController();
  try {
    // Pods succeed as soon as they land: count how many are running at once.
    const observer = new Informer<PodObject>(env.api.newClient('observer'), refs.pods, { namespace: 'default' });
    let maxActive = 0;
    const observe = () => (maxActive = Math.max(maxActive, observer.list((p) => p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed' && !p.metadata.deletionTimestamp).length));
    observer.addHandlers({ onAdd: observe, onUpdate: observe });
    void observer.run(watchAc.signal);
    await observer.waitForSync();
    await env.api.client.create(refs.jobs, job('pi', { parallelism: 3, completions: 6 }));
    const done = await waitFor(async () => {
      const j = await getJob(env, 'pi');
      return condTrue(j, 'Complete') && j;
    }, { timeoutMs: 15_000, what: 'job complete' });
    assert.equal(done.status?.succeeded, 6);
    assert.equal(done.status?.failed, undefined);
    assert.ok(condTrue(done, 'SuccessCriteriaMet'), 'SuccessCriteriaMet comes with Complete (1.32)');
    assert.equal(done.status?.conditions?.find((c) => c.type === 'Complete')?.reason, 'CompletionsReached');
    assert.ok(done.status?.completionTime);
    assert.ok(done.status?.startTime);
    assert.ok(maxActive <= 3, `${maxActive} pods ran at once`);
    await waitFor(async () => (await jobPods(env, 'pi')).every((p) => !p.metadata.finalizers?.includes(JOB_TRACKING_FINALIZER)), { what: 'finalizers released' });
    assert.equal((await jobPods(env, 'pi')).length, 6);
  } finally {
    watchAc.abort();
    await teardown(env);
  }
});

test('Indexed job: one pod per index with the index annotation, label, env and hostname; completedIndexes', async () => {
  const env = await setup(() => 'succeed');
  try {
    await env.api.client.create(refs.jobs, job('idx', { parallelism: 2, completions: 4, completionMode: 'Indexed' }));
    const done = await waitFor(async () => {
      const j = await getJob(env, 'idx');
      return condTrue(j, 'Complete') && j;
    }, { timeoutMs: 15_000, what: 'indexed job complete' });
    assert.equal(done.status?.completedIndexes, '0-3');
    assert.equal(done.status?.succeeded, 4);
    const pods = await jobPods(env, 'idx');
    const indexes = pods.map((p) => p.metadata.annotations?.[COMPLETION_INDEX]).sort();
    assert.deepEqual(indexes, ['0', '1', '2', '3']);
    for (const p of pods) {
      const i = p.metadata.annotations?.[COMPLETION_INDEX];
      assert.equal(p.metadata.labels?.[COMPLETION_INDEX], i);
      assert.equal(p.spec?.hostname, `idx-${i}`);
      assert.ok(p.metadata.name?.startsWith(`idx-${i}-`));
      const env0 = p.spec?.containers[0]?.env?.find((e) => e.name === 'JOB_COMPLETION_INDEX');
      assert.equal(env0?.valueFrom?.fieldRef?.fieldPath, `metadata.annotations['${COMPLETION_INDEX}']`);
    }
  } finally {
    await teardown(env);
  }
});

test('backoffLimit: failing pods are retried, then FailureTarget and Failed with BackoffLimitExceeded', async () => {
  const env = await setup(() => 'fail');
  try {
    await env.api.client.create(refs.jobs, job('boom', { backoffLimit: 2 }));
    const j = await waitFor(async () => {
      const j = await getJob(env, 'boom');
      return condTrue(j, 'Failed') && j;
    }, { timeoutMs: 15_000, what: 'job failed' });
    assert.equal(j.status?.failed, 3, 'backoffLimit 2 allows 3 attempts');
    assert.ok(condTrue(j, 'FailureTarget'));
    const failed = j.status?.conditions?.find((c) => c.type === 'Failed');
    assert.equal(failed?.reason, 'BackoffLimitExceeded');
    assert.equal(failed?.message, 'Job has reached the specified backoff limit');
  } finally {
    await teardown(env);
  }
});

test('podFailurePolicy FailJob on an exit code fails at once; Ignore does not count', async () => {
  const env = await setup((p) => (p.metadata.labels?.['batch.kubernetes.io/job-name'] === 'pfp' ? { fail: { exitCode: 42 } } : 'succeed'));
  try {
    await env.api.client.create(refs.jobs, job('pfp', { backoffLimit: 6, podFailurePolicy: { rules: [{ action: 'FailJob', onExitCodes: { containerName: 'main', operator: 'In', values: [42] } }] } }));
    const j = await waitFor(async () => {
      const j = await getJob(env, 'pfp');
      return condTrue(j, 'Failed') && j;
    }, { timeoutMs: 15_000, what: 'job failed by policy' });
    const failed = j.status?.conditions?.find((c) => c.type === 'Failed');
    assert.equal(failed?.reason, 'PodFailurePolicy');
    assert.match(failed?.message ?? '', /^Container main for pod default\/pfp-\w+ failed with exit code 42 matching FailJob rule at index 0$/);
    assert.equal(j.status?.failed, 1);
  } finally {
    await teardown(env);
  }
});

test('suspend deletes running pods and sets Suspended; resume starts again', async () => {
  const env = await setup(() => 'ready');
  try {
    await env.api.client.create(refs.jobs, job('s', { parallelism: 2, completions: 2 }));
    await waitFor(async () => (await getJob(env, 's')).status?.active === 2, { what: '2 active' });
    await env.api.client.patch(refs.jobs, 's', 'merge', { spec: { suspend: true } }, { namespace: 'default' });
    const j = await waitFor(async () => {
      const j = await getJob(env, 's');
      return condTrue(j, 'Suspended') && (j.status?.active ?? 0) === 0 && j;
    }, { what: 'suspended' });
    assert.equal(j.status?.conditions?.find((c) => c.type === 'Suspended')?.reason, 'JobSuspended');
    await waitFor(async () => (await jobPods(env, 's')).length === 0, { what: 'pods gone' });
    await env.api.client.patch(refs.jobs, 's', 'merge', { spec: { suspend: false } }, { namespace: 'default' });
    await waitFor(async () => (await getJob(env, 's')).status?.active === 2, { what: 'active again' });
  } finally {
    await teardown(env);
  }
});

test('CronJob every minute with an injectable clock: creates named jobs, Forbid skips while running, history limits prune', async () => {
  const env = await setup(() => 'ignore');
  try {
    const cron = env.running.controllers.get('cronjob')!;
    // Replace the controllers' clock: the same deps object is shared, so patch its now().
    (cron as unknown as { deps: { clock: { now(): number } } }).deps.clock = env.clock;
    const cj: CronJobObj = {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: 'tick', namespace: 'default' },
      spec: { schedule: '* * * * *', concurrencyPolicy: 'Forbid', successfulJobsHistoryLimit: 1, jobTemplate: { spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox' }] } } } } },
    };
    const created = await env.api.client.create(refs.cronjobs, cj);
    // The schedule counts from creation: move the clock to just after the creation minute ends.
    const t0 = Math.floor(Date.parse(created.metadata.creationTimestamp ?? '') / 60_000) * 60_000;
    env.clock.t = t0 + 60_000 + 5_000;
    cron.enqueue({ namespace: 'default', name: 'tick' });
    const firstName = `tick-${Math.floor((t0 + 60_000) / 60_000)}`;
    const first = await waitFor(() => env.api.client.get<JobObj>(refs.jobs, firstName, 'default'), { what: `job ${firstName}` });
    assert.equal(first.metadata.annotations?.['batch.kubernetes.io/cronjob-scheduled-timestamp'], new Date(t0 + 60_000).toISOString().replace('.000Z', 'Z'));
    assert.equal(first.metadata.ownerReferences?.[0]?.kind, 'CronJob');
    await waitFor(async () => (await env.api.client.get<CronJobObj>(refs.cronjobs, 'tick', 'default')).status?.active?.length === 1, { what: 'status.active' });

    // Next minute, the first job still runs: Forbid starts nothing.
    env.clock.t += 60_000;
    cron.enqueue({ namespace: 'default', name: 'tick' });
    await waitFor(async () => {
      const list = await env.api.client.list(refs.events, { namespace: 'default' }).catch(() => undefined);
      return list?.items.some((e) => (e as { reason?: string }).reason === 'JobAlreadyActive');
    }, { what: 'JobAlreadyActive event' });
    assert.equal((await env.api.client.list(refs.jobs, { namespace: 'default' })).items.length, 1);

    // Finish the first job by hand: the next tick starts a new one and the history limit of 1 keeps one finished job.
    await env.api.client.patch(refs.jobs, firstName, 'merge', { status: { startTime: '2024-01-01T00:00:00Z', completionTime: '2024-01-01T00:01:00Z', succeeded: 1, conditions: [{ type: 'SuccessCriteriaMet', status: 'True', reason: 'CompletionsReached' }, { type: 'Complete', status: 'True', reason: 'CompletionsReached', lastTransitionTime: '2024-01-01T00:01:00Z' }] } }, { namespace: 'default', subresource: 'status' });
    env.clock.t += 60_000;
    cron.enqueue({ namespace: 'default', name: 'tick' });
    const cjNow = await waitFor(async () => {
      const c = await env.api.client.get<CronJobObj>(refs.cronjobs, 'tick', 'default');
      return c.status?.lastSuccessfulTime !== undefined && c.status.active?.length === 1 && c.status.active[0]?.name !== firstName ? c : undefined;
    }, { what: 'second job active, first seen complete' });
    assert.equal(cjNow.status?.lastSuccessfulTime, '2024-01-01T00:01:00Z');
    assert.equal(cjNow.status?.lastScheduleTime, new Date(Math.floor(env.clock.t / 60_000) * 60_000).toISOString().replace('.000Z', 'Z'));
  } finally {
    await teardown(env);
  }
});

test('CronJob spec.timeZone decides when a daily schedule fires', async () => {
  const env = await setup(() => 'ignore');
  try {
    const cron = env.running.controllers.get('cronjob')!;
    (cron as unknown as { deps: { clock: { now(): number } } }).deps.clock = env.clock;
    const created = await env.api.client.create(refs.cronjobs, {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: 'tz', namespace: 'default' },
      spec: { schedule: '0 9 * * *', timeZone: 'Asia/Tokyo', jobTemplate: { spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox' }] } } } } },
    } as CronJobObj);
    // 09:00 in Tokyo is 00:00 UTC: the first 00:00 UTC after creation, plus 30 s.
    const created0 = Date.parse(created.metadata.creationTimestamp ?? '');
    const midnight = Math.floor(created0 / 86_400_000) * 86_400_000 + 86_400_000;
    env.clock.t = midnight - 60_000;
    cron.enqueue({ namespace: 'default', name: 'tz' });
    await waitFor(async () => (await env.api.client.get<CronJobObj>(refs.cronjobs, 'tz', 'default')).metadata.resourceVersion !== undefined, { what: 'synced' });
    assert.equal((await env.api.client.list(refs.jobs, { namespace: 'default' })).items.length, 0, 'nothing before 09:00 Tokyo');
    env.clock.t = midnight + 30_000;
    cron.enqueue({ namespace: 'default', name: 'tz' });
    await waitFor(() => env.api.client.get(refs.jobs, `tz-${midnight / 60_000}`, 'default'), { what: 'job at 09:00 Tokyo' });
  } finally {
    await teardown(env);
  }
});
