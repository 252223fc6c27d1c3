import { humanDuration } from '../../../api/duration.ts';
import { isObject, type KubeObject } from '../../../api/meta.ts';
import { fieldInvalid, type FieldError } from '../../../api/status.ts';
import { AGE_COLUMN, ageOf, arr, col, CONTAINERS_COLUMN, containerCells, field, IMAGES_COLUMN, NAME_COLUMN, nameOf, num, obj, SELECTOR_COLUMN, statusSubresource } from '../common.ts';
import { defaultPodSpec, validatePodTemplate } from '../core/podspec.ts';
import { selectorCell, validateSelectorImmutable } from '../apps/workload.ts';
import type { ResourceDef } from '../../types.ts';

function jobStatus(o: KubeObject): string {
  if (o.metadata?.deletionTimestamp) return 'Terminating';
  const conds = arr(obj(o.status).conditions).map(obj).filter((c) => c.status === 'True');
  for (const t of ['Complete', 'Failed', 'FailureTarget', 'SuccessCriteriaMet', 'Suspended']) if (conds.some((c) => c.type === t)) return t;
  return 'Running';
}

function completions(o: KubeObject): string {
  const spec = obj(o.spec);
  const succeeded = num(obj(o.status).succeeded);
  if (typeof spec.completions === 'number') return `${succeeded}/${spec.completions}`;
  const parallelism = num(spec.parallelism);
  return parallelism > 1 ? `${succeeded}/1 of ${parallelism}` : `${succeeded}/1`;
}

function duration(o: KubeObject, now: number): string {
  const st = obj(o.status);
  if (typeof st.startTime !== 'string') return '';
  const end = typeof st.completionTime === 'string' ? Date.parse(st.completionTime) : now;
  return humanDuration(end - Date.parse(st.startTime));
}

/** The labels and selector upstream's Job strategy adds (unless manualSelector). */
function generateSelector(o: KubeObject): void {
  const spec = obj(o.spec);
  if (spec.manualSelector === true) return;
  const uid = o.metadata?.uid ?? '';
  const name = o.metadata?.name ?? '';
  const tpl = obj(spec.template);
  const meta = obj(tpl.metadata);
  meta.labels = {
    ...obj(meta.labels),
    'batch.kubernetes.io/controller-uid': uid,
    'batch.kubernetes.io/job-name': name,
    'controller-uid': uid,
    'job-name': name,
  };
  tpl.metadata = meta;
  spec.template = tpl;
  spec.selector = { matchLabels: { 'batch.kubernetes.io/controller-uid': uid } };
  o.spec = spec;
}

export const jobs: ResourceDef = {
  group: 'batch',
  version: 'v1',
  kind: 'Job',
  plural: 'jobs',
  singular: 'job',
  categories: ['all'],
  namespaced: true,
  generation: true,
  hasStatus: true,
  subresources: [statusSubresource({ group: 'batch', version: 'v1', kind: 'Job' })],
  topLevelFields: ['spec', 'status'],
  defaults(o) {
    const spec = obj(o.spec);
    spec.parallelism ??= 1;
    if (spec.completions === undefined && spec.parallelism === 1) spec.completions = 1;
    spec.backoffLimit ??= 6;
    spec.completionMode ??= 'NonIndexed';
    spec.suspend ??= false;
    spec.manualSelector ??= undefined;
    if (spec.manualSelector === undefined) delete spec.manualSelector;
    spec.podReplacementPolicy ??= 'TerminatingOrFailed';
    const tpl = obj(spec.template);
    if (isObject(tpl.spec)) defaultPodSpec(tpl.spec);
    o.spec = spec;
  },
  prepareForCreate(o) {
    o.status = {};
    // uid is set before prepareForCreate runs, so the generated selector can use it.
    generateSelector(o);
  },
  validate(o) {
    const spec = obj(o.spec);
    const errs: FieldError[] = validatePodTemplate(spec.template, 'spec.template', ['OnFailure', 'Never']);
    const rp = obj(obj(spec.template).spec).restartPolicy;
    if (rp === 'Always') errs.push({ type: 'FieldValueNotSupported', field: 'spec.template.spec.restartPolicy', value: rp, supported: ['OnFailure', 'Never'] });
    for (const f of ['parallelism', 'completions', 'backoffLimit', 'activeDeadlineSeconds']) {
      const v = spec[f];
      if (v !== undefined && v !== null && (typeof v !== 'number' || v < 0)) errs.push(fieldInvalid(`spec.${f}`, v, 'must be greater than or equal to 0'));
    }
    return errs;
  },
  validateUpdate(o, old) {
    const errs = validateSelectorImmutable(o, old);
    const a = obj(o.spec).completions;
    const b = obj(old.spec).completions;
    if (a !== b && obj(o.spec).completionMode !== 'Indexed') errs.push(fieldInvalid('spec.completions', a, 'field is immutable'));
    return errs;
  },
  fieldSelectors: { 'status.successful': field('status.succeeded') },
  table: {
    columns: [
      NAME_COLUMN,
      col('Status', 'string', 0, 'Status of the job.'),
      col('Completions', 'string', 0, 'The desired number of successfully finished pods the job should be run with.'),
      col('Duration', 'string', 0, 'Time required to complete the job.'),
      AGE_COLUMN,
      CONTAINERS_COLUMN,
      IMAGES_COLUMN,
      SELECTOR_COLUMN,
    ],
    cells: (o, now) => {
      const [c, i] = containerCells(obj(obj(o.spec).template).spec);
      return [nameOf(o), jobStatus(o), completions(o), duration(o, now), ageOf(o, now), c, i, selectorCell(o)];
    },
  },
};
