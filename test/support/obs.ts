import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OBSWebSocket from 'obs-websocket-js';
import { freePort } from '../../dist/bench/janus-process.js';

/** Debian's OBS Studio 29 and Xvfb (installed by scripts/setup.sh). */
export const OBS_MISSING = !existsSync('/usr/bin/obs') ? '/usr/bin/obs is not installed (Debian package obs-studio)'
  : !existsSync('/usr/bin/xvfb-run') ? 'xvfb-run is not installed (Debian package xvfb)' : null;

/**
 * A real OBS under Xvfb with a fresh profile, obs-websocket enabled through
 * global.ini (OBS 29 reads it there) without auth, and the first-run wizard off.
 */
export async function launchObs(): Promise<{ obs: OBSWebSocket; log: () => string; close: () => Promise<void> }> {
  const home = mkdtempSync(join(tmpdir(), 'stylecast-obs-'));
  const config = join(home, '.config', 'obs-studio');
  mkdirSync(config, { recursive: true });
  const port = await freePort();
  writeFileSync(join(config, 'global.ini'), [
    '[General]', 'FirstRun=true', 'EnableAutoUpdates=false', '',
    '[OBSWebSocket]', 'FirstLoad=false', 'ServerEnabled=true', `ServerPort=${port}`, 'AuthRequired=false', 'AlertsEnabled=false', '',
  ].join('\n'));
  const child = spawn('xvfb-run', ['-a', '-s', '-screen 0 1280x720x24', 'obs', '--multi', '--disable-updater', '--disable-shutdown-check'], {
    env: { ...process.env, HOME: home, XDG_CONFIG_HOME: join(home, '.config') },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // its own process group: xvfb-run, Xvfb and obs end together
  });
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (output += c));
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (output += c));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const close = async () => {
    try {
      process.kill(-child.pid!, 'SIGTERM');
    } catch {
      // already gone
    }
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }, 5000);
    await exited;
    clearTimeout(timer);
    rmSync(home, { recursive: true, force: true });
  };
  const obs = new OBSWebSocket();
  const deadline = Date.now() + 45_000;
  for (;;) {
    try {
      await obs.connect(`ws://127.0.0.1:${port}`);
      break;
    } catch (error) {
      if (Date.now() > deadline || child.exitCode !== null) {
        await close();
        throw new Error(`OBS did not start: ${(error as Error).message}\n${output.slice(-2000)}`);
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  return {
    obs,
    log: () => output,
    close: async () => {
      await obs.disconnect().catch(() => undefined);
      await close();
    },
  };
}
