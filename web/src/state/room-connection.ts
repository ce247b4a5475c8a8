import {
  PROTOCOL_VERSION,
  type ErrorBody,
  type EventData,
  type ResultOf,
  type RoomEvents,
  type RoomMethods,
} from "@meridian/protocol";
import { roomSocketUrl, roomToken } from "../lib/api.ts";
import { MediaEngine } from "../lib/media-engine.ts";
import { SignallingClient } from "../lib/signalling.ts";

export type EventKey = keyof RoomEvents & string;
export type RoomEventListener = <K extends EventKey>(event: K, data: EventData<RoomEvents, K>) => void;

type Hello = ResultOf<RoomMethods, "hello">;
type Resumed = ResultOf<RoomMethods, "resume">;

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
  readonly #listener: RoomEventListener;

  private constructor(signalling: SignallingClient, listener: RoomEventListener) {
    this.signalling = signalling;
    this.media = new MediaEngine(signalling);
    this.#listener = listener;
    signalling.onAny((event, data, seq) => this.#deliver(event, data, seq));
  }

  /** Opens a socket and says hello; loads the device and creates transports when media is there. */
  static async open(roomId: string, listener: RoomEventListener): Promise<{ connection: RoomConnection; hello: Hello }> {
    const connection = await RoomConnection.#socket(roomId, listener);
    try {
      const hello = await connection.signalling.request("hello", { protocol: PROTOCOL_VERSION });
      connection.participantId = hello.participantId;
      connection.resumeToken = hello.resumeToken;
      await connection.#prepareMedia(hello.routerRtpCapabilities, hello.mediaError);
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
  static async resume(roomId: string, previous: RoomConnection, listener: RoomEventListener): Promise<{ connection: RoomConnection; resumed: Resumed }> {
    const connection = await RoomConnection.#socket(roomId, listener, previous.media);
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
      connection.mediaError = resumed.mediaError;
      for (const frame of resumed.missed) connection.#deliver(frame.event as EventKey, frame.data, frame.seq);
      return { connection, resumed };
    } catch (error) {
      connection.signalling.close();
      throw error;
    }
  }

  static async #socket(roomId: string, listener: RoomEventListener, media?: MediaEngine): Promise<RoomConnection> {
    const { token } = await roomToken(roomId);
    const signalling = new SignallingClient(roomSocketUrl(roomId), token);
    await signalling.connect();
    const connection = new RoomConnection(signalling, listener);
    if (media) {
      // The media engine outlives the socket; its requests now go through the new one.
      (connection as { media: MediaEngine }).media = media;
      media.rebind(signalling);
    }
    return connection;
  }

  async #prepareMedia(capabilities: Hello["routerRtpCapabilities"], error: ErrorBody | undefined): Promise<void> {
    this.mediaError = error;
    if (!capabilities) return;
    await this.media.load(capabilities);
    await this.media.createTransports();
  }

  /** Asks again for a media server after hello found none. */
  async retryMedia(): Promise<void> {
    const { routerRtpCapabilities } = await this.signalling.request("routerCapabilities", {});
    await this.#prepareMedia(routerRtpCapabilities, undefined);
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
