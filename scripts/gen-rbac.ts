// Turns upstream's bootstrap-policy test data into embedded/rbac/defaults.json, the default RBAC
// objects nanokube creates at start-up. Facts only: names, labels that drive aggregation, rules,
// role refs and subjects. Timestamps, the bootstrapping label and the autoupdate annotation are
// dropped here and re-added by src/apiserver/auth/defaults.ts, which is what keeps the file small.
//
//   node --import tsx scripts/gen-rbac.ts --testdata <dir> [--source <text>] [--out embedded/rbac/defaults.json]
//
// <dir> holds kubernetes/kubernetes plugin/pkg/auth/authorizer/rbac/bootstrappolicy/testdata/
// {cluster-roles,cluster-role-bindings,controller-roles,controller-role-bindings,namespace-roles,
// namespace-role-bindings}.yaml (release-1.32). The *-featuregates.yaml variants are not read: they
// add roles for alpha/beta features nanokube does not serve.
//
// The output carries a sha256 checksum of its content; the server stores the checksum it last
// applied and skips reconciling the defaults while it is unchanged.
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHash } from 'node:crypto';
import { parse } from 'yaml';
import type { EmbeddedRbac } from '../src/apiserver/auth/defaults.ts';

type Obj = Record<string, unknown> & { kind?: string; metadata?: { name?: string; namespace?: string; labels?: Record<string, string> } };

const BOOTSTRAP_LABEL = 'kubernetes.io/bootstrapping';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function items(dir: string, file: string): Obj[] {
  const doc = parse(readFileSync(join(dir, file), 'utf8')) as { items?: Obj[] } | null;
  return doc?.items ?? [];
}

function labelsOf(o: Obj): Record<string, string> | undefined {
  const l = { ...(o.metadata?.labels ?? {}) };
  delete l[BOOTSTRAP_LABEL];
  return Object.keys(l).length ? l : undefined;
}

function rulesOf(o: Obj): unknown[] {
  return ((o.rules as Array<Record<string, unknown>> | null) ?? []).map((r) => {
    const out: Record<string, unknown> = {};
    // Fixed key order so the checksum does not depend on the YAML's.
    for (const k of ['verbs', 'apiGroups', 'resources', 'resourceNames', 'nonResourceURLs']) {
      const v = r[k];
      if (Array.isArray(v) && v.length) out[k] = v;
    }
    return out;
  });
}

function subjectsOf(o: Obj): unknown[] {
  return ((o.subjects as Array<Record<string, unknown>> | null) ?? []).map((s) => {
    const out: Record<string, unknown> = { kind: s.kind, name: s.name };
    if (s.kind === 'ServiceAccount') out.namespace = s.namespace;
    else out.apiGroup = 'rbac.authorization.k8s.io';
    return out;
  });
}

const byName = (a: { name: string; namespace?: string }, b: { name: string; namespace?: string }) =>
  `${a.namespace ?? ''}/${a.name}` < `${b.namespace ?? ''}/${b.name}` ? -1 : 1;

export function generate(dir: string, source: string): EmbeddedRbac {
  const clusterRoles = [...items(dir, 'cluster-roles.yaml'), ...items(dir, 'controller-roles.yaml')].map((o) => {
    const r: EmbeddedRbac['clusterRoles'][number] = { name: o.metadata?.name ?? '', rules: rulesOf(o) as never };
    const labels = labelsOf(o);
    if (labels) r.labels = labels;
    if (o.aggregationRule) r.aggregationRule = o.aggregationRule as never;
    return r;
  });
  const clusterRoleBindings = [...items(dir, 'cluster-role-bindings.yaml'), ...items(dir, 'controller-role-bindings.yaml')].map((o) => ({
    name: o.metadata?.name ?? '',
    roleRef: (o.roleRef as { name: string }).name,
    subjects: subjectsOf(o) as never,
  }));
  const roles = items(dir, 'namespace-roles.yaml').map((o) => ({ namespace: o.metadata?.namespace ?? '', name: o.metadata?.name ?? '', rules: rulesOf(o) as never }));
  const roleBindings = items(dir, 'namespace-role-bindings.yaml').map((o) => {
    const ref = o.roleRef as { kind: 'Role' | 'ClusterRole'; name: string };
    return { namespace: o.metadata?.namespace ?? '', name: o.metadata?.name ?? '', roleRef: { kind: ref.kind, name: ref.name }, subjects: subjectsOf(o) as never };
  });
  clusterRoles.sort(byName);
  clusterRoleBindings.sort(byName);
  roles.sort(byName);
  roleBindings.sort(byName);
  const content = { clusterRoles, clusterRoleBindings, roles, roleBindings };
  const checksum = 'sha256:' + createHash('sha256').update(JSON.stringify(content)).digest('hex');
  return { format: 'nanokube-rbac/1', source, checksum, ...content };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dir = arg('--testdata');
  if (!dir) {
    console.error('usage: node --import tsx scripts/gen-rbac.ts --testdata <bootstrappolicy/testdata dir> [--source text] [--out file]');
    process.exit(2);
  }
  const out = arg('--out') ?? join(dirname(fileURLToPath(import.meta.url)), '..', 'embedded', 'rbac', 'defaults.json');
  const data = generate(dir, arg('--source') ?? 'kubernetes bootstrappolicy testdata');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify(data) + '\n');
  console.log(`${out}: ${data.clusterRoles.length} ClusterRoles, ${data.clusterRoleBindings.length} ClusterRoleBindings, ${data.roles.length} Roles, ${data.roleBindings.length} RoleBindings, ${data.checksum}`);
}
