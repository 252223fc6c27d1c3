// The wire formats under exec/attach/port-forward: SPDY/3.1 frames, header blocks compressed with
// the SPDY/3 dictionary (checked against plain zlib streams, as the Go side uses), and the
// WebSocket channel messages.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import zlib from 'node:zlib';
import { createHash } from 'node:crypto';
import { spdyDictionary } from '../../embedded/spdy/dictionary.ts';
import {
  decodeHeaderBlock,
  encodeControlFrame,
  encodeDataFrame,
  encodeHeaderBlock,
  FrameReader,
  FrameType,
  HeaderCodec,
  SpdySession,
  type SpdyStream,
} from '../../src/streaming/spdy.ts';
import { Channel, decodeChannelMessage, encodeChannelMessage, parseResize, portPrefix } from '../../src/streaming/ws-channel.ts';

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

/** A peer-side compressor, independent of HeaderCodec: one zlib stream, sync flush per block. */
function peerDeflater() {
  const d = zlib.createDeflate({ dictionary: spdyDictionary });
  const chunks: Buffer[] = [];
  d.on('data', (c: Buffer) => chunks.push(c));
  return (block: Buffer) =>
    new Promise<Buffer>((resolve) => {
      d.write(block);
      d.flush(zlib.constants.Z_SYNC_FLUSH, () => resolve(Buffer.concat(chunks.splice(0))));
    });
}

describe('SPDY/3 dictionary', () => {
  it('has the size and content the spec gives', () => {
    assert.equal(spdyDictionary.length, 1423);
    assert.equal(spdyDictionary.subarray(0, 11).toString('latin1'), '\0\0\0\x07options');
    assert.ok(spdyDictionary.toString('latin1').endsWith('utf-,*,enq=0.'));
    assert.equal(createHash('sha256').update(spdyDictionary).digest('hex'), '51d27341373f923f3cd88e1eb7162aeaa3723d7585ff2399201dc06498407f02');
  });
});

describe('SPDY frames', () => {
  it('round-trip data and control frames across arbitrary chunk boundaries', () => {
    const frames = Buffer.concat([
      encodeDataFrame(3, Buffer.from('hello'), false),
      encodeControlFrame(FrameType.ping, 0, u32(7)),
      encodeDataFrame(5, Buffer.alloc(0), true),
      encodeDataFrame(0x7ffffffd, Buffer.alloc(70_000, 1)),
    ]);
    const reader = new FrameReader();
    const got = [];
    for (let at = 0; at < frames.length; at += 13) got.push(...reader.push(frames.subarray(at, at + 13)));
    assert.equal(got.length, 4);
    assert.deepEqual(got[0], { kind: 'data', streamId: 3, flags: 0, data: Buffer.from('hello') });
    assert.deepEqual(got[1], { kind: 'control', type: FrameType.ping, flags: 0, payload: u32(7) });
    assert.deepEqual(got[2], { kind: 'data', streamId: 5, flags: 1, data: Buffer.alloc(0) });
    const big = got[3]!;
    assert.equal(big.kind === 'data' && big.streamId, 0x7ffffffd);
    assert.equal(big.kind === 'data' && big.data.length, 70_000);
  });

  it('encodes the control header as the spec lays it out', () => {
    const f = encodeControlFrame(FrameType.rstStream, 0, Buffer.concat([u32(1), u32(5)]));
    assert.deepEqual([...f.subarray(0, 8)], [0x80, 0x03, 0x00, 0x03, 0x00, 0x00, 0x00, 0x08]);
  });

  it('rejects other SPDY versions', () => {
    const f = encodeControlFrame(1, 0, Buffer.alloc(0));
    f.writeUInt16BE(0x8002, 0);
    assert.throws(() => new FrameReader().push(f), /version 2/);
  });
});

describe('SPDY header blocks', () => {
  it('round-trip name/value pairs, lower-casing names', () => {
    const block = encodeHeaderBlock([
      ['StreamType', 'data'],
      ['port', '8080'],
      ['requestid', '0'],
    ]);
    assert.deepEqual(decodeHeaderBlock(block), { streamtype: 'data', port: '8080', requestid: '0' });
    assert.throws(() => decodeHeaderBlock(block.subarray(0, block.length - 1)), /truncated/);
  });

  it('decompress blocks from an independent zlib stream, keeping context across blocks', async () => {
    const peer = peerDeflater();
    const codec = new HeaderCodec('decompress');
    for (let i = 0; i < 3; i++) {
      const block = encodeHeaderBlock([
        ['streamtype', 'error'],
        ['requestid', String(i)],
      ]);
      assert.deepEqual(decodeHeaderBlock(await codec.run(await peer(block))), { streamtype: 'error', requestid: String(i) });
    }
    codec.close();
  });

  it('compress blocks an independent inflater with the dictionary reads', async () => {
    const codec = new HeaderCodec('compress');
    const inflate = zlib.createInflate({ dictionary: spdyDictionary });
    const out: Buffer[] = [];
    inflate.on('data', (c: Buffer) => out.push(c));
    for (let i = 0; i < 2; i++) {
      const compressed = await codec.run(encodeHeaderBlock([['x-stream-protocol-version', `v${i}`]]));
      inflate.write(compressed);
      await new Promise<void>((r) => inflate.flush(zlib.constants.Z_SYNC_FLUSH, () => r()));
      assert.deepEqual(decodeHeaderBlock(Buffer.concat(out.splice(0))), { 'x-stream-protocol-version': `v${i}` });
    }
    codec.close();
    inflate.close();
  });
});

describe('SpdySession', () => {
  it('announces streams, replies, echoes pings, delivers data and FIN', async () => {
    const sent: Buffer[] = [];
    const session = new SpdySession({ write: (d) => (sent.push(d), true), pause() {}, resume() {}, close() {} });
    const peer = peerDeflater();
    const streams: SpdyStream[] = [];
    const got: string[] = [];
    let ended!: Promise<void>;
    // Listeners go on in the 'stream' handler: data that follows in the same chunk comes at once.
    session.on('stream', (s: SpdyStream) => {
      streams.push(s);
      s.on('data', (d: Buffer) => got.push(d.toString()));
      ended = new Promise<void>((r) => s.once('end', () => r()));
      s.reply();
    });
    const block = await peer(encodeHeaderBlock([['streamtype', 'data'], ['port', '80']]));
    const syn = Buffer.concat([u32(1), u32(0), Buffer.from([0, 0]), block]);
    session.receive(Buffer.concat([encodeControlFrame(FrameType.synStream, 0, syn), encodeDataFrame(1, Buffer.from('abc'), true), encodeControlFrame(FrameType.ping, 0, u32(9))]));
    await new Promise<void>((resolve) => {
      const check = () => (streams.length === 1 ? resolve() : setImmediate(check));
      check();
    });
    const s = streams[0]!;
    await ended;
    assert.deepEqual(s.headers, { streamtype: 'data', port: '80' });
    assert.deepEqual(got, ['abc']);
    s.write(Buffer.from('reply'));
    s.end();
    // Wait until the SYN_REPLY (compressed asynchronously) and what was queued behind it are out.
    await new Promise<void>((resolve) => {
      const check = () => (sent.length >= 4 ? resolve() : setImmediate(check));
      check();
    });
    const frames = new FrameReader().push(Buffer.concat(sent));
    const kinds = frames.map((f) => (f.kind === 'data' ? `data:${f.streamId}:${f.data.toString()}:${f.flags}` : `ctl:${f.type}`));
    // The ping answer may go before or after the reply; the stream's own frames keep their order.
    assert.deepEqual(kinds.filter((k) => k !== `ctl:${FrameType.ping}`), [`ctl:${FrameType.synReply}`, 'data:1:reply:0', 'data:1::1']);
    const ping = frames.find((f) => f.kind === 'control' && f.type === FrameType.ping);
    assert.deepEqual(ping?.kind === 'control' && ping.payload, u32(9));
    session.close();
  });
});

describe('WebSocket channel messages', () => {
  it('prefix the channel byte and decode v5 close messages', () => {
    assert.deepEqual([...encodeChannelMessage(Channel.stdout, 'hi')], [1, 104, 105]);
    assert.deepEqual(decodeChannelMessage(Buffer.from([0, 120]), 'v5.channel.k8s.io'), { kind: 'data', channel: 0, data: Buffer.from('x') });
    assert.deepEqual(decodeChannelMessage(Buffer.from([255, 0]), 'v5.channel.k8s.io'), { kind: 'close', channel: 0 });
    // Before v5, 255 is just another channel number.
    assert.equal(decodeChannelMessage(Buffer.from([255, 0]), 'v4.channel.k8s.io').kind, 'data');
  });

  it('parse resize events and port prefixes', () => {
    assert.deepEqual(parseResize(Buffer.from('{"Width":120,"Height":40}')), { width: 120, height: 40 });
    assert.equal(parseResize(Buffer.from('{"width":1}')), undefined);
    assert.deepEqual([...portPrefix(8080)], [0x90, 0x1f]);
  });
});
