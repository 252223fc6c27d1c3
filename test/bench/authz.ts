// `npm run bench -- authz`: RBAC decisions per second with the default objects plus 1000 extra
// RoleBindings, next to a plain Map-lookup loop measured in the same run (the ratio says how far
// a decision is from the cheapest thing a request could do). Goal: >= 200k decisions/s.
import { RbacCache, type RequestAttributes } from '../../src/apiserver/auth/rbac.ts';
import { requestAttributes } from '../../src/apiserver/auth/request-info.ts';
import { defaultRbacObjects } from '../../src/apiserver/auth/defaults.ts';
import type { UserInfo } from '../../src/apiserver/auth/user.ts';

const EXTRA_BINDINGS = 1000;
const NAMESPACES = 100;

function buildCache(): RbacCache {
  const c = new RbacCache();
  const d = defaultRbacObjects();
  for (const r of d.clusterRoles) c.upsertClusterRole(r);
  for (const r of d.roles) c.upsertRole(r);
  for (const b of d.clusterRoleBindings) c.upsertClusterRoleBinding(b);
  for (const b of d.roleBindings) c.upsertRoleBinding(b);
  const roles = ['view', 'edit', 'admin'];
  for (let i = 0; i < EXTRA_BINDINGS; i++) {
    const ns = `ns-${i % NAMESPACES}`;
    c.upsertRoleBinding({
      metadata: { name: `rb-${i}`, namespace: ns },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: roles[i % 3] ?? 'view' },
      subjects: [
        { kind: 'ServiceAccount', name: `sa-${i}`, namespace: ns },
        { kind: 'User', name: `user-${i}`, apiGroup: 'rbac.authorization.k8s.io' },
        { kind: 'Group', name: `team-${i % 50}`, apiGroup: 'rbac.authorization.k8s.io' },
      ],
    });
  }
  return c;
}

const sa = (ns: string, name: string): UserInfo => ({
  username: `system:serviceaccount:${ns}:${name}`,
  groups: ['system:serviceaccounts', `system:serviceaccounts:${ns}`, 'system:authenticated'],
});

/** A mix of what a busy dev cluster sees: controllers, SAs reading their namespace, users, denials. */
function workload(): RequestAttributes[] {
  const out: RequestAttributes[] = [];
  for (let i = 0; i < 1000; i++) {
    const ns = `ns-${i % NAMESPACES}`;
    out.push(requestAttributes('GET', `/api/v1/namespaces/${ns}/pods`, sa(ns, `sa-${i}`))); // allowed via RoleBinding
    out.push(requestAttributes('GET', `/api/v1/namespaces/${ns}/secrets/s`, sa(ns, `sa-${i}`))); // view: denied (or edit/admin: allowed)
    out.push(requestAttributes('GET', `/api/v1/namespaces/other/pods`, sa(ns, `sa-${i}`))); // denied: wrong namespace
    out.push(requestAttributes('POST', `/apis/apps/v1/namespaces/${ns}/deployments`, { username: `dev-${i}`, groups: [`team-${i % 50}`, 'system:authenticated'] }));
    out.push(requestAttributes('GET', '/apis/apps/v1', { username: `user-${i}`, groups: ['system:authenticated'] })); // system:discovery
    out.push(requestAttributes('POST', `/api/v1/namespaces/${ns}/pods/p/binding`, { username: 'system:kube-scheduler', groups: ['system:authenticated'] }));
    out.push(requestAttributes('PUT', `/apis/apps/v1/namespaces/${ns}/replicasets/r/status`, sa('kube-system', 'replicaset-controller')));
    out.push(requestAttributes('GET', '/api/v1/namespaces/default/pods', { username: 'system:anonymous', groups: ['system:unauthenticated'] }));
  }
  return out;
}

function measure(label: string, iterations: number, fn: (i: number) => boolean): number {
  for (let i = 0; i < Math.min(iterations, 50_000); i++) fn(i); // warm-up
  const start = process.hrtime.bigint();
  let yes = 0;
  for (let i = 0; i < iterations; i++) if (fn(i)) yes++;
  const secs = Number(process.hrtime.bigint() - start) / 1e9;
  const rate = iterations / secs;
  console.log(`${label.padEnd(28)} ${Math.round(rate).toLocaleString('en-US').padStart(12)} /s   (${yes} true of ${iterations})`);
  return rate;
}

export function main(args: string[] = []): void {
  const iterations = Number(args[0] ?? 2_000_000);
  const t0 = performance.now();
  const cache = buildCache();
  console.log(`cache built in ${(performance.now() - t0).toFixed(1)} ms: ${JSON.stringify(cache.stats())}`);
  const reqs = workload();
  const n = reqs.length;

  // Baseline: one Map lookup per "decision" over comparable keys.
  const map = new Map<string, boolean>(reqs.map((r, i) => [`${r.user.username}|${r.verb}|${r.resource}|${r.namespace}|${i}`, i % 2 === 0]));
  const keys = [...map.keys()];
  const baseline = measure('baseline Map.get', iterations, (i) => map.get(keys[i % n] as string) === true);
  const rbac = measure('RbacCache.authorize', iterations, (i) => cache.authorize(reqs[i % n] as RequestAttributes).allowed);
  const withResolve = measure('requestAttributes+authorize', Math.floor(iterations / 4), (i) => {
    const r = reqs[i % n] as RequestAttributes;
    return cache.authorize(requestAttributes('GET', r.path, r.user)).allowed;
  });
  console.log(`ratio baseline/authorize: ${(baseline / rbac).toFixed(1)}x   goal >= 200,000 decisions/s: ${rbac >= 200_000 ? 'met' : 'NOT met'}`);
  void withResolve;
}
