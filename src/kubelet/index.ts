// The kubelet as a server component (the server's own node, on the local Docker engine) and the
// factory for kubelets on any NodeRuntime (simulated nodes on the fake runtime in tests and
// scale benchmarks).
import { join } from 'node:path';
import type { Component } from '../server/components.ts';
import { createDockerRuntime } from '../runtime/docker/runtime.ts';
import { startKubelet } from './kubelet.ts';

export { Kubelet, startKubelet, NODE_LABEL, type KubeletOptions, type StartKubeletOptions } from './kubelet.ts';
export { NodeStatusManager, buildNodeStatus, NODE_LEASE_NAMESPACE } from './node-status.ts';
export { PodIPAllocator } from './ipam.ts';
export type { HostFacts } from './host.ts';

/** The server's node gets the first /24 of the cluster pod CIDR; agents get 10.42.N.0/24. */
export const SERVER_POD_CIDR = '10.42.0.0/24';
export const CLUSTER_DNS_IP = '10.43.0.10';
export const CLUSTER_DOMAIN = 'cluster.local';

export const kubeletComponent: Component = {
  name: 'kubelet',
  enabled: (opts) => opts.requireDocker,
  async start(ctx) {
    const nodeName = ctx.options.nodeName;
    // The node's own identity; RBAC binds system:node to the group system:nodes (no node authorizer yet).
    const client = ctx.clientFor({ username: `system:node:${nodeName}`, groups: ['system:nodes', 'system:authenticated'] }, 'nanokube/kubelet');
    const runtime = createDockerRuntime({ cluster: ctx.options.name });
    const kubelet = await startKubelet({
      client,
      runtime,
      nodeName,
      podCIDR: ctx.network.nodePodCIDR,
      dataDir: join(ctx.layout.dataDir, 'kubelet'),
      clusterName: ctx.options.name,
      clusterDNS: [ctx.network.dnsServiceIP],
      clusterDomain: CLUSTER_DOMAIN,
      controlPlane: true,
      caPem: ctx.pki.ca.certPem,
      signal: ctx.signal,
    });
    return {
      detail: `node ${nodeName}`,
      stop: () => kubelet.stop(),
    };
  },
};
