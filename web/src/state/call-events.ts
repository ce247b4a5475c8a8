import type { EventData, MediaMode, PeerInfo, ProducerInfo, RoomEvents } from "@meridian/protocol";
import { REMOVED, callErrorOf, type CallError } from "./call-errors.ts";
import type { MediaPlane } from "./call-media.ts";
import type { PeerToPeer } from "./call-p2p.ts";
import type { RemotePeers } from "./call-peers.ts";
import type { CallCore } from "./call-types.ts";
import type { ChatStore } from "./chat.ts";
import type { LocalMedia } from "./local-media.ts";
import type { EventKey, RoomConnection } from "./room-connection.ts";

/** One handler per room event, each with its own data type: an event left out does not compile. */
export type RoomEventHandlers = { readonly [K in EventKey]: (data: EventData<RoomEvents, K>) => void };

interface Announced {
  readonly peerId: string;
  readonly producer: ProducerInfo;
}

/** The session's parts and steps the room's events act on. */
export interface EventTargets {
  readonly peers: RemotePeers;
  readonly media: MediaPlane;
  readonly p2p: PeerToPeer;
  readonly chat: ChatStore;
  readonly local: LocalMedia;
  /** Into the call with these peers: an admission from the lobby. */
  enter(connection: RoomConnection, peers: PeerInfo[], lastSeq: number, mode: MediaMode): Promise<void>;
  finish(error: CallError): void;
}

/** Applies the room's events to the store, live or replayed after a resume; each arrives once. */
export class CallEvents {
  readonly #handlers: RoomEventHandlers;
  /** Producers announced before our join was answered; consumed right after it. */
  #announced: Announced[] | undefined;
  #knownWaiting = new Set<string>();

  constructor(core: CallCore, targets: EventTargets) {
    const { state, set } = core;
    const { peers, p2p } = targets;
    this.#handlers = {
      peerJoined: ({ peer }) => {
        const media = core.joinedMedia();
        peers.add(peer);
        if (media) for (const producer of peer.producers) void peers.consume(media, producer);
        p2p.peerJoined(peer.id);
      },
      peerLeft: ({ peerId }) => {
        peers.remove(peerId);
        p2p.reconcile();
      },
      presence: ({ peerId, presence }) => {
        if (state.peers[peerId]) set("peers", peerId, "presence", presence);
      },
      newProducer: ({ peerId, producer }) => {
        const media = core.joinedMedia();
        peers.addStream(peerId, producer);
        if (this.#announced) this.#announced.push({ peerId, producer });
        else if (media) void peers.consume(media, producer);
      },
      producerClosed: ({ peerId, producerId }) => {
        core.connection()?.media.dropProducer(producerId);
        peers.dropStream(peerId, producerId);
      },
      producerPaused: ({ peerId, producerId, paused }) => {
        if (state.peers[peerId]?.streams[producerId]) set("peers", peerId, "streams", producerId, "paused", paused);
      },
      chat: ({ message }) => targets.chat.receive(message),
      settingsChanged: ({ settings }) => set("settings", settings),
      lobbyChanged: ({ waiting }) => {
        set("lobby", waiting);
        const arrived = waiting.filter((w) => !this.#knownWaiting.has(w.id));
        this.#knownWaiting = new Set(waiting.map((w) => w.id));
        if (arrived.length && state.phase === "joined") {
          const names = arrived.map((w) => w.displayName).join(", ");
          core.notify("info", `${names} ${arrived.length === 1 ? "is" : "are"} waiting to join`);
        }
      },
      admitted: ({ peers: present, lastSeq, mediaMode }) => {
        const connection = core.connection();
        if (connection && state.phase === "lobby") void targets.enter(connection, present, lastSeq, mediaMode).catch((e: unknown) => targets.finish(callErrorOf(e)));
      },
      // Peer-to-peer, the browsers find the speaker themselves; the SFU hears nobody.
      activeSpeaker: ({ peerId }) => {
        if (!p2p.carrying) set("activeSpeakerId", peerId ?? undefined);
      },
      mediaReset: ({ routerRtpCapabilities, peers }) => {
        const connection = core.connection();
        if (connection) void targets.media.reset(connection, routerRtpCapabilities, peers);
      },
      mediaMode: ({ mode, reason }) => {
        if (state.phase === "joined") p2p.setMode(mode, reason);
        else set("mediaMode", mode);
      },
      p2pSignal: ({ from, signal }) => p2p.signal(from, signal),
      mediaCheck: () => {
        const connection = core.connection();
        if (connection) void targets.media.check(connection);
      },
      mutedBy: () => {
        // The room closed our microphone producer; the track stays for a later unmute.
        void core.connection()?.media.closeProducer("mic", false);
        void p2p.link?.setPaused("mic", true);
        void targets.local.setMic(false);
        core.notify("warn", "A host muted your microphone. Press M to unmute when you need to speak.");
      },
      removed: ({ reason }) => {
        if (reason === "timeout") return; // The close follows; recovery resumes or rejoins.
        targets.finish(REMOVED[reason]);
      },
      roomEnded: () => undefined, // `removed` (ended) follows and does the work.
      error: (data) => console.warn("meridian: room error", data),
    };
  }

  apply<K extends EventKey>(event: K, data: EventData<RoomEvents, K>): void {
    // A resume's missed frames are not checked by name: one newer than this build is skipped.
    if (Object.hasOwn(this.#handlers, event)) this.#handlers[event](data);
  }

  /**
   * Between the join request and its answer a `newProducer` may name a peer the store does
   * not show yet: it is kept, and added once the answer's peers are.
   */
  holdAnnouncements(): void {
    this.#announced = [];
  }

  /** What was announced while held (nothing when not holding); stops holding. */
  releaseAnnouncements(): Announced[] {
    const announced = this.#announced ?? [];
    this.#announced = undefined;
    return announced;
  }
}
