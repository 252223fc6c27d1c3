// Kinds of the smaller API groups: discovery facts, scope, status, and light checks. Each entry is
// one kind; grow an entry into its own file when it needs real validation or a printer.

import { validateCrd } from '../../crd/defs.ts';
import { storageClassTable } from '../storage-tables.ts';
import { fieldRequired, type FieldError } from '../../../api/status.ts';
import { field, obj, simpleKind, statusSubresource } from '../common.ts';
import type { ResourceDef } from '../../types.ts';

const requireSpec = (...paths: string[]) => (o: Record<string, unknown>): FieldError[] => {
  const errs: FieldError[] = [];
  for (const p of paths) {
    let cur: unknown = o;
    for (const part of p.split('.')) cur = obj(cur)[part];
    if (cur === undefined || cur === null || cur === '') errs.push(fieldRequired(p));
  }
  return errs;
};

// networking.k8s.io/v1
export const ingresses = simpleKind({ group: 'networking.k8s.io', version: 'v1', kind: 'Ingress', plural: 'ingresses', namespaced: true, shortNames: ['ing'], status: true });
export const ingressclasses = simpleKind({ group: 'networking.k8s.io', version: 'v1', kind: 'IngressClass', plural: 'ingressclasses', namespaced: false, extra: { validate: requireSpec('spec.controller') } });
export const networkpolicies = simpleKind({
  group: 'networking.k8s.io',
  version: 'v1',
  kind: 'NetworkPolicy',
  plural: 'networkpolicies',
  namespaced: true,
  shortNames: ['netpol'],
  extra: {
    generation: true,
    defaults: (o) => {
      const spec = obj(o.spec);
      spec.podSelector ??= {};
      if (!Array.isArray(spec.policyTypes)) spec.policyTypes = Array.isArray(spec.egress) ? ['Ingress', 'Egress'] : ['Ingress'];
      o.spec = spec;
    },
  },
});

// policy/v1
export const poddisruptionbudgets = simpleKind({ group: 'policy', version: 'v1', kind: 'PodDisruptionBudget', plural: 'poddisruptionbudgets', namespaced: true, shortNames: ['pdb'], status: true });

// rbac.authorization.k8s.io/v1: names are path segments; PUT may create (as upstream reconcilers rely on).
const rbac = (kind: string, plural: string, namespaced: boolean, validate?: ResourceDef['validate']) =>
  simpleKind({
    group: 'rbac.authorization.k8s.io',
    version: 'v1',
    kind,
    plural,
    namespaced,
    nameRule: 'path',
    extra: { allowCreateOnUpdate: true, ...(validate ? { validate } : {}) },
  });
export const roles = rbac('Role', 'roles', true);
export const clusterroles = rbac('ClusterRole', 'clusterroles', false);
export const rolebindings = rbac('RoleBinding', 'rolebindings', true, requireSpec('roleRef.kind', 'roleRef.name'));
export const clusterrolebindings = rbac('ClusterRoleBinding', 'clusterrolebindings', false, requireSpec('roleRef.kind', 'roleRef.name'));
for (const b of [rolebindings, clusterrolebindings]) {
  b.validateUpdate = (o, old) => (JSON.stringify(o.roleRef) === JSON.stringify(old.roleRef) ? [] : [{ type: 'FieldValueInvalid', field: 'roleRef', value: o.roleRef, detail: 'cannot change roleRef' }]);
}

// storage.k8s.io/v1
export const storageclasses = simpleKind({
  group: 'storage.k8s.io',
  version: 'v1',
  kind: 'StorageClass',
  plural: 'storageclasses',
  namespaced: false,
  shortNames: ['sc'],
  extra: {
    table: storageClassTable,
    validate: requireSpec('provisioner'),
    defaults: (o) => {
      o.reclaimPolicy ??= 'Delete';
      o.volumeBindingMode ??= 'Immediate';
    },
  },
});
export const csidrivers = simpleKind({ group: 'storage.k8s.io', version: 'v1', kind: 'CSIDriver', plural: 'csidrivers', namespaced: false });
export const csinodes = simpleKind({ group: 'storage.k8s.io', version: 'v1', kind: 'CSINode', plural: 'csinodes', namespaced: false });
export const csistoragecapacities = simpleKind({ group: 'storage.k8s.io', version: 'v1', kind: 'CSIStorageCapacity', plural: 'csistoragecapacities', namespaced: true });
export const volumeattachments = simpleKind({ group: 'storage.k8s.io', version: 'v1', kind: 'VolumeAttachment', plural: 'volumeattachments', namespaced: false, status: true });

// coordination.k8s.io/v1
export const leases = simpleKind({ group: 'coordination.k8s.io', version: 'v1', kind: 'Lease', plural: 'leases', namespaced: true, extra: { allowCreateOnUpdate: true } });

// discovery.k8s.io/v1
export const endpointslices = simpleKind({
  group: 'discovery.k8s.io',
  version: 'v1',
  kind: 'EndpointSlice',
  plural: 'endpointslices',
  namespaced: true,
  extra: { validate: requireSpec('addressType'), generation: true },
});

// scheduling.k8s.io/v1
export const priorityclasses = simpleKind({
  group: 'scheduling.k8s.io',
  version: 'v1',
  kind: 'PriorityClass',
  plural: 'priorityclasses',
  namespaced: false,
  shortNames: ['pc'],
  extra: {
    defaults: (o) => {
      o.preemptionPolicy ??= 'PreemptLowerPriority';
    },
    validate: requireSpec('value'),
    validateUpdate: (o, old) => (o.value === old.value ? [] : [{ type: 'FieldValueForbidden', field: 'value', detail: 'may not be changed in an update.' }]),
  },
});

// node.k8s.io/v1
export const runtimeclasses = simpleKind({ group: 'node.k8s.io', version: 'v1', kind: 'RuntimeClass', plural: 'runtimeclasses', namespaced: false, extra: { validate: requireSpec('handler') } });

// certificates.k8s.io/v1
const csrGvk = { group: 'certificates.k8s.io', version: 'v1', kind: 'CertificateSigningRequest' };
export const certificatesigningrequests = simpleKind({
  ...csrGvk,
  plural: 'certificatesigningrequests',
  namespaced: false,
  shortNames: ['csr'],
  status: true,
  extra: {
    generation: false,
    subresources: [{ name: 'approval', kind: csrGvk, verbs: ['get', 'patch', 'update'] }, statusSubresource(csrGvk)],
    validate: requireSpec('spec.request', 'spec.signerName'),
    prepareForCreate: (o, ctx) => {
      const spec = obj(o.spec);
      // The requester's identity is recorded by the server, never taken from the client.
      spec.username = ctx.user.username;
      if (ctx.user.uid) spec.uid = ctx.user.uid;
      spec.groups = [...ctx.user.groups];
      if (ctx.user.extra) spec.extra = ctx.user.extra;
      o.spec = spec;
      o.status = {};
    },
    fieldSelectors: { 'spec.signerName': field('spec.signerName') },
  },
});

// apiextensions.k8s.io/v1 (stored only until CRDs are served)
export const customresourcedefinitions = simpleKind({
  group: 'apiextensions.k8s.io',
  version: 'v1',
  kind: 'CustomResourceDefinition',
  plural: 'customresourcedefinitions',
  namespaced: false,
  shortNames: ['crd', 'crds'],
  categories: ['api-extensions'],
  status: true,
  extra: { validate: (o) => [...requireSpec('spec.group', 'spec.names.plural', 'spec.names.kind', 'spec.scope')(o), ...validateCrd(o)] },
});

// admissionregistration.k8s.io/v1 (stored only until admission webhooks are called)
const admission = (kind: string, plural: string, status = false) =>
  simpleKind({ group: 'admissionregistration.k8s.io', version: 'v1', kind, plural, namespaced: false, categories: ['api-extensions'], status });
export const mutatingwebhookconfigurations = admission('MutatingWebhookConfiguration', 'mutatingwebhookconfigurations');
export const validatingwebhookconfigurations = admission('ValidatingWebhookConfiguration', 'validatingwebhookconfigurations');
export const validatingadmissionpolicies = admission('ValidatingAdmissionPolicy', 'validatingadmissionpolicies', true);
export const validatingadmissionpolicybindings = admission('ValidatingAdmissionPolicyBinding', 'validatingadmissionpolicybindings');
