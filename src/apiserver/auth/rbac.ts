// RBAC authorizer. Roles and bindings live in in-memory indexes that informer events keep current
// (RbacCache.upsert*/delete*), so one decision is a few map lookups plus a scan of the rules of the
// roles bound to this user — never a scan of every binding in the cluster.
//
// Matching follows upstream's rbac authorizer: allow-only union of ClusterRoleBindings (everywhere)
// and RoleBindings (their namespace); verbs/apiGroups `*` or equal; resources `*`, equal to
// `res` or `res/sub`, or `*/sub` (never `res/*`); resourceNames empty = any; nonResourceURLs `*`,
// equal, or a prefix for rules ending in `*`.
import type { ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding, RoleRef, Subject } from 'kubernetes-types/rbac/v1.js';
import { ApiError, forbidden } from '../../api/status.ts';
import type { UserInfo } from './user.ts';

export const RBAC_GROUP = 'rbac.authorization.k8s.io';
export const SYSTEM_MASTERS = 'system:masters';
const SA_PREFIX = 'system:serviceaccount:';

/** What a request asks to do (upstream's authorizer.Attributes). */
export interface RequestAttributes {
  user: UserInfo;
  /** get, list, watch, create, update, patch, delete, deletecollection, or a special verb; lower-case HTTP method for non-resource requests. */
  verb: string;
  isResourceRequest: boolean;
  /** "" for the core group. */
  apiGroup: string;
  apiVersion?: string;
  resource: string;
  subresource: string;
  /** "" for cluster-scoped requests (and cluster-wide lists). */
  namespace: string;
  name: string;
  /** URL path (non-resource requests are matched on it). */
  path: string;
}

export interface Decision {
  allowed: boolean;
  /** Upstream's reason text: `RBAC: allowed by ...` when allowed; resolution errors (or "") when denied. */
  reason: string;
}

// --- compiled rules: Sets instead of arrays so a check is a handful of hash lookups.

interface CompiledRule {
  readonly verbs: ReadonlySet<string> | null; // null = '*'
  readonly groups: ReadonlySet<string> | null;
  readonly resources: ReadonlySet<string> | null;
  /** Subresources granted through a `*` + `/<sub>` resource. */
  readonly anyResourceSubs: ReadonlySet<string> | undefined;
  readonly names: ReadonlySet<string> | null; // null = any name
  readonly urlAll: boolean;
  readonly urls: ReadonlySet<string> | undefined;
  readonly urlPrefixes: readonly string[];
  readonly source: PolicyRule;
}

function setOrAll(values: readonly string[] | undefined): ReadonlySet<string> | null {
  const list = values ?? [];
  return list.includes('*') ? null : new Set(list);
}

export function compileRule(rule: PolicyRule): CompiledRule {
  const resources = rule.resources ?? [];
  const subs = resources.filter((r) => r.startsWith('*/')).map((r) => r.slice(2));
  const urls = rule.nonResourceURLs ?? [];
  const exact = urls.filter((u) => !u.endsWith('*'));
  return {
    verbs: setOrAll(rule.verbs),
    groups: setOrAll(rule.apiGroups),
    resources: setOrAll(resources),
    anyResourceSubs: subs.length ? new Set(subs) : undefined,
    names: rule.resourceNames && rule.resourceNames.length > 0 ? new Set(rule.resourceNames) : null,
    urlAll: urls.includes('*'),
    urls: exact.length ? new Set(exact) : undefined,
    urlPrefixes: urls.filter((u) => u.endsWith('*') && u !== '*').map((u) => u.replace(/\*+$/, '')),
    source: rule,
  };
}

function ruleAllows(rule: CompiledRule, a: RequestAttributes, combinedResource: string): boolean {
  if (rule.verbs !== null && !rule.verbs.has(a.verb)) return false;
  if (a.isResourceRequest) {
    if (rule.groups !== null && !rule.groups.has(a.apiGroup)) return false;
    if (rule.resources !== null && !rule.resources.has(combinedResource)) {
      if (!a.subresource || !rule.anyResourceSubs?.has(a.subresource)) return false;
    }
    return rule.names === null || rule.names.has(a.name);
  }
  if (rule.urlAll || rule.urls?.has(a.path)) return true;
  for (const p of rule.urlPrefixes) if (a.path.startsWith(p)) return true;
  return false;
}

/** True when the rule grants the request (exported for SubjectAccessReview-style checks on raw rules). */
export function ruleMatches(rule: PolicyRule, a: RequestAttributes): boolean {
  return ruleAllows(compileRule(rule), a, a.subresource ? `${a.resource}/${a.subresource}` : a.resource);
}

// --- bindings indexed by subject

interface BindingEntry {
  readonly bindingKind: 'ClusterRoleBinding' | 'RoleBinding';
  readonly bindingName: string;
  /** "" for ClusterRoleBindings. */
  readonly bindingNamespace: string;
  readonly roleKind: string;
  readonly roleName: string;
  readonly subject: Subject;
  /** Lazily built `RBAC: allowed by ...` text. */
  allowedReason?: string;
}

/** Subjects of one scope (cluster, or one namespace), by user name and by group name. */
class SubjectIndex {
  readonly users = new Map<string, BindingEntry[]>();
  readonly groups = new Map<string, BindingEntry[]>();

  add(kind: 'user' | 'group', key: string, entry: BindingEntry): void {
    const map = kind === 'user' ? this.users : this.groups;
    const list = map.get(key);
    if (list) list.push(entry);
    else map.set(key, [entry]);
  }

  remove(kind: 'user' | 'group', key: string, entry: BindingEntry): void {
    const map = kind === 'user' ? this.users : this.groups;
    const list = map.get(key);
    if (!list) return;
    const i = list.indexOf(entry);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) map.delete(key);
  }

  get size(): number {
    return this.users.size + this.groups.size;
  }
}

interface IndexedBinding {
  readonly keys: Array<{ kind: 'user' | 'group'; key: string; entry: BindingEntry }>;
}

/**
 * Where a subject lands in the index: ServiceAccount subjects become the user name
 * `system:serviceaccount:<ns>:<name>` (namespace defaulted to the binding's), as upstream compares them.
 */
function subjectKey(s: Subject, bindingNamespace: string): { kind: 'user' | 'group'; key: string } | undefined {
  switch (s.kind) {
    case 'User':
      return { kind: 'user', key: s.name };
    case 'Group':
      return { kind: 'group', key: s.name };
    case 'ServiceAccount': {
      const ns = s.namespace || bindingNamespace;
      return ns ? { kind: 'user', key: `${SA_PREFIX}${ns}:${s.name}` } : undefined;
    }
    default:
      return undefined;
  }
}

function describeSubject(s: Subject, bindingNamespace: string): string {
  if (s.kind === 'ServiceAccount') return `${s.kind} ${JSON.stringify(`${s.name}/${s.namespace || bindingNamespace}`)}`;
  return `${s.kind} ${JSON.stringify(s.name)}`;
}

function describeEntry(e: BindingEntry): string {
  const binding = e.bindingKind === 'RoleBinding' ? `${e.bindingName}/${e.bindingNamespace}` : e.bindingName;
  return `${e.bindingKind} ${JSON.stringify(binding)} of ${e.roleKind} ${JSON.stringify(e.roleName)} to ${describeSubject(e.subject, e.bindingNamespace)}`;
}

interface CompiledRole {
  readonly rules: readonly CompiledRule[];
  /** Rules by the verbs they name, so a check only looks at rules that could grant this verb. */
  readonly byVerb: ReadonlyMap<string, readonly CompiledRule[]>;
  /** Rules with verb `*`. */
  readonly anyVerb: readonly CompiledRule[];
}

function compileRole(rules: readonly PolicyRule[] | undefined | null): CompiledRole {
  const compiled = (rules ?? []).map(compileRule);
  const byVerb = new Map<string, CompiledRule[]>();
  const anyVerb: CompiledRule[] = [];
  for (const r of compiled) {
    if (r.verbs === null) {
      anyVerb.push(r);
      continue;
    }
    for (const v of r.verbs) {
      const list = byVerb.get(v);
      if (list) list.push(r);
      else byVerb.set(v, [r]);
    }
  }
  return { rules: compiled, byVerb, anyVerb };
}

function roleAllows(role: CompiledRole, a: RequestAttributes, combined: string): boolean {
  const forVerb = role.byVerb.get(a.verb);
  if (forVerb) for (const r of forVerb) if (ruleAllows(r, a, combined)) return true;
  for (const r of role.anyVerb) if (ruleAllows(r, a, combined)) return true;
  return false;
}

const emptyIndex = new SubjectIndex();

/** Result of rulesFor: the rules plus any roles that bindings name but that do not exist. */
export interface RulesResult {
  rules: PolicyRule[];
  /** Upstream-worded resolution errors, e.g. `clusterrole.rbac.authorization.k8s.io "x" not found`. */
  errors: string[];
}

export class RbacCache {
  private readonly clusterRoles = new Map<string, CompiledRole>();
  private readonly roles = new Map<string, CompiledRole>(); // key ns/name
  private readonly clusterBindings = new SubjectIndex();
  private readonly namespaceBindings = new Map<string, SubjectIndex>();
  private readonly indexedClusterBindings = new Map<string, IndexedBinding>();
  private readonly indexedRoleBindings = new Map<string, IndexedBinding>(); // key ns/name
  /** Reused per decision (decisions are synchronous) to keep the common path allocation-free. */
  private readonly missingScratch: string[] = [];

  // --- incremental maintenance (wire informer add/update -> upsert, delete -> delete)

  upsertClusterRole(role: ClusterRole): void {
    this.clusterRoles.set(role.metadata?.name ?? '', compileRole(role.rules));
  }

  deleteClusterRole(name: string): void {
    this.clusterRoles.delete(name);
  }

  upsertRole(role: Role): void {
    this.roles.set(`${role.metadata?.namespace ?? ''}/${role.metadata?.name ?? ''}`, compileRole(role.rules));
  }

  deleteRole(namespace: string, name: string): void {
    this.roles.delete(`${namespace}/${name}`);
  }

  upsertClusterRoleBinding(b: ClusterRoleBinding): void {
    const name = b.metadata?.name ?? '';
    this.deleteClusterRoleBinding(name);
    // A ClusterRoleBinding can only reference ClusterRoles; anything else grants nothing.
    if (b.roleRef.kind !== 'ClusterRole') return;
    this.indexedClusterBindings.set(name, this.index(this.clusterBindings, 'ClusterRoleBinding', name, '', b.roleRef, b.subjects));
  }

  deleteClusterRoleBinding(name: string): void {
    const old = this.indexedClusterBindings.get(name);
    if (!old) return;
    for (const k of old.keys) this.clusterBindings.remove(k.kind, k.key, k.entry);
    this.indexedClusterBindings.delete(name);
  }

  upsertRoleBinding(b: RoleBinding): void {
    const ns = b.metadata?.namespace ?? '';
    const name = b.metadata?.name ?? '';
    this.deleteRoleBinding(ns, name);
    if (b.roleRef.kind !== 'Role' && b.roleRef.kind !== 'ClusterRole') return;
    let idx = this.namespaceBindings.get(ns);
    if (!idx) this.namespaceBindings.set(ns, (idx = new SubjectIndex()));
    this.indexedRoleBindings.set(`${ns}/${name}`, this.index(idx, 'RoleBinding', name, ns, b.roleRef, b.subjects));
  }

  deleteRoleBinding(namespace: string, name: string): void {
    const key = `${namespace}/${name}`;
    const old = this.indexedRoleBindings.get(key);
    if (!old) return;
    const idx = this.namespaceBindings.get(namespace);
    if (idx) {
      for (const k of old.keys) idx.remove(k.kind, k.key, k.entry);
      if (idx.size === 0) this.namespaceBindings.delete(namespace);
    }
    this.indexedRoleBindings.delete(key);
  }

  private index(
    idx: SubjectIndex,
    bindingKind: BindingEntry['bindingKind'],
    bindingName: string,
    bindingNamespace: string,
    roleRef: RoleRef,
    subjects: readonly Subject[] | undefined,
  ): IndexedBinding {
    const keys: IndexedBinding['keys'] = [];
    for (const subject of subjects ?? []) {
      const k = subjectKey(subject, bindingNamespace);
      if (!k) continue;
      const entry: BindingEntry = { bindingKind, bindingName, bindingNamespace, roleKind: roleRef.kind, roleName: roleRef.name, subject };
      idx.add(k.kind, k.key, entry);
      keys.push({ ...k, entry });
    }
    return { keys };
  }

  /** Informer handlers for one RBAC kind; hand them to `informer.addHandlers(...)`. */
  handlersFor(kind: 'ClusterRole' | 'Role' | 'ClusterRoleBinding' | 'RoleBinding'): {
    onAdd(obj: unknown): void;
    onUpdate(oldObj: unknown, newObj: unknown): void;
    onDelete(obj: unknown): void;
  } {
    const upsert = (o: unknown): void => {
      if (kind === 'ClusterRole') this.upsertClusterRole(o as ClusterRole);
      else if (kind === 'Role') this.upsertRole(o as Role);
      else if (kind === 'ClusterRoleBinding') this.upsertClusterRoleBinding(o as ClusterRoleBinding);
      else this.upsertRoleBinding(o as RoleBinding);
    };
    const remove = (o: unknown): void => {
      const m = (o as { metadata?: { name?: string; namespace?: string } }).metadata ?? {};
      const name = m.name ?? '';
      const ns = m.namespace ?? '';
      if (kind === 'ClusterRole') this.deleteClusterRole(name);
      else if (kind === 'Role') this.deleteRole(ns, name);
      else if (kind === 'ClusterRoleBinding') this.deleteClusterRoleBinding(name);
      else this.deleteRoleBinding(ns, name);
    };
    return { onAdd: upsert, onUpdate: (_old, obj) => upsert(obj), onDelete: remove };
  }

  // --- decisions

  authorize(a: RequestAttributes): Decision {
    const user = a.user;
    // Upstream puts a privileged-groups authorizer in front of RBAC: system:masters may do anything.
    if (user.groups.includes(SYSTEM_MASTERS)) return { allowed: true, reason: '' };
    const combined = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
    const missing = this.missingScratch;
    missing.length = 0;
    let hit = this.visitIndex(this.clusterBindings, '', a, combined, missing);
    if (!hit && a.namespace) {
      const idx = this.namespaceBindings.get(a.namespace);
      if (idx) hit = this.visitIndex(idx, a.namespace, a, combined, missing);
    }
    if (hit) return { allowed: true, reason: (hit.allowedReason ??= `RBAC: allowed by ${describeEntry(hit)}`) };
    return { allowed: false, reason: missing.length ? `RBAC: ${aggregateErrors(missing)}` : '' };
  }

  private visitIndex(idx: SubjectIndex, scopeNamespace: string, a: RequestAttributes, combined: string, missing: string[]): BindingEntry | undefined {
    const byUser = idx.users.get(a.user.username);
    if (byUser) {
      const hit = this.visitEntries(byUser, scopeNamespace, a, combined, missing);
      if (hit) return hit;
    }
    for (const g of a.user.groups) {
      const byGroup = idx.groups.get(g);
      if (!byGroup) continue;
      const hit = this.visitEntries(byGroup, scopeNamespace, a, combined, missing);
      if (hit) return hit;
    }
    return undefined;
  }

  private visitEntries(entries: readonly BindingEntry[], scopeNamespace: string, a: RequestAttributes, combined: string, missing: string[]): BindingEntry | undefined {
    for (const e of entries) {
      const role = this.resolve(e.roleKind, e.roleName, scopeNamespace);
      if (!role) missing.push(notFoundText(e.roleKind, e.roleName));
      else if (roleAllows(role, a, combined)) return e;
    }
    return undefined;
  }

  /** Every rule that applies to the user in the namespace ("" = cluster-wide only), for SelfSubjectRulesReview and escalation checks. */
  rulesFor(user: UserInfo, namespace: string): RulesResult {
    const rules: PolicyRule[] = [];
    const errors: string[] = [];
    const collect = (idx: SubjectIndex, scopeNamespace: string): void => {
      const seen = new Set<BindingEntry>();
      const lists = [idx.users.get(user.username), ...user.groups.map((g) => idx.groups.get(g))];
      for (const list of lists) {
        for (const e of list ?? []) {
          if (seen.has(e)) continue;
          seen.add(e);
          const role = this.resolve(e.roleKind, e.roleName, scopeNamespace);
          if (!role) errors.push(notFoundText(e.roleKind, e.roleName));
          else for (const r of role.rules) rules.push(r.source);
        }
      }
    };
    collect(this.clusterBindings, '');
    if (namespace) collect(this.namespaceBindings.get(namespace) ?? emptyIndex, namespace);
    return { rules, errors };
  }

  /** Rules of a role reference as a binding in `namespace` would see them; undefined when the role does not exist. */
  roleRefRules(roleRef: Pick<RoleRef, 'kind' | 'name'>, namespace: string): PolicyRule[] | undefined {
    return this.resolve(roleRef.kind, roleRef.name, namespace)?.rules.map((r) => r.source);
  }

  private resolve(kind: string, name: string, namespace: string): CompiledRole | undefined {
    if (kind === 'ClusterRole') return this.clusterRoles.get(name);
    if (kind === 'Role' && namespace) return this.roles.get(`${namespace}/${name}`);
    return undefined;
  }

  /** Counts, for logs and benchmarks. */
  stats(): { clusterRoles: number; roles: number; clusterRoleBindings: number; roleBindings: number } {
    return {
      clusterRoles: this.clusterRoles.size,
      roles: this.roles.size,
      clusterRoleBindings: this.indexedClusterBindings.size,
      roleBindings: this.indexedRoleBindings.size,
    };
  }

  // --- privilege escalation prevention (for the roles/bindings registry strategies)

  /**
   * Upstream's ConfirmNoEscalation: undefined when the user already holds every rule in
   * `namespace` (""= cluster-wide), else the message naming the missing permissions.
   */
  confirmNoEscalation(user: UserInfo, namespace: string, rules: readonly PolicyRule[]): string | undefined {
    const owner = this.rulesFor(user, namespace);
    const missing = uncoveredRules(owner.rules, rules);
    if (missing.length === 0) return undefined;
    const lines = [...new Set(compactRules(missing).map(compactString))].sort();
    let msg = `user ${JSON.stringify(user.username)} (groups=${goQuoteList(user.groups)}) is attempting to grant RBAC permissions not currently held:\n${lines.join('\n')}`;
    if (owner.errors.length) msg += `; resolution errors: [${owner.errors.join(' ')}]`;
    return msg;
  }

  /**
   * The check a create/update of a Role or ClusterRole must pass: system:masters, the `escalate`
   * verb on the role, or holding every rule it grants. Returns the 403 to throw, or undefined.
   */
  checkEscalation(
    user: UserInfo,
    namespace: string,
    rules: readonly PolicyRule[],
    target: { kind: 'Role' | 'ClusterRole'; name: string; hasAggregationRule?: boolean } = { kind: namespace ? 'Role' : 'ClusterRole', name: '' },
  ): ApiError | undefined {
    const resource = target.kind === 'Role' ? 'roles' : 'clusterroles';
    const gr = { group: RBAC_GROUP, resource };
    if (user.groups.includes(SYSTEM_MASTERS)) return undefined;
    const escalate = this.authorize({
      user, verb: 'escalate', isResourceRequest: true, apiGroup: RBAC_GROUP, resource, subresource: '', namespace, name: target.name, path: '',
    });
    if (escalate.allowed) return undefined;
    // Aggregation lets a role collect rules from others, so only users who may escalate can set it.
    if (target.hasAggregationRule) return forbidden(gr, target.name, 'must have cluster-admin privileges to use the aggregationRule');
    const msg = this.confirmNoEscalation(user, namespace, rules);
    return msg === undefined ? undefined : forbidden(gr, target.name, msg);
  }

  /**
   * The check a create/update of a RoleBinding (namespace set) or ClusterRoleBinding (namespace "")
   * must pass: system:masters, the `bind` verb on the referenced role, or holding its rules.
   * A role that does not exist gives upstream's NotFound.
   */
  checkBind(user: UserInfo, roleRef: Pick<RoleRef, 'kind' | 'name'>, namespace: string, bindingName = ''): ApiError | undefined {
    const gr = { group: RBAC_GROUP, resource: namespace ? 'rolebindings' : 'clusterrolebindings' };
    if (user.groups.includes(SYSTEM_MASTERS)) return undefined;
    const bind = this.authorize({
      user, verb: 'bind', isResourceRequest: true, apiGroup: RBAC_GROUP,
      resource: roleRef.kind === 'Role' ? 'roles' : 'clusterroles', subresource: '', namespace, name: roleRef.name, path: '',
    });
    if (bind.allowed) return undefined;
    const rules = this.roleRefRules(roleRef, namespace);
    if (!rules) {
      const res = roleRef.kind === 'Role' ? 'roles' : 'clusterroles';
      return new ApiError(404, 'NotFound', `${res}.${RBAC_GROUP} "${roleRef.name}" not found`, { name: roleRef.name, group: RBAC_GROUP, kind: res });
    }
    const msg = this.confirmNoEscalation(user, namespace, rules);
    return msg === undefined ? undefined : forbidden(gr, bindingName, msg);
  }
}

function notFoundText(kind: string, name: string): string {
  return `${kind.toLowerCase()}.${RBAC_GROUP} ${JSON.stringify(name)} not found`;
}

function aggregateErrors(errors: string[]): string {
  const unique = [...new Set(errors)];
  return unique.length === 1 ? (unique[0] ?? '') : `[${unique.join(', ')}]`;
}

// --- 403 text

/** The message part after `<resource> is forbidden: `, worded as kube-apiserver words it. */
export function forbiddenMessage(a: RequestAttributes): string {
  const user = JSON.stringify(a.user.username);
  if (!a.isResourceRequest) return `User ${user} cannot ${a.verb} path ${JSON.stringify(a.path)}`;
  const resource = JSON.stringify(a.subresource ? `${a.resource}/${a.subresource}` : a.resource);
  const group = JSON.stringify(a.apiGroup);
  if (a.namespace) return `User ${user} cannot ${a.verb} resource ${resource} in API group ${group} in the namespace ${JSON.stringify(a.namespace)}`;
  return `User ${user} cannot ${a.verb} resource ${resource} in API group ${group} at the cluster scope`;
}

/**
 * The 403 Status for a denied request: `pods is forbidden: User "bob" cannot list resource "pods" in
 * API group "" in the namespace "default"`, `configmaps "x" is forbidden: ...`,
 * `forbidden: User "system:anonymous" cannot get path "/foo"`, with `: <reason>` when the
 * authorizer gave one.
 */
export function forbiddenError(a: RequestAttributes, reason = ''): ApiError {
  const why = reason ? `${forbiddenMessage(a)}: ${reason}` : forbiddenMessage(a);
  if (!a.isResourceRequest || !a.resource) return new ApiError(403, 'Forbidden', `forbidden: ${why}`, {});
  return forbidden({ group: a.apiGroup, resource: a.resource }, a.name, why);
}

// --- covers (upstream's validation.Covers over rules broken down to one verb/group/resource each)

function breakdown(rule: PolicyRule): PolicyRule[] {
  const out: PolicyRule[] = [];
  for (const group of rule.apiGroups ?? []) {
    for (const resource of rule.resources ?? []) {
      for (const verb of rule.verbs) {
        if (rule.resourceNames && rule.resourceNames.length > 0) {
          for (const name of rule.resourceNames) out.push({ apiGroups: [group], resources: [resource], resourceNames: [name], verbs: [verb] });
        } else {
          out.push({ apiGroups: [group], resources: [resource], verbs: [verb] });
        }
      }
    }
  }
  for (const url of rule.nonResourceURLs ?? []) for (const verb of rule.verbs) out.push({ nonResourceURLs: [url], verbs: [verb] });
  return out;
}

const has = (set: readonly string[] | undefined, v: string): boolean => (set ?? []).includes(v);
const hasAll = (set: readonly string[] | undefined, vs: readonly string[] | undefined): boolean => (vs ?? []).every((v) => has(set, v));

function resourceCoversAll(set: readonly string[] | undefined, covers: readonly string[] | undefined): boolean {
  if (has(set, '*') || hasAll(set, covers)) return true;
  for (const path of covers ?? []) {
    if (has(set, path)) continue;
    const slash = path.indexOf('/');
    if (slash < 0) return false;
    if (!has(set, `*/${path.slice(slash + 1)}`)) return false;
  }
  return true;
}

function nonResourceURLCovers(owner: string, sub: string): boolean {
  return owner === sub || (owner.endsWith('*') && sub.startsWith(owner.replace(/\*+$/, '')));
}

function ruleCovers(owner: PolicyRule, sub: PolicyRule): boolean {
  const verbs = has(owner.verbs, '*') || hasAll(owner.verbs, sub.verbs);
  const groups = has(owner.apiGroups, '*') || hasAll(owner.apiGroups, sub.apiGroups);
  const resources = resourceCoversAll(owner.resources, sub.resources);
  const urls = (sub.nonResourceURLs ?? []).every((p) => (owner.nonResourceURLs ?? []).some((o) => nonResourceURLCovers(o, p)));
  const ownerNames = owner.resourceNames ?? [];
  const subNames = sub.resourceNames ?? [];
  const names = subNames.length === 0 ? ownerNames.length === 0 : ownerNames.length === 0 || hasAll(ownerNames, subNames);
  return verbs && groups && resources && names && urls;
}

/** The broken-down rules of `requested` that no rule of `owner` covers (empty = covered). */
export function uncoveredRules(owner: readonly PolicyRule[], requested: readonly PolicyRule[]): PolicyRule[] {
  const missing: PolicyRule[] = [];
  for (const rule of requested) {
    for (const simple of breakdown(rule)) {
      if (!owner.some((o) => ruleCovers(o, simple))) missing.push(simple);
    }
  }
  return missing;
}

/** Merges simple rules that differ only in verbs (upstream's CompactRules). */
function compactRules(rules: PolicyRule[]): PolicyRule[] {
  const out: PolicyRule[] = [];
  const byKey = new Map<string, PolicyRule>();
  for (const r of rules) {
    const mergeable = (r.resources?.length === 1 && (r.apiGroups?.length ?? 0) <= 1 && (r.nonResourceURLs?.length ?? 0) === 0);
    if (!mergeable) {
      out.push(r);
      continue;
    }
    const key = JSON.stringify([r.apiGroups ?? [], r.resources, r.resourceNames ?? []]);
    const existing = byKey.get(key);
    if (existing) {
      for (const v of r.verbs) if (!existing.verbs.includes(v)) existing.verbs.push(v);
    } else {
      const copy: PolicyRule = { ...r, verbs: [...r.verbs] };
      byKey.set(key, copy);
      out.push(copy);
    }
  }
  return out;
}

/** Go's %q of a []string: `["a" "b"]`. */
function goQuoteList(values: readonly string[]): string {
  return `[${values.map((v) => JSON.stringify(v)).join(' ')}]`;
}

/** Upstream's rbac CompactString: `{APIGroups:[""], Resources:["pods"], Verbs:["get" "list"]}`. */
export function compactString(r: PolicyRule): string {
  const parts: string[] = [];
  if (r.apiGroups?.length) parts.push(`APIGroups:${goQuoteList(r.apiGroups)}`);
  if (r.resources?.length) parts.push(`Resources:${goQuoteList(r.resources)}`);
  if (r.nonResourceURLs?.length) parts.push(`NonResourceURLs:${goQuoteList(r.nonResourceURLs)}`);
  if (r.resourceNames?.length) parts.push(`ResourceNames:${goQuoteList(r.resourceNames)}`);
  if (r.verbs.length) parts.push(`Verbs:${goQuoteList(r.verbs)}`);
  return `{${parts.join(', ')}}`;
}

// --- SelfSubjectRulesReview

export interface SubjectRulesReviewStatus {
  resourceRules: Array<{ verbs: string[]; apiGroups?: string[]; resources?: string[]; resourceNames?: string[] }>;
  nonResourceRules: Array<{ verbs: string[]; nonResourceURLs?: string[] }>;
  incomplete: boolean;
  evaluationError?: string;
}

/** status of a SelfSubjectRulesReview for `namespace` (rules with resources and rules with URLs, as upstream splits them). */
export function subjectRulesReviewStatus(cache: RbacCache, user: UserInfo, namespace: string): SubjectRulesReviewStatus {
  const { rules, errors } = cache.rulesFor(user, namespace);
  const status: SubjectRulesReviewStatus = { resourceRules: [], nonResourceRules: [], incomplete: errors.length > 0 };
  if (user.groups.includes(SYSTEM_MASTERS)) {
    // What the privileged-groups authorizer grants, so `kubectl auth can-i --list` shows it.
    status.resourceRules.push({ verbs: ['*'], apiGroups: ['*'], resources: ['*'] });
    status.nonResourceRules.push({ verbs: ['*'], nonResourceURLs: ['*'] });
  }
  for (const r of rules) {
    if (r.resources?.length) {
      const rr: SubjectRulesReviewStatus['resourceRules'][number] = { verbs: [...r.verbs] };
      if (r.apiGroups?.length) rr.apiGroups = [...r.apiGroups];
      rr.resources = [...r.resources];
      if (r.resourceNames?.length) rr.resourceNames = [...r.resourceNames];
      status.resourceRules.push(rr);
    }
    if (r.nonResourceURLs?.length) status.nonResourceRules.push({ verbs: [...r.verbs], nonResourceURLs: [...r.nonResourceURLs] });
  }
  if (errors.length) status.evaluationError = aggregateErrors(errors);
  return status;
}
