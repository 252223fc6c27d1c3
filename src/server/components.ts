// The components that run on top of the API server, in start order (stopped in reverse). Each gets
// its own API client identity and the server's abort signal; adding one = one entry here.
import type { ClusterPki } from '../pki/index.ts';
import type { Client } from '../client/types.ts';
import type { UserInfo } from '../apiserver/auth/user.ts';
import type { HealthChecks } from '../apiserver/health.ts';
import type { DataLayout } from '../config/paths.ts';
import type { ServerOptions } from './run.ts';
import type { Registry } from '../registry/index.ts';
import type { ClusterNetwork } from './cluster-network.ts';
import { systemNamespacesComponent } from '../bootstrap/system-namespaces.ts';
import { clusterControllersComponent } from '../controllers/cluster.ts';
import { schedulerComponent } from '../scheduler/component.ts';
import { endpointControllersComponent, serviceNetworkComponent } from '../network/components.ts';
import { storageControllersComponent } from '../storage-controllers/index.ts';
import { workloadControllersComponent } from '../controllers/index.ts';
import { authorizerComponent, type ClusterAuth } from './auth.ts';
import { rbacBootstrapComponent } from '../bootstrap/rbac.ts';
import { clusterRoleAggregationComponent } from '../controllers/clusterrole-aggregation.ts';
import { csrSigningComponent } from '../controllers/csr-signing.ts';
import { kubeletComponent } from '../kubelet/index.ts';
import { manifestsComponent } from '../bootstrap/manifests.ts';

export interface ComponentContext {
  options: ServerOptions;
  layout: DataLayout;
  /** This cluster's pod and service ranges (distinct from every other cluster on the host). */
  network: ClusterNetwork;
  pki: ClusterPki;
  /** A client over the loopback socket authenticated as `user`. */
  clientFor(user: UserInfo, userAgent: string): Client;
  health: HealthChecks;
  /** Authentication and authorization state (RBAC caches, token issuer). */
  auth: ClusterAuth;
  /** Every served kind, built-in and custom (CRDs add to it at run time). */
  registry: Registry;
  /** Aborted when the server stops. */
  signal: AbortSignal;
}

export interface StartedComponent {
  /** Shown next to the step in `nanokube start`. */
  detail?: string;
  stop?(): Promise<void>;
}

export interface Component {
  name: string;
  /**
   * Start without holding up Ready (controllers: their informers sync in a few hundred ms while the
   * API already answers, as k3s starts its controllers after the API server).
   */
  background?: boolean;
  /** Whether this component runs with these options (e.g. the kubelet needs Docker). */
  enabled?(options: ServerOptions): boolean;
  /** Resolves once the component is ready (informers synced, node registered...). */
  start(ctx: ComponentContext): Promise<StartedComponent | void>;
}

// The authorizer's caches load first (as system:masters) and default RBAC is applied before any
// component that acts under its own, less privileged identity.
export const components: Component[] = [
  authorizerComponent,
  systemNamespacesComponent,
  rbacBootstrapComponent,
  clusterRoleAggregationComponent,
  csrSigningComponent,
  clusterControllersComponent,
  workloadControllersComponent,
  schedulerComponent,
  storageControllersComponent,
  endpointControllersComponent,
  serviceNetworkComponent,
  kubeletComponent,
  manifestsComponent,
];
