// The remaining core/v1 kinds: stored with discovery facts and light checks.

import { simpleKind, statusSubresource, scaleSubresource, field, obj } from '../common.ts';
import type { ResourceDef } from '../../types.ts';
import { defaultPodSpec, validatePodTemplate } from './podspec.ts';
import { isObject } from '../../../api/meta.ts';
import { fieldInvalid, fieldRequired, type FieldError } from '../../../api/status.ts';
import { persistentVolumeClaimTable, persistentVolumeTable } from '../storage-tables.ts';
import { admitPersistentVolume, admitPersistentVolumeClaim, validatePersistentVolumeClaimUpdate } from '../../../storage-controllers/admission.ts';

const core = (kind: string, plural: string, namespaced: boolean, extra: Partial<Parameters<typeof simpleKind>[0]> = {}): ResourceDef =>
  simpleKind({ group: '', version: 'v1', kind, plural, namespaced, ...extra });

export const persistentvolumes = core('PersistentVolume', 'persistentvolumes', false, { shortNames: ['pv'], status: true, extra: { generation: false, table: persistentVolumeTable, prepareForCreate: (o) => admitPersistentVolume(o, undefined) } });
export const persistentvolumeclaims = core('PersistentVolumeClaim', 'persistentvolumeclaims', true, {
  shortNames: ['pvc'],
  status: true,
  extra: {
    generation: false,
    table: persistentVolumeClaimTable,
    prepareForCreate: (o) => {
      o.status = { phase: 'Pending' };
    },
    defaults: (o) => {
      const spec = obj(o.spec);
      spec.volumeMode ??= 'Filesystem';
      o.spec = spec;
    },
    admit: admitPersistentVolumeClaim,
    validateUpdate: validatePersistentVolumeClaimUpdate,
  },
});
export const resourcequotas = core('ResourceQuota', 'resourcequotas', true, { shortNames: ['quota'], status: true, extra: { generation: false } });
export const limitranges = core('LimitRange', 'limitranges', true, { shortNames: ['limits'] });
export const podtemplates = core('PodTemplate', 'podtemplates', true, {
  extra: {
    defaults: (o) => {
      if (isObject(o.template) && isObject(o.template.spec)) defaultPodSpec(o.template.spec);
    },
    validate: (o) => validatePodTemplate(o.template, 'template'),
  },
});
export const replicationcontrollers: ResourceDef = core('ReplicationController', 'replicationcontrollers', true, {
  shortNames: ['rc'],
  categories: ['all'],
  status: true,
  extra: {
    subresources: [scaleSubresource, statusSubresource({ group: '', version: 'v1', kind: 'ReplicationController' })],
    scale: { specReplicasPath: 'spec.replicas', statusReplicasPath: 'status.replicas', labelSelectorPath: 'spec.selector' },
    defaults: (o) => {
      const spec = obj(o.spec);
      spec.replicas ??= 1;
      const tpl = obj(spec.template);
      if (!spec.selector && isObject(tpl.metadata) && isObject(tpl.metadata.labels)) spec.selector = { ...tpl.metadata.labels };
      if (isObject(tpl.spec)) defaultPodSpec(tpl.spec);
      o.spec = spec;
    },
    prepareForCreate: (o) => {
      o.status = { replicas: 0 };
    },
    validate: (o) => {
      const spec = obj(o.spec);
      const errs: FieldError[] = [];
      if (!isObject(spec.selector) || Object.keys(spec.selector).length === 0) errs.push(fieldRequired('spec.selector'));
      errs.push(...validatePodTemplate(spec.template, 'spec.template', ['Always']));
      if (typeof spec.replicas === 'number' && spec.replicas < 0) errs.push(fieldInvalid('spec.replicas', spec.replicas, 'must be greater than or equal to 0'));
      return errs;
    },
    fieldSelectors: { 'status.replicas': field('status.replicas') },
  },
});
export const componentstatuses = core('ComponentStatus', 'componentstatuses', false, { shortNames: ['cs'], verbs: ['get', 'list'] });
