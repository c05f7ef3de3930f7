/**
 * The only module that loads janode (Meetecho's Janus client; typings in
 * janode-types.d.ts). The publisher and the viewer use Janus through it.
 */
import Janode, { type JanodeConnection } from 'janode';
import VideoRoomPlugin, { type VideoRoomHandle } from 'janode/plugins/videoroom';
import { StylecastError } from '../../core/errors.js';

export type { JanodeConnection, JanodeSession } from 'janode';
export type { VideoRoomHandle } from 'janode/plugins/videoroom';
export { VideoRoomPlugin };
export const JANODE_EVENT = Janode.EVENT;

let loggerQuieted = false;

/** Rejects with TIMEOUT when `promise` takes longer than `ms`. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StylecastError('TIMEOUT', `${what} took longer than ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A connection to Janus's WebSocket API; janode's own stdout logging is silenced (failures reach our log). */
export function connectJanus(url: string, timeoutMs: number): Promise<JanodeConnection> {
  if (!loggerQuieted) {
    Janode.Logger.setLevel('none');
    loggerQuieted = true;
  }
  return withTimeout(Janode.connect({ address: { url }, retry_time_secs: 1, max_retries: 1 }), timeoutMs, 'connecting to Janus');
}

/** A VideoRoom handle on a new session of `connection`. */
export async function attachVideoRoom(connection: JanodeConnection, timeoutMs: number): Promise<{ session: import('janode').JanodeSession; handle: VideoRoomHandle }> {
  const session = await withTimeout(connection.create(), timeoutMs, 'creating a Janus session');
  const handle = await withTimeout(session.attach<VideoRoomHandle>(VideoRoomPlugin), timeoutMs, 'attaching to the VideoRoom plugin');
  return { session, handle };
}
