// Every built-in ResourceDef, in the order discovery lists them (core first, then groups).

import type { ResourceDef } from '../types.ts';
import { configmaps } from './core/configmap.ts';
import { namespaces } from './core/namespace.ts';

export const builtinKinds: readonly ResourceDef[] = [
  // core/v1
  configmaps,
  namespaces,
];
