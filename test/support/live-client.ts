import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import WebSocket from 'ws';
import { join } from 'node:path';
import { ModelRegistry } from '../../dist/models/registry.js';
import { StylecastServer, type ServerOptions } from '../../dist/transport/server.js';
import { FIXTURES, ROOT, childrenOf } from './helpers.js';

/** A live server on 127.0.0.1 for the tests: smptebars at 320x180, 30 fps, through the tiny fixture, unless overridden. */
export async function startTestServer(overrides: Partial<ServerOptions> & Pick<ServerOptions, 'log'>): Promise<StylecastServer> {
  return StylecastServer.start({
    host: '127.0.0.1', port: 0, token: null, source: { kind: 'lavfi', graph: 'smptebars=size=320x180:rate=30' },
    styleId: 'tiny', registry: overrides.registry ?? (await ModelRegistry.load([FIXTURES])), device: 'cpu', threads: 1, stabilize: false,
    size: { width: 320, height: 180 }, fps: 30, webRoot: join(ROOT, 'web'),
    ...overrides,
  });
}

/** Test clients for the live server: a /ws client, a wrtc offer, and leak probes. */
export function connect(url: string): Promise<{ ws: WebSocket; messages: any[]; next: (type: string) => Promise<any> }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const messages: any[] = [];
    const waiters: Array<{ type: string; resolve: (m: any) => void }> = [];
    ws.on('message', (data) => {
      const msg = JSON.parse(data.toString());
      messages.push(msg);
      for (const w of waiters.filter((w) => w.type === msg.type)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(msg);
      }
    });
    const next = (type: string) => {
      const seen = messages.find((m) => m.type === type && !m.taken);
      if (seen) {
        seen.taken = true;
        return Promise.resolve(seen);
      }
      return new Promise((r) => waiters.push({ type, resolve: (m) => { m.taken = true; r(m); } }));
    };
    ws.once('open', () => resolve({ ws, messages, next }));
    ws.once('error', reject);
  });
}

/** A real WebRTC offer (recvonly video, or none with `media: false`). */
export async function viewerOffer(media = true, direction: 'recvonly' | 'sendrecv' = 'recvonly'): Promise<{ sdp: string; close: () => void }> {
  const wrtc = createRequire(import.meta.url)('@roamhq/wrtc');
  const pc = new wrtc.RTCPeerConnection({ iceServers: [] });
  if (media) pc.addTransceiver('video', { direction });
  else pc.createDataChannel('x');
  const offer = await pc.createOffer();
  await pc.setLocalDescription(offer);
  return { sdp: offer.sdp, close: () => pc.close() };
}

export const openFds = () => readdirSync('/proc/self/fd').length;
export const ffmpegChildren = async () => {
  let n = 0;
  for (const pid of await childrenOf(process.pid)) if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('ffmpeg')) n++;
  return n;
};

