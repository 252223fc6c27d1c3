// Default RBAC at every start: upstream's bootstrap roles and bindings (apiserver/auth/defaults.ts)
// plus the bindings nanokube's in-process identities need, applied by checksum so a restart with
// the same data costs one ConfigMap read. Reconciliation is additive, as upstream's: missing
// objects are created, missing rules/subjects added, objects annotated autoupdate=false left alone.
import { createHash } from 'node:crypto';
import type { ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding, Subject } from 'kubernetes-types/rbac/v1.js';
import { AUTOUPDATE_ANNOTATION, defaultRbacObjects } from '../apiserver/auth/defaults.ts';
import { isAlreadyExists, isNotFound, type Client, type KubeObject, type ResourceRef } from '../client/types.ts';
import type { Component } from '../server/components.ts';
import { AUTHORIZER_USER } from '../server/auth.ts';
import { logger } from '../util/log.ts';

const log = logger('bootstrap/rbac');

const RBAC = 'rbac.authorization.k8s.io';
const RBAC_V1 = `${RBAC}/v1`;
const ref = (resource: string, namespaced: boolean): ResourceRef => ({ group: RBAC, version: 'v1', resource, namespaced });
const refs = {
  ClusterRole: ref('clusterroles', false),
  ClusterRoleBinding: ref('clusterrolebindings', false),
  Role: ref('roles', true),
  RoleBinding: ref('rolebindings', true),
};
const configMaps: ResourceRef = { group: '', version: 'v1', resource: 'configmaps', namespaced: true };
export const CHECKSUM_CONFIGMAP = 'nanokube-rbac-bootstrap';
export const NANOKUBE_RBAC_LABEL = 'nanokube.io/bootstrap';

/** Upstream's per-controller roles that the single workload-controllers identity needs. */
const WORKLOAD_CONTROLLER_ROLES = [
  'replicaset-controller',
  'replication-controller',
  'deployment-controller',
  'statefulset-controller',
  'daemon-set-controller',
  'job-controller',
  'cronjob-controller',
  'ttl-after-finished-controller',
  'endpoint-controller',
  'endpointslice-controller',
  'endpointslicemirroring-controller',
];

function nanokubeMeta(name: string) {
  return { name, labels: { [NANOKUBE_RBAC_LABEL]: 'rbac' }, annotations: { [AUTOUPDATE_ANNOTATION]: 'true' } };
}

const user = (name: string): Subject => ({ kind: 'User', apiGroup: RBAC, name });
const crb = (name: string, role: string, subjects: Subject[]): ClusterRoleBinding => ({
  apiVersion: RBAC_V1,
  kind: 'ClusterRoleBinding',
  metadata: nanokubeMeta(name),
  roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: role },
  subjects,
});

/**
 * Bindings for nanokube's own in-process identities, least privilege within what upstream's roles
 * allow:
 * - group system:nodes -> system:node. Upstream leaves that binding empty because its Node
 *   authorizer limits each kubelet to its own node's objects; nanokube has no Node authorizer, so
 *   every node identity may do what system:node allows for any node.
 * - system:kube-controller-manager (one identity for the workload controllers) -> each upstream
 *   system:controller:<name> role of the controllers it runs.
 * - kube-system/shared-informers (the cluster controllers' shared caches) -> read-only everything,
 *   as the garbage collector and quota controllers must see every kind.
 * - system:kube-scheduler -> read PriorityClasses (nanokube's scheduler resolves priorities itself).
 */
export function nanokubeRbacObjects(): { clusterRoles: ClusterRole[]; clusterRoleBindings: ClusterRoleBinding[] } {
  const readAll: ClusterRole = {
    apiVersion: RBAC_V1,
    kind: 'ClusterRole',
    metadata: nanokubeMeta('nanokube:shared-informers'),
    rules: [{ apiGroups: ['*'], resources: ['*'], verbs: ['get', 'list', 'watch'] }],
  };
  const schedulerExtras: ClusterRole = {
    apiVersion: RBAC_V1,
    kind: 'ClusterRole',
    metadata: nanokubeMeta('nanokube:kube-scheduler'),
    rules: [{ apiGroups: ['scheduling.k8s.io'], resources: ['priorityclasses'], verbs: ['get', 'list', 'watch'] }],
  };
  return {
    clusterRoles: [readAll, schedulerExtras],
    clusterRoleBindings: [
      crb('nanokube:nodes', 'system:node', [{ kind: 'Group', apiGroup: RBAC, name: 'system:nodes' }]),
      crb('nanokube:kube-scheduler', 'nanokube:kube-scheduler', [user('system:kube-scheduler')]),
      crb('nanokube:shared-informers', 'nanokube:shared-informers', [{ kind: 'ServiceAccount', name: 'shared-informers', namespace: 'kube-system' }]),
      ...WORKLOAD_CONTROLLER_ROLES.map((c) => crb(`nanokube:kube-controller-manager:${c}`, `system:controller:${c}`, [user('system:kube-controller-manager')])),
    ],
  };
}

export interface DesiredRbac {
  checksum: string;
  clusterRoles: ClusterRole[];
  clusterRoleBindings: ClusterRoleBinding[];
  roles: Role[];
  roleBindings: RoleBinding[];
}

export function desiredRbac(): DesiredRbac {
  const d = defaultRbacObjects();
  const extra = nanokubeRbacObjects();
  const out = {
    clusterRoles: [...d.clusterRoles, ...extra.clusterRoles],
    clusterRoleBindings: [...d.clusterRoleBindings, ...extra.clusterRoleBindings],
    roles: d.roles,
    roleBindings: d.roleBindings,
  };
  // The embedded checksum covers upstream's data; ours covers what this code adds to it.
  const checksum = createHash('sha256').update(d.checksum).update(JSON.stringify(extra)).digest('hex');
  return { checksum, ...out };
}

const ruleKey = (r: PolicyRule) => JSON.stringify([r.verbs, r.apiGroups ?? [], r.resources ?? [], r.resourceNames ?? [], r.nonResourceURLs ?? []]);
const subjectKey = (s: Subject) => JSON.stringify([s.kind, s.name, s.namespace ?? '']);

/** What the existing object needs so it grants at least what `want` does; undefined = nothing. */
export function reconcileObject(kind: keyof typeof refs, have: KubeObject, want: KubeObject): KubeObject | undefined {
  if (have.metadata.annotations?.[AUTOUPDATE_ANNOTATION] === 'false') return undefined;
  const next = structuredClone(have);
  let changed = false;
  const labels = { ...(next.metadata.labels ?? {}) };
  for (const [k, v] of Object.entries(want.metadata.labels ?? {})) {
    if (labels[k] !== v) {
      labels[k] = v;
      changed = true;
    }
  }
  next.metadata.labels = labels;
  if (kind === 'ClusterRole' || kind === 'Role') {
    if (want.aggregationRule !== undefined) {
      // Aggregated roles' rules belong to the aggregation controller; only the selectors are ours.
      if (JSON.stringify(have.aggregationRule) !== JSON.stringify(want.aggregationRule)) {
        next.aggregationRule = want.aggregationRule;
        changed = true;
      }
    } else {
      const rules = [...((have.rules as PolicyRule[] | undefined) ?? [])];
      const seen = new Set(rules.map(ruleKey));
      for (const r of (want.rules as PolicyRule[] | undefined) ?? []) {
        if (!seen.has(ruleKey(r))) {
          rules.push(r);
          changed = true;
        }
      }
      next.rules = rules;
    }
  } else {
    const subjects = [...((have.subjects as Subject[] | undefined) ?? [])];
    const seen = new Set(subjects.map(subjectKey));
    for (const s of (want.subjects as Subject[] | undefined) ?? []) {
      if (!seen.has(subjectKey(s))) {
        subjects.push(s);
        changed = true;
      }
    }
    next.subjects = subjects;
  }
  return changed ? next : undefined;
}

export interface AppliedRbac {
  created: number;
  updated: number;
  /** The cluster-scoped objects as last written or found, for waiting on the authorizer's cache. */
  written: Array<{ kind: 'ClusterRole' | 'ClusterRoleBinding'; name: string; resourceVersion: string }>;
}

/** Applies `desired` (additively) with a bounded number of requests in flight. */
export async function applyRbac(client: Client, desired: DesiredRbac): Promise<AppliedRbac> {
  const out: AppliedRbac = { created: 0, updated: 0, written: [] };
  const work: Array<[keyof typeof refs, KubeObject]> = [
    ...desired.clusterRoles.map((o) => ['ClusterRole', o as KubeObject] as [keyof typeof refs, KubeObject]),
    ...desired.clusterRoleBindings.map((o) => ['ClusterRoleBinding', o as unknown as KubeObject] as [keyof typeof refs, KubeObject]),
    ...desired.roles.map((o) => ['Role', o as KubeObject] as [keyof typeof refs, KubeObject]),
    ...desired.roleBindings.map((o) => ['RoleBinding', o as unknown as KubeObject] as [keyof typeof refs, KubeObject]),
  ];
  const one = async (kind: keyof typeof refs, want: KubeObject): Promise<void> => {
    const r = refs[kind];
    const name = want.metadata.name ?? '';
    const ns = want.metadata.namespace;
    let result: KubeObject | undefined;
    // Two tries: a conflict means someone (the aggregation controller) wrote in between.
    for (let attempt = 0; attempt < 2 && !result; attempt++) {
      let have: KubeObject | undefined;
      try {
        have = await client.get(r, name, ns);
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
      try {
        if (!have) {
          result = await client.create(r, want);
          out.created++;
        } else {
          const next = reconcileObject(kind, have, want);
          result = next ? await client.update(r, next) : have;
          if (next) out.updated++;
        }
      } catch (e) {
        if (attempt === 1 || !(isAlreadyExists(e) || (e as { code?: number }).code === 409)) throw e;
      }
    }
    if (result && (kind === 'ClusterRole' || kind === 'ClusterRoleBinding')) {
      out.written.push({ kind, name, resourceVersion: result.metadata.resourceVersion ?? '0' });
    }
  };
  const queue = [...work];
  const workers = Array.from({ length: 16 }, async () => {
    for (let item = queue.shift(); item; item = queue.shift()) await one(item[0], item[1]);
  });
  await Promise.all(workers);
  return out;
}

async function readChecksum(client: Client): Promise<string | undefined> {
  try {
    const cm = await client.get<KubeObject & { data?: Record<string, string> }>(configMaps, CHECKSUM_CONFIGMAP, 'kube-system');
    return cm.data?.checksum;
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

async function writeChecksum(client: Client, checksum: string): Promise<void> {
  const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: CHECKSUM_CONFIGMAP, namespace: 'kube-system' }, data: { checksum } };
  try {
    const have = await client.get<KubeObject>(configMaps, CHECKSUM_CONFIGMAP, 'kube-system');
    await client.update(configMaps, { ...cm, metadata: { ...cm.metadata, resourceVersion: have.metadata.resourceVersion } });
  } catch (e) {
    if (!isNotFound(e)) throw e;
    await client.create(configMaps, cm);
  }
}

/** Runs after the authorizer and the system namespaces, before any component that is not system:masters. */
export const rbacBootstrapComponent: Component = {
  name: 'rbac',
  async start(ctx) {
    const client = ctx.clientFor(AUTHORIZER_USER, 'nanokube/bootstrap-rbac');
    const desired = desiredRbac();
    if ((await readChecksum(client)) === desired.checksum) return { detail: 'up to date' };
    const applied = await applyRbac(client, desired);
    await writeChecksum(client, desired.checksum);
    // Components started next act under these bindings: wait until the authorizer sees them.
    const seen = await ctx.auth.waitForObjects(applied.written, ctx.signal);
    if (!seen) log.warn('the authorizer has not seen the default RBAC objects yet; components may be refused for a moment');
    return { detail: `created ${applied.created}, updated ${applied.updated}` };
  },
};
