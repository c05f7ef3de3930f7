/**
 * One shape for every output of the broadcast: WebRTC tracks, the fMP4 stream
 * (WebSocket and /live.mp4), a push to an ingest server. Each is fed every
 * stylized frame at the stream's size and closed once with the broadcast; what
 * a sink does with a frame (encode it, hand it to tracks, drop it when nobody
 * watches) is its own business, so adding an output touches its own file and
 * the line in the server that adds it.
 */
export interface BroadcastSink {
  /** A stylized frame (RGBA at the stream's size); the buffer is the sink's to keep. */
  pushFrame(width: number, height: number, rgba: Uint8Array): void;
  close(): Promise<void> | void;
}
