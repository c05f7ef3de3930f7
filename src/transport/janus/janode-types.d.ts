// The parts of Meetecho's janode (plain JavaScript, no typings of its own) that stylecast uses.
declare module 'janode' {
  export interface JanodeHandle {
    on(event: string, listener: (data: unknown) => void): void;
    detach(): Promise<void>;
  }
  export interface JanodeSession {
    attach<T extends JanodeHandle>(plugin: unknown): Promise<T>;
    destroy(): Promise<void>;
  }
  export interface JanodeConnection {
    create(): Promise<JanodeSession>;
    close(): Promise<void>;
    once(event: string, listener: (data: unknown) => void): void;
    on(event: string, listener: (data: unknown) => void): void;
  }
  const Janode: {
    connect(config: { address: { url: string; apisecret?: string }; retry_time_secs?: number; max_retries?: number }): Promise<JanodeConnection>;
    Logger: { setLevel(level: string): string };
    EVENT: Record<string, string>;
  };
  export default Janode;
}

declare module 'janode/plugins/videoroom' {
  import type { JanodeHandle } from 'janode';
  export interface Jsep {
    type: 'offer' | 'answer';
    sdp: string;
  }
  export interface VideoRoomHandle extends JanodeHandle {
    exists(params: { room: number }): Promise<{ exists: boolean }>;
    create(params: { room: number; description?: string; max_publishers?: number; videocodec?: string; bitrate?: number; fir_freq?: number }): Promise<unknown>;
    joinConfigurePublisher(params: { room: number; display?: string; audio?: boolean; video?: boolean; bitrate?: number; jsep: Jsep }): Promise<{ feed: number; jsep?: Jsep }>;
    joinSubscriber(params: { room: number; feed: number; audio?: boolean; video?: boolean }): Promise<{ jsep?: Jsep }>;
    start(params: { jsep: Jsep }): Promise<unknown>;
    listParticipants(params: { room: number }): Promise<{ participants: Array<{ feed: number; display?: string; publisher?: boolean }> }>;
    leave(): Promise<unknown>;
  }
  const VideoRoomPlugin: { EVENT: Record<string, string> };
  export default VideoRoomPlugin;
}
