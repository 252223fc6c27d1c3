// The scheduler as a server component, with the identity upstream's kube-scheduler has.
import type { Component } from '../server/components.ts';
import { startScheduler } from './index.ts';

export const schedulerComponent: Component = {
  name: 'scheduler',
  background: true,
  async start(ctx) {
    const client = ctx.clientFor({ username: 'system:kube-scheduler', groups: ['system:authenticated'] }, 'nanokube/kube-scheduler');
    await startScheduler(client, ctx.signal);
    return { detail: 'default-scheduler' };
  },
};
