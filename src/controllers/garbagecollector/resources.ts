// The list of resources the cluster controllers act on "for every kind" (garbage collection,
// namespace deletion, quota counts), read from the registry at run time so CRDs added later are
// covered: callers keep the catalog and compare `generation` to notice additions and removals.
import type { ResourceRef } from '../../client/types.ts';
import type { Registry, ResourceDef } from '../../registry/types.ts';

export interface ResourceInfo extends ResourceRef {
  kind: string;
  verbs: readonly string[];
  /** Where replicas and the selector live, for kinds with a scale subresource. */
  scale?: { specReplicasPath: string; statusReplicasPath: string; labelSelectorPath: string };
}

export interface ResourceCatalog {
  /** Changes whenever the set of resources changes (a CRD established or removed). */
  readonly generation: number;
  /** Each stored resource once (aliases such as autoscaling/v1 HPAs or events.k8s.io left out). */
  all(): readonly ResourceInfo[];
  /** The stored resource serving `apiVersion` + `kind` (any served version of it). */
  byKind(apiVersion: string, kind: string): ResourceInfo | undefined;
  byResource(group: string, resource: string): ResourceInfo | undefined;
}

const ALL_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

export function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const i = apiVersion.indexOf('/');
  return i < 0 ? { group: '', version: apiVersion } : { group: apiVersion.slice(0, i), version: apiVersion.slice(i + 1) };
}

/** A catalog over a live registry; rebuilt lazily when the registry's generation moves. */
export function registryCatalog(registry: Registry): ResourceCatalog {
  let builtAt = -1;
  let list: ResourceInfo[] = [];
  let byGroupResource = new Map<string, ResourceInfo>();
  const rebuild = () => {
    if (builtAt === registry.generation) return;
    builtAt = registry.generation;
    list = [];
    byGroupResource = new Map();
    // groupVersions() lists the preferred version of each group first, so the first def seen for a
    // group/resource is the one to use; a def with `storage` is another view of objects stored elsewhere.
    for (const { group, version } of registry.groupVersions()) {
      for (const def of registry.resources(group, version)) {
        if (def.storage || def.virtualCreate) continue;
        const key = `${def.group}/${def.plural}`;
        if (byGroupResource.has(key)) continue;
        const info = toInfo(def);
        byGroupResource.set(key, info);
        list.push(info);
      }
    }
  };
  return {
    get generation() {
      return registry.generation;
    },
    all() {
      rebuild();
      return list;
    },
    byKind(apiVersion, kind) {
      rebuild();
      const { group, version } = splitApiVersion(apiVersion);
      const def = registry.byKind(group, version, kind);
      if (!def) {
        // An owner written with a version no longer served still names its group and kind.
        return list.find((i) => i.group === group && i.kind === kind);
      }
      const target = def.storage ?? { group: def.group, plural: def.plural };
      return byGroupResource.get(`${target.group}/${target.plural}`);
    },
    byResource(group, resource) {
      rebuild();
      return byGroupResource.get(`${group}/${resource}`);
    },
  };
}

function toInfo(def: ResourceDef): ResourceInfo {
  return {
    group: def.group,
    version: def.version,
    resource: def.plural,
    namespaced: def.namespaced,
    kind: def.kind,
    verbs: def.verbs ?? ALL_VERBS,
    ...(def.scale ? { scale: def.scale } : {}),
  };
}

export const canListWatchDelete = (i: ResourceInfo): boolean => i.verbs.includes('list') && i.verbs.includes('watch') && i.verbs.includes('delete');

export function apiVersionOf(i: ResourceRef): string {
  return i.group === '' ? i.version : `${i.group}/${i.version}`;
}
