import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

export const JANUS = '/usr/bin/janus';
const LIB = '/usr/lib/x86_64-linux-gnu/janus';

/** A TCP port free on 127.0.0.1 at the moment of asking. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * Debian's Janus on loopback with its own configuration folder: only the
 * WebSocket transport (on a free port, or `wsPort`) and the VideoRoom plugin,
 * ICE on `lo`. For the fan-out benchmark and the tests; docs/live.md shows
 * a production configuration.
 */
export async function startJanus(dir: string, wsPort?: number): Promise<{ url: string; child: ChildProcess; log: () => string; close: () => Promise<void> }> {
  if (!existsSync(JANUS)) throw new Error('janus is not installed (Debian package janus; scripts/setup.sh installs it)');
  const configs = join(dir, 'janus-config');
  mkdirSync(configs, { recursive: true });
  const port = wsPort ?? (await freePort());
  writeFileSync(join(configs, 'janus.jcfg'), `general: {
  configs_folder = "${configs}"
  plugins_folder = "${LIB}/plugins"
  transports_folder = "${LIB}/transports"
  events_folder = "${LIB}/events"
  loggers_folder = "${LIB}/loggers"
  debug_level = 4
}
media: { rtp_port_range = "30000-40000" }
nat: { ice_enforce_list = "lo" }
plugins: { disable = "libjanus_audiobridge.so,libjanus_duktape.so,libjanus_echotest.so,libjanus_lua.so,libjanus_nosip.so,libjanus_recordplay.so,libjanus_sip.so,libjanus_streaming.so,libjanus_textroom.so,libjanus_videocall.so,libjanus_voicemail.so" }
transports: { disable = "libjanus_http.so,libjanus_mqtt.so,libjanus_nanomsg.so,libjanus_pfunix.so,libjanus_rabbitmq.so" }
events: { broadcast = false }
loggers: { disable = "libjanus_jsonlog.so" }
`);
  writeFileSync(join(configs, 'janus.transport.websockets.jcfg'), `general: { json = "plain", ws = true, ws_port = ${port}, ws_ip = "127.0.0.1", wss = false }
admin: { admin_ws = false, admin_wss = false }
`);
  writeFileSync(join(configs, 'janus.plugin.videoroom.jcfg'), 'general: { }\n');
  let output = '';
  const child = spawn(JANUS, ['-F', configs, '-C', join(configs, 'janus.jcfg'), '-o'], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  const started = Date.now();
  while (!/WebSockets server started|WebSockets thread started/.test(output)) {
    if (child.exitCode !== null) throw new Error(`janus exited: ${output.slice(-500)}`);
    if (Date.now() - started > 15_000) {
      child.kill('SIGKILL');
      throw new Error(`janus did not start: ${output.slice(-500)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url: `ws://127.0.0.1:${port}/`,
    child,
    log: () => output,
    close: () => new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 3000).unref();
    }),
  };
}
