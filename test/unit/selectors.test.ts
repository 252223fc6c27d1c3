import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseLabelSelector, selectorFromObject, SelectorParseError, formatLabelSelector } from '../../src/api/labels.ts';
import { compileFieldSelector, parseFieldSelector } from '../../src/api/fields.ts';
import { ApiError } from '../../src/api/status.ts';

describe('label selectors', () => {
  const cases: [string, Record<string, string> | undefined, boolean][] = [
    ['', { a: '1' }, true],
    ['app=web', { app: 'web' }, true],
    ['app==web', { app: 'web' }, true],
    ['app=web', { app: 'db' }, false],
    ['app!=web', {}, true], // != matches objects without the key
    ['app!=web', { app: 'web' }, false],
    ['app in (web,db)', { app: 'db' }, true],
    ['app in (web,db)', {}, false],
    ['app notin (web,db)', {}, true],
    ['app notin (web,db)', { app: 'web' }, false],
    ['app', { app: '' }, true],
    ['!app', { app: 'x' }, false],
    ['!app', undefined, true],
    ['tier=fe,app', { tier: 'fe', app: 'x' }, true],
    ['tier=fe,app', { tier: 'fe' }, false],
    ['n>5', { n: '6' }, true],
    ['n>5', { n: '5' }, false],
    ['n<5', { n: 'x' }, false],
    ['example.com/app = web , env in ( prod )', { 'example.com/app': 'web', env: 'prod' }, true],
    ['app=', { app: '' }, true],
  ];
  for (const [sel, labels, want] of cases) {
    it(`${JSON.stringify(sel)} on ${JSON.stringify(labels)} → ${want}`, () => {
      assert.equal(parseLabelSelector(sel).matches(labels), want);
    });
  }

  for (const bad of ['app in web', 'a b', 'app=(x)', 'Bad Key=1', 'x in (a', '=x', 'n>a']) {
    it(`rejects ${JSON.stringify(bad)}`, () => assert.throws(() => parseLabelSelector(bad), SelectorParseError));
  }

  it('caches compiled selectors', () => assert.equal(parseLabelSelector('a=b'), parseLabelSelector('a=b')));

  it('string form is sorted by key', () => {
    assert.equal(parseLabelSelector('z=1,a in (y,x),!m').toString(), 'a in (x,y),!m,z=1');
  });

  it('metav1.LabelSelector', () => {
    const s = selectorFromObject({ matchLabels: { app: 'web' }, matchExpressions: [{ key: 'env', operator: 'NotIn', values: ['dev'] }] });
    assert.equal(s.matches({ app: 'web' }), true);
    assert.equal(s.matches({ app: 'web', env: 'dev' }), false);
    assert.equal(selectorFromObject({}).matches({ x: '1' }), true);
    assert.equal(selectorFromObject(undefined).matches({}), false);
    assert.equal(formatLabelSelector({ matchLabels: { app: 'web' }, matchExpressions: [{ key: 'env', operator: 'Exists' }] }), 'app=web,env');
  });
});

describe('field selectors', () => {
  const getters = {
    'metadata.name': (o: Record<string, unknown>) => String((o.metadata as { name: string }).name),
    'status.phase': (o: Record<string, unknown>) => String((o.status as { phase?: string }).phase ?? ''),
  };
  const pod = { metadata: { name: 'a,b' }, status: { phase: 'Running' } };
  const cases: [string, boolean][] = [
    ['metadata.name=a\\,b', true],
    ['metadata.name==a\\,b', true],
    ['metadata.name!=a\\,b', false],
    ['status.phase!=Succeeded,status.phase!=Failed', true],
    ['status.phase=Running,metadata.name=x', false],
    ['status.phase=', false],
  ];
  for (const [sel, want] of cases) {
    it(`${sel} → ${want}`, () => assert.equal(compileFieldSelector(parseFieldSelector(sel), getters)!(pod), want));
  }
  it('unsupported field → 400 with upstream wording', () => {
    assert.throws(
      () => compileFieldSelector(parseFieldSelector('spec.foo=1'), getters),
      (e: unknown) => e instanceof ApiError && e.code === 400 && e.message === 'field label not supported: spec.foo',
    );
  });
  it('malformed term → 400', () => {
    assert.throws(() => parseFieldSelector('justakey'), (e: unknown) => e instanceof ApiError && e.code === 400);
  });
  it('empty selector compiles to nothing', () => assert.equal(compileFieldSelector(parseFieldSelector(''), getters), undefined));
});
