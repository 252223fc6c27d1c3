// The Kubernetes object types the scheduler reads, in one place. The explicit ".js" subpath is
// what NodeNext resolution needs for kubernetes-types (a package without an exports map).

export type {
  Container,
  Node,
  NodeSelectorRequirement,
  NodeSelectorTerm,
  PersistentVolume,
  PersistentVolumeClaim,
  Pod,
  PodAffinityTerm,
  PodCondition,
  Taint,
  Toleration,
  TopologySpreadConstraint,
  Volume,
} from 'kubernetes-types/core/v1.js';
export type { StorageClass } from 'kubernetes-types/storage/v1.js';
export type { PriorityClass } from 'kubernetes-types/scheduling/v1.js';
