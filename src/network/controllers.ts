// The Endpoints, EndpointSlice and EndpointSlice mirroring controllers on one set of informers.
import { setMaxListeners } from 'node:events';
import { SharedInformers } from '../client/shared-informers.ts';
import type { Client } from '../client/types.ts';
import { ControllerRunner } from '../controller/runner.ts';
import { EndpointsController } from './endpoints-controller.ts';
import { EndpointSliceController } from './endpointslice-controller.ts';
import { EndpointSliceMirroringController } from './endpointslice-mirroring.ts';

export interface NetworkControllers {
  informers: SharedInformers;
  /** Resolves when all have stopped (after the signal aborts). */
  done: Promise<void>;
}

export async function startNetworkControllers(opts: { client: Client; informers?: SharedInformers; maxEndpointsPerSlice?: number; workers?: number }, signal: AbortSignal): Promise<NetworkControllers> {
  setMaxListeners(100, signal);
  const informers = opts.informers ?? new SharedInformers(opts.client);
  const per = opts.maxEndpointsPerSlice ? { maxEndpointsPerSlice: opts.maxEndpointsPerSlice } : {};
  const reconcilers = [
    new EndpointsController({ client: opts.client, informers }),
    new EndpointSliceController({ client: opts.client, informers, ...per }),
    new EndpointSliceMirroringController({ client: opts.client, informers, ...per }),
  ];
  const runners = reconcilers.map((r) => {
    const runner = new ControllerRunner(r, opts.workers ?? 4);
    r.watch((req) => runner.enqueue(req));
    return runner;
  });
  informers.start(signal);
  await informers.waitForSync(signal);
  const done = Promise.all(runners.map((r) => r.run(signal))).then(() => undefined);
  return { informers, done };
}
