// Every built-in ResourceDef, in the order discovery lists them (core first, then groups; within a
// group the preferred version is decided by version priority, not by this order).

import type { ResourceDef } from '../types.ts';
import { configmaps } from './core/configmap.ts';
import { endpoints } from './core/endpoints.ts';
import { events, eventsV1 } from './core/event.ts';
import {
  componentstatuses,
  limitranges,
  persistentvolumeclaims,
  persistentvolumes,
  podtemplates,
  replicationcontrollers,
  resourcequotas,
} from './core/misc.ts';
import { namespaces } from './core/namespace.ts';
import { nodes } from './core/node.ts';
import { pods } from './core/pod.ts';
import { secrets } from './core/secret.ts';
import { services } from './core/service.ts';
import { serviceaccounts } from './core/serviceaccount.ts';
import { controllerrevisions } from './apps/controllerrevision.ts';
import { daemonsets } from './apps/daemonset.ts';
import { deployments } from './apps/deployment.ts';
import { replicasets } from './apps/replicaset.ts';
import { statefulsets } from './apps/statefulset.ts';
import { cronjobs } from './batch/cronjob.ts';
import { jobs } from './batch/job.ts';
import { hpaV1, hpaV2 } from './other/autoscaling.ts';
import * as g from './other/groups.ts';
import * as reviews from './other/reviews.ts';

export const builtinKinds: readonly ResourceDef[] = [
  // core/v1 (alphabetical, like upstream)
  componentstatuses,
  configmaps,
  endpoints,
  events,
  limitranges,
  namespaces,
  nodes,
  persistentvolumeclaims,
  persistentvolumes,
  pods,
  podtemplates,
  replicationcontrollers,
  resourcequotas,
  secrets,
  serviceaccounts,
  services,
  // apps/v1
  controllerrevisions,
  daemonsets,
  deployments,
  replicasets,
  statefulsets,
  // events.k8s.io/v1
  eventsV1,
  // authentication.k8s.io/v1
  reviews.selfsubjectreviews,
  reviews.tokenreviews,
  // authorization.k8s.io/v1
  reviews.localsubjectaccessreviews,
  reviews.selfsubjectaccessreviews,
  reviews.selfsubjectrulesreviews,
  reviews.subjectaccessreviews,
  // autoscaling (v2 preferred, v1 same objects)
  hpaV2,
  hpaV1,
  // batch/v1
  cronjobs,
  jobs,
  // certificates.k8s.io/v1
  g.certificatesigningrequests,
  // networking.k8s.io/v1
  g.ingressclasses,
  g.ingresses,
  g.networkpolicies,
  // policy/v1
  g.poddisruptionbudgets,
  // rbac.authorization.k8s.io/v1
  g.clusterrolebindings,
  g.clusterroles,
  g.rolebindings,
  g.roles,
  // storage.k8s.io/v1
  g.csidrivers,
  g.csinodes,
  g.csistoragecapacities,
  g.storageclasses,
  g.volumeattachments,
  // admissionregistration.k8s.io/v1
  g.mutatingwebhookconfigurations,
  g.validatingadmissionpolicies,
  g.validatingadmissionpolicybindings,
  g.validatingwebhookconfigurations,
  // apiextensions.k8s.io/v1
  g.customresourcedefinitions,
  // scheduling.k8s.io/v1
  g.priorityclasses,
  // coordination.k8s.io/v1
  g.leases,
  // node.k8s.io/v1
  g.runtimeclasses,
  // discovery.k8s.io/v1
  g.endpointslices,
];
