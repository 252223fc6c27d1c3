// The built-in kinds, registered in discovery order. Adding a kind = one file + one line here.

import { MapRegistry } from './registry.ts';
import type { Registry, ResourceDef } from './types.ts';
import { builtinKinds } from './kinds/all.ts';

export type { Registry, ResourceDef } from './types.ts';

export function builtinRegistry(extra: readonly ResourceDef[] = []): Registry {
  const r = new MapRegistry();
  for (const def of builtinKinds) r.add(def);
  for (const def of extra) r.add(def);
  return r;
}
