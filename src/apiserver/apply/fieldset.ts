// Sets of field paths as server-side apply tracks them, and their wire form FieldsV1
// (`{"f:spec":{"f:replicas":{}}}`). Path elements are kept in their serialized FieldsV1 spelling —
// `f:<name>`, `k:<JSON of list-map keys, sorted by name>`, `v:<JSON value>`, `i:<index>` — so
// decoding and encoding never re-serialize keys and equal elements compare as equal strings.

export class FieldSet {
  /** Whether the path that leads to this node is itself in the set (FieldsV1 `.` or a leaf `{}`). */
  member = false;
  readonly children = new Map<string, FieldSet>();

  child(element: string): FieldSet {
    let c = this.children.get(element);
    if (c === undefined) {
      c = new FieldSet();
      this.children.set(element, c);
    }
    return c;
  }

  isEmpty(): boolean {
    if (this.member) return false;
    for (const c of this.children.values()) if (!c.isEmpty()) return false;
    return true;
  }

  insert(path: readonly string[]): void {
    let node: FieldSet = this;
    for (const e of path) node = node.child(e);
    node.member = true;
  }

  has(path: readonly string[]): boolean {
    let node: FieldSet | undefined = this;
    for (const e of path) {
      node = node.children.get(e);
      if (node === undefined) return false;
    }
    return node.member;
  }

  clone(): FieldSet {
    const out = new FieldSet();
    out.member = this.member;
    for (const [k, c] of this.children) out.children.set(k, c.clone());
    return out;
  }

  union(other: FieldSet): FieldSet {
    const out = this.clone();
    out.addAll(other);
    return out;
  }

  /** Adds every path of `other` to this set in place. */
  addAll(other: FieldSet): void {
    if (other.member) this.member = true;
    for (const [k, c] of other.children) this.child(k).addAll(c);
  }

  difference(other: FieldSet): FieldSet {
    const out = new FieldSet();
    out.member = this.member && !other.member;
    for (const [k, c] of this.children) {
      const o = other.children.get(k);
      const d = o ? c.difference(o) : c.clone();
      // Results are built bottom-up without empty children, so a shallow check suffices.
      if (d.member || d.children.size > 0) out.children.set(k, d);
    }
    return out;
  }

  intersection(other: FieldSet): FieldSet {
    const out = new FieldSet();
    out.member = this.member && other.member;
    for (const [k, c] of this.children) {
      const o = other.children.get(k);
      if (!o) continue;
      const i = c.intersection(o);
      if (i.member || i.children.size > 0) out.children.set(k, i);
    }
    return out;
  }

  /** Member paths, members of a level before the subtrees below it, each level in FieldsV1 order. */
  paths(prefix: string[] = []): string[][] {
    const out: string[][] = [];
    const keys = sortedElements([...this.children.keys()]);
    for (const k of keys) if (this.children.get(k)!.member) out.push([...prefix, k]);
    for (const k of keys) out.push(...this.children.get(k)!.paths([...prefix, k]));
    return out;
  }

  /** The FieldsV1 JSON object. */
  toFieldsV1(): Record<string, unknown> {
    return this.emit();
  }

  private emit(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    const keys = sortedElements([...this.children.keys()].filter((k) => !this.children.get(k)!.isEmpty()));
    // `.` marks a member that also has members below it; a bare member is just `{}`.
    if (this.member && keys.length > 0) out['.'] = {};
    for (const k of keys) out[k] = this.children.get(k)!.emit();
    return out;
  }

  static fromFieldsV1(raw: unknown): FieldSet {
    const set = new FieldSet();
    const walk = (node: FieldSet, value: unknown, depth: number) => {
      if (depth > 256) throw new Error('FieldsV1 nested too deeply');
      if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('FieldsV1 entries must be objects');
      const entries = Object.keys(value);
      if (entries.length === 0) {
        node.member = true;
        return;
      }
      for (const k of entries) {
        if (k === '.') {
          node.member = true;
          continue;
        }
        if (!/^[fkvi]:/.test(k)) throw new Error(`unknown path element ${JSON.stringify(k)} in FieldsV1`);
        walk(node.child(k), (value as Record<string, unknown>)[k], depth + 1);
      }
    };
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error('FieldsV1 must be an object');
    for (const k of Object.keys(raw)) {
      if (k === '.') continue;
      if (!/^[fkvi]:/.test(k)) throw new Error(`unknown path element ${JSON.stringify(k)} in FieldsV1`);
      walk(set.child(k), (raw as Record<string, unknown>)[k], 1);
    }
    return set;
  }
}

const RANK: Record<string, number> = { f: 0, k: 1, v: 2, i: 3 };

/** Upstream's element order: field names, then keys, then values, then indices. */
export function compareElements(a: string, b: string): number {
  const ra = RANK[a[0]!] ?? 9;
  const rb = RANK[b[0]!] ?? 9;
  if (ra !== rb) return ra - rb;
  if (a[0] === 'i') return Number(a.slice(2)) - Number(b.slice(2));
  if (a[0] === 'k') return compareKeyLists(JSON.parse(a.slice(2)) as Record<string, unknown>, JSON.parse(b.slice(2)) as Record<string, unknown>);
  if (a[0] === 'v') return compareValues(JSON.parse(a.slice(2)), JSON.parse(b.slice(2)));
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareKeyLists(a: Record<string, unknown>, b: Record<string, unknown>): number {
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  for (let i = 0; ; i++) {
    if (i >= ka.length && i >= kb.length) return 0;
    if (i >= ka.length) return -1;
    if (i >= kb.length) return 1;
    if (ka[i] !== kb[i]) return ka[i]! < kb[i]! ? -1 : 1;
    const c = compareValues(a[ka[i]!], b[kb[i]!]);
    if (c !== 0) return c;
  }
}

/** Value order as upstream sorts set elements: by type (null, bool, number, string), then value. */
function compareValues(a: unknown, b: unknown): number {
  const rank = (v: unknown) => (v === null ? 0 : typeof v === 'boolean' ? 1 : typeof v === 'number' ? 2 : typeof v === 'string' ? 3 : 4);
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== rb) return ra - rb;
  if (ra === 4) {
    const sa = JSON.stringify(a);
    const sb = JSON.stringify(b);
    return sa < sb ? -1 : sa > sb ? 1 : 0;
  }
  return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
}

function sortedElements(keys: string[]): string[] {
  return keys.sort(compareElements);
}

/** `.spec.containers[name="nginx"].image`, the form conflict messages use. */
export function pathString(path: readonly string[]): string {
  let out = '';
  for (const e of path) {
    const body = e.slice(2);
    switch (e[0]) {
      case 'f':
        out += `.${body}`;
        break;
      case 'k': {
        const key = JSON.parse(body) as Record<string, unknown>;
        out += `[${Object.entries(key).map(([k, v]) => `${k}=${valueString(v)}`).join(',')}]`;
        break;
      }
      case 'v':
        out += `[=${valueString(JSON.parse(body))}]`;
        break;
      default:
        out += `[${body}]`;
    }
  }
  return out;
}

function valueString(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(valueString).join(',')}]`;
  if (typeof v === 'object') return Object.entries(v as Record<string, unknown>).map(([k, x]) => `${k}=${valueString(x)}`).join('');
  return String(v);
}
