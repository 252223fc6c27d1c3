import { age } from '../../../api/duration.ts';
import { isObject } from '../../../api/meta.ts';
import { fieldInvalid, fieldRequired, type FieldError } from '../../../api/status.ts';
import { AGE_COLUMN, ageOf, arr, col, CONTAINERS_COLUMN, containerCells, IMAGES_COLUMN, NAME_COLUMN, nameOf, obj, SELECTOR_COLUMN, statusSubresource } from '../common.ts';
import { defaultPodSpec, validatePodTemplate } from '../core/podspec.ts';
import type { ResourceDef } from '../../types.ts';

const POLICIES = ['Allow', 'Forbid', 'Replace'];

export const cronjobs: ResourceDef = {
  group: 'batch',
  version: 'v1',
  kind: 'CronJob',
  plural: 'cronjobs',
  singular: 'cronjob',
  shortNames: ['cj'],
  categories: ['all'],
  namespaced: true,
  generation: true,
  hasStatus: true,
  nameRule: 'subdomain',
  subresources: [statusSubresource({ group: 'batch', version: 'v1', kind: 'CronJob' })],
  topLevelFields: ['spec', 'status'],
  defaults(o) {
    const spec = obj(o.spec);
    spec.concurrencyPolicy ??= 'Allow';
    spec.suspend ??= false;
    spec.successfulJobsHistoryLimit ??= 3;
    spec.failedJobsHistoryLimit ??= 1;
    const jobSpec = obj(obj(spec.jobTemplate).spec);
    const tpl = obj(jobSpec.template);
    if (isObject(tpl.spec)) defaultPodSpec(tpl.spec);
    o.spec = spec;
  },
  prepareForCreate(o) {
    o.status = {};
  },
  validate(o) {
    const spec = obj(o.spec);
    const errs: FieldError[] = [];
    if (typeof spec.schedule !== 'string' || spec.schedule.trim() === '') errs.push(fieldRequired('spec.schedule'));
    else if (!/^@(yearly|annually|monthly|weekly|daily|midnight|hourly|every .+)$/.test(spec.schedule) && spec.schedule.trim().split(/\s+/).length !== 5) {
      errs.push(fieldInvalid('spec.schedule', spec.schedule, `expected exactly 5 fields, found ${spec.schedule.trim().split(/\s+/).length}: ${spec.schedule}`));
    }
    if (!POLICIES.includes(String(spec.concurrencyPolicy))) errs.push({ type: 'FieldValueNotSupported', field: 'spec.concurrencyPolicy', value: spec.concurrencyPolicy, supported: POLICIES });
    if ((o.metadata?.name ?? '').length > 52) errs.push(fieldInvalid('metadata.name', o.metadata?.name, 'must be no more than 52 characters'));
    errs.push(...validatePodTemplate(obj(obj(spec.jobTemplate).spec).template, 'spec.jobTemplate.spec.template', ['OnFailure', 'Never']));
    return errs;
  },
  table: {
    columns: [
      NAME_COLUMN,
      col('Schedule', 'string', 0, 'The schedule in Cron format, see https://en.wikipedia.org/wiki/Cron.'),
      col('Timezone', 'string', 0, 'The time zone name for the given schedule, see https://en.wikipedia.org/wiki/List_of_tz_database_time_zones.'),
      col('Suspend', 'boolean', 0, 'This flag tells the controller to suspend subsequent executions, it does not apply to already started executions.  Defaults to false.'),
      col('Active', 'integer', 0, 'A list of pointers to currently running jobs.'),
      col('Last Schedule', 'string', 0, 'Information when was the last time the job was successfully scheduled.'),
      AGE_COLUMN,
      CONTAINERS_COLUMN,
      IMAGES_COLUMN,
      SELECTOR_COLUMN,
    ],
    cells: (o, now) => {
      const spec = obj(o.spec);
      const st = obj(o.status);
      const jobSpec = obj(obj(spec.jobTemplate).spec);
      const [c, i] = containerCells(obj(jobSpec.template).spec);
      const last = typeof st.lastScheduleTime === 'string' ? age(st.lastScheduleTime, now) : '<none>';
      return [nameOf(o), String(spec.schedule ?? ''), String(spec.timeZone || '<none>'), spec.suspend === true ? 'True' : 'False', arr(st.active).length, last, ageOf(o, now), c, i, '<none>'];
    },
  },
};
