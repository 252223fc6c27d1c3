// The pure storage rules: volume matching, default class choice, claim spec immutability.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { findBestMatch, pickDefaultClass, volumeMismatch, type PV, type PVC, type SC } from '../../src/storage-controllers/volumes.ts';
import { validatePersistentVolumeClaimUpdate } from '../../src/storage-controllers/admission.ts';

const pv = (name: string, size: string, spec: Record<string, unknown> = {}, labels?: Record<string, string>): PV => ({
  metadata: { name, ...(labels ? { labels } : {}) },
  spec: { storageClassName: 'c', capacity: { storage: size }, accessModes: ['ReadWriteOnce'], ...spec },
  status: { phase: 'Available' },
});
const pvc = (spec: Record<string, unknown> = {}): PVC => ({
  metadata: { name: 'claim', namespace: 'ns', uid: 'u1' },
  spec: { storageClassName: 'c', accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } }, ...spec },
});

describe('volumeMismatch', () => {
  const cases: Array<[string, PV, PVC, string | undefined]> = [
    ['fits', pv('a', '1Gi'), pvc(), undefined],
    ['bigger fits', pv('a', '2000Mi'), pvc(), undefined],
    ['decimal vs binary: 1G < 1Gi', pv('a', '1G'), pvc(), 'requested PV is too small'],
    ['class', pv('a', '1Gi', { storageClassName: 'other' }), pvc(), 'storageClassName does not match'],
    ['"" vs unset class are the same', pv('a', '1Gi', { storageClassName: '' }), pvc({ storageClassName: undefined }), undefined],
    ['mode', pv('a', '1Gi', { accessModes: ['ReadOnlyMany'] }), pvc(), 'incompatible accessMode'],
    ['volumeMode', pv('a', '1Gi', { volumeMode: 'Block' }), pvc(), 'incompatible volumeMode'],
    ['selector In', pv('a', '1Gi', {}, { zone: 'b' }), pvc({ selector: { matchExpressions: [{ key: 'zone', operator: 'In', values: ['a', 'b'] }] } }), undefined],
    ['selector miss', pv('a', '1Gi', {}, { zone: 'c' }), pvc({ selector: { matchLabels: { zone: 'a' } } }), 'volume does not match the claim selector'],
  ];
  for (const [name, v, c, want] of cases) it(name, () => assert.equal(volumeMismatch(v, c), want));
});

describe('findBestMatch', () => {
  it('prefers a volume pre-bound to the claim over a smaller free one', () => {
    const pre = pv('pre', '5Gi', { claimRef: { namespace: 'ns', name: 'claim' } });
    assert.equal(findBestMatch([pv('small', '1Gi'), pre], pvc(), false)?.metadata?.name, 'pre');
  });
  it('ignores a volume pre-bound to another incarnation (uid) of the claim', () => {
    const stale = pv('stale', '1Gi', { claimRef: { namespace: 'ns', name: 'claim', uid: 'old' } });
    assert.equal(findBestMatch([stale], pvc(), false), undefined);
  });
  it('with delayed binding only pre-bound volumes count', () => {
    assert.equal(findBestMatch([pv('free', '1Gi')], pvc(), true), undefined);
    assert.equal(findBestMatch([pv('pre', '1Gi', { claimRef: { namespace: 'ns', name: 'claim', uid: 'u1' } })], pvc(), true)?.metadata?.name, 'pre');
  });
  it('skips Released and terminating volumes', () => {
    const released: PV = { ...pv('r', '1Gi'), status: { phase: 'Released' } };
    const deleting: PV = { ...pv('d', '1Gi'), metadata: { name: 'd', deletionTimestamp: '2024-01-01T00:00:00Z' } };
    assert.equal(findBestMatch([released, deleting], pvc(), false), undefined);
  });
});

describe('pickDefaultClass', () => {
  const sc = (name: string, created: string, def: boolean, beta = false): SC => ({
    metadata: { name, creationTimestamp: created, annotations: def ? { [beta ? 'storageclass.beta.kubernetes.io/is-default-class' : 'storageclass.kubernetes.io/is-default-class']: 'true' } : {} },
    provisioner: 'p',
  });
  it('newest default wins; non-defaults never', () => {
    assert.equal(pickDefaultClass([sc('old', '2024-01-01T00:00:00Z', true), sc('new', '2024-02-01T00:00:00Z', true), sc('newest', '2024-03-01T00:00:00Z', false)])?.metadata.name, 'new');
  });
  it('honours the beta annotation', () => assert.equal(pickDefaultClass([sc('b', '2024-01-01T00:00:00Z', true, true)])?.metadata.name, 'b'));
  it('none', () => assert.equal(pickDefaultClass([sc('x', '2024-01-01T00:00:00Z', false)]), undefined));
});

describe('validatePersistentVolumeClaimUpdate', () => {
  const old = pvc({ storageClassName: undefined });
  const fields = (n: PVC) => validatePersistentVolumeClaimUpdate(n, old).map((e) => e.field);
  it('allows what the system fills in: volumeName, the class when unset, larger requests', () => {
    assert.deepEqual(fields(pvc({ storageClassName: 'late', volumeName: 'pv1', resources: { requests: { storage: '2Gi' } } })), []);
  });
  it('forbids other spec changes and shrinking', () => {
    assert.deepEqual(fields(pvc({ storageClassName: undefined, accessModes: ['ReadWriteMany'] })), ['spec']);
    assert.deepEqual(fields(pvc({ storageClassName: undefined, resources: { requests: { storage: '500Mi' } } })), ['spec.resources.requests.storage']);
  });
  it('a set class or volumeName cannot change', () => {
    const bound = pvc({ volumeName: 'pv1' });
    assert.equal(validatePersistentVolumeClaimUpdate(pvc({ volumeName: 'pv2' }), bound).length, 1);
    assert.equal(validatePersistentVolumeClaimUpdate(pvc({ volumeName: 'pv1', storageClassName: 'd' }), bound).length, 1);
  });
});
