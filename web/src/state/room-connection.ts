import {
  PROTOCOL_VERSION,
  type ErrorBody,
  type EventData,
  type ResultOf,
  type RoomEvents,
  type RoomMethods,
  type RtpCapabilities,
} from "@meridian/protocol";
import { roomSocketUrl, roomToken } from "../lib/api.ts";
import { MediaEngine, type MediaEngineOptions } from "../lib/media-engine.ts";
import { SignallingClient } from "../lib/signalling.ts";

export type EventKey = keyof RoomEvents & string;
export type RoomEventListener = <K extends EventKey>(event: K, data: EventData<RoomEvents, K>) => void;

export type Hello = ResultOf<RoomMethods, "hello">;
export type Resumed = ResultOf<RoomMethods, "resume">;

/** Where a room's socket is and which token opens it (the edge's HTTP API by default; a scripted room in tests). */
export interface RoomEndpoint {
  socketUrl(roomId: string): string;
  token(roomId: string): Promise<string>;
}

export const edgeEndpoint: RoomEndpoint = {
  socketUrl: roomSocketUrl,
  token: async (roomId) => (await roomToken(roomId)).token,
};

export interface ConnectionOptions {
  readonly endpoint?: RoomEndpoint;
  readonly media?: MediaEngineOptions;
}

/**
 * One socket's life in a room: token, socket, `hello` (or `resume`), device and
 * transports. Events reach the listener once each, in log order, whether they arrive
 * live or in a resume's `missed` list.
 */
export class RoomConnection {
  readonly signalling: SignallingClient;
  readonly media: MediaEngine;
  participantId = "";
  resumeToken = "";
  /** The room's log position this connection has applied. */
  lastSeq = 0;
  mediaError: ErrorBody | undefined;
  /** Whether a router was loaded: consuming and producing make sense. */
  hasMedia = false;
  readonly #listener: RoomEventListener;

  private constructor(signalling: SignallingClient, listener: RoomEventListener, media: MediaEngine) {
    this.signalling = signalling;
    this.media = media;
    this.#listener = listener;
    signalling.onAny((event, data, seq) => this.#deliver(event, data, seq));
  }

  /**
   * Opens a socket and says hello; loads the device when media is there, and warms up the
   * SFU transports when the call would go through the SFU (a call of two goes
   * peer-to-peer and needs none).
   */
  static async open(roomId: string, listener: RoomEventListener, options: ConnectionOptions = {}): Promise<{ connection: RoomConnection; hello: Hello }> {
    const connection = await RoomConnection.#socket(roomId, listener, options);
    try {
      const hello = await connection.signalling.request("hello", { protocol: PROTOCOL_VERSION });
      connection.participantId = hello.participantId;
      connection.resumeToken = hello.resumeToken;
      await connection.#prepareMedia(hello.routerRtpCapabilities, hello.mediaError, hello.mediaMode === "sfu");
      return { connection, hello };
    } catch (error) {
      connection.close();
      throw error;
    }
  }

  /**
   * Takes over a participant whose socket dropped: new socket, `resume`, then every missed
   * event goes to the listener before any live one. The old connection's transports are
   * kept (media usually survives a signalling hiccup).
   */
  static async resume(
    roomId: string,
    previous: RoomConnection,
    listener: RoomEventListener,
    options: ConnectionOptions = {},
  ): Promise<{ connection: RoomConnection; resumed: Resumed }> {
    const connection = await RoomConnection.#socket(roomId, listener, options, previous.media);
    try {
      const resumed = await connection.signalling.request("resume", {
        protocol: PROTOCOL_VERSION,
        participantId: previous.participantId,
        resumeToken: previous.resumeToken,
        lastSeq: previous.lastSeq,
      });
      connection.participantId = previous.participantId;
      connection.resumeToken = previous.resumeToken;
      connection.lastSeq = previous.lastSeq;
      connection.hasMedia = previous.hasMedia;
      connection.mediaError = resumed.mediaError;
      connection.media.setIceServers(resumed.iceServers);
      for (const frame of resumed.missed) connection.#deliver(frame.event as EventKey, frame.data, frame.seq);
      return { connection, resumed };
    } catch (error) {
      connection.signalling.close();
      throw error;
    }
  }

  static async #socket(roomId: string, listener: RoomEventListener, options: ConnectionOptions, media?: MediaEngine): Promise<RoomConnection> {
    const endpoint = options.endpoint ?? edgeEndpoint;
    const token = await endpoint.token(roomId);
    const signalling = new SignallingClient(endpoint.socketUrl(roomId), token);
    await signalling.connect();
    // The media engine outlives the socket; its requests go through the newest one.
    if (media) media.rebind(signalling);
    return new RoomConnection(signalling, listener, media ?? new MediaEngine(signalling, options.media));
  }

  async #prepareMedia(capabilities: RtpCapabilities | undefined, error: ErrorBody | undefined, transports: boolean): Promise<void> {
    this.mediaError = error;
    if (!capabilities) return;
    this.hasMedia = true;
    if (transports) await this.media.start(capabilities);
    else await this.media.load(capabilities);
  }

  /** Asks again for a media server after hello found none. */
  async retryMedia(transports: boolean): Promise<void> {
    const { routerRtpCapabilities } = await this.signalling.request("routerCapabilities", {});
    await this.#prepareMedia(routerRtpCapabilities, undefined, transports);
  }

  /** The room's media moved to another node: rebuild the device (and the transports, if the call uses the SFU) for it. */
  async resetMedia(capabilities: RtpCapabilities, transports: boolean): Promise<void> {
    this.hasMedia = true;
    this.mediaError = undefined;
    await this.media.reset(capabilities, transports);
  }

  /** Marks the position of a join/admission answer: events up to it are already reflected. */
  advanceTo(seq: number): void {
    this.lastSeq = Math.max(this.lastSeq, seq);
  }

  #deliver(event: EventKey, data: unknown, seq: number | undefined): void {
    if (seq !== undefined) {
      if (seq <= this.lastSeq) return;
      this.lastSeq = seq;
    }
    this.#listener(event, data as EventData<RoomEvents, typeof event>);
  }

  close(): void {
    this.media.close();
    this.signalling.close();
  }
}
