// Go JSON conversions the captured kubectl bodies do not exercise (times, durations, raw JSON, inlined
// structs, apiextensions schema unions), on bodies encoded here with protobufjs from the embedded
// schema. Expected values follow the Go json tags / MarshalJSON of the upstream types.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { brotliDecompressSync } from 'node:zlib';
import protobuf from 'protobufjs';
import { decodeProtobufObject } from '../../src/apiserver/protobuf/decode.ts';

const wrapper = JSON.parse(readFileSync(new URL('../../embedded/proto/k8s-api.json', import.meta.url), 'utf8')) as { data: string };
const schema = JSON.parse(brotliDecompressSync(Buffer.from(wrapper.data, 'base64')).toString('utf8')) as { nested: protobuf.INamespace['nested'] };
const root = protobuf.Root.fromJSON({ nested: schema.nested });
const Unknown = root.lookupType('k8s.io.apimachinery.pkg.runtime.Unknown');

function body(apiVersion: string, kind: string, typeName: string, object: Record<string, unknown>): Buffer {
  const type = root.lookupType(typeName);
  const raw = type.encode(type.fromObject(object)).finish();
  const envelope = Unknown.encode(Unknown.fromObject({ typeMeta: { apiVersion, kind }, raw, contentEncoding: '', contentType: '' })).finish();
  return Buffer.concat([Buffer.from('k8s\0', 'latin1'), envelope]);
}

const T0 = 1_700_000_000; // 2023-11-14T22:13:20Z

test('Pod: inlined volume source, probe handler, key-ref local object reference, times, quantities', () => {
  const pod = decodeProtobufObject(
    body('v1', 'Pod', 'k8s.io.api.core.v1.Pod', {
      metadata: {
        name: 'p',
        creationTimestamp: { seconds: T0 },
        managedFields: [{ manager: 'kubectl', operation: 'Update', apiVersion: 'v1', time: { seconds: T0 }, fieldsType: 'FieldsV1', fieldsV1: { Raw: Buffer.from('{"f:spec":{}}') } }],
      },
      spec: {
        volumes: [{ name: 'cache', volumeSource: { emptyDir: { sizeLimit: { string: '1Gi' } } } }],
        containers: [
          {
            name: 'c',
            image: 'busybox',
            env: [{ name: 'A', valueFrom: { configMapKeyRef: { localObjectReference: { name: 'cm' }, key: 'a' } } }],
            livenessProbe: { handler: { httpGet: { path: '/healthz', port: { type: 0, intVal: 8080 } } }, periodSeconds: 0 },
            resources: { limits: { cpu: { string: '500m' } } },
          },
        ],
        terminationGracePeriodSeconds: 0,
      },
    }),
  );
  assert.deepEqual(pod, {
    kind: 'Pod',
    apiVersion: 'v1',
    metadata: {
      name: 'p',
      creationTimestamp: '2023-11-14T22:13:20Z',
      managedFields: [{ manager: 'kubectl', operation: 'Update', apiVersion: 'v1', time: '2023-11-14T22:13:20Z', fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': {} } }],
    },
    spec: {
      volumes: [{ name: 'cache', emptyDir: { sizeLimit: '1Gi' } }],
      containers: [
        {
          name: 'c',
          image: 'busybox',
          env: [{ name: 'A', valueFrom: { configMapKeyRef: { name: 'cm', key: 'a' } } }],
          resources: { limits: { cpu: '500m' } },
          livenessProbe: { httpGet: { path: '/healthz', port: 8080 } },
        },
      ],
      terminationGracePeriodSeconds: 0,
    },
    status: {},
  });
});

test('Lease: MicroTime with six fraction digits', () => {
  const lease = decodeProtobufObject(
    body('coordination.k8s.io/v1', 'Lease', 'k8s.io.api.coordination.v1.Lease', {
      metadata: { name: 'node-1', namespace: 'kube-node-lease' },
      spec: { holderIdentity: 'node-1', leaseDurationSeconds: 40, renewTime: { seconds: T0, nanos: 123_456_789 } },
    }),
  );
  assert.deepEqual(lease, {
    kind: 'Lease',
    apiVersion: 'coordination.k8s.io/v1',
    metadata: { name: 'node-1', namespace: 'kube-node-lease' },
    spec: { holderIdentity: 'node-1', leaseDurationSeconds: 40, renewTime: '2023-11-14T22:13:20.123456Z' },
  });
});

test('ControllerRevision: RawExtension holds JSON', () => {
  const revision = decodeProtobufObject(
    body('apps/v1', 'ControllerRevision', 'k8s.io.api.apps.v1.ControllerRevision', {
      metadata: { name: 'r' },
      data: { raw: Buffer.from('{"spec":{"replicas":3}}') },
      revision: 2,
    }),
  );
  assert.deepEqual(revision, { kind: 'ControllerRevision', apiVersion: 'apps/v1', metadata: { name: 'r' }, data: { spec: { replicas: 3 } }, revision: 2 });
});

test('HorizontalPodAutoscaler v2 and a metav1.Duration-free path: pointers kept at zero', () => {
  const hpa = decodeProtobufObject(
    body('autoscaling/v2', 'HorizontalPodAutoscaler', 'k8s.io.api.autoscaling.v2.HorizontalPodAutoscaler', {
      metadata: { name: 'h' },
      spec: {
        scaleTargetRef: { kind: 'Deployment', name: 'd', apiVersion: 'apps/v1' },
        minReplicas: 1,
        maxReplicas: 5,
        behavior: { scaleDown: { stabilizationWindowSeconds: 0, policies: [{ type: 'Pods', value: 1, periodSeconds: 60 }] } },
      },
    }),
  );
  assert.deepEqual(hpa, {
    kind: 'HorizontalPodAutoscaler',
    apiVersion: 'autoscaling/v2',
    metadata: { name: 'h' },
    spec: {
      scaleTargetRef: { kind: 'Deployment', name: 'd', apiVersion: 'apps/v1' },
      minReplicas: 1,
      maxReplicas: 5,
      behavior: { scaleDown: { stabilizationWindowSeconds: 0, policies: [{ type: 'Pods', value: 1, periodSeconds: 60 }] } },
    },
    status: { desiredReplicas: 0, currentMetrics: null },
  });
});

test('CustomResourceDefinition: schema unions, $ref-style names, JSON defaults', () => {
  const props = 'k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1';
  const crd = decodeProtobufObject(
    body('apiextensions.k8s.io/v1', 'CustomResourceDefinition', `${props}.CustomResourceDefinition`, {
      metadata: { name: 'widgets.example.com' },
      spec: {
        group: 'example.com',
        names: { plural: 'widgets', kind: 'Widget' },
        scope: 'Namespaced',
        versions: [
          {
            name: 'v1',
            served: true,
            storage: true,
            schema: {
              openAPIV3Schema: {
                type: 'object',
                properties: {
                  size: { type: 'integer', default: { raw: Buffer.from('3') }, minimum: 0 },
                  tags: { type: 'array', items: { schema: { type: 'string' } } },
                  extra: { type: 'object', additionalProperties: { allows: true }, xKubernetesPreserveUnknownFields: true },
                },
              },
            },
          },
        ],
      },
    }),
  );
  assert.deepEqual(crd, {
    kind: 'CustomResourceDefinition',
    apiVersion: 'apiextensions.k8s.io/v1',
    metadata: { name: 'widgets.example.com' },
    spec: {
      group: 'example.com',
      names: { plural: 'widgets', kind: 'Widget' },
      scope: 'Namespaced',
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              properties: {
                size: { type: 'integer', default: 3, minimum: 0 },
                tags: { type: 'array', items: { type: 'string' } },
                extra: { type: 'object', additionalProperties: true, 'x-kubernetes-preserve-unknown-fields': true },
              },
            },
          },
        },
      ],
    },
    status: { conditions: null, acceptedNames: { plural: '', kind: '' }, storedVersions: null },
  });
});

test('SubjectAccessReview: list-wrapper map values (ExtraValue) become plain arrays', () => {
  const review = decodeProtobufObject(
    body('authorization.k8s.io/v1', 'SubjectAccessReview', 'k8s.io.api.authorization.v1.SubjectAccessReview', {
      spec: { user: 'alice', extra: { scopes: { items: ['a', 'b'] } }, nonResourceAttributes: { path: '/healthz', verb: 'get' } },
    }),
  );
  assert.deepEqual(review, {
    kind: 'SubjectAccessReview',
    apiVersion: 'authorization.k8s.io/v1',
    metadata: {},
    spec: { user: 'alice', extra: { scopes: ['a', 'b'] }, nonResourceAttributes: { path: '/healthz', verb: 'get' } },
    status: { allowed: false },
  });
});

test('map keys cannot reach Object.prototype', () => {
  const cm = decodeProtobufObject(body('v1', 'ConfigMap', 'k8s.io.api.core.v1.ConfigMap', { metadata: { name: 'c' }, data: { __proto__x: '1' } }));
  assert.deepEqual(Object.keys(cm['data'] as object), ['__proto__x']);
  const Cm = root.lookupType('k8s.io.api.core.v1.ConfigMap');
  const writer = protobuf.Writer.create();
  // data entry {key "__proto__", value "1"} by hand: protobufjs' fromObject would not keep that key.
  writer.uint32((2 << 3) | 2).fork().uint32((1 << 3) | 2).string('__proto__').uint32((2 << 3) | 2).string('1').ldelim();
  const raw = Buffer.concat([Cm.encode(Cm.fromObject({ metadata: { name: 'c' } })).finish(), writer.finish()]);
  const envelope = Unknown.encode(Unknown.fromObject({ typeMeta: { apiVersion: 'v1', kind: 'ConfigMap' }, raw })).finish();
  const decoded = decodeProtobufObject(Buffer.concat([Buffer.from('k8s\0', 'latin1'), envelope]));
  const data = decoded['data'] as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(data), Object.prototype);
  assert.equal(Object.getOwnPropertyDescriptor(data, '__proto__')?.value, '1');
  assert.equal(JSON.stringify(decoded).includes('"__proto__":"1"'), true);
});
