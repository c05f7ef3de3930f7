/**
 * The only module that imports @roamhq/wrtc (node-webrtc). Typed facade over
 * the parts we use, without pulling the DOM typings into the project.
 */
import { createRequire } from 'node:module';

export interface SessionDescription {
  readonly type: 'offer' | 'answer' | 'pranswer' | 'rollback';
  readonly sdp: string;
}

export interface VideoTrack {
  readonly kind: string;
  readonly id: string;
  stop(): void;
}

export interface TrackEvent {
  readonly track: VideoTrack;
  readonly streams: readonly unknown[];
}

export interface PeerConnection {
  readonly connectionState: string;
  readonly iceGatheringState: string;
  readonly localDescription: SessionDescription | null;
  ontrack: ((event: TrackEvent) => void) | null;
  onicegatheringstatechange: (() => void) | null;
  onconnectionstatechange: (() => void) | null;
  setRemoteDescription(description: SessionDescription): Promise<void>;
  setLocalDescription(description?: SessionDescription): Promise<void>;
  createAnswer(): Promise<SessionDescription>;
  createOffer(): Promise<SessionDescription>;
  addTransceiver(kind: 'video', init: { direction: 'recvonly' | 'sendrecv' | 'sendonly' }): unknown;
  addTrack(track: VideoTrack, ...streams: unknown[]): unknown;
  close(): void;
}

export interface I420Frame {
  width: number;
  height: number;
  data: Uint8Array;
}

export interface VideoSink {
  onframe: ((event: { frame: I420Frame }) => void) | null;
  stop(): void;
}

export interface VideoSource {
  createTrack(): VideoTrack;
  onFrame(frame: I420Frame): void;
}

interface WrtcModule {
  RTCPeerConnection: new (config: { iceServers: unknown[] }) => PeerConnection;
  nonstandard: {
    RTCVideoSink: new (track: VideoTrack) => VideoSink;
    RTCVideoSource: new (init?: { isScreencast?: boolean }) => VideoSource;
    i420ToRgba(i420: I420Frame, rgba: I420Frame): void;
    rgbaToI420(rgba: I420Frame, i420: I420Frame): void;
  };
}

const wrtc = createRequire(import.meta.url)('@roamhq/wrtc') as WrtcModule;

export function createPeerConnection(): PeerConnection {
  // No STUN/TURN: host candidates only (loopback and LAN); see docs/live.md.
  return new wrtc.RTCPeerConnection({ iceServers: [] });
}

export function createVideoSink(track: VideoTrack): VideoSink {
  return new wrtc.nonstandard.RTCVideoSink(track);
}

export function createVideoSource(): VideoSource {
  return new wrtc.nonstandard.RTCVideoSource();
}

export function i420ToRgba(i420: I420Frame, rgba: I420Frame): void {
  wrtc.nonstandard.i420ToRgba(i420, rgba);
}

export function rgbaToI420(rgba: I420Frame, i420: I420Frame): void {
  wrtc.nonstandard.rgbaToI420(rgba, i420);
}

export function i420Size(width: number, height: number): number {
  return width * height + 2 * Math.ceil(width / 2) * Math.ceil(height / 2);
}
