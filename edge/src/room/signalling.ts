import {
  PROTOCOL_VERSION,
  ProtocolError,
  type Handlers,
  type MediaKind,
  type MediaSource,
  type RoomMethods,
} from "@meridian/protocol";
import type { PeerSockets, Session } from "./peer-sockets.ts";
import type { RoomMedia } from "./room-media.ts";
import type { RoomStore, TransportRow } from "./room-store.ts";

/** Per-request context: the socket the request came on and its session. */
export interface RequestContext {
  readonly ws: WebSocket;
  readonly session: Session;
  /** Set by a handler that wants the socket closed once its response is sent. */
  closeAfterReply?: { code: number; reason: string };
}

export interface SignallingDeps {
  readonly store: RoomStore;
  readonly media: RoomMedia;
  readonly sockets: PeerSockets;
  /** Removes a participant and tells the others; shared with socket close. */
  readonly leave: (participantId: string) => Promise<void>;
  /** Called when a socket says hello, e.g. to cancel the empty-room cleanup. */
  readonly onArrive: () => Promise<void>;
}

const KIND_OF: Record<MediaSource, MediaKind> = { mic: "audio", camera: "video", screen: "video", "screen-audio": "audio" };

/**
 * The room's side of the mediasoup signalling. The room DO is the authority: every
 * request is checked against who owns what before the node is asked to do it.
 */
export function signallingHandlers(deps: SignallingDeps): Handlers<RoomMethods, RequestContext> {
  const { store, media, sockets } = deps;

  /** The participant behind a socket that said hello; `joined` also requires the join. */
  const participant = (session: Session, need: "hello" | "joined"): string => {
    const row = session.participantId ? store.participant(session.participantId) : undefined;
    if (!row) throw new ProtocolError("not_joined", "send hello first");
    if (need === "joined" && row.joinedAt === 0) throw new ProtocolError("not_joined", "send join first");
    return row.id;
  };
  const joined = (session: Session): string => participant(session, "joined");

  const ownTransport = (participantId: string, transportId: string, direction?: "send" | "recv"): TransportRow => {
    const transport = store.transport(transportId);
    if (!transport || transport.participantId !== participantId) throw new ProtocolError("not_found", `no transport ${transportId}`);
    if (direction && transport.direction !== direction) {
      throw new ProtocolError("forbidden", `transport ${transportId} is a ${transport.direction} transport`);
    }
    return transport;
  };

  /** A participant can vanish (socket closed) while a node call is in flight. */
  const stillHere = (participantId: string): boolean => store.participant(participantId) !== undefined;

  const closeTransport = async (transportId: string): Promise<void> => {
    const producers = store.removeTransport(transportId);
    for (const p of producers) sockets.broadcast("producerClosed", { peerId: p.participantId, producerId: p.id }, p.participantId);
    await media.callQuietly("closeTransport", { transportId });
  };

  return {
    hello: async ({ protocol }, { ws, session }) => {
      if (protocol !== PROTOCOL_VERSION) {
        throw new ProtocolError("protocol_mismatch", `this page speaks protocol ${protocol}, the room ${PROTOCOL_VERSION}: reload the page`);
      }
      if (session.participantId) throw new ProtocolError("already_joined", "this socket has already said hello");
      const room = store.room();
      if (!room) throw new ProtocolError("room_not_found", "room does not exist");
      const router = await media.ensureRouter(session.geo);
      if (ws.readyState !== WebSocket.OPEN) throw new ProtocolError("closed", "socket closed during hello");

      const participantId = crypto.randomUUID();
      store.addParticipant({ id: participantId, displayName: "", joinedAt: 0 });
      session.participantId = participantId;
      sockets.save(ws, session);
      await deps.onArrive();
      return { roomId: room.roomId, participantId, routerRtpCapabilities: router.rtpCapabilities };
    },

    join: async ({ displayName }, { ws, session }) => {
      const participantId = participant(session, "hello");
      if (session.joined) throw new ProtocolError("already_joined", "this socket has already joined");
      store.markJoined(participantId, displayName, Date.now());
      session.joined = true;
      sockets.save(ws, session);
      sockets.broadcast("peerJoined", { peer: { id: participantId, displayName, producers: [] } }, participantId);
      return { peers: store.peers(participantId) };
    },

    createTransport: async ({ direction, rtpCapabilities }, { session }) => {
      const participantId = participant(session, "hello");
      if (direction === "recv" && !rtpCapabilities) {
        throw new ProtocolError("invalid_params", "a recv transport needs rtpCapabilities");
      }
      const router = media.current();
      if (!router) throw new ProtocolError("node_unavailable", "the room has no media router");
      // One transport per direction: a new one (e.g. after a failed ICE) replaces the old.
      for (const old of store.transportsOf(participantId, direction)) await closeTransport(old.id);
      const transport = await media.call("createWebRtcTransport", {
        routerId: router.routerId,
        participantId,
        direction,
        ...(rtpCapabilities ? { rtpCapabilities } : {}),
      });
      if (!stillHere(participantId)) {
        await media.callQuietly("closeTransport", { transportId: transport.id });
        throw new ProtocolError("closed", "left while the transport was being created");
      }
      store.addTransport({ id: transport.id, participantId, direction });
      return transport;
    },

    connectTransport: async ({ transportId, dtlsParameters }, { session }) => {
      ownTransport(participant(session, "hello"), transportId);
      await media.call("connectTransport", { transportId, dtlsParameters });
      return {};
    },

    produce: async ({ transportId, kind, source, rtpParameters }, { session }) => {
      const participantId = joined(session);
      ownTransport(participantId, transportId, "send");
      if (KIND_OF[source] !== kind) throw new ProtocolError("invalid_params", `a ${source} producer must be ${KIND_OF[source]}`);
      if (store.producerBySource(participantId, source)) {
        throw new ProtocolError("invalid_params", `a ${source} producer already exists; close it first`);
      }
      const { producerId } = await media.call("produce", { transportId, kind, source, rtpParameters, participantId });
      if (!stillHere(participantId) || !store.transport(transportId)) {
        await media.callQuietly("closeProducer", { producerId });
        throw new ProtocolError("closed", "left while producing");
      }
      store.addProducer({ id: producerId, participantId, transportId, kind, source });
      sockets.broadcast("newProducer", { peerId: participantId, producer: { id: producerId, kind, source } }, participantId);
      return { producerId };
    },

    closeProducer: async ({ producerId }, { session }) => {
      const participantId = joined(session);
      const producer = store.producer(producerId);
      if (!producer || producer.participantId !== participantId) throw new ProtocolError("not_found", `no producer ${producerId}`);
      store.removeProducer(producerId);
      sockets.broadcast("producerClosed", { peerId: participantId, producerId }, participantId);
      await media.callQuietly("closeProducer", { producerId });
      return {};
    },

    consume: async ({ transportId, producerId }, { session }) => {
      const participantId = joined(session);
      ownTransport(participantId, transportId, "recv");
      const producer = store.producer(producerId);
      if (!producer) throw new ProtocolError("not_found", `no producer ${producerId}`);
      if (producer.participantId === participantId) throw new ProtocolError("forbidden", "cannot consume your own producer");
      const consumer = await media.call("consume", { transportId, producerId });
      if (!stillHere(participantId) || !store.producer(producerId) || !store.transport(transportId)) {
        // The consumer dies with its producer or transport on the node; nothing to record.
        throw new ProtocolError("not_found", "the producer or transport went away while consuming");
      }
      store.addConsumer({ id: consumer.consumerId, participantId, transportId, producerId });
      return {
        consumerId: consumer.consumerId,
        producerId,
        peerId: producer.participantId,
        kind: consumer.kind,
        source: producer.source,
        rtpParameters: consumer.rtpParameters,
      };
    },

    resumeConsumer: async ({ consumerId }, { session }) => {
      const participantId = joined(session);
      const consumer = store.consumer(consumerId);
      if (!consumer || consumer.participantId !== participantId) throw new ProtocolError("not_found", `no consumer ${consumerId}`);
      await media.call("resumeConsumer", { consumerId });
      return {};
    },

    leave: async (_params, context) => {
      const participantId = participant(context.session, "hello");
      await deps.leave(participantId);
      context.closeAfterReply = { code: 1000, reason: "left" };
      return {};
    },
  };
}
