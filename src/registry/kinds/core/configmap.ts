import { ageOf, AGE_COLUMN, col, countKeys, NAME_COLUMN, nameOf } from '../common.ts';
import { fieldInvalid, type FieldError } from '../../../api/status.ts';
import { isObject } from '../../../api/meta.ts';
import type { ResourceDef } from '../../types.ts';

const configKeyRe = /^[-._a-zA-Z0-9]+$/;

/** ConfigMap/Secret data keys: upstream's IsConfigMapKey. */
export function validateDataKeys(data: unknown, path: string): FieldError[] {
  if (data === undefined || data === null) return [];
  if (!isObject(data)) return [fieldInvalid(path, data, 'must be a map')];
  const errs: FieldError[] = [];
  for (const k of Object.keys(data)) {
    if (k.length > 253) errs.push(fieldInvalid(path, k, 'must be no more than 253 characters'));
    if (!configKeyRe.test(k)) {
      errs.push(
        fieldInvalid(path, k, "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"),
      );
    }
    if (k === '.' || k === '..') errs.push(fieldInvalid(path, k, `must not be '${k}'`));
  }
  return errs;
}

export const configmaps: ResourceDef = {
  group: '',
  version: 'v1',
  kind: 'ConfigMap',
  plural: 'configmaps',
  singular: 'configmap',
  shortNames: ['cm'],
  namespaced: true,
  topLevelFields: ['data', 'binaryData', 'immutable'],
  validate(o) {
    const errs = [...validateDataKeys(o.data, 'data'), ...validateDataKeys(o.binaryData, 'binaryData')];
    if (isObject(o.data) && isObject(o.binaryData)) {
      for (const k of Object.keys(o.data)) if (k in o.binaryData) errs.push({ type: 'FieldValueDuplicate', field: 'data', value: k, detail: 'duplicate of key present in binaryData' });
    }
    return errs;
  },
  validateUpdate(o, old) {
    if (old.immutable === true) {
      const same = JSON.stringify(o.data ?? {}) === JSON.stringify(old.data ?? {}) && JSON.stringify(o.binaryData ?? {}) === JSON.stringify(old.binaryData ?? {});
      const errs: FieldError[] = [];
      if (!same) errs.push({ type: 'FieldValueForbidden', field: 'data', detail: 'field is immutable when `immutable` is set' });
      if (o.immutable !== true) errs.push({ type: 'FieldValueForbidden', field: 'immutable', detail: 'field is immutable when `immutable` is set' });
      return errs;
    }
    return [];
  },
  table: {
    columns: [NAME_COLUMN, col('Data', 'integer', 0, 'Data contains the configuration data.'), AGE_COLUMN],
    cells: (o, now) => [nameOf(o), countKeys(o.data) + countKeys(o.binaryData), ageOf(o, now)],
  },
};
