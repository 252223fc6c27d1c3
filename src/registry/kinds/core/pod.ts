import { humanDuration } from '../../../api/duration.ts';
import { isObject, type KubeObject } from '../../../api/meta.ts';
import { fieldForbidden, type FieldError } from '../../../api/status.ts';
import { AGE_COLUMN, ageOf, arr, col, field, NAME_COLUMN, nameOf, obj, statusSubresource } from '../common.ts';
import type { ResourceDef } from '../../types.ts';
import { defaultPodSpec, qosClass, validatePodSpec } from './podspec.ts';

const podGvk = { group: '', version: 'v1', kind: 'Pod' };

interface PodRowFacts {
  ready: string;
  reason: string;
  restarts: string;
}

/** kubectl's pod STATUS/READY/RESTARTS logic (printPod), from status alone. */
export function podRowFacts(o: KubeObject, now: number): PodRowFacts {
  const spec = obj(o.spec);
  const status = obj(o.status);
  const initSpecs = arr(spec.initContainers).map(obj);
  let total = arr(spec.containers).length;
  let ready = 0;
  let restarts = 0;
  let lastRestart = 0;
  let reason = String(status.reason || status.phase || '');
  const conditions = arr(status.conditions).map(obj);
  const cond = (t: string) => conditions.find((c) => c.type === t);
  if (cond('PodScheduled')?.reason === 'SchedulingGated') reason = 'SchedulingGated';

  const noteRestart = (cs: Record<string, unknown>) => {
    restarts += typeof cs.restartCount === 'number' ? cs.restartCount : 0;
    const fin = obj(obj(cs.lastState).terminated).finishedAt;
    if (typeof fin === 'string') lastRestart = Math.max(lastRestart, Date.parse(fin));
  };

  const sidecar = (i: number) => initSpecs[i]?.restartPolicy === 'Always';
  for (let i = 0; i < initSpecs.length; i++) if (sidecar(i)) total++;

  let initializing = false;
  const initStatuses = arr(status.initContainerStatuses).map(obj);
  for (let i = 0; i < initStatuses.length; i++) {
    const cs = initStatuses[i]!;
    noteRestart(cs);
    const state = obj(cs.state);
    const term = isObject(state.terminated) ? state.terminated : undefined;
    const wait = isObject(state.waiting) ? state.waiting : undefined;
    if (term && term.exitCode === 0) continue;
    if (sidecar(i) && cs.started === true) {
      if (cs.ready === true) ready++;
      continue;
    }
    if (term) {
      if (term.reason) reason = `Init:${String(term.reason)}`;
      else if (typeof term.signal === 'number' && term.signal !== 0) reason = `Init:Signal:${term.signal}`;
      else reason = `Init:ExitCode:${String(term.exitCode ?? 0)}`;
    } else if (wait && wait.reason && wait.reason !== 'PodInitializing') {
      reason = `Init:${String(wait.reason)}`;
    } else {
      reason = `Init:${i}/${initSpecs.length}`;
    }
    initializing = true;
    break;
  }

  if (!initializing || cond('Initialized')?.status === 'True') {
    let hasRunning = false;
    const statuses = arr(status.containerStatuses).map(obj);
    for (let i = statuses.length - 1; i >= 0; i--) {
      const cs = statuses[i]!;
      noteRestart(cs);
      const state = obj(cs.state);
      const term = isObject(state.terminated) ? state.terminated : undefined;
      const wait = isObject(state.waiting) ? state.waiting : undefined;
      if (wait && wait.reason) reason = String(wait.reason);
      else if (term && term.reason) reason = String(term.reason);
      else if (term) reason = typeof term.signal === 'number' && term.signal !== 0 ? `Signal:${term.signal}` : `ExitCode:${String(term.exitCode ?? 0)}`;
      else if (cs.ready === true && isObject(state.running)) {
        hasRunning = true;
        ready++;
      }
    }
    if (reason === 'Completed' && hasRunning) reason = cond('Ready')?.status === 'True' ? 'Running' : 'NotReady';
  }
  if (o.metadata?.deletionTimestamp) reason = status.reason === 'NodeLost' ? 'Unknown' : 'Terminating';
  const restartText = lastRestart > 0 ? `${restarts} (${humanDuration(now - lastRestart)} ago)` : String(restarts);
  return { ready: `${ready}/${total}`, reason, restarts: restartText };
}

export const pods: ResourceDef = {
  group: '',
  version: 'v1',
  kind: 'Pod',
  plural: 'pods',
  singular: 'pod',
  shortNames: ['po'],
  categories: ['all'],
  namespaced: true,
  hasStatus: true,
  returnDeletedObject: true,
  subresources: [
    { name: 'attach', kind: { group: '', version: 'v1', kind: 'PodAttachOptions' }, verbs: ['create', 'get'] },
    { name: 'binding', kind: { group: '', version: 'v1', kind: 'Binding' }, verbs: ['create'] },
    { name: 'ephemeralcontainers', kind: podGvk, verbs: ['get', 'patch', 'update'] },
    { name: 'eviction', kind: { group: 'policy', version: 'v1', kind: 'Eviction' }, verbs: ['create'] },
    { name: 'exec', kind: { group: '', version: 'v1', kind: 'PodExecOptions' }, verbs: ['create', 'get'] },
    { name: 'log', kind: { group: '', version: 'v1', kind: 'Pod' }, verbs: ['get'] },
    { name: 'portforward', kind: { group: '', version: 'v1', kind: 'PodPortForwardOptions' }, verbs: ['create', 'get'] },
    { name: 'proxy', kind: { group: '', version: 'v1', kind: 'PodProxyOptions' }, verbs: ['create', 'delete', 'get', 'patch', 'update'] },
    { name: 'resize', kind: podGvk, verbs: ['get', 'patch', 'update'] },
    statusSubresource(podGvk),
  ],
  topLevelFields: ['spec', 'status'],
  defaults(o) {
    const spec = obj(o.spec);
    defaultPodSpec(spec);
    spec.serviceAccountName ??= spec.serviceAccount ?? 'default';
    spec.serviceAccount ??= spec.serviceAccountName;
    spec.priority ??= 0;
    spec.preemptionPolicy ??= 'PreemptLowerPriority';
    if (!Array.isArray(spec.tolerations)) {
      // DefaultTolerationSeconds admission: tolerate not-ready/unreachable nodes for 5 minutes.
      spec.tolerations = ['not-ready', 'unreachable'].map((t) => ({
        key: `node.kubernetes.io/${t}`,
        operator: 'Exists',
        effect: 'NoExecute',
        tolerationSeconds: 300,
      }));
    }
    o.spec = spec;
  },
  prepareForCreate(o) {
    o.status = { phase: 'Pending', qosClass: qosClass(obj(o.spec)) };
  },
  validate: (o) => validatePodSpec(o.spec, 'spec'),
  validateUpdate(o, old) {
    // Pod specs are immutable except for a few fields.
    const strip = (s: unknown) => {
      const c = structuredClone(obj(s));
      for (const k of ['activeDeadlineSeconds', 'tolerations', 'terminationGracePeriodSeconds', 'schedulingGates']) delete c[k];
      c.containers = arr(c.containers).map((x) => ({ ...obj(x), image: undefined }));
      c.initContainers = arr(c.initContainers).map((x) => ({ ...obj(x), image: undefined }));
      return JSON.stringify(c);
    };
    const errs: FieldError[] = [];
    if (strip(o.spec) !== strip(old.spec)) {
      errs.push(
        fieldForbidden(
          'spec',
          'pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)',
        ),
      );
    }
    return errs;
  },
  gracePeriod(o, requested) {
    const spec = obj(o.spec);
    // Pods that never reached a node, or finished, go at once (upstream's CheckGracefulDelete).
    if (!spec.nodeName) return 0;
    const phase = obj(o.status).phase;
    if (phase === 'Succeeded' || phase === 'Failed') return 0;
    if (requested !== undefined) return requested;
    return typeof spec.terminationGracePeriodSeconds === 'number' ? spec.terminationGracePeriodSeconds : 30;
  },
  fieldSelectors: {
    'spec.nodeName': field('spec.nodeName'),
    'spec.restartPolicy': field('spec.restartPolicy'),
    'spec.schedulerName': field('spec.schedulerName'),
    'spec.serviceAccountName': field('spec.serviceAccountName'),
    'spec.hostNetwork': (o) => String(obj(o.spec).hostNetwork === true),
    'status.phase': field('status.phase'),
    'status.podIP': field('status.podIP'),
    'status.podIPs': (o) => String(obj(arr(obj(o.status).podIPs)[0]).ip ?? ''),
    'status.nominatedNodeName': field('status.nominatedNodeName'),
  },
  table: {
    columns: [
      NAME_COLUMN,
      col('Ready', 'string', 0, 'The aggregate readiness state of this pod for accepting traffic.'),
      col('Status', 'string', 0, 'The aggregate status of the containers in this pod.'),
      col('Restarts', 'string', 0, 'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.'),
      AGE_COLUMN,
      col('IP', 'string', 1, 'IP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.'),
      col('Node', 'string', 1, 'NodeName is a request to schedule this pod onto a specific node. If it is non-empty, the scheduler simply schedules this pod onto that node, assuming that it fits resource requirements.'),
      col('Nominated Node', 'string', 1, 'nominatedNodeName is set only when this pod preempts other pods on the node, but it cannot be scheduled right away as preemption victims receive their graceful termination periods. This field does not guarantee that the pod will be scheduled on this node. Scheduler may decide to place the pod elsewhere if other nodes become available sooner. Scheduler may also decide to give the resources on this node to a higher priority pod that is created after preemption. As a result, this field may be different than PodSpec.nodeName when the pod is scheduled.'),
      col('Readiness Gates', 'string', 1, 'If specified, all readiness gates will be evaluated for pod readiness. A pod is ready when all its containers are ready AND all conditions specified in the readiness gates have status equal to "True" More info: https://git.k8s.io/enhancements/keps/sig-network/580-pod-readiness-gates'),
    ],
    cells: (o, now) => {
      const f = podRowFacts(o, now);
      const spec = obj(o.spec);
      const status = obj(o.status);
      const gates = arr(spec.readinessGates).map(obj);
      let gatesText = '<none>';
      if (gates.length > 0) {
        const conds = arr(status.conditions).map(obj);
        const trueCount = gates.filter((g) => conds.some((c) => c.type === g.conditionType && c.status === 'True')).length;
        gatesText = `${trueCount}/${gates.length}`;
      }
      return [
        nameOf(o),
        f.ready,
        f.reason,
        f.restarts,
        ageOf(o, now),
        String(status.podIP || '<none>'),
        String(spec.nodeName || '<none>'),
        String(status.nominatedNodeName || '<none>'),
        gatesText,
      ];
    },
  },
};
