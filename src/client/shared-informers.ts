// One informer per resource (and namespace/selector), shared by every controller in the process,
// as client-go's SharedInformerFactory: N controllers watching pods cost one watch, one cache.
import { Informer, type InformerOptions } from './informer.ts';
import type { Client, KubeObject, ResourceRef } from './types.ts';

export class SharedInformers {
  private readonly informers = new Map<string, Informer<KubeObject>>();
  private readonly running = new Set<string>();
  private signal: AbortSignal | undefined;

  constructor(private readonly client: Client) {}

  informerFor<T extends KubeObject = KubeObject>(ref: ResourceRef, opts: InformerOptions = {}): Informer<T> {
    const key = `${ref.group}/${ref.version}/${ref.resource}?${opts.namespace ?? ''}&${opts.labelSelector ?? ''}&${opts.fieldSelector ?? ''}`;
    let inf = this.informers.get(key);
    if (!inf) {
      inf = new Informer<KubeObject>(this.client, ref, opts);
      this.informers.set(key, inf);
      // Informers asked for after start() begin at once.
      if (this.signal) this.run(key, inf, this.signal);
    }
    return inf as unknown as Informer<T>;
  }

  /** Starts every informer created so far (and later ones as they are created). */
  start(signal: AbortSignal): void {
    this.signal = signal;
    for (const [key, inf] of this.informers) this.run(key, inf, signal);
  }

  async waitForSync(signal?: AbortSignal): Promise<void> {
    await Promise.all([...this.informers.values()].map((i) => i.waitForSync(signal)));
  }

  private run(key: string, inf: Informer<KubeObject>, signal: AbortSignal): void {
    if (this.running.has(key)) return;
    this.running.add(key);
    void inf.run(signal);
  }
}
