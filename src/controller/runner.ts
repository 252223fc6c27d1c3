// Running a reconciler: workers take keys from the queue, call reconcile, and requeue on error
// (with backoff) or when asked (requeueAfter). Level-driven: reconcile reads current state itself.
import { logger } from '../util/log.ts';
import { WorkQueue } from './workqueue.ts';

export interface Request {
  namespace?: string;
  name: string;
}

export interface Result {
  /** Reconcile again after this long even without a new event. */
  requeueAfterMs?: number;
}

export interface Reconciler {
  readonly name: string;
  reconcile(req: Request, signal: AbortSignal): Promise<Result | void>;
}

export function requestKey(req: Request): string {
  return req.namespace ? `${req.namespace}/${req.name}` : req.name;
}

export function parseKey(key: string): Request {
  const i = key.indexOf('/');
  return i < 0 ? { name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

export class ControllerRunner {
  readonly queue = new WorkQueue<string>();
  private readonly log;

  constructor(
    private readonly reconciler: Reconciler,
    private readonly workers = 2,
  ) {
    this.log = logger(`controller/${reconciler.name}`);
  }

  enqueue(req: Request): void {
    this.queue.add(requestKey(req));
  }

  /** Runs the workers until the signal aborts. */
  async run(signal: AbortSignal): Promise<void> {
    signal.addEventListener('abort', () => this.queue.shutDown(), { once: true });
    await Promise.all(Array.from({ length: this.workers }, () => this.worker(signal)));
  }

  private async worker(signal: AbortSignal): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      try {
        const res = await this.reconciler.reconcile(parseKey(key), signal);
        this.queue.forget(key);
        if (res?.requeueAfterMs !== undefined) this.queue.addAfter(key, res.requeueAfterMs);
      } catch (e) {
        if (!signal.aborted) {
          this.log.warn('reconcile failed; will retry', { key, error: e, attempt: this.queue.numRequeues(key) + 1 });
          this.queue.addRateLimited(key);
        }
      } finally {
        this.queue.done(key);
      }
    }
  }
}
