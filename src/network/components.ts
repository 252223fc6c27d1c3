// Server components for Services: the endpoint controllers (+ the `kubernetes` Service), and the
// node side — cluster DNS on the bridge gateway and the iptables proxy — which needs Docker (for
// the bridge) and root (for iptables).
import { setMaxListeners } from 'node:events';
import { SharedInformers } from '../client/shared-informers.ts';
import type { Component, ComponentContext } from '../server/components.ts';
import { clusterTag, createIptablesRunner, detectIptablesBackend, hostDefaultRouteInterface } from '../proxy/index.ts';
import { DnsRecords, hostUpstreams, snapshotFromKubernetes, startDnsServer, type DnsServer } from '../dns/index.ts';
import { CLUSTER_DOMAIN } from '../kubelet/index.ts';
import { logger } from '../util/log.ts';
import { startNetworkControllers } from './controllers.ts';
import { ensureDnsService, ensureKubernetesService } from './cluster-services.ts';
import { nthAddress, parseCidr } from './ip.ts';
import { endpointSlicesRef, podsRef, servicesRef, type PodObj, type SliceObj, type SvcObj } from './endpoint-model.ts';
import { ServiceProxy, interfaceIPv4 } from './service-proxy.ts';

const log = logger('network');

const controllerUser = { username: 'system:kube-controller-manager', groups: ['system:masters', 'system:authenticated'] };
const proxyUser = { username: 'system:kube-proxy', groups: ['system:masters', 'system:authenticated'] };

/**
 * Where pods reach the API server: the bridge gateway (the server listens there as well as on its
 * loopback or all-interfaces address), unless it was bound to one specific host address.
 */
function apiHostForPods(ctx: ComponentContext): string {
  const bind = ctx.options.bindAddress;
  const everywhereOrLoopback = bind === '0.0.0.0' || bind === '' || bind === 'localhost' || bind.startsWith('127.');
  return everywhereOrLoopback ? nthAddress(parseCidr(ctx.network.nodePodCIDR), 1) : bind;
}

export const endpointControllersComponent: Component = {
  name: 'endpoint-controllers',
  background: true,
  async start(ctx) {
    const client = ctx.clientFor(controllerUser, 'nanokube/endpoint-controllers');
    // Components are stopped before the shared signal aborts: each has its own stop.
    const stop = new AbortController();
    const signal = AbortSignal.any([ctx.signal, stop.signal]);
    await ensureKubernetesService(client, apiHostForPods(ctx), ctx.options.apiPort, ctx.network.kubernetesServiceIP);
    const running = await startNetworkControllers({ client }, signal);
    return {
      detail: 'endpoints, endpointslice, mirroring',
      async stop() {
        stop.abort();
        await running.done;
      },
    };
  },
};

export const serviceNetworkComponent: Component = {
  name: 'service-network',
  background: true,
  enabled: (opts) => opts.requireDocker,
  async start(ctx) {
    if (process.getuid?.() !== 0) {
      log.warn('not running as root: Services (ClusterIP, NodePort, LoadBalancer) and cluster DNS are not set up; start nanokube as root (sudo) to use them');
      return { detail: 'disabled: needs root' };
    }
    const stop = new AbortController();
    const signal = AbortSignal.any([ctx.signal, stop.signal]);
    setMaxListeners(100, signal);
    const client = ctx.clientFor(proxyUser, 'nanokube/service-proxy');
    // The kubelet creates the same network (same config, idempotent): whichever comes first.
    const { createDockerRuntime } = await import('../runtime/docker/runtime.ts');
    const network = await createDockerRuntime({ cluster: ctx.options.name }).ensureNetwork({ cidr: ctx.network.nodePodCIDR });

    const informers = new SharedInformers(client);
    const services = informers.informerFor<SvcObj>(servicesRef);
    const slices = informers.informerFor<SliceObj>(endpointSlicesRef);
    const pods = informers.informerFor<PodObj>(podsRef);

    // DNS: records rebuilt from the caches on change (coalesced), never an API call per query.
    const records = new DnsRecords({ domain: CLUSTER_DOMAIN });
    let pending: NodeJS.Timeout | undefined;
    const refresh = () => {
      pending ??= setTimeout(() => {
        pending = undefined;
        records.update(snapshotFromKubernetes(services.list(), slices.list(), pods.list()));
      }, 10);
    };
    for (const inf of [services, slices, pods]) inf.addHandlers({ onAdd: refresh, onUpdate: refresh, onDelete: refresh });
    const dns: DnsServer = await startDnsServer({ host: network.gateway, port: 53, domain: CLUSTER_DOMAIN, dnsServiceIP: ctx.network.dnsServiceIP, upstreams: hostUpstreams(), records, signal });

    const backend = await detectIptablesBackend();
    const egressInterface = hostDefaultRouteInterface();
    const proxy = new ServiceProxy({
      client,
      informers,
      runner: createIptablesRunner({ backend: backend.backend }),
      tag: clusterTag(ctx.options.name),
      // The whole cluster's pod range (each node has a /24 of it): what the proxy treats as "from a pod".
      podCIDR: ctx.network.clusterCIDR,
      serviceCIDR: ctx.network.serviceCIDR,
      ...(egressInterface ? { egressInterface } : {}),
      bridge: network.bridge,
      nodeIP: interfaceIPv4(egressInterface) ?? '127.0.0.1',
    });
    informers.start(signal);
    await informers.waitForSync(signal);
    refresh();
    const proxyDone = proxy.run(signal);
    await ensureDnsService(client, network.gateway, dns.port, ctx.network.dnsServiceIP);
    log.info('service network ready', { bridge: network.bridge, dns: `${dns.host}:${dns.port}`, iptables: backend.backend, reason: backend.reason, egressInterface });
    return {
      detail: `dns ${dns.host}:${dns.port}, iptables ${backend.backend}`,
      async stop() {
        stop.abort();
        if (pending) clearTimeout(pending);
        await proxyDone; // removes our chains once the signal has aborted
        await dns.close();
      },
    };
  },
};
