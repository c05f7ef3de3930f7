import { readFile } from 'node:fs/promises';
import { networkInterfaces } from 'node:os';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { StylecastError } from '../../core/errors.js';
import { createLogger } from '../../core/log.js';
import { ModelRegistry, defaultModelDirs, parsePreset } from '../../models/registry.js';
import { resolvePreset } from '../../models/presets.js';
import { parseDevice } from '../../models/providers.js';
import { parseSizeRequest, parseStrokeScale } from '../../pipeline/sizing.js';
import { checkLiveSource, describeSource, parseSourceSpec } from '../../pipeline/sources.js';
import { parseFraction } from '../../pipeline/painting.js';
import { parseOrigin } from '../../transport/http/access.js';
import { StylecastServer } from '../../transport/server.js';
import type { CliContext } from '../context.js';
import { MAX_LANES, parseThreads, parseWholeNumber } from '../options.js';

const WEB_ROOT = resolve(fileURLToPath(import.meta.url), '..', '..', '..', '..', 'web');

interface ServeFlags {
  host: string;
  port: string;
  source: string;
  style?: string;
  token?: string;
  tlsCert?: string;
  push?: string[];
  tlsKey?: string;
  size: string;
  fps: string;
  device: string;
  fp32?: boolean;
  threads: string;
  lanes: string;
  stabilize?: boolean;
  keepColour: string;
  strokeScale?: string;
  preset: string;
  modelsDir?: string[];
  allowOrigin?: string[];
  janus?: string;
  janusRoom: string;
}

/** `--janus ws://HOST:8188` (Janus's WebSocket API) and `--janus-room N`. */
function parseJanus(url: string | undefined, roomText: string): { url: string; room: number } | undefined {
  if (url === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new StylecastError('USAGE', `--janus must be a ws:// or wss:// URL, got "${url}"`);
  }
  if (parsed.protocol !== 'ws:' && parsed.protocol !== 'wss:') throw new StylecastError('USAGE', `--janus must be a ws:// or wss:// URL, got "${url}"`);
  const room = Number(roomText);
  if (!/^\d{1,15}$/.test(roomText) || room < 1) throw new StylecastError('USAGE', `--janus-room must be a positive whole number, got "${roomText}"`);
  return { url, room };
}

function parsePort(text: string): number {
  const port = Number(text);
  if (!/^\d+$/.test(text) || port > 65535) throw new StylecastError('USAGE', `--port must be 0-65535, got "${text}"`);
  return port;
}

export function serveCommand(context: CliContext): Command {
  return new Command('serve')
    .description('serve stylized live video: web UI, WebRTC (+ WHIP/WHEP) and WebSocket (fMP4)')
    .option('--host <address>', 'address to bind (anything but loopback needs --token)', '127.0.0.1')
    .option('--port <N>', 'port (0 = any free port)', '8080')
    .option('--source <spec>', 'browser | file:PATH (looped) | v4l2:/dev/videoN | lavfi:GRAPH | a URL: srt://0.0.0.0:9000?mode=listener, rtmp://0.0.0.0:1935/live/key?listen, rtsp://cam/stream, http(s)://...', 'browser')
    .option('-s, --style <id|file.onnx>', 'initial style')
    .option('--token <T>', 'required for control messages, WHIP and WHEP (and to bind a non-loopback address)')
    .option('--size <WxH>', 'size of server-side sources', '640x360')
    .option('--fps <N>', 'frame rate of server-side sources', '30')
    .option('--device <auto|cuda|webgpu|cpu>', 'execution provider: auto = CUDA, else WebGPU, else the CPU', 'auto')
    .option('--fp32', 'on a GPU, run each style in fp32 (default: its fp16 variant there, when it has one)')
    .option('--threads <N>', 'ONNX Runtime threads per stylizer, in all (0 = one per core)', '0')
    .option('--lanes <N>', 'frames each stylizer runs side by side, one session each (0 = auto: two on a multi-core CPU, one on a GPU; 1 = lowest latency)', '0')
    .option('--stabilize', 'blend static regions with the previous output')
    .option('--keep-colour <f>', 'keep the frames\' own colours under the painting\'s strokes: 0 = the painting\'s colours, 1 = the frames\'', '0')
    .option('--stroke-scale <k>', 'brush strokes k times larger on screen (0.25-4; default 1: strokes as the model paints them at its working size); the page can change it')
    .option('--preset <auto|fast|quality>', 'fast: pruned variants at half size; quality: full models (auto: fast on CPU, quality on CUDA)', 'auto')
    .option('--models-dir <dir...>', 'extra folders with <id>.onnx + <id>.json models')
    .option('--janus <ws-url>', "also publish the stylized stream into a Janus VideoRoom (Janus's WebSocket API, e.g. ws://127.0.0.1:8188); viewers then connect to Janus")
    .option('--janus-room <N>', 'the VideoRoom room (made if missing)', '1234')
    .option('--push <url...>', 'also send the stylized stream to these ingest URLs: rtmp://host/app/key, rtmps://..., srt://host:port (caller); retried when they drop')
    .option('--tls-cert <file>', 'serve https/wss with this PEM certificate (with --tls-key): a camera on another machine needs a secure page')
    .option('--tls-key <file>', 'the PEM private key of --tls-cert')
    .option('--allow-origin <origin...>', "pages from these origins (e.g. http://localhost:3000) may also use the API, /ws and WHIP/WHEP; by default only the server's own pages may")
    .addHelpText('after', `
Pages: /  (controls, input and output side by side, stats)   /obs  (video only, for an OBS Browser Source)
WebRTC ingest/egress: POST /whip, POST /whep (application/sdp; DELETE the Location to end)
WebSocket: /ws (signalling, control, stats), /live.mp4 (fragmented MP4, H.264)

Examples:
  stylecast serve --source lavfi:testsrc2=size=640x360:rate=30 --style candy
  stylecast serve --source file:samples/sample.mp4
  stylecast serve --source 'srt://0.0.0.0:9000?mode=listener'     # OBS 29: Stream -> Custom, srt://HOST:9000
  stylecast serve --host 0.0.0.0 --token "$(openssl rand -hex 16)"
  stylecast serve --host 0.0.0.0 --token T --tls-cert cert.pem --tls-key key.pem   # cameras on other machines (docs/live.md)
  stylecast serve --source lavfi:testsrc2=size=640x360:rate=30 --janus ws://127.0.0.1:8188 --janus-room 1234
`)
    .action(async (flags: ServeFlags) => {
      const source = parseSourceSpec(flags.source);
      await checkLiveSource(source);
      const size = parseSizeRequest(flags.size, undefined);
      if (size.kind !== 'exact') throw new StylecastError('USAGE', '--size must look like 640x360');
      const fps = Number(flags.fps);
      if (!Number.isInteger(fps) || fps < 1 || fps > 120) throw new StylecastError('USAGE', `--fps must be 1-120, got "${flags.fps}"`);
      const allowOrigins = (flags.allowOrigin ?? []).map(parseOrigin);
      const janus = parseJanus(flags.janus, flags.janusRoom);
      const tls = await readTls(flags.tlsCert, flags.tlsKey);
      const registry = await ModelRegistry.load([...(flags.modelsDir ?? []), ...defaultModelDirs()]);
      const style = await registry.resolve(flags.style);
      const device = parseDevice(flags.device);
      const preset = resolvePreset(parsePreset(flags.preset), device);
      const log = createLogger('info');
      const server = await StylecastServer.start({
        host: flags.host,
        port: parsePort(flags.port),
        token: flags.token ?? null,
        source,
        styleId: style.id,
        registry,
        device,
        preset,
        threads: parseThreads(flags.threads, (message) => log.info(message)),
        lanes: parseWholeNumber(flags.lanes, '--lanes', MAX_LANES),
        stabilize: flags.stabilize ?? false,
        keepColour: parseFraction(flags.keepColour, '--keep-colour'),
        fp32: flags.fp32 ?? false,
        strokeScale: parseStrokeScale(flags.strokeScale),
        size: { width: size.width, height: size.height },
        fps,
        log,
        webRoot: WEB_ROOT,
        allowOrigins,
        ...(janus ? { janus } : {}),
        ...(tls ? { tls } : {}),
        ...(flags.push?.length ? { push: flags.push } : {}),
      });
      context.log(`stylecast serving ${server.url}/ (source ${describeSource(source)}, style ${style.id}, preset ${preset}, device ${server.provider})${janus ? `; publishing to Janus ${janus.url} room ${janus.room}` : ''}`);
      for (const url of pageUrls(flags.host, server.port, flags.token ?? null, undefined, tls ? 'https' : 'http')) context.log(`  open ${url}`);
      await new Promise<void>((resolvePromise) => {
        if (context.signal.aborted) return resolvePromise();
        context.signal.addEventListener('abort', () => resolvePromise(), { once: true });
      });
      context.log('stopping');
      await server.close();
    });
}

/**
 * The addresses a browser can open the page at: the bound host itself, or, for a
 * wildcard bind (0.0.0.0, ::), this machine's loopback and LAN addresses; each
 * with the token, so a copied URL works as it is.
 */
export function pageUrls(host: string, port: number, token: string | null, interfaces = networkInterfaces(), scheme: 'http' | 'https' = 'http'): string[] {
  const query = token ? `?token=${encodeURIComponent(token)}` : '';
  const bracket = (h: string) => (h.includes(':') ? `[${h}]` : h);
  const hosts = host === '0.0.0.0' || host === '::'
    ? ['127.0.0.1', ...Object.values(interfaces).flat().filter((i) => i && !i.internal && (i.family === 'IPv4' || host === '::')).map((i) => i!.address)]
    : [host];
  return [...new Set(hosts)].map((h) => `${scheme}://${bracket(h)}:${port}/${query}`);
}

/** --tls-cert and --tls-key: both or neither, each a readable PEM file. */
async function readTls(certPath: string | undefined, keyPath: string | undefined): Promise<{ cert: string; key: string } | null> {
  if (!certPath && !keyPath) return null;
  if (!certPath || !keyPath) throw new StylecastError('USAGE', '--tls-cert and --tls-key go together');
  const read = async (path: string, flag: string, marker: RegExp) => {
    const text = await readFile(path, 'utf8').catch(() => {
      throw new StylecastError('USAGE', `${flag}: cannot read ${path}`);
    });
    if (!marker.test(text)) throw new StylecastError('USAGE', `${flag}: ${path} is not a PEM file`);
    return text;
  };
  return { cert: await read(certPath, '--tls-cert', /-----BEGIN CERTIFICATE-----/), key: await read(keyPath, '--tls-key', /-----BEGIN [A-Z ]*PRIVATE KEY-----/) };
}
