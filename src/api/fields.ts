// Field selectors (`?fieldSelector=`): comma-joined `f=v`, `f==v`, `f!=v` terms with backslash
// escapes. Which fields exist is per kind (ResourceDef.fieldSelectors); the rest are rejected.

import { ApiError } from './status.ts';

export interface FieldRequirement {
  field: string;
  operator: '=' | '!=';
  value: string;
}

export interface FieldSelector {
  readonly requirements: readonly FieldRequirement[];
  readonly empty: boolean;
  toString(): string;
}

/** Split on an unescaped separator, keeping escapes in place. */
function splitUnescaped(s: string, sep: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '\\' && i + 1 < s.length) {
      cur += c + s[i + 1];
      i++;
    } else if (c === sep) {
      out.push(cur);
      cur = '';
    } else {
      cur += c;
    }
  }
  out.push(cur);
  return out;
}

function unescape(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '\\') {
      const n = s[i + 1];
      if (n === '\\' || n === ',' || n === '=' || n === '!') {
        out += n;
        i++;
        continue;
      }
      throw new ApiError(400, 'BadRequest', `invalid field selector: invalid escape sequence: \\${n ?? ''}`);
    }
    out += c;
  }
  return out;
}

function escape(s: string): string {
  return s.replace(/[\\,=]/g, (c) => '\\' + c);
}

const cache = new Map<string, FieldSelector>();

/** Parse `?fieldSelector=`; throws a 400 ApiError on bad syntax. Cached by text. */
export function parseFieldSelector(text: string | undefined): FieldSelector {
  if (!text) return { requirements: [], empty: true, toString: () => '' };
  const hit = cache.get(text);
  if (hit) return hit;
  const reqs: FieldRequirement[] = [];
  for (const term of splitUnescaped(text, ',')) {
    if (term === '') continue;
    // Find the first unescaped operator.
    let i = 0;
    let found: { at: number; len: number; op: '=' | '!=' } | undefined;
    while (i < term.length) {
      const c = term[i]!;
      if (c === '\\') {
        i += 2;
        continue;
      }
      if (c === '!' && term[i + 1] === '=') {
        found = { at: i, len: 2, op: '!=' };
        break;
      }
      if (c === '=') {
        found = { at: i, len: term[i + 1] === '=' ? 2 : 1, op: '=' };
        break;
      }
      i++;
    }
    if (!found) throw new ApiError(400, 'BadRequest', `invalid selector: '${text}'; can't understand '${term}'`);
    reqs.push({
      field: unescape(term.slice(0, found.at)).trim(),
      operator: found.op,
      value: unescape(term.slice(found.at + found.len)),
    });
  }
  const sel: FieldSelector = {
    requirements: reqs,
    empty: reqs.length === 0,
    toString: () => reqs.map((r) => `${r.field}${r.operator}${escape(r.value)}`).join(','),
  };
  if (cache.size >= 512) cache.delete(cache.keys().next().value as string);
  cache.set(text, sel);
  return sel;
}

/** Field values an object exposes to selectors (strings; booleans as "true"/"false"). */
export type FieldGetter = (obj: Record<string, unknown>) => string | undefined;

/**
 * Bind a parsed selector to one kind's getters; throws 400 `field label not supported: x` for
 * fields the kind does not index, as upstream does.
 */
export function compileFieldSelector(
  sel: FieldSelector,
  getters: Readonly<Record<string, FieldGetter>>,
): ((obj: Record<string, unknown>) => boolean) | undefined {
  if (sel.empty) return undefined;
  const bound = sel.requirements.map((r) => {
    const get = getters[r.field];
    if (!get) throw new ApiError(400, 'BadRequest', `field label not supported: ${r.field}`);
    return { get, r };
  });
  return (obj) => {
    for (const { get, r } of bound) {
      const v = get(obj) ?? '';
      if ((v === r.value) !== (r.operator === '=')) return false;
    }
    return true;
  };
}
