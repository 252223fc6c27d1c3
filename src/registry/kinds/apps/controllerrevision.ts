import { simpleKind } from '../common.ts';

export const controllerrevisions = simpleKind({ group: 'apps', version: 'v1', kind: 'ControllerRevision', plural: 'controllerrevisions', namespaced: true });
