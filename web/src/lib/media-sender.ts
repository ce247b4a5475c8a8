import type { MediaSource } from "@meridian/protocol";

/**
 * The send side of a media path, as the publisher drives it: the SFU engine's producers
 * or a peer-to-peer link's transceivers. While a call switches paths both send, and every
 * toggle goes to both.
 */
export interface MediaSender {
  producer(source: MediaSource): { readonly track: MediaStreamTrack | null } | undefined;
  produce(track: MediaStreamTrack, source: MediaSource, options?: { paused?: boolean }): Promise<unknown>;
  setPaused(source: MediaSource, paused: boolean): Promise<void>;
  /** Whether the other side was told this source is paused (undefined: not sent). */
  pausedInRoom(source: MediaSource): boolean | undefined;
  replaceTrack(source: MediaSource, track: MediaStreamTrack): Promise<void>;
  closeProducer(source: MediaSource): Promise<void>;
}
