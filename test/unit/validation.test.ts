import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isDNS1123Label, isDNS1123Subdomain, isDNS1035Label, isQualifiedName, isLabelValue, validateObjectMeta } from '../../src/api/validation.ts';
import { fieldErrorString, invalid } from '../../src/api/status.ts';
import { humanDuration } from '../../src/api/duration.ts';
import { validatePodSpec } from '../../src/registry/kinds/core/podspec.ts';
import { deployments } from '../../src/registry/kinds/apps/deployment.ts';

describe('name rules', () => {
  const table: [string, (v: string) => string[], string, boolean][] = [
    ['subdomain', isDNS1123Subdomain, 'a.b-c', true],
    ['subdomain', isDNS1123Subdomain, 'A', false],
    ['subdomain', isDNS1123Subdomain, 'a'.repeat(254), false],
    ['label', isDNS1123Label, 'a.b', false],
    ['label', isDNS1123Label, '1abc', true],
    ['dns1035', isDNS1035Label, '1abc', false],
    ['dns1035', isDNS1035Label, 'abc-1', true],
    ['qualified', isQualifiedName, 'example.com/MyName', true],
    ['qualified', isQualifiedName, 'a/b/c', false],
    ['qualified', isQualifiedName, '/x', false],
    ['qualified', isQualifiedName, 'x'.repeat(64), false],
    ['label value', isLabelValue, '', true],
    ['label value', isLabelValue, 'a b', false],
  ];
  for (const [rule, fn, v, ok] of table) {
    it(`${rule} ${JSON.stringify(v.length > 20 ? v.slice(0, 20) + '…' : v)} → ${ok}`, () => assert.equal(fn(v).length === 0, ok));
  }

  it('uses upstream messages', () => {
    assert.deepEqual(isDNS1123Label('A_b'), [
      "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
    ]);
    assert.deepEqual(isDNS1123Label('a'.repeat(64)), ['must be no more than 63 characters']);
  });
});

describe('field errors and 422', () => {
  it('renders like upstream', () => {
    const errs = validateObjectMeta({ name: 'ok', labels: { 'bad key': 'v' } }, { namespaced: true, nameRule: 'subdomain' });
    assert.equal(errs.length, 2);
    assert.equal(fieldErrorString(errs[0]!), 'metadata.namespace: Required value');
    assert.match(fieldErrorString(errs[1]!), /^metadata\.labels: Invalid value: "bad key": name part must consist of/);
    const e = invalid('Deployment', 'apps', 'web', errs);
    assert.equal(e.code, 422);
    assert.match(e.message, /^Deployment\.apps "web" is invalid: \[metadata\.namespace: Required value, metadata\.labels: Invalid value/);
    assert.equal(e.details?.causes?.[0]?.reason, 'FieldValueRequired');
  });

  it('pod spec basics', () => {
    const errs = validatePodSpec({ containers: [{ name: 'a', ports: [{ containerPort: 70000 }] }, { name: 'a', image: 'x' }], restartPolicy: 'Sometimes' }, 'spec').map(fieldErrorString);
    assert.deepEqual(errs, [
      'spec.containers[0].image: Required value',
      'spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive',
      'spec.containers[1].name: Duplicate value: "a"',
      'spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"',
    ]);
    assert.deepEqual(validatePodSpec({ containers: [] }, 'spec').map(fieldErrorString), ['spec.containers: Required value']);
  });

  it('deployment selector must match the template', () => {
    const d = { metadata: { name: 'w', namespace: 'd' }, spec: { selector: { matchLabels: { app: 'a' } }, template: { metadata: { labels: { app: 'b' } }, spec: { containers: [{ name: 'c', image: 'i' }] } } } };
    const errs = deployments.validate!(d).map(fieldErrorString);
    assert.deepEqual(errs, ['spec.template.metadata.labels: Invalid value: {"app":"b"}: `selector` does not match template `labels`']);
    const old = structuredClone(d);
    const changed = { ...d, spec: { ...d.spec, selector: { matchLabels: { app: 'b' } } } };
    assert.equal(deployments.validateUpdate!(changed, old).map(fieldErrorString)[0], 'spec.selector: Invalid value: {"matchLabels":{"app":"b"}}: field is immutable');
  });
});

describe('HumanDuration', () => {
  const s = 1000;
  const cases: [number, string][] = [
    [45 * s, '45s'],
    [119 * s, '119s'],
    [192 * s, '3m12s'],
    [47 * 60 * s, '47m'],
    [(5 * 60 + 3) * 60 * s, '5h3m'],
    [30 * 3600 * s, '30h'],
    [(3 * 24 + 4) * 3600 * s, '3d4h'],
    [120 * 86400 * s, '120d'],
    [(3 * 365 + 12) * 86400 * s, '3y12d'],
    [-5 * s, '<invalid>'],
  ];
  for (const [ms, want] of cases) it(`${ms}ms → ${want}`, () => assert.equal(humanDuration(ms), want));
});
