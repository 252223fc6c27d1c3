// Label selectors: the string syntax of `?labelSelector=` (equality- and set-based) and the
// structured metav1.LabelSelector, both compiled to one matcher. Compiled selectors are cached by
// their text because the same few selectors arrive on every list and watch from informers.

import { ApiError } from './status.ts';

export type LabelOperator = 'in' | 'notin' | 'exists' | '!' | '=' | '==' | '!=' | 'gt' | 'lt';

export interface LabelRequirement {
  key: string;
  operator: LabelOperator;
  values: string[];
}

export type Labels = Readonly<Record<string, string>> | undefined;

export interface LabelSelector {
  readonly requirements: readonly LabelRequirement[];
  /** True when the selector selects everything (no requirements). */
  readonly empty: boolean;
  matches(labels: Labels): boolean;
  toString(): string;
}

export class SelectorParseError extends Error {}

const everything: LabelSelector = {
  requirements: [],
  empty: true,
  matches: () => true,
  toString: () => '',
};

function matchRequirement(r: LabelRequirement, labels: Labels): boolean {
  const has = labels !== undefined && Object.prototype.hasOwnProperty.call(labels, r.key);
  const v = has ? labels![r.key] : undefined;
  switch (r.operator) {
    case '=':
    case '==':
    case 'in':
      return has && r.values.includes(v as string);
    case '!=':
    case 'notin':
      return !has || !r.values.includes(v as string);
    case 'exists':
      return has;
    case '!':
      return !has;
    case 'gt':
    case 'lt': {
      if (!has || !/^-?\d+$/.test(v as string)) return false;
      const n = Number(v);
      const bound = Number(r.values[0]);
      return r.operator === 'gt' ? n > bound : n < bound;
    }
  }
}

function requirementString(r: LabelRequirement): string {
  switch (r.operator) {
    case 'exists':
      return r.key;
    case '!':
      return `!${r.key}`;
    case 'in':
    case 'notin':
      return `${r.key} ${r.operator} (${r.values.join(',')})`;
    case 'gt':
      return `${r.key}>${r.values[0]}`;
    case 'lt':
      return `${r.key}<${r.values[0]}`;
    default:
      return `${r.key}${r.operator}${r.values[0]}`;
  }
}

export function selectorFromRequirements(reqs: LabelRequirement[]): LabelSelector {
  if (reqs.length === 0) return everything;
  // Upstream sorts requirements by key; String() output follows that order.
  const sorted = [...reqs].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return {
    requirements: sorted,
    empty: false,
    matches: (labels) => {
      for (const r of sorted) if (!matchRequirement(r, labels)) return false;
      return true;
    },
    toString: () => sorted.map(requirementString).join(','),
  };
}

// --- string parser (lexer + recursive descent, after upstream's grammar)

type Tok =
  | { t: 'id'; v: string }
  | { t: 'op'; v: '=' | '==' | '!=' | '!' | '>' | '<' | 'in' | 'notin' }
  | { t: '(' }
  | { t: ')' }
  | { t: ',' }
  | { t: 'end' };

const special = new Set(['=', '!', '(', ')', ',', '>', '<', ' ', '\t', '\n', '\r']);

function lex(s: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
    } else if (c === '(' || c === ')' || c === ',') {
      out.push({ t: c });
      i++;
    } else if (c === '=') {
      if (s[i + 1] === '=') {
        out.push({ t: 'op', v: '==' });
        i += 2;
      } else {
        out.push({ t: 'op', v: '=' });
        i++;
      }
    } else if (c === '!') {
      if (s[i + 1] === '=') {
        out.push({ t: 'op', v: '!=' });
        i += 2;
      } else {
        out.push({ t: 'op', v: '!' });
        i++;
      }
    } else if (c === '>' || c === '<') {
      out.push({ t: 'op', v: c });
      i++;
    } else {
      let j = i;
      while (j < s.length && !special.has(s[j]!)) j++;
      const word = s.slice(i, j);
      if (word === 'in' || word === 'notin') out.push({ t: 'op', v: word });
      else out.push({ t: 'id', v: word });
      i = j;
    }
  }
  out.push({ t: 'end' });
  return out;
}

const qualifiedNameRe = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const dnsSubdomainRe = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const labelValueRe = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

function checkKey(key: string): void {
  const slash = key.indexOf('/');
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (slash >= 0) {
    const prefix = key.slice(0, slash);
    if (prefix.length === 0 || prefix.length > 253 || !dnsSubdomainRe.test(prefix)) {
      throw new SelectorParseError(`invalid label key "${key}": prefix part must be a lowercase RFC 1123 subdomain`);
    }
  }
  if (name.length === 0 || name.length > 63 || !qualifiedNameRe.test(name)) {
    throw new SelectorParseError(
      `invalid label key "${key}": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`,
    );
  }
}

function checkValue(v: string): void {
  if (v.length > 63 || !labelValueRe.test(v)) {
    throw new SelectorParseError(
      `invalid label value: "${v}": at key: a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`,
    );
  }
}

function parseString(s: string): LabelRequirement[] {
  const toks = lex(s);
  let p = 0;
  const peek = () => toks[p]!;
  const next = () => toks[p++]!;
  const reqs: LabelRequirement[] = [];
  const fail = (what: string): never => {
    throw new SelectorParseError(`unable to parse requirement: ${what}`);
  };
  if (peek().t === 'end') return reqs;
  for (;;) {
    let tok = next();
    let negated = false;
    if (tok.t === 'op' && tok.v === '!') {
      negated = true;
      tok = next();
    }
    if (tok.t !== 'id') return fail(`found '${describe(tok)}', expected: identifier`);
    const key = tok.v;
    checkKey(key);
    const after = peek();
    if (negated) {
      if (after.t !== ',' && after.t !== 'end') fail(`found '${describe(after)}', expected: ',' or 'end of string'`);
      reqs.push({ key, operator: '!', values: [] });
    } else if (after.t === ',' || after.t === 'end') {
      reqs.push({ key, operator: 'exists', values: [] });
    } else if (after.t === 'op' && after.v !== '!') {
      next();
      const op = after.v;
      if (op === 'in' || op === 'notin') {
        if (next().t !== '(') fail(`found '${describe(toks[p - 1]!)}', expected: '('`);
        const values: string[] = [];
        for (;;) {
          const v = peek();
          if (v.t === 'id') {
            next();
            checkValue(v.v);
            values.push(v.v);
          } else if (v.t === ',' || v.t === ')') {
            // An empty element is an empty-string value, as upstream allows `k in (,a)`.
            if (v.t === ',' || values.length === 0 || toks[p - 1]!.t === ',') values.push('');
          } else {
            fail(`found '${describe(v)}', expected: ',', ')' or identifier`);
          }
          const sep = next();
          if (sep.t === ')') break;
          if (sep.t !== ',') fail(`found '${describe(sep)}', expected: ',' or ')'`);
        }
        const uniq = [...new Set(values)].sort();
        reqs.push({ key, operator: op, values: uniq });
      } else {
        const v = peek();
        let value = '';
        if (v.t === 'id') {
          next();
          value = v.v;
        } else if (v.t !== ',' && v.t !== 'end') {
          fail(`found '${describe(v)}', expected: identifier`);
        }
        if (op === '>' || op === '<') {
          if (!/^-?\d+$/.test(value)) fail(`for 'Gt', 'Lt' operators, the value must be an integer`);
          reqs.push({ key, operator: op === '>' ? 'gt' : 'lt', values: [value] });
        } else {
          checkValue(value);
          reqs.push({ key, operator: op, values: [value] });
        }
      }
    } else {
      fail(`found '${describe(after)}', expected: in, notin, =, ==, !=, gt, lt`);
    }
    const sep = next();
    if (sep.t === 'end') break;
    if (sep.t !== ',') fail(`found '${describe(sep)}', expected: ',' or 'end of string'`);
  }
  return reqs;
}

function describe(t: Tok): string {
  switch (t.t) {
    case 'id':
    case 'op':
      return t.v;
    case 'end':
      return '';
    default:
      return t.t;
  }
}

const cache = new Map<string, LabelSelector>();
const CACHE_MAX = 512;

/** Parse `?labelSelector=`; throws SelectorParseError on bad syntax. Cached by text. */
export function parseLabelSelector(text: string): LabelSelector {
  const hit = cache.get(text);
  if (hit) return hit;
  const sel = selectorFromRequirements(parseString(text));
  if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value as string);
  cache.set(text, sel);
  return sel;
}

/** Same, as a 400 ApiError for the REST layer. */
export function labelSelectorParam(text: string | undefined): LabelSelector {
  if (!text) return everything;
  try {
    return parseLabelSelector(text);
  } catch (e) {
    throw new ApiError(400, 'BadRequest', `unable to parse requirement: ${(e as Error).message.replace(/^unable to parse requirement: /, '')}`);
  }
}

export const everythingSelector = everything;

// --- metav1.LabelSelector

export interface LabelSelectorObject {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

/**
 * A metav1.LabelSelector as a matcher. Upstream: null selects nothing, {} selects everything
 * (callers decide which applies by passing undefined or an object).
 */
export function selectorFromObject(sel: LabelSelectorObject | null | undefined): LabelSelector {
  if (!sel) return { requirements: [], empty: false, matches: () => false, toString: () => '<none>' };
  const reqs: LabelRequirement[] = [];
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) reqs.push({ key: k, operator: '=', values: [v] });
  for (const e of sel.matchExpressions ?? []) {
    const op = e.operator;
    const values = [...(e.values ?? [])].sort();
    if (op === 'In') reqs.push({ key: e.key, operator: 'in', values });
    else if (op === 'NotIn') reqs.push({ key: e.key, operator: 'notin', values });
    else if (op === 'Exists') reqs.push({ key: e.key, operator: 'exists', values: [] });
    else if (op === 'DoesNotExist') reqs.push({ key: e.key, operator: '!', values: [] });
    else throw new SelectorParseError(`"${op}" is not a valid label selector operator`);
  }
  return selectorFromRequirements(reqs);
}

/** The string form used by Scale.status.selector and kubectl's wide SELECTOR column. */
export function formatLabelSelector(sel: LabelSelectorObject | null | undefined): string {
  if (!sel) return '<none>';
  const s = selectorFromObject(sel).toString();
  return s === '' ? '<none>' : s;
}
