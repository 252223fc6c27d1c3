// The in-memory index of ResourceDefs, by GVR, GVK and user-facing names.

import type { Registry, ResourceDef } from './types.ts';

const gvKey = (g: string, v: string) => `${g}/${v}`;

/** Upstream's version priority: GA > beta > alpha, higher numbers first; used when ordering versions. */
export function compareVersions(a: string, b: string): number {
  const parse = (v: string) => {
    const m = /^v(\d+)(?:(alpha|beta)(\d+))?$/.exec(v);
    if (!m) return [0, 0, 0] as const;
    const stage = m[2] === undefined ? 3 : m[2] === 'beta' ? 2 : 1;
    return [stage, Number(m[1]), Number(m[3] ?? 0)] as const;
  };
  const pa = parse(a);
  const pb = parse(b);
  for (let i = 0; i < 3; i++) if (pa[i] !== pb[i]) return pb[i]! - pa[i]!;
  return a < b ? -1 : a > b ? 1 : 0;
}

export class MapRegistry implements Registry {
  private readonly byGV = new Map<string, ResourceDef[]>();
  private readonly versionsOfGroup = new Map<string, string[]>();
  private readonly groupOrder: string[] = [];
  private readonly names = new Map<string, ResourceDef[]>();
  generation = 0;

  add(def: ResourceDef): void {
    const key = gvKey(def.group, def.version);
    let list = this.byGV.get(key);
    if (!list) {
      list = [];
      this.byGV.set(key, list);
      let versions = this.versionsOfGroup.get(def.group);
      if (!versions) {
        versions = [];
        this.versionsOfGroup.set(def.group, versions);
        this.groupOrder.push(def.group);
      }
      versions.push(def.version);
      versions.sort(compareVersions);
    }
    const existing = list.findIndex((d) => d.plural === def.plural);
    if (existing >= 0) list[existing] = def;
    else list.push(def);
    this.rebuildNames();
    this.generation++;
  }

  remove(group: string, version: string, plural: string): void {
    const key = gvKey(group, version);
    const list = this.byGV.get(key);
    if (!list) return;
    const i = list.findIndex((d) => d.plural === plural);
    if (i < 0) return;
    list.splice(i, 1);
    if (list.length === 0) {
      this.byGV.delete(key);
      const versions = this.versionsOfGroup.get(group) ?? [];
      versions.splice(versions.indexOf(version), 1);
      if (versions.length === 0) {
        this.versionsOfGroup.delete(group);
        this.groupOrder.splice(this.groupOrder.indexOf(group), 1);
      }
    }
    this.rebuildNames();
    this.generation++;
  }

  private rebuildNames(): void {
    this.names.clear();
    const put = (n: string, d: ResourceDef) => {
      const l = this.names.get(n);
      if (l) {
        if (!l.includes(d)) l.push(d);
      } else this.names.set(n, [d]);
    };
    // Preferred versions first, so lookup() returns the preferred def of each group first.
    for (const g of this.groupOrder) {
      for (const v of this.versionsOfGroup.get(g) ?? []) {
        for (const d of this.byGV.get(gvKey(g, v)) ?? []) {
          put(d.plural, d);
          put(d.singular, d);
          put(d.kind.toLowerCase(), d);
          for (const s of d.shortNames ?? []) put(s, d);
        }
      }
    }
  }

  groupVersions(): { group: string; version: string }[] {
    const out: { group: string; version: string }[] = [];
    for (const g of this.groupOrder) for (const v of this.versionsOfGroup.get(g) ?? []) out.push({ group: g, version: v });
    return out;
  }

  groups(): string[] {
    return [...this.groupOrder];
  }

  versions(group: string): readonly string[] {
    return this.versionsOfGroup.get(group) ?? [];
  }

  preferredVersion(group: string): string | undefined {
    return this.versionsOfGroup.get(group)?.[0];
  }

  resources(group: string, version: string): readonly ResourceDef[] {
    return this.byGV.get(gvKey(group, version)) ?? [];
  }

  byResource(group: string, version: string, resource: string): ResourceDef | undefined {
    return this.byGV.get(gvKey(group, version))?.find((d) => d.plural === resource);
  }

  byKind(group: string, version: string, kind: string): ResourceDef | undefined {
    return this.byGV.get(gvKey(group, version))?.find((d) => d.kind === kind);
  }

  lookup(name: string): ResourceDef[] {
    const lower = name.toLowerCase();
    const dot = lower.indexOf('.');
    if (dot > 0) {
      // `deployments.apps` form.
      const res = lower.slice(0, dot);
      const group = lower.slice(dot + 1);
      return (this.names.get(res) ?? []).filter((d) => d.group === group);
    }
    return this.names.get(lower) ?? [];
  }
}
