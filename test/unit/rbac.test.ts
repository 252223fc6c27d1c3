import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ClusterRole, PolicyRule } from 'kubernetes-types/rbac/v1.js';
import { RbacCache, forbiddenError, uncoveredRules, type RequestAttributes } from '../../src/apiserver/auth/rbac.ts';
import { requestAttributes } from '../../src/apiserver/auth/request-info.ts';
import { aggregateClusterRoles } from '../../src/apiserver/auth/aggregation.ts';
import { defaultRbacObjects } from '../../src/apiserver/auth/defaults.ts';
import { anonymousUser, type UserInfo } from '../../src/apiserver/auth/user.ts';

const bob: UserInfo = { username: 'bob', groups: ['system:authenticated'] };
const sa = (ns: string, name: string): UserInfo => ({
  username: `system:serviceaccount:${ns}:${name}`,
  groups: ['system:serviceaccounts', `system:serviceaccounts:${ns}`, 'system:authenticated'],
});

function res(user: UserInfo, verb: string, resource: string, o: Partial<RequestAttributes> = {}): RequestAttributes {
  return { user, verb, isResourceRequest: true, apiGroup: '', resource, subresource: '', namespace: '', name: '', path: '', ...o };
}
const url = (user: UserInfo, verb: string, path: string): RequestAttributes => ({
  user, verb, isResourceRequest: false, apiGroup: '', resource: '', subresource: '', namespace: '', name: '', path,
});

function cacheWithRole(rules: PolicyRule[], user = 'bob'): RbacCache {
  const c = new RbacCache();
  c.upsertClusterRole({ metadata: { name: 'r' }, rules });
  c.upsertClusterRoleBinding({ metadata: { name: 'b' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'r' }, subjects: [{ kind: 'User', name: user }] });
  return c;
}

test('rule matching table (upstream semantics)', () => {
  const cases: Array<[string, PolicyRule, Partial<RequestAttributes> & { verb: string; resource?: string }, boolean]> = [
    ['exact', { verbs: ['get'], apiGroups: [''], resources: ['pods'] }, { verb: 'get', resource: 'pods' }, true],
    ['verb differs', { verbs: ['get'], apiGroups: [''], resources: ['pods'] }, { verb: 'list', resource: 'pods' }, false],
    ['verb *', { verbs: ['*'], apiGroups: [''], resources: ['pods'] }, { verb: 'deletecollection', resource: 'pods' }, true],
    ['group differs', { verbs: ['get'], apiGroups: ['apps'], resources: ['pods'] }, { verb: 'get', resource: 'pods' }, false],
    ['group *', { verbs: ['get'], apiGroups: ['*'], resources: ['deployments'] }, { verb: 'get', resource: 'deployments', apiGroup: 'apps' }, true],
    ['pods does not cover pods/log', { verbs: ['get'], apiGroups: [''], resources: ['pods'] }, { verb: 'get', resource: 'pods', subresource: 'log' }, false],
    ['res/sub', { verbs: ['get'], apiGroups: [''], resources: ['pods/log'] }, { verb: 'get', resource: 'pods', subresource: 'log' }, true],
    ['*/sub', { verbs: ['get'], apiGroups: ['*'], resources: ['*/scale'] }, { verb: 'get', resource: 'deployments', subresource: 'scale', apiGroup: 'apps' }, true],
    ['*/sub needs that sub', { verbs: ['get'], apiGroups: ['*'], resources: ['*/scale'] }, { verb: 'get', resource: 'deployments', subresource: 'status', apiGroup: 'apps' }, false],
    ['*/sub not the parent', { verbs: ['get'], apiGroups: ['*'], resources: ['*/scale'] }, { verb: 'get', resource: 'deployments', apiGroup: 'apps' }, false],
    ['no res/* form', { verbs: ['get'], apiGroups: [''], resources: ['pods/*'] }, { verb: 'get', resource: 'pods', subresource: 'log' }, false],
    ['resources * covers subresources', { verbs: ['get'], apiGroups: [''], resources: ['*'] }, { verb: 'get', resource: 'pods', subresource: 'exec' }, true],
    ['resourceNames match', { verbs: ['get'], apiGroups: [''], resources: ['configmaps'], resourceNames: ['x'] }, { verb: 'get', resource: 'configmaps', name: 'x' }, true],
    ['resourceNames other name', { verbs: ['get'], apiGroups: [''], resources: ['configmaps'], resourceNames: ['x'] }, { verb: 'get', resource: 'configmaps', name: 'y' }, false],
    ['resourceNames never match unnamed list', { verbs: ['list'], apiGroups: [''], resources: ['configmaps'], resourceNames: ['x'] }, { verb: 'list', resource: 'configmaps' }, false],
  ];
  for (const [label, rule, attrs, want] of cases) {
    const c = cacheWithRole([rule]);
    const { verb, resource, ...rest } = attrs;
    assert.equal(c.authorize(res(bob, verb, resource ?? '', { ...rest, namespace: 'default' })).allowed, want, label);
  }
});

test('non-resource URL matching: exact, trailing *, bare *', () => {
  const c = cacheWithRole([{ verbs: ['get'], nonResourceURLs: ['/healthz', '/apis/*', '/logs*'] }]);
  assert.equal(c.authorize(url(bob, 'get', '/healthz')).allowed, true);
  assert.equal(c.authorize(url(bob, 'get', '/healthz/etcd')).allowed, false);
  assert.equal(c.authorize(url(bob, 'get', '/apis/apps/v1')).allowed, true);
  assert.equal(c.authorize(url(bob, 'get', '/apis')).allowed, false);
  assert.equal(c.authorize(url(bob, 'get', '/logsfoo')).allowed, true);
  assert.equal(c.authorize(url(bob, 'post', '/healthz')).allowed, false);
  const all = cacheWithRole([{ verbs: ['*'], nonResourceURLs: ['*'] }]);
  assert.equal(all.authorize(url(bob, 'get', '/anything/at/all')).allowed, true);
  // A URL rule never grants resources, and a resource rule never grants URLs.
  assert.equal(all.authorize(res(bob, 'get', 'pods', { namespace: 'x' })).allowed, false);
  assert.equal(cacheWithRole([{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }]).authorize(url(bob, 'get', '/version')).allowed, false);
});

test('RoleBindings apply only in their namespace; ClusterRoleBindings everywhere; reasons name the binding', () => {
  const c = new RbacCache();
  c.upsertClusterRole({ metadata: { name: 'reader' }, rules: [{ verbs: ['get'], apiGroups: [''], resources: ['pods'] }] });
  c.upsertRole({ metadata: { name: 'cm', namespace: 'a' }, rules: [{ verbs: ['list'], apiGroups: [''], resources: ['configmaps'] }] });
  c.upsertRoleBinding({ metadata: { name: 'rb', namespace: 'a' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'reader' }, subjects: [{ kind: 'ServiceAccount', name: 'app' }] });
  c.upsertRoleBinding({ metadata: { name: 'rb2', namespace: 'a' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'cm' }, subjects: [{ kind: 'Group', name: 'devs' }] });
  const app = sa('a', 'app');
  const d = c.authorize(res(app, 'get', 'pods', { namespace: 'a', name: 'p' }));
  assert.deepEqual(d, { allowed: true, reason: 'RBAC: allowed by RoleBinding "rb/a" of ClusterRole "reader" to ServiceAccount "app/a"' });
  assert.equal(c.authorize(res(app, 'get', 'pods', { namespace: 'b', name: 'p' })).allowed, false);
  assert.equal(c.authorize(res(app, 'get', 'pods', { name: 'p' })).allowed, false, 'a RoleBinding does not grant cluster-wide');
  // The same SA name in another namespace is another user.
  assert.equal(c.authorize(res(sa('b', 'app'), 'get', 'pods', { namespace: 'a', name: 'p' })).allowed, false);
  assert.equal(c.authorize(res({ username: 'x', groups: ['devs'] }, 'list', 'configmaps', { namespace: 'a' })).allowed, true);
  c.upsertClusterRoleBinding({ metadata: { name: 'crb' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'reader' }, subjects: [{ kind: 'User', name: 'bob' }] });
  assert.deepEqual(c.authorize(res(bob, 'get', 'pods', { namespace: 'zzz' })), { allowed: true, reason: 'RBAC: allowed by ClusterRoleBinding "crb" of ClusterRole "reader" to User "bob"' });
});

test('updates and deletes take effect; a missing role is reported as upstream words it', () => {
  const c = new RbacCache();
  c.upsertClusterRoleBinding({ metadata: { name: 'b' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'nope' }, subjects: [{ kind: 'User', name: 'bob' }] });
  assert.deepEqual(c.authorize(res(bob, 'get', 'pods')), { allowed: false, reason: 'RBAC: clusterrole.rbac.authorization.k8s.io "nope" not found' });
  c.upsertClusterRole({ metadata: { name: 'nope' }, rules: [{ verbs: ['get'], apiGroups: [''], resources: ['pods'] }] });
  assert.equal(c.authorize(res(bob, 'get', 'pods')).allowed, true);
  // Changing the binding's subjects drops the old subject from the index.
  c.upsertClusterRoleBinding({ metadata: { name: 'b' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'nope' }, subjects: [{ kind: 'User', name: 'alice' }] });
  assert.equal(c.authorize(res(bob, 'get', 'pods')).allowed, false);
  assert.equal(c.authorize(res({ username: 'alice', groups: [] }, 'get', 'pods')).allowed, true);
  c.deleteClusterRoleBinding('b');
  assert.equal(c.authorize(res({ username: 'alice', groups: [] }, 'get', 'pods')).allowed, false);
  assert.deepEqual(c.stats(), { clusterRoles: 1, roles: 0, clusterRoleBindings: 0, roleBindings: 0 });
  // Informer-style handlers route to the same methods.
  const h = c.handlersFor('RoleBinding');
  const rb = { metadata: { name: 'x', namespace: 'n' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'nope' }, subjects: [{ kind: 'User', name: 'bob' }] };
  h.onAdd(rb);
  assert.equal(c.authorize(res(bob, 'get', 'pods', { namespace: 'n' })).allowed, true);
  h.onDelete(rb);
  assert.equal(c.authorize(res(bob, 'get', 'pods', { namespace: 'n' })).allowed, false);
});

test('system:masters is allowed everything without any binding', () => {
  const c = new RbacCache();
  assert.equal(c.authorize(res({ username: 'admin', groups: ['system:masters'] }, 'delete', 'nodes', { name: 'n1' })).allowed, true);
  assert.equal(c.authorize(url({ username: 'admin', groups: ['system:masters'] }, 'get', '/metrics')).allowed, true);
});

test('403 messages in kube-apiserver wording', () => {
  const cases: Array<[RequestAttributes, string, Record<string, unknown>]> = [
    [res(bob, 'list', 'pods', { namespace: 'default' }), 'pods is forbidden: User "bob" cannot list resource "pods" in API group "" in the namespace "default"', { kind: 'pods' }],
    [res(bob, 'list', 'nodes'), 'nodes is forbidden: User "bob" cannot list resource "nodes" in API group "" at the cluster scope', { kind: 'nodes' }],
    [res(bob, 'get', 'configmaps', { namespace: 'ns', name: 'x' }), 'configmaps "x" is forbidden: User "bob" cannot get resource "configmaps" in API group "" in the namespace "ns"', { name: 'x', kind: 'configmaps' }],
    [res(bob, 'create', 'deployments', { apiGroup: 'apps', namespace: 'ns' }), 'deployments.apps is forbidden: User "bob" cannot create resource "deployments" in API group "apps" in the namespace "ns"', { group: 'apps', kind: 'deployments' }],
    [res(bob, 'create', 'pods', { subresource: 'exec', namespace: 'ns', name: 'p' }), 'pods "p" is forbidden: User "bob" cannot create resource "pods/exec" in API group "" in the namespace "ns"', { name: 'p', kind: 'pods' }],
    [url(anonymousUser, 'get', '/foo'), 'forbidden: User "system:anonymous" cannot get path "/foo"', {}],
  ];
  for (const [attrs, message, details] of cases) {
    const s = forbiddenError(attrs).toStatus();
    assert.equal(s.message, message);
    assert.equal(s.code, 403);
    assert.equal(s.reason, 'Forbidden');
    assert.deepEqual(s.details, details);
  }
  assert.equal(forbiddenError(res(bob, 'get', 'pods'), 'RBAC: clusterrole.rbac.authorization.k8s.io "x" not found').message,
    'pods is forbidden: User "bob" cannot get resource "pods" in API group "" at the cluster scope: RBAC: clusterrole.rbac.authorization.k8s.io "x" not found');
});

test('requestAttributes resolves URLs as upstream RequestInfo does', () => {
  const cases: Array<[string, string, Partial<RequestAttributes>]> = [
    ['GET', '/api/v1/namespaces/ns/pods', { verb: 'list', resource: 'pods', namespace: 'ns', name: '', isResourceRequest: true, apiGroup: '', apiVersion: 'v1' }],
    ['GET', '/api/v1/namespaces/ns/pods?watch=true&resourceVersion=5', { verb: 'watch', resource: 'pods', namespace: 'ns' }],
    ['GET', '/api/v1/namespaces/ns/pods?watch=1', { verb: 'watch' }],
    ['GET', '/api/v1/namespaces/ns/pods?watch=false', { verb: 'list' }],
    ['GET', '/api/v1/namespaces/ns/pods/p', { verb: 'get', resource: 'pods', name: 'p', namespace: 'ns' }],
    ['GET', '/api/v1/namespaces/ns/pods/p/log?follow=true', { verb: 'get', resource: 'pods', subresource: 'log', name: 'p' }],
    ['POST', '/api/v1/namespaces/ns/pods/p/exec?command=ls', { verb: 'create', subresource: 'exec' }],
    ['GET', '/api/v1/pods', { verb: 'list', resource: 'pods', namespace: '' }],
    ['GET', '/api/v1/namespaces', { verb: 'list', resource: 'namespaces', namespace: '' }],
    ['GET', '/api/v1/namespaces/x', { verb: 'get', resource: 'namespaces', name: 'x', namespace: 'x' }],
    ['PUT', '/api/v1/namespaces/x/finalize', { verb: 'update', resource: 'namespaces', name: 'x', subresource: 'finalize', namespace: 'x' }],
    ['PATCH', '/api/v1/namespaces/x/status', { verb: 'patch', resource: 'namespaces', subresource: 'status' }],
    ['DELETE', '/api/v1/namespaces/ns/configmaps', { verb: 'deletecollection', resource: 'configmaps' }],
    ['DELETE', '/api/v1/namespaces/ns/configmaps/c', { verb: 'delete', name: 'c' }],
    ['PATCH', '/apis/apps/v1/namespaces/ns/deployments/d/scale', { verb: 'patch', apiGroup: 'apps', apiVersion: 'v1', resource: 'deployments', name: 'd', subresource: 'scale', namespace: 'ns' }],
    ['POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', { verb: 'create', apiGroup: 'authorization.k8s.io', resource: 'selfsubjectaccessreviews' }],
    ['GET', '/api/v1/watch/namespaces/ns/pods', { verb: 'watch', resource: 'pods', namespace: 'ns' }],
    ['GET', '/api/v1/namespaces/ns/configmaps?fieldSelector=metadata.name%3Dcfg', { verb: 'list', name: 'cfg' }],
    ['GET', '/api/v1/namespaces/ns/configmaps?watch=true&fieldSelector=metadata.name==cfg', { verb: 'watch', name: 'cfg' }],
    ['HEAD', '/api/v1/nodes/n1', { verb: 'get', resource: 'nodes', name: 'n1' }],
    ['GET', '/api/v1/namespaces/ns/services/s:80/proxy/a/b', { verb: 'get', resource: 'services', name: 's:80', subresource: 'proxy' }],
    ['GET', '/api', { isResourceRequest: false, verb: 'get', path: '/api' }],
    ['GET', '/api/v1', { isResourceRequest: false, path: '/api/v1' }],
    ['GET', '/apis/apps/v1', { isResourceRequest: false, path: '/apis/apps/v1' }],
    ['GET', '/version?timeout=32s', { isResourceRequest: false, path: '/version', verb: 'get' }],
    ['POST', '/healthz', { isResourceRequest: false, verb: 'post' }],
  ];
  for (const [method, u, want] of cases) {
    const got = requestAttributes(method, u, bob);
    for (const [k, v] of Object.entries(want)) assert.equal((got as unknown as Record<string, unknown>)[k], v, `${method} ${u}: ${k}`);
  }
});

test('aggregation: selectors with matchLabels and matchExpressions, chains, no duplicates', () => {
  const roles: ClusterRole[] = [
    { metadata: { name: 'view', labels: { 'agg-edit': 'true' } }, aggregationRule: { clusterRoleSelectors: [{ matchLabels: { 'agg-view': 'true' } }] } },
    { metadata: { name: 'edit' }, aggregationRule: { clusterRoleSelectors: [{ matchLabels: { 'agg-edit': 'true' } }] } },
    { metadata: { name: 'p1', labels: { 'agg-view': 'true' } }, rules: [{ verbs: ['get'], apiGroups: [''], resources: ['pods'] }] },
    { metadata: { name: 'p2', labels: { 'agg-view': 'true' } }, rules: [{ verbs: ['get'], apiGroups: [''], resources: ['pods'] }, { verbs: ['list'], apiGroups: [''], resources: ['pods'] }] },
    { metadata: { name: 'e1', labels: { 'agg-edit': 'true' } }, rules: [{ verbs: ['create'], apiGroups: [''], resources: ['pods'] }] },
    { metadata: { name: 'x', labels: { tier: 'gold' } }, rules: [{ verbs: ['get'], apiGroups: [''], resources: ['secrets'] }] },
    { metadata: { name: 'expr' }, aggregationRule: { clusterRoleSelectors: [{ matchExpressions: [{ key: 'tier', operator: 'In', values: ['gold', 'silver'] }] }] } },
  ];
  const got = aggregateClusterRoles(roles);
  assert.deepEqual(got.get('view'), [{ verbs: ['get'], apiGroups: [''], resources: ['pods'] }, { verbs: ['list'], apiGroups: [''], resources: ['pods'] }]);
  assert.deepEqual(got.get('edit')?.map((r) => r.verbs[0]), ['create', 'get', 'list'], 'edit = e1 + view (aggregated), in name order');
  assert.deepEqual(got.get('expr'), [{ verbs: ['get'], apiGroups: [''], resources: ['secrets'] }]);
  assert.equal(got.has('p1'), false);
});

test('escalation: covers check, escalate and bind verbs, upstream message', () => {
  const c = new RbacCache();
  c.upsertClusterRole({ metadata: { name: 'pods-rw' }, rules: [{ verbs: ['get', 'list'], apiGroups: [''], resources: ['pods', 'pods/*'] }, { verbs: ['get'], apiGroups: [''], resources: ['*/status'] }] });
  c.upsertRoleBinding({ metadata: { name: 'b', namespace: 'ns' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'pods-rw' }, subjects: [{ kind: 'User', name: 'bob' }] });
  assert.equal(c.confirmNoEscalation(bob, 'ns', [{ verbs: ['get'], apiGroups: [''], resources: ['pods', 'pods/status'] }]), undefined);
  assert.equal(c.confirmNoEscalation(bob, 'ns', [{ verbs: ['get'], apiGroups: [''], resources: ['services/status'] }]), undefined, '*/status covers services/status');
  assert.equal(
    c.confirmNoEscalation(bob, 'ns', [{ verbs: ['get', 'delete', 'update'], apiGroups: [''], resources: ['pods'] }, { verbs: ['get'], apiGroups: [''], resources: ['secrets'] }]),
    'user "bob" (groups=["system:authenticated"]) is attempting to grant RBAC permissions not currently held:\n{APIGroups:[""], Resources:["pods"], Verbs:["delete" "update"]}\n{APIGroups:[""], Resources:["secrets"], Verbs:["get"]}',
  );
  assert.notEqual(c.confirmNoEscalation(bob, 'other', [{ verbs: ['get'], apiGroups: [''], resources: ['pods'] }]), undefined, 'rules held in ns do not count elsewhere');
  const err = c.checkEscalation(bob, 'ns', [{ verbs: ['delete'], apiGroups: [''], resources: ['pods'] }], { kind: 'Role', name: 'r' });
  assert.equal(err?.code, 403);
  assert.match(err?.message ?? '', /^roles\.rbac\.authorization\.k8s\.io "r" is forbidden: user "bob" /);
  assert.equal(c.checkEscalation({ username: 'root', groups: ['system:masters'] }, 'ns', [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }]), undefined);

  assert.equal(c.checkBind(bob, { kind: 'ClusterRole', name: 'pods-rw' }, 'ns', 'x'), undefined, 'holding the rules is enough to bind');
  c.upsertClusterRole({ metadata: { name: 'big' }, rules: [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }] });
  assert.equal(c.checkBind(bob, { kind: 'ClusterRole', name: 'big' }, 'ns', 'x')?.code, 403);
  assert.equal(c.checkBind(bob, { kind: 'ClusterRole', name: 'missing' }, 'ns', 'x')?.code, 404);
  // Granting bind / escalate on the specific role lifts the checks.
  c.upsertRole({ metadata: { name: 'binder', namespace: 'ns' }, rules: [{ verbs: ['bind'], apiGroups: ['rbac.authorization.k8s.io'], resources: ['clusterroles'], resourceNames: ['big'] }, { verbs: ['escalate'], apiGroups: ['rbac.authorization.k8s.io'], resources: ['roles'] }] });
  c.upsertRoleBinding({ metadata: { name: 'binder', namespace: 'ns' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'binder' }, subjects: [{ kind: 'User', name: 'bob' }] });
  assert.equal(c.checkBind(bob, { kind: 'ClusterRole', name: 'big' }, 'ns', 'x'), undefined);
  assert.equal(c.checkEscalation(bob, 'ns', [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }], { kind: 'Role', name: 'r' }), undefined);
  // Aggregation rules need escalate on clusterroles, which bob lacks cluster-wide.
  assert.match(c.checkEscalation(bob, '', [], { kind: 'ClusterRole', name: 'agg', hasAggregationRule: true })?.message ?? '', /must have cluster-admin privileges to use the aggregationRule/);
  assert.deepEqual(uncoveredRules([{ verbs: ['get'], nonResourceURLs: ['/logs/*'] }], [{ verbs: ['get'], nonResourceURLs: ['/logs/a', '/metrics'] }]), [{ verbs: ['get'], nonResourceURLs: ['/metrics'] }]);
});

function defaultsCache(): RbacCache {
  const c = new RbacCache();
  const d = defaultRbacObjects();
  for (const r of d.clusterRoles) c.upsertClusterRole(r);
  for (const r of d.roles) c.upsertRole(r);
  for (const b of d.clusterRoleBindings) c.upsertClusterRoleBinding(b);
  for (const b of d.roleBindings) c.upsertRoleBinding(b);
  return c;
}

const anon: UserInfo = anonymousUser;
const authed = (name: string, ...groups: string[]): UserInfo => ({ username: name, groups: [...groups, 'system:authenticated'] });

test('defaults: anonymous, authenticated users and the discovery roles', () => {
  const c = defaultsCache();
  const can = (a: RequestAttributes) => c.authorize(a).allowed;
  assert.equal(can(requestAttributes('GET', '/version', anon)), true);
  assert.equal(can(requestAttributes('GET', '/healthz', anon)), true);
  assert.equal(can(requestAttributes('GET', '/readyz', anon)), true);
  assert.equal(can(requestAttributes('GET', '/api', anon)), false);
  assert.equal(can(requestAttributes('GET', '/apis', anon)), false);
  assert.equal(can(requestAttributes('GET', '/api/v1/namespaces/default/pods', anon)), false);
  const u = authed('carol');
  assert.equal(can(requestAttributes('GET', '/api', u)), true);
  assert.equal(can(requestAttributes('GET', '/apis/apps/v1', u)), true);
  assert.equal(can(requestAttributes('GET', '/openapi/v3/apis/apps/v1', u)), true);
  assert.equal(can(requestAttributes('GET', '/metrics', u)), false);
  assert.equal(can(requestAttributes('POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', u)), true);
  assert.equal(can(requestAttributes('POST', '/apis/authorization.k8s.io/v1/selfsubjectrulesreviews', u)), true);
  assert.equal(can(requestAttributes('POST', '/apis/authentication.k8s.io/v1/selfsubjectreviews', u)), true);
  assert.equal(can(requestAttributes('POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews', u)), false);
  assert.equal(can(requestAttributes('GET', '/api/v1/namespaces/default/pods', u)), false);
  assert.equal(can(requestAttributes('GET', '/openid/v1/jwks', sa('default', 'x'))), true);
  assert.equal(can(requestAttributes('GET', '/openid/v1/jwks', u)), false);
});

test('defaults: view/edit/admin aggregated, SA bound in one namespace, scheduler, node, controllers', () => {
  const c = defaultsCache();
  const bindNs = (ns: string, role: string, subject: UserInfo) => {
    const m = /^system:serviceaccount:([^:]+):(.+)$/.exec(subject.username);
    c.upsertRoleBinding({
      metadata: { name: `${role}-${subject.username}`, namespace: ns },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
      subjects: [m ? { kind: 'ServiceAccount', name: m[2] ?? '', namespace: m[1] } : { kind: 'User', name: subject.username, apiGroup: 'rbac.authorization.k8s.io' }],
    });
  };
  const can = (m: string, u: string, who: UserInfo) => c.authorize(requestAttributes(m, u, who)).allowed;
  const viewer = sa('team', 'viewer');
  bindNs('team', 'view', viewer);
  assert.equal(can('GET', '/api/v1/namespaces/team/pods', viewer), true);
  assert.equal(can('GET', '/api/v1/namespaces/team/pods/p/log', viewer), true);
  assert.equal(can('GET', '/apis/apps/v1/namespaces/team/deployments?watch=true', viewer), true);
  assert.equal(can('GET', '/api/v1/namespaces/team/secrets', viewer), false, 'view cannot read secrets');
  assert.equal(can('POST', '/api/v1/namespaces/team/pods', viewer), false);
  assert.equal(can('GET', '/api/v1/namespaces/other/pods', viewer), false, 'a namespace binding does not reach other namespaces');
  assert.equal(can('GET', '/api/v1/pods', viewer), false);

  const editor = authed('ed');
  bindNs('team', 'edit', editor);
  assert.equal(can('POST', '/apis/apps/v1/namespaces/team/deployments', editor), true);
  assert.equal(can('PATCH', '/apis/apps/v1/namespaces/team/deployments/d/scale', editor), true);
  assert.equal(can('GET', '/api/v1/namespaces/team/secrets/s', editor), true);
  assert.equal(can('POST', '/api/v1/namespaces/team/pods/p/exec', editor), true);
  assert.equal(can('POST', '/apis/rbac.authorization.k8s.io/v1/namespaces/team/roles', editor), false, 'edit cannot manage RBAC');
  const adm = authed('adm');
  bindNs('team', 'admin', adm);
  assert.equal(can('POST', '/apis/rbac.authorization.k8s.io/v1/namespaces/team/rolebindings', adm), true);
  assert.equal(can('DELETE', '/apis/apps/v1/namespaces/team/deployments', adm), true);

  const scheduler = authed('system:kube-scheduler');
  assert.equal(can('POST', '/api/v1/namespaces/x/pods/p/binding', scheduler), true);
  assert.equal(can('GET', '/api/v1/nodes?watch=true', scheduler), true);
  assert.equal(can('PATCH', '/api/v1/persistentvolumes/pv1', scheduler), true, 'system:volume-scheduler');
  assert.equal(can('DELETE', '/api/v1/nodes/n1', scheduler), false);

  // system:node's default binding has no subjects (upstream's Node authorizer covers kubelets); bind it to a group as nanokube's kubelet identity would be.
  c.upsertClusterRoleBinding({ metadata: { name: 'nodes' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:node' }, subjects: [{ kind: 'Group', name: 'system:nodes' }] });
  const node = authed('system:node:n1', 'system:nodes');
  assert.equal(can('PUT', '/api/v1/nodes/n1/status', node), true);
  assert.equal(can('PATCH', '/api/v1/namespaces/x/pods/p/status', node), true);
  assert.equal(can('DELETE', '/api/v1/nodes/n1', node), false);

  const gc = sa('kube-system', 'generic-garbage-collector');
  assert.equal(can('DELETE', '/apis/apps/v1/namespaces/a/replicasets/r', gc), true);
  assert.equal(can('POST', '/apis/apps/v1/namespaces/a/replicasets', gc), false);
  const rsc = sa('kube-system', 'replicaset-controller');
  assert.equal(can('POST', '/api/v1/namespaces/a/pods', rsc), true);
  assert.equal(can('PUT', '/apis/apps/v1/namespaces/a/replicasets/r/status', rsc), true);
  const kcm = authed('system:kube-controller-manager');
  assert.equal(can('GET', '/apis/apps/v1/deployments', kcm), true);
  assert.equal(can('GET', '/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-controller-manager', kcm), true);
  assert.equal(can('GET', '/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/other', kcm), true, 'via the kube-system leader-locking Role');
  assert.equal(can('GET', '/apis/coordination.k8s.io/v1/namespaces/default/leases/other', kcm), false);
});

test('defaults carry bootstrapping labels, autoupdate annotation and a checksum', () => {
  const d = defaultRbacObjects();
  assert.match(d.checksum, /^sha256:[0-9a-f]{64}$/);
  for (const o of [...d.clusterRoles, ...d.clusterRoleBindings, ...d.roles, ...d.roleBindings]) {
    assert.equal(o.metadata?.labels?.['kubernetes.io/bootstrapping'], 'rbac-defaults', o.metadata?.name);
    assert.equal(o.metadata?.annotations?.['rbac.authorization.kubernetes.io/autoupdate'], 'true', o.metadata?.name);
  }
  const names = new Set(d.clusterRoles.map((r) => r.metadata?.name));
  for (const n of ['cluster-admin', 'system:discovery', 'system:public-info-viewer', 'system:basic-user', 'admin', 'edit', 'view', 'system:node', 'system:node-proxier',
    'system:kube-scheduler', 'system:volume-scheduler', 'system:kube-controller-manager', 'system:controller:deployment-controller', 'system:node-bootstrapper',
    'system:auth-delegator', 'system:certificates.k8s.io:kube-apiserver-client-approver', 'system:service-account-issuer-discovery', 'system:monitoring', 'system:heapster']) {
    assert.ok(names.has(n), n);
  }
  // Every binding names a role that exists.
  for (const b of d.clusterRoleBindings) assert.ok(names.has(b.roleRef.name), b.metadata?.name);
  for (const b of d.roleBindings) {
    const ok = b.roleRef.kind === 'ClusterRole' ? names.has(b.roleRef.name) : d.roles.some((r) => r.metadata?.name === b.roleRef.name && r.metadata?.namespace === b.metadata?.namespace);
    assert.ok(ok, b.metadata?.name);
  }
  const view = d.clusterRoles.find((r) => r.metadata?.name === 'view');
  assert.ok((view?.rules?.length ?? 0) > 5, 'view arrives aggregated');
  // Copies: mutating one result does not leak into the next.
  view!.rules = [];
  assert.ok((defaultRbacObjects().clusterRoles.find((r) => r.metadata?.name === 'view')?.rules?.length ?? 0) > 5);
});

test('SelfSubjectRulesReview status: resource and non-resource rules for the namespace, masters, missing roles', async () => {
  const { subjectRulesReviewStatus } = await import('../../src/apiserver/auth/rbac.ts');
  const c = defaultsCache();
  c.upsertRoleBinding({ metadata: { name: 'v', namespace: 'team' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' }, subjects: [{ kind: 'User', name: 'carol' }] });
  const carol = authed('carol');
  const inTeam = subjectRulesReviewStatus(c, carol, 'team');
  assert.equal(inTeam.incomplete, false);
  assert.ok(inTeam.resourceRules.some((r) => r.resources?.includes('pods') && r.verbs.includes('list')));
  assert.ok(inTeam.resourceRules.some((r) => r.resources?.includes('selfsubjectaccessreviews')));
  assert.ok(inTeam.nonResourceRules.some((r) => r.nonResourceURLs?.includes('/api')));
  const elsewhere = subjectRulesReviewStatus(c, carol, 'other');
  assert.ok(!elsewhere.resourceRules.some((r) => r.resources?.includes('pods')));
  const root = subjectRulesReviewStatus(c, { username: 'root', groups: ['system:masters', 'system:authenticated'] }, 'x');
  assert.deepEqual(root.resourceRules[0], { verbs: ['*'], apiGroups: ['*'], resources: ['*'] });
  c.upsertRoleBinding({ metadata: { name: 'dangling', namespace: 'team' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'gone' }, subjects: [{ kind: 'User', name: 'carol' }] });
  const partial = subjectRulesReviewStatus(c, carol, 'team');
  assert.equal(partial.incomplete, true);
  assert.equal(partial.evaluationError, 'role.rbac.authorization.k8s.io "gone" not found');
});
