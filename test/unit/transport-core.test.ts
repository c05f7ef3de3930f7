import { describe, expect, it } from 'vitest';
import { pageUrls } from '../../dist/cli/commands/serve.js';
import { maskPushUrl, parsePushUrl } from '../../dist/transport/push/push-output.js';
import { NewestWins } from '../../dist/transport/newest-wins.js';
import { parseClientMessage, parseServerMessage } from '../../dist/transport/protocol.js';
import { SessionTable, type Session, type SessionKind } from '../../dist/transport/sessions/session-table.js';
import { parseRequestTarget, httpStatus } from '../../dist/transport/http/router.js';
import { checkOffer, filterCandidates } from '../../dist/transport/webrtc/peer.js';
import { isLoopback } from '../../dist/transport/http/access.js';

function fakeSession(id: string, kind: SessionKind): Session & { closeCount: number } {
  let resolve!: () => void;
  const closed = new Promise<void>((r) => (resolve = r));
  const session = {
    id, kind, closed, closeCount: 0,
    close() {
      session.closeCount++;
      resolve();
    },
  };
  return session;
}

describe('control protocol', () => {
  it('accepts known client messages and names what is wrong with others', () => {
    expect(parseClientMessage('{"type":"style","id":"candy"}')).toEqual({ ok: true, value: { type: 'style', id: 'candy' } });
    expect(parseClientMessage('{"type":"paint","a":"p-1","blend":0.5,"strength":1}')).toEqual({ ok: true, value: { type: 'paint', a: 'p-1', b: null, blend: 0.5, strength: 1 } });
    for (const bad of ['{"type":"paint","a":"../x","b":null,"blend":0,"strength":1}', '{"type":"paint","a":"p-1","b":7,"blend":0,"strength":1}', '{"type":"paint","a":"p-1","b":null,"blend":-1,"strength":1}', '{"type":"paint","a":"p-1","b":null,"blend":0,"strength":"1"}']) {
      expect(parseClientMessage(bad).ok, bad).toBe(false);
    }
    expect(parseClientMessage('{"type":"offer","mode":"view","sdp":"v=0"}')).toMatchObject({ ok: true, value: { type: 'offer', mode: 'view', preview: false } });
    expect(parseClientMessage('{"type":"colour","keep":0.5,"extra":1}')).toEqual({ ok: true, value: { type: 'colour', keep: 0.5 } });
    for (const bad of ['{"type":"colour","keep":1.5}', '{"type":"colour","keep":"1"}', '{"type":"colour"}', '{"type":"colour","keep":-0.1}']) {
      expect(parseClientMessage(bad)).toEqual({ ok: false, reason: 'colour.keep must be a number from 0 to 1' });
    }
    expect(parseServerMessage('{"type":"colour","keep":1,"target":"camera"}').ok).toBe(true);
    expect(parseServerMessage('{"type":"colour","keep":2,"target":"camera"}').ok).toBe(false);
    expect(parseClientMessage('{nope')).toEqual({ ok: false, reason: 'message is not JSON' });
    expect(parseClientMessage('[1]')).toMatchObject({ ok: false, reason: expect.stringMatching(/JSON object/) });
    expect(parseClientMessage('null')).toMatchObject({ ok: false });
    expect(parseClientMessage('{"type":"launch"}')).toEqual({ ok: false, reason: 'unknown message type "launch"' });
    expect(parseClientMessage('{"type":"offer","mode":"x","sdp":""}')).toMatchObject({ ok: false, reason: expect.stringMatching(/offer.mode/) });
    expect(parseClientMessage('{"type":"style","id":5}')).toMatchObject({ ok: false, reason: expect.stringMatching(/style.id/) });
    expect(parseClientMessage(`{"type":"style","id":"${'x'.repeat(201)}"}`)).toMatchObject({ ok: false });
  });

  it('validates server messages the way the page reads them', () => {
    const welcome = { type: 'welcome', styles: [{ id: 'candy', title: 'Candy' }], style: 'candy', source: 'lavfi', size: { width: 640, height: 360 }, captureSize: { width: 320, height: 180 }, paintings: null, painting: null };
    expect(parseServerMessage(JSON.stringify(welcome))).toEqual({ ok: true, value: welcome });
    const painting = { a: 'p-1', b: null, blend: 0.5, strength: 1 };
    const gallery = [{ id: 'starry-night', title: 'The Starry Night', artist: 'Vincent van Gogh', year: '1889' }];
    expect(parseServerMessage(JSON.stringify({ ...welcome, paintings: { model: 'adain', maxBytes: 10, gallery }, painting }))).toMatchObject({ ok: true });
    expect(parseServerMessage(JSON.stringify({ ...welcome, paintings: { model: 'adain', maxBytes: 10, gallery: [{ id: 1 }] }, painting }))).toMatchObject({ ok: false });
    expect(parseServerMessage(JSON.stringify({ ...welcome, painting: { ...painting, strength: 3 } }))).toMatchObject({ ok: false });
    expect(parseServerMessage(JSON.stringify({ type: 'style', id: 'adain', target: 'broadcast', painting }))).toMatchObject({ ok: true });
    expect(parseServerMessage(JSON.stringify({ ...welcome, size: { width: '640' } }))).toMatchObject({ ok: false });
    expect(parseServerMessage('{"type":"error","code":"BUSY","message":"full"}')).toMatchObject({ ok: true });
    expect(parseServerMessage('{"type":"error","code":"<b>","message":"x"}')).toMatchObject({ ok: false });
    expect(parseServerMessage('{"type":"answer","sdp":"v=0","session":"a","mode":"view"}')).toMatchObject({ ok: true });
    expect(parseServerMessage('{"type":"stats","style":"a","broadcast":{},"camera":null,"server":{}}')).toMatchObject({ ok: true });
    expect(parseServerMessage('{"type":"stats","style":"a","broadcast":[],"camera":null,"server":{}}')).toMatchObject({ ok: false });
  });
});

describe('session table', () => {
  it('counts a reservation before the session exists, so parallel opens cannot pass the cap', () => {
    const table = new SessionTable({ maxPeers: 3, maxCameraSessions: 1 });
    const held = [table.reserve('viewer', null), table.reserve('viewer', null)];
    expect(table.peerCount).toBe(2);
    table.reserve('camera', 'c1');
    expect(() => table.reserve('viewer', null)).toThrow(/at most 3 peer/);
    held[0]!.cancel();
    held[0]!.cancel(); // twice is harmless
    expect(table.peerCount).toBe(2);
    expect(() => table.reserve('camera', 'c2')).toThrow(/at most 1 camera/);
  });

  it('tracks filled sessions by owner, forgets them when they close, and closes all', async () => {
    const table = new SessionTable({ maxPeers: 8, maxCameraSessions: 2 });
    const a = fakeSession('a', 'viewer');
    const b = fakeSession('b', 'camera');
    const c = fakeSession('c', 'publisher');
    table.reserve('viewer', 'client1').fill(a);
    table.reserve('camera', 'client1').fill(b);
    table.reserve('publisher', null).fill(c);
    expect(table.peerCount).toBe(3);
    expect(table.cameraCount).toBe(1);
    expect(table.unownedCount).toBe(1);
    expect(table.get('c')).toBe(c);
    table.closeOwnedBy('client1');
    expect(a.closeCount + b.closeCount).toBe(2);
    await a.closed;
    await b.closed;
    await Promise.resolve();
    expect(table.peerCount).toBe(1);
    await table.closeAll();
    expect(c.closeCount).toBe(1);
    expect(table.peerCount).toBe(0);
    expect(() => table.reserve('viewer', null)).toThrow(/closing/);
  });

  it('a session filled after closeAll is closed at once', async () => {
    const table = new SessionTable({ maxPeers: 8, maxCameraSessions: 2 });
    const reservation = table.reserve('viewer', null);
    await table.closeAll();
    const late = fakeSession('late', 'viewer');
    reservation.fill(late);
    expect(late.closeCount).toBe(1);
    expect(table.peerCount).toBe(0);
  });
});

describe('HTTP request targets and offers', () => {
  it('accepts paths and refuses everything a URL parser could choke on', () => {
    expect(parseRequestTarget('/api/stats?token=a').pathname).toBe('/api/stats');
    for (const bad of [undefined, '', '//[x]', '//evil.example/', 'http://a/b', '*', `/${'a'.repeat(5000)}`]) {
      expect(() => parseRequestTarget(bad), String(bad)).toThrow(/request target/);
    }
  });

  it('maps error codes to HTTP statuses', () => {
    expect(httpStatus(new Error('x'))).toBe(500);
  });

  it('checks an offer before anything is spent on it', () => {
    expect(() => checkOffer('v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n')).not.toThrow();
    expect(() => checkOffer('v=0\r\ns=-\r\n')).toThrow(/no video section/);
    expect(() => checkOffer('hello')).toThrow(/not an SDP/);
    expect(() => checkOffer(42)).toThrow(/not an SDP/);
  });

  it('keeps only candidates on the given address', () => {
    const sdp = ['v=0', 'a=candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host', 'a=candidate:2 1 udp 2122260223 10.0.0.5 50001 typ host', 'a=end'].join('\r\n');
    expect(filterCandidates(sdp, '127.0.0.1')).toBe(['v=0', 'a=candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host', 'a=end'].join('\r\n'));
    expect(isLoopback('127.0.0.1')).toBe(true);
    expect(isLoopback('0.0.0.0')).toBe(false);
  });
});

describe('serve: the page URLs it prints', () => {
  const lan = { eth0: [{ address: '192.168.1.20', family: 'IPv4', internal: false }, { address: 'fe80::1', family: 'IPv6', internal: false }], lo: [{ address: '127.0.0.1', family: 'IPv4', internal: true }] } as any;
  it('a wildcard bind lists loopback and the LAN addresses, each with the token; a named host only itself', () => {
    expect(pageUrls('0.0.0.0', 8080, 'a b', lan)).toEqual(['http://127.0.0.1:8080/?token=a%20b', 'http://192.168.1.20:8080/?token=a%20b']);
    expect(pageUrls('127.0.0.1', 8080, null, lan)).toEqual(['http://127.0.0.1:8080/']);
    expect(pageUrls('::', 9, 't', lan)).toEqual(['http://127.0.0.1:9/?token=t', 'http://192.168.1.20:9/?token=t', 'http://[fe80::1]:9/?token=t']);
  });
});

describe('NewestWins (style switches)', () => {
  it('applies the first and the newest of a burst, never the ones in between, and waits after a heavy one', async () => {
    const applied: Array<[number, number]> = [];
    const started = performance.now();
    const q = new NewestWins(async (v: number) => {
      applied.push([v, performance.now() - started]);
      await new Promise((r) => setTimeout(r, 20));
      return v % 2 === 0; // even values "load a model"
    }, 100);
    const all = Array.from({ length: 10 }, (_, i) => q.submit(i));
    await Promise.all(all);
    expect(applied.map(([v]) => v)).toEqual([0, 9]);
    expect(applied[1]![1] - applied[0]![1]).toBeGreaterThanOrEqual(115); // 20 ms of work + 100 ms after a heavy one (timer slack)
    expect(q.appliedCount).toBe(2);
    await q.submit(11); // light after light: no wait
    await expect(new NewestWins(async () => { throw new Error('bad'); }, 0).submit(1)).rejects.toThrow('bad');
  });
});

describe('--push URLs', () => {
  it('takes rtmp(s) and srt callers, masks keys and passphrases, refuses the rest with one line', () => {
    expect(parsePushUrl('rtmp://live.example/app/secret-key')).toEqual({ url: 'rtmp://live.example/app/secret-key', format: 'flv' });
    expect(parsePushUrl('srt://host:9000?passphrase=abcdefghijk').format).toBe('mpegts');
    expect(maskPushUrl('rtmp://live.example/app/secret-key')).toBe('rtmp://live.example/app/***');
    expect(maskPushUrl('srt://host:9000?passphrase=abcdefghijk&latency=200')).toBe('srt://host:9000?passphrase=***&latency=200');
    expect(() => parsePushUrl('srt://0.0.0.0:9000?mode=listener')).toThrow(/use mode=caller/);
    expect(() => parsePushUrl('file:///tmp/x.flv')).toThrow(/--push takes an rtmp:\/\/, rtmps:\/\/ or srt:\/\/ URL/);
  });
});
