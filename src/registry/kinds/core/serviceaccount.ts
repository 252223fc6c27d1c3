import { ageOf, AGE_COLUMN, arr, col, NAME_COLUMN, nameOf } from '../common.ts';
import type { ResourceDef } from '../../types.ts';

export const serviceaccounts: ResourceDef = {
  group: '',
  version: 'v1',
  kind: 'ServiceAccount',
  plural: 'serviceaccounts',
  singular: 'serviceaccount',
  shortNames: ['sa'],
  namespaced: true,
  subresources: [{ name: 'token', kind: { group: 'authentication.k8s.io', version: 'v1', kind: 'TokenRequest' }, verbs: ['create'] }],
  topLevelFields: ['secrets', 'imagePullSecrets', 'automountServiceAccountToken'],
  table: {
    columns: [NAME_COLUMN, col('Secrets', 'string', 0, 'Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use.'), AGE_COLUMN],
    cells: (o, now) => [nameOf(o), arr(o.secrets).length, ageOf(o, now)],
  },
};
