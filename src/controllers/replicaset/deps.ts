// What a workload controller is given and how it is driven: one shape for all six so that
// index.ts (and tests) start any subset of them over one shared informer factory.
import { isConflict, type Client } from '../../client/types.ts';
import type { SharedInformers } from '../../client/shared-informers.ts';
import { EventRecorder } from '../../controller/events.ts';
import { ControllerRunner, type Reconciler, type Request } from '../../controller/runner.ts';
import type { Clock } from './podutil.ts';

export interface ControllerDeps {
  client: Client;
  informers: SharedInformers;
  clock: Clock;
  /** Events as `component` (e.g. "deployment-controller"). */
  recorder(component: string): EventRecorder;
  /** Parallel reconciles per controller (default 4). */
  workers?: number;
  tuning?: { job?: { backoffBaseMs?: number; backoffMaxMs?: number } };
}

export function defaultRecorderFactory(client: Client): (component: string) => EventRecorder {
  const recorders = new Map<string, EventRecorder>();
  return (component) => {
    let r = recorders.get(component);
    if (!r) recorders.set(component, (r = new EventRecorder(client, component)));
    return r;
  };
}

/** A controller: registers informer handlers in its constructor, then runs workers until aborted. */
export abstract class WorkloadController implements Reconciler {
  abstract readonly name: string;
  private runnerInstance: ControllerRunner | undefined;

  constructor(protected readonly deps: ControllerDeps) {}

  protected get runner(): ControllerRunner {
    this.runnerInstance ??= new ControllerRunner(this, this.deps.workers ?? 4);
    return this.runnerInstance;
  }

  enqueue(req: Request): void {
    this.runner.enqueue(req);
  }

  enqueueAfter(req: Request, ms: number): void {
    this.runner.queue.addAfter(req.namespace ? `${req.namespace}/${req.name}` : req.name, ms);
  }

  run(signal: AbortSignal): Promise<void> {
    return this.runner.run(signal);
  }

  /** One level-driven pass over the object named by `req`. */
  abstract sync(req: Request, signal: AbortSignal): Promise<{ requeueAfterMs?: number } | void>;

  // A 409 only means our informer cache was behind the object we wrote; the watch event that
  // will catch it up is on its way, so retry shortly without counting it as a failure.
  async reconcile(req: Request, signal: AbortSignal): Promise<{ requeueAfterMs?: number } | void> {
    try {
      return await this.sync(req, signal);
    } catch (e) {
      if (isConflict(e)) return { requeueAfterMs: 20 };
      throw e;
    }
  }
}
