// The WebSocket forms kubectl does not use but @kubernetes/client-node does: port-forward with
// `?ports=` on a channel protocol (port prefix per channel, data on 2i), and exec over v4.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { dockerAvailable } from '../helpers/docker.ts';
import { startStreamingHarness, type StreamingHarness } from './streaming-harness.ts';

const available = await dockerAvailable();

describe('client-node style WebSocket streaming', { skip: available ? false : 'no Docker engine', timeout: 120_000 }, () => {
  let h: StreamingHarness;
  before(async () => {
    h = await startStreamingHarness();
    await h.createPod('web', { node: 'node-b', containers: [{ name: 'httpd', command: ['sh', '-c', 'mkdir -p /www && echo hi-there > /www/index.html && exec httpd -f -p 8080 -h /www'] }] });
  });
  after(async () => h?.close());

  const open = (path: string, protocol: string) =>
    new Promise<WebSocket>((resolve, reject) => {
      const ws = new WebSocket(`wss://127.0.0.1:${h.apiPort}${path}`, [protocol], h.adminTls);
      ws.once('open', () => resolve(ws));
      ws.once('error', reject);
    });

  it('port-forward ?ports= over v4.channel.k8s.io', async () => {
    const ws = await open('/api/v1/namespaces/default/pods/web/portforward?ports=8080', 'v4.channel.k8s.io');
    assert.equal(ws.protocol, 'v4.channel.k8s.io');
    const messages: Buffer[] = [];
    let body = '';
    const done = new Promise<void>((resolve) => ws.once('close', () => resolve()));
    ws.on('message', (m: Buffer) => {
      messages.push(m);
      if (messages.length > 2 && m[0] === 0) body += m.subarray(1).toString();
    });
    ws.send(Buffer.concat([Buffer.from([0]), Buffer.from('GET /index.html HTTP/1.0\r\n\r\n')]));
    await done;
    // First message on each channel: the port, 2 bytes little-endian.
    assert.deepEqual([...messages[0]!], [0, 0x90, 0x1f]);
    assert.deepEqual([...messages[1]!], [1, 0x90, 0x1f]);
    assert.match(body, /^HTTP\/1\.[01] 200/);
    assert.match(body, /hi-there\n$/);
  });

  it('exec over v4.channel.k8s.io reports the exit status as JSON on channel 3', async () => {
    const ws = await open('/api/v1/namespaces/default/pods/web/exec?command=sh&command=-c&command=echo%20out%3B%20exit%203&stdout=true&stderr=true', 'v4.channel.k8s.io');
    let out = '';
    let status = '';
    const code = await new Promise<number>((resolve) => {
      ws.on('message', (m: Buffer) => {
        if (m[0] === 1) out += m.subarray(1).toString();
        if (m[0] === 3) status += m.subarray(1).toString();
      });
      ws.once('close', (c) => resolve(c));
    });
    assert.equal(code, 1000);
    assert.equal(out, 'out\n');
    const s = JSON.parse(status) as { status: string; details: { causes: Array<{ reason: string; message: string }> } };
    assert.equal(s.status, 'Failure');
    assert.deepEqual(s.details.causes, [{ reason: 'ExitCode', message: '3' }]);
  });
});
