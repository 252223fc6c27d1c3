// The Kubernetes object types the kubelet reads and writes, in one place (NodeNext needs the
// explicit ".js" subpath for kubernetes-types, which has no exports map).
export type {
  ConfigMap,
  Container,
  ContainerState,
  ContainerStatus as PodContainerStatus,
  EnvVar as PodEnvVar,
  Lifecycle,
  LifecycleHandler,
  Node,
  NodeCondition,
  NodeStatus,
  PersistentVolume,
  PersistentVolumeClaim,
  Pod,
  PodCondition,
  PodSpec,
  PodStatus,
  Probe,
  Secret,
  Service,
  ServiceAccount,
  Volume,
  VolumeMount,
} from 'kubernetes-types/core/v1.js';
export type { Lease } from 'kubernetes-types/coordination/v1.js';
