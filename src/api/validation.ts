// Name, label and annotation validation with upstream's messages (apimachinery's validation
// package), returned as FieldErrors so callers can gather them into one 422.

import type { FieldError } from './status.ts';
import { fieldInvalid, fieldRequired, fieldTooLong, fieldForbidden } from './status.ts';

const DNS1123_LABEL = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const DNS1123_SUBDOMAIN = `${DNS1123_LABEL}(\\.${DNS1123_LABEL})*`;
const DNS1035_LABEL = '[a-z]([-a-z0-9]*[a-z0-9])?';
const QUALIFIED_NAME = '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]';
const LABEL_VALUE = `(${QUALIFIED_NAME})?`;

const dns1123LabelRe = new RegExp(`^${DNS1123_LABEL}$`);
const dns1123SubdomainRe = new RegExp(`^${DNS1123_SUBDOMAIN}$`);
const dns1035LabelRe = new RegExp(`^${DNS1035_LABEL}$`);
const qualifiedNameRe = new RegExp(`^${QUALIFIED_NAME}$`);
const labelValueRe = new RegExp(`^${LABEL_VALUE}$`);

/** Upstream's RegexError: message, then examples joined by ",  or " and the regex. */
function regexError(msg: string, regex: string, ...examples: string[]): string {
  let out = msg;
  if (examples.length > 0) {
    out += ' (e.g. ' + examples.map((e) => `'${e}', `).join(' or ');
  } else {
    out += ' (';
  }
  return out + `regex used for validation is '${regex}')`;
}

const maxLen = (n: number) => `must be no more than ${n} characters`;

export function isDNS1123Label(v: string): string[] {
  const errs: string[] = [];
  if (v.length > 63) errs.push(maxLen(63));
  if (!dns1123LabelRe.test(v)) {
    errs.push(
      regexError(
        "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character",
        DNS1123_LABEL,
        'my-name',
        '123-abc',
      ),
    );
  }
  return errs;
}

export function isDNS1123Subdomain(v: string): string[] {
  const errs: string[] = [];
  if (v.length > 253) errs.push(maxLen(253));
  if (!dns1123SubdomainRe.test(v)) {
    errs.push(
      regexError(
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character",
        DNS1123_SUBDOMAIN,
        'example.com',
      ),
    );
  }
  return errs;
}

export function isDNS1035Label(v: string): string[] {
  const errs: string[] = [];
  if (v.length > 63) errs.push(maxLen(63));
  if (!dns1035LabelRe.test(v)) {
    errs.push(
      regexError(
        "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character",
        DNS1035_LABEL,
        'my-name',
        'abc-123',
      ),
    );
  }
  return errs;
}

/** Names used as URL path segments only (e.g. RBAC roles). */
export function isPathSegmentName(v: string): string[] {
  if (v === '.' || v === '..') return [`may not be '${v}'`];
  const errs: string[] = [];
  for (const bad of ['/', '%']) if (v.includes(bad)) errs.push(`may not contain '${bad}'`);
  return errs;
}

/** Label/annotation keys: optional DNS subdomain prefix + '/' + a 63-char qualified name. */
export function isQualifiedName(v: string): string[] {
  const errs: string[] = [];
  const parts = v.split('/');
  let name: string;
  if (parts.length === 1) {
    name = parts[0]!;
  } else if (parts.length === 2) {
    const prefix = parts[0]!;
    name = parts[1]!;
    if (prefix.length === 0) errs.push('prefix part must be non-empty');
    else for (const m of isDNS1123Subdomain(prefix)) errs.push('prefix part ' + m);
  } else {
    return [
      regexError(
        "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
        QUALIFIED_NAME,
        'MyName',
        'my.name',
        '123-abc',
      ) + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
    ];
  }
  if (name.length === 0) errs.push('name part must be non-empty');
  else if (name.length > 63) errs.push('name part ' + maxLen(63));
  if (name.length > 0 && !qualifiedNameRe.test(name)) {
    errs.push(
      'name part ' +
        regexError(
          "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
          QUALIFIED_NAME,
          'MyName',
          'my.name',
          '123-abc',
        ),
    );
  }
  return errs;
}

export function isLabelValue(v: string): string[] {
  const errs: string[] = [];
  if (v.length > 63) errs.push(maxLen(63));
  if (!labelValueRe.test(v)) {
    errs.push(
      regexError(
        "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
        LABEL_VALUE,
        'MyValue',
        'my_value',
        '12345',
      ),
    );
  }
  return errs;
}

export type NameRule = 'subdomain' | 'label' | 'dns1035' | 'path';

const nameCheckers: Record<NameRule, (v: string) => string[]> = {
  subdomain: isDNS1123Subdomain,
  label: isDNS1123Label,
  dns1035: isDNS1035Label,
  path: isPathSegmentName,
};

export function validateLabels(labels: unknown, path: string): FieldError[] {
  if (labels === undefined || labels === null) return [];
  if (typeof labels !== 'object' || Array.isArray(labels)) return [fieldInvalid(path, labels, 'must be a map of string keys to string values')];
  const errs: FieldError[] = [];
  for (const [k, v] of Object.entries(labels as Record<string, unknown>)) {
    for (const m of isQualifiedName(k)) errs.push(fieldInvalid(path, k, m));
    if (typeof v !== 'string') errs.push(fieldInvalid(`${path}[${k}]`, v, 'must be a string'));
    else for (const m of isLabelValue(v)) errs.push(fieldInvalid(path, v, m));
  }
  return errs;
}

const TOTAL_ANNOTATION_SIZE = 256 * 1024;

export function validateAnnotations(annotations: unknown, path: string): FieldError[] {
  if (annotations === undefined || annotations === null) return [];
  if (typeof annotations !== 'object' || Array.isArray(annotations)) return [fieldInvalid(path, annotations, 'must be a map of string keys to string values')];
  const errs: FieldError[] = [];
  let size = 0;
  for (const [k, v] of Object.entries(annotations as Record<string, unknown>)) {
    for (const m of isQualifiedName(k.toLowerCase())) errs.push(fieldInvalid(path, k, m));
    size += k.length + (typeof v === 'string' ? v.length : 0);
  }
  if (size > TOTAL_ANNOTATION_SIZE) errs.push(fieldTooLong(path, TOTAL_ANNOTATION_SIZE));
  return errs;
}

/** ObjectMeta checks shared by every kind: name (by rule), generateName, namespace, labels, annotations. */
export function validateObjectMeta(
  meta: Record<string, unknown> | undefined,
  opts: { namespaced: boolean; nameRule: NameRule },
): FieldError[] {
  const errs: FieldError[] = [];
  const m = meta ?? {};
  const name = m.name;
  const check = nameCheckers[opts.nameRule];
  if (typeof name !== 'string' || name === '') {
    if (typeof m.generateName === 'string' && m.generateName !== '') {
      // generateName is checked with a placeholder suffix, like upstream's prefix check.
      for (const msg of check(m.generateName.replace(/-$/, '') + 'a')) errs.push(fieldInvalid('metadata.generateName', m.generateName, msg));
    } else {
      errs.push(fieldRequired('metadata.name', 'name or generateName is required'));
    }
  } else {
    for (const msg of check(name)) errs.push(fieldInvalid('metadata.name', name, msg));
  }
  const ns = m.namespace;
  if (opts.namespaced) {
    if (typeof ns !== 'string' || ns === '') errs.push(fieldRequired('metadata.namespace'));
    else for (const msg of isDNS1123Label(ns)) errs.push(fieldInvalid('metadata.namespace', ns, msg));
  } else if (typeof ns === 'string' && ns !== '') {
    errs.push(fieldForbidden('metadata.namespace', 'not allowed on this type'));
  }
  errs.push(...validateLabels(m.labels, 'metadata.labels'));
  errs.push(...validateAnnotations(m.annotations, 'metadata.annotations'));
  if (m.finalizers !== undefined) {
    if (!Array.isArray(m.finalizers)) errs.push(fieldInvalid('metadata.finalizers', m.finalizers, 'must be a list of strings'));
    else
      m.finalizers.forEach((f, i) => {
        if (typeof f !== 'string') errs.push(fieldInvalid(`metadata.finalizers[${i}]`, f, 'must be a string'));
        else for (const msg of isQualifiedName(f)) errs.push(fieldInvalid(`metadata.finalizers[${i}]`, f, msg));
      });
  }
  return errs;
}

/** Upstream's immutability check message. */
export function validateImmutable(newV: unknown, oldV: unknown, path: string): FieldError[] {
  return JSON.stringify(newV) === JSON.stringify(oldV) ? [] : [fieldInvalid(path, newV, 'field is immutable')];
}
