// Where a kind's objects live in the Store: /registry/<plural>/[<ns>/]<name> for core,
// /registry/<group>/<plural>/... otherwise. Defs that share storage point at the owner's location.

import type { ResourceDef } from '../../registry/types.ts';

export function resourcePrefix(def: ResourceDef): string {
  const s = def.storage ?? { group: def.group, plural: def.plural };
  return s.group ? `/registry/${s.group}/${s.plural}/` : `/registry/${s.plural}/`;
}

/** Prefix for a list or watch: one namespace, or all of them when namespace is undefined. */
export function listPrefix(def: ResourceDef, namespace: string | undefined): string {
  const base = resourcePrefix(def);
  return def.namespaced && namespace ? `${base}${namespace}/` : base;
}

export function objectKey(def: ResourceDef, namespace: string | undefined, name: string): string {
  const base = resourcePrefix(def);
  return def.namespaced ? `${base}${namespace ?? ''}/${name}` : `${base}${name}`;
}

export const namespaceKey = (name: string) => `/registry/namespaces/${name}`;
