// ClusterRole aggregation: a ClusterRole with `aggregationRule.clusterRoleSelectors` gets the union
// of the rules of every other ClusterRole whose labels match any selector (how admin/edit/view
// collect system:aggregate-to-* and CRD authors' roles). Pure: the controller passes the current
// ClusterRoles and writes back the roles whose rules changed.
import type { ClusterRole, PolicyRule } from 'kubernetes-types/rbac/v1.js';
import { selectorFromObject, type LabelSelector } from '../../api/labels.ts';

function ruleKey(r: PolicyRule): string {
  return JSON.stringify([r.verbs, r.apiGroups ?? [], r.resources ?? [], r.resourceNames ?? [], r.nonResourceURLs ?? []]);
}

function selectorsOf(role: ClusterRole): LabelSelector[] | undefined {
  const sels = role.aggregationRule?.clusterRoleSelectors;
  if (!sels) return undefined;
  const out: LabelSelector[] = [];
  for (const s of sels) {
    try {
      out.push(selectorFromObject(s));
    } catch {
      // An invalid selector selects nothing (validation should have refused it on write).
    }
  }
  return out;
}

/**
 * Aggregated rules for every ClusterRole that has an aggregationRule, keyed by name. Matching roles
 * are taken in name order and their rules appended without duplicates, as upstream's controller
 * does. Aggregated roles that select other aggregated roles (admin <- edit <- view) are resolved
 * to a fixed point here rather than over several controller passes.
 */
export function aggregateClusterRoles(clusterRoles: readonly ClusterRole[]): Map<string, PolicyRule[]> {
  const sorted = [...clusterRoles].sort((a, b) => ((a.metadata?.name ?? '') < (b.metadata?.name ?? '') ? -1 : 1));
  const current = new Map<string, PolicyRule[]>(sorted.map((r) => [r.metadata?.name ?? '', r.rules ?? []]));
  const aggregated = sorted.flatMap((r) => {
    const sels = selectorsOf(r);
    return sels ? [{ name: r.metadata?.name ?? '', sels }] : [];
  });
  const result = new Map<string, PolicyRule[]>();
  // Each pass can only add rules; the chain depth bounds the passes, plus one to see nothing change.
  for (let pass = 0; pass <= aggregated.length; pass++) {
    let changed = false;
    for (const { name, sels } of aggregated) {
      const rules: PolicyRule[] = [];
      const seen = new Set<string>();
      for (const other of sorted) {
        const otherName = other.metadata?.name ?? '';
        if (otherName === name) continue;
        const labels = other.metadata?.labels;
        if (!sels.some((s) => s.matches(labels))) continue;
        for (const rule of current.get(otherName) ?? []) {
          const k = ruleKey(rule);
          if (seen.has(k)) continue;
          seen.add(k);
          rules.push(rule);
        }
      }
      const before = current.get(name) ?? [];
      if (before.length !== rules.length || before.some((r, i) => ruleKey(r) !== ruleKey(rules[i] as PolicyRule))) changed = true;
      current.set(name, rules);
      result.set(name, rules);
    }
    if (!changed) break;
  }
  return result;
}

/** True when `role.rules` already equal the aggregated rules (nothing to write). */
export function aggregationUpToDate(role: ClusterRole, rules: readonly PolicyRule[]): boolean {
  const have = role.rules ?? [];
  return have.length === rules.length && have.every((r, i) => ruleKey(r) === ruleKey(rules[i] as PolicyRule));
}
