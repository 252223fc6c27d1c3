import { ageOf, AGE_COLUMN, col, countKeys, field, NAME_COLUMN, nameOf } from '../common.ts';
import { validateDataKeys } from './configmap.ts';
import { fieldInvalid, fieldRequired, type FieldError } from '../../../api/status.ts';
import { isObject } from '../../../api/meta.ts';
import type { ResourceDef } from '../../types.ts';

// Keys each well-known Secret type must carry (upstream's ValidateSecret).
const requiredKeys: Record<string, string[]> = {
  'kubernetes.io/dockercfg': ['.dockercfg'],
  'kubernetes.io/dockerconfigjson': ['.dockerconfigjson'],
  'kubernetes.io/basic-auth': [],
  'kubernetes.io/ssh-auth': ['ssh-privatekey'],
  'kubernetes.io/tls': ['tls.crt', 'tls.key'],
};

const base64Re = /^[A-Za-z0-9+/]*={0,2}$/;

export const secrets: ResourceDef = {
  group: '',
  version: 'v1',
  kind: 'Secret',
  plural: 'secrets',
  singular: 'secret',
  namespaced: true,
  topLevelFields: ['data', 'stringData', 'type', 'immutable'],
  defaults(o) {
    if (!o.type) o.type = 'Opaque';
  },
  prepareForCreate: (o) => mergeStringData(o),
  prepareForUpdate: (o) => mergeStringData(o),
  validate(o) {
    const errs: FieldError[] = validateDataKeys(o.data, 'data');
    if (isObject(o.data)) {
      for (const [k, v] of Object.entries(o.data)) {
        if (typeof v !== 'string' || !base64Re.test(v) || v.length % 4 !== 0) errs.push(fieldInvalid(`data[${k}]`, '<secret contents redacted>', 'illegal base64 data'));
      }
    }
    const type = String(o.type ?? 'Opaque');
    for (const k of requiredKeys[type] ?? []) {
      if (!isObject(o.data) || !(k in o.data)) errs.push(fieldRequired(`data[${k}]`));
    }
    let size = 0;
    if (isObject(o.data)) for (const v of Object.values(o.data)) size += typeof v === 'string' ? Math.floor((v.length * 3) / 4) : 0;
    if (size > 1024 * 1024) errs.push({ type: 'FieldValueTooLong', field: 'data', detail: 'Too long: must have at most 1048576 bytes' });
    return errs;
  },
  validateUpdate(o, old) {
    const errs: FieldError[] = [];
    if ((o.type ?? 'Opaque') !== (old.type ?? 'Opaque')) errs.push(fieldInvalid('type', o.type, 'field is immutable'));
    if (old.immutable === true && JSON.stringify(o.data ?? {}) !== JSON.stringify(old.data ?? {})) {
      errs.push({ type: 'FieldValueForbidden', field: 'data', detail: 'field is immutable when `immutable` is set' });
    }
    return errs;
  },
  fieldSelectors: { type: field('type') },
  table: {
    columns: [NAME_COLUMN, col('Type', 'string', 0, 'The type of the secret'), col('Data', 'integer', 0, 'The number of entries in the secret'), AGE_COLUMN],
    cells: (o, now) => [nameOf(o), String(o.type ?? ''), countKeys(o.data), ageOf(o, now)],
  },
};

/** stringData is write-only: folded into data (base64) before storage, as upstream does. */
function mergeStringData(o: Record<string, unknown>): void {
  if (!isObject(o.stringData)) {
    delete o.stringData;
    return;
  }
  const data = isObject(o.data) ? o.data : {};
  for (const [k, v] of Object.entries(o.stringData)) data[k] = Buffer.from(String(v), 'utf8').toString('base64');
  o.data = data;
  delete o.stringData;
}
