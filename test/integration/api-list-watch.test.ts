import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { apiServer, createNamespace, type TestApi } from './api-helpers.ts';
import { watchSettings } from '../../src/apiserver/watch/watch.ts';

/** Reads NDJSON watch lines from a real socket; `next()` waits (bounded) for the next event. */
function openWatch(port: number, path: string, accept = 'application/json') {
  const lines: Record<string, unknown>[] = [];
  const waiters: (() => void)[] = [];
  let buf = '';
  let ended = false;
  let status = 0;
  let headers: http.IncomingHttpHeaders = {};
  const req = http.get({ host: '127.0.0.1', port, path, headers: { accept } }, (res) => {
    status = res.statusCode ?? 0;
    headers = res.headers;
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      buf += chunk;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        lines.push(JSON.parse(buf.slice(0, i)));
        buf = buf.slice(i + 1);
      }
      waiters.splice(0).forEach((w) => w());
    });
    res.on('end', () => {
      ended = true;
      waiters.splice(0).forEach((w) => w());
    });
    waiters.splice(0).forEach((w) => w());
  });
  req.on('error', () => {});
  let read = 0;
  return {
    get status() {
      return status;
    },
    get headers() {
      return headers;
    },
    get ended() {
      return ended;
    },
    async next(timeoutMs = 3000): Promise<Record<string, unknown>> {
      const deadline = Date.now() + timeoutMs;
      while (read >= lines.length) {
        if (ended) throw new Error('watch ended');
        const left = deadline - Date.now();
        if (left <= 0) throw new Error('timed out waiting for a watch event');
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, left);
          waiters.push(() => {
            clearTimeout(t);
            resolve();
          });
        });
      }
      return lines[read++]!;
    },
    async waitEnd(timeoutMs = 3000): Promise<void> {
      const deadline = Date.now() + timeoutMs;
      while (!ended && Date.now() < deadline) await new Promise<void>((r) => waiters.push(r) && setTimeout(r, deadline - Date.now()));
      if (!ended) throw new Error('watch did not end');
    },
    close: () => req.destroy(),
  };
}

const meta = (o: Record<string, unknown>) => (o.object as { metadata: { name: string; resourceVersion: string; annotations?: Record<string, string> } }).metadata;

describe('list and watch', () => {
  let t: TestApi;
  let port: number;
  const url = '/api/v1/namespaces/default/configmaps';
  before(async () => {
    t = await apiServer();
    await createNamespace(t.app, 'default');
    await createNamespace(t.app, 'other');
    for (let i = 0; i < 7; i++) {
      const r = await t.app.inject({ method: 'POST', url, payload: { metadata: { name: `cm-${i}`, labels: { parity: i % 2 ? 'odd' : 'even', i: String(i) } } } });
      assert.equal(r.statusCode, 201);
    }
    await t.app.inject({ method: 'POST', url: '/api/v1/namespaces/other/configmaps', payload: { metadata: { name: 'x' } } });
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    port = (t.app.server.address() as AddressInfo).port;
  });
  after(async () => t.close());

  it('paginates with limit/continue at one snapshot', async () => {
    const p1 = (await t.app.inject({ method: 'GET', url: `${url}?limit=3` })).json();
    assert.equal(p1.kind, 'ConfigMapList');
    assert.equal(p1.items.length, 3);
    assert.ok(p1.metadata.continue);
    assert.equal(p1.metadata.remainingItemCount, 4);
    // A write between pages must not show up in later pages.
    await t.app.inject({ method: 'POST', url, payload: { metadata: { name: 'cm-9' } } });
    const p2 = (await t.app.inject({ method: 'GET', url: `${url}?limit=10&continue=${encodeURIComponent(p1.metadata.continue)}` })).json();
    assert.equal(p2.items.length, 4);
    assert.equal(p2.metadata.continue, undefined);
    assert.equal(p2.metadata.resourceVersion, p1.metadata.resourceVersion);
    await t.app.inject({ method: 'DELETE', url: `${url}/cm-9` });
  });

  it('label selectors with limit fill pages', async () => {
    const r = (await t.app.inject({ method: 'GET', url: `${url}?labelSelector=parity%3Dodd&limit=2` })).json();
    assert.deepEqual(r.items.map((i: { metadata: { name: string } }) => i.metadata.name), ['cm-1', 'cm-3']);
    assert.equal(r.metadata.remainingItemCount, undefined);
    const rest = (await t.app.inject({ method: 'GET', url: `${url}?labelSelector=parity%3Dodd&continue=${encodeURIComponent(r.metadata.continue)}` })).json();
    assert.deepEqual(rest.items.map((i: { metadata: { name: string } }) => i.metadata.name), ['cm-5']);
    const set = (await t.app.inject({ method: 'GET', url: `${url}?labelSelector=${encodeURIComponent('i in (1,2),parity!=odd')}` })).json();
    assert.deepEqual(set.items.map((i: { metadata: { name: string } }) => i.metadata.name), ['cm-2']);
  });

  it('field selectors, unsupported field 400, bad label selector 400', async () => {
    const r = (await t.app.inject({ method: 'GET', url: `/api/v1/configmaps?fieldSelector=metadata.namespace%3Dother` })).json();
    assert.deepEqual(r.items.map((i: { metadata: { name: string } }) => i.metadata.name), ['x']);
    const bad = await t.app.inject({ method: 'GET', url: `${url}?fieldSelector=spec.x%3D1` });
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.json().message, 'field label not supported: spec.x');
    assert.equal((await t.app.inject({ method: 'GET', url: `${url}?labelSelector=a%20b` })).statusCode, 400);
  });

  it('resourceVersionMatch rules → 422 on ListOptions', async () => {
    const r = await t.app.inject({ method: 'GET', url: `${url}?resourceVersionMatch=NotOlderThan` });
    assert.equal(r.statusCode, 422);
    assert.match(r.json().message, /^ListOptions\.meta\.k8s\.io "" is invalid: resourceVersionMatch: Forbidden/);
    assert.equal((await t.app.inject({ method: 'GET', url: `${url}?resourceVersion=0&resourceVersionMatch=Exact` })).statusCode, 422);
    assert.equal((await t.app.inject({ method: 'GET', url: `${url}?sendInitialEvents=true` })).statusCode, 422);
    const exact = await t.app.inject({ method: 'GET', url: `${url}?resourceVersion=2&resourceVersionMatch=Exact` });
    assert.equal(exact.statusCode, 200);
    assert.equal(exact.json().metadata.resourceVersion, '2');
  });

  it('Table and PartialObjectMetadataList output', async () => {
    const accept = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json';
    const tbl = (await t.app.inject({ method: 'GET', url: `${url}?limit=2`, headers: { accept } })).json();
    assert.equal(tbl.kind, 'Table');
    assert.equal(tbl.apiVersion, 'meta.k8s.io/v1');
    assert.deepEqual(tbl.columnDefinitions.map((c: { name: string }) => c.name), ['Name', 'Data', 'Age']);
    assert.equal(tbl.rows[0].object.kind, 'PartialObjectMetadata');
    assert.ok(tbl.metadata.continue);
    const full = (await t.app.inject({ method: 'GET', url: `${url}/cm-0?includeObject=Object`, headers: { accept } })).json();
    assert.equal(full.rows[0].object.kind, 'ConfigMap');
    const none = (await t.app.inject({ method: 'GET', url: `${url}/cm-0?includeObject=None`, headers: { accept } })).json();
    assert.equal(none.rows[0].object, undefined);
    const pom = (await t.app.inject({ method: 'GET', url, headers: { accept: 'application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io' } })).json();
    assert.equal(pom.kind, 'PartialObjectMetadataList');
    assert.equal(pom.items[0].kind, 'PartialObjectMetadata');
    const proto = await t.app.inject({ method: 'GET', url, headers: { accept: 'application/vnd.kubernetes.protobuf' } });
    assert.equal(proto.statusCode, 406);
    const yaml = await t.app.inject({ method: 'GET', url: `${url}/cm-0`, headers: { accept: 'application/yaml' } });
    assert.match(yaml.body, /^kind: ConfigMap/m);
  });

  it('watch without resourceVersion: ADDED for current state, then changes', async () => {
    const w = openWatch(port, `${url}?watch=true&labelSelector=parity%3Deven`);
    const names = [];
    for (let i = 0; i < 4; i++) {
      const ev = await w.next();
      assert.equal(ev.type, 'ADDED');
      names.push(meta(ev).name);
    }
    assert.deepEqual(names.sort(), ['cm-0', 'cm-2', 'cm-4', 'cm-6']);
    assert.equal(w.status, 200);
    assert.equal(w.headers['content-type'], 'application/json');
    // cm-2 stops matching → DELETED for this watcher; cm-1 starts matching → ADDED.
    await t.app.inject({ method: 'PATCH', url: `${url}/cm-2`, headers: { 'content-type': 'application/merge-patch+json' }, payload: JSON.stringify({ metadata: { labels: { parity: 'odd' } } }) });
    let ev = await w.next();
    assert.equal(ev.type, 'DELETED');
    assert.equal(meta(ev).name, 'cm-2');
    await t.app.inject({ method: 'PATCH', url: `${url}/cm-1`, headers: { 'content-type': 'application/merge-patch+json' }, payload: JSON.stringify({ metadata: { labels: { parity: 'even' } } }) });
    ev = await w.next();
    assert.equal(ev.type, 'ADDED');
    assert.equal(meta(ev).name, 'cm-1');
    await t.app.inject({ method: 'PATCH', url: `${url}/cm-1`, headers: { 'content-type': 'application/merge-patch+json' }, payload: JSON.stringify({ data: { a: 'b' } }) });
    ev = await w.next();
    assert.equal(ev.type, 'MODIFIED');
    await t.app.inject({ method: 'DELETE', url: `${url}/cm-1` });
    ev = await w.next();
    assert.equal(ev.type, 'DELETED');
    assert.equal((ev.object as { kind: string }).kind, 'ConfigMap');
    w.close();
    // restore
    await t.app.inject({ method: 'POST', url, payload: { metadata: { name: 'cm-1', labels: { parity: 'odd', i: '1' } } } });
    await t.app.inject({ method: 'PATCH', url: `${url}/cm-2`, headers: { 'content-type': 'application/merge-patch+json' }, payload: JSON.stringify({ metadata: { labels: { parity: 'even' } } }) });
  });

  it('watch from a resourceVersion sends only later changes; timeoutSeconds ends it', async () => {
    const list = (await t.app.inject({ method: 'GET', url })).json();
    const w = openWatch(port, `${url}?watch=1&resourceVersion=${list.metadata.resourceVersion}&timeoutSeconds=1`);
    await t.app.inject({ method: 'POST', url, payload: { metadata: { name: 'later' } } });
    const ev = await w.next();
    assert.equal(ev.type, 'ADDED');
    assert.equal(meta(ev).name, 'later');
    await w.waitEnd(3000);
    await t.app.inject({ method: 'DELETE', url: `${url}/later` });
  });

  it('watch from a compacted revision → ERROR 410 Expired', async () => {
    const rev = await t.store.currentRevision();
    await t.store.compact(rev);
    const w = openWatch(port, `${url}?watch=1&resourceVersion=1`);
    const ev = await w.next();
    assert.equal(ev.type, 'ERROR');
    assert.equal((ev.object as { code: number }).code, 410);
    assert.equal((ev.object as { reason: string }).reason, 'Expired');
    await w.waitEnd();
  });

  it('WatchList: initial ADDED then the initial-events-end bookmark', async () => {
    const w = openWatch(port, `${url}?watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true`);
    let ev;
    let added = 0;
    for (;;) {
      ev = await w.next();
      if (ev.type !== 'ADDED') break;
      added++;
    }
    assert.equal(added, 7);
    assert.equal(ev.type, 'BOOKMARK');
    assert.deepEqual(meta(ev).annotations, { 'k8s.io/initial-events-end': 'true' });
    assert.equal((ev.object as { kind: string }).kind, 'ConfigMap');
    w.close();
  });

  it('periodic bookmarks when allowed', async () => {
    const before = watchSettings.bookmarkIntervalMs;
    watchSettings.bookmarkIntervalMs = 50;
    try {
      const list = (await t.app.inject({ method: 'GET', url })).json();
      const w = openWatch(port, `${url}?watch=1&resourceVersion=${list.metadata.resourceVersion}&allowWatchBookmarks=true`);
      const ev = await w.next();
      assert.equal(ev.type, 'BOOKMARK');
      assert.equal(meta(ev).resourceVersion, list.metadata.resourceVersion);
      w.close();
    } finally {
      watchSettings.bookmarkIntervalMs = before;
    }
  });

  it('Table watch: first event has column definitions, later ones not', async () => {
    const accept = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json';
    const w = openWatch(port, `${url}?watch=1&labelSelector=i%3D0`, accept);
    const first = await w.next();
    assert.equal((first.object as { kind: string }).kind, 'Table');
    assert.ok(Array.isArray((first.object as { columnDefinitions: unknown[] }).columnDefinitions));
    await t.app.inject({ method: 'PATCH', url: `${url}/cm-0`, headers: { 'content-type': 'application/merge-patch+json' }, payload: JSON.stringify({ data: { z: '1' } }) });
    const second = await w.next();
    assert.equal(second.type, 'MODIFIED');
    assert.equal((second.object as { columnDefinitions: unknown }).columnDefinitions, null);
    assert.equal((second.object as { rows: { cells: unknown[] }[] }).rows[0]!.cells[0], 'cm-0');
    w.close();
  });
});
