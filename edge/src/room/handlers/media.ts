import { ProtocolError, type Handlers, type MediaKind, type MediaSource, type RoomMethods } from "@meridian/protocol";
import type { TransportRow } from "../room-store.ts";
import { participantOf, type RequestContext, type RoomApi } from "./context.ts";

type Media = Pick<
  Handlers<RoomMethods, RequestContext>,
  | "createTransport"
  | "connectTransport"
  | "produce"
  | "closeProducer"
  | "setProducerPaused"
  | "consume"
  | "resumeConsumer"
  | "setPreferredLayers"
  | "restartIce"
  | "transportStats"
>;

const KIND_OF: Record<MediaSource, MediaKind> = { mic: "audio", camera: "video", screen: "video", "screen-audio": "audio" };

/**
 * The room's side of the mediasoup signalling. The room is the authority: every request
 * is checked against who owns what before the node is asked to do it. Transports may be
 * created on the pre-join page; sending and receiving need the call.
 */
export function mediaHandlers(room: RoomApi): Media {
  const { store, media } = room;

  const ownTransport = (participantId: string, transportId: string, direction?: "send" | "recv"): TransportRow => {
    const transport = store.transport(transportId);
    if (!transport || transport.participantId !== participantId) throw new ProtocolError("not_found", `no transport ${transportId}`);
    if (direction && transport.direction !== direction) {
      throw new ProtocolError("forbidden", `transport ${transportId} is a ${transport.direction} transport`);
    }
    return transport;
  };

  /** A participant can vanish (socket closed, kicked) while a node call is in flight. */
  const stillHere = (participantId: string): boolean => store.participant(participantId) !== undefined;

  const closeTransport = async (transportId: string): Promise<void> => {
    for (const p of store.removeTransport(transportId)) {
      room.publish("producerClosed", { peerId: p.participantId, producerId: p.id }, { to: "joined", except: p.participantId });
    }
    await media.callQuietly("closeTransport", (node) => node.closeTransport({ transportId }));
  };

  return {
    createTransport: async ({ direction, rtpCapabilities }, { session }) => {
      const { id: participantId } = participantOf(room, session, "hello");
      if (direction === "recv" && !rtpCapabilities) throw new ProtocolError("invalid_params", "a recv transport needs rtpCapabilities");
      const router = media.current();
      if (!router) throw new ProtocolError("no_node_available", "the room has no media server yet");
      // One transport per direction: a new one (e.g. after a failed ICE) replaces the old.
      for (const old of store.transportsOf(participantId, direction)) await closeTransport(old.id);
      const transport = await media.call((node) =>
        node.createWebRtcTransport({ routerId: router.routerId, participantId, direction, ...(rtpCapabilities ? { rtpCapabilities } : {}) }),
      );
      if (!stillHere(participantId)) {
        await media.callQuietly("closeTransport", (node) => node.closeTransport({ transportId: transport.id }));
        throw new ProtocolError("closed", "left while the transport was being created");
      }
      store.addTransport({ id: transport.id, participantId, direction });
      return transport;
    },

    connectTransport: async ({ transportId, dtlsParameters }, { session }) => {
      ownTransport(participantOf(room, session, "hello").id, transportId);
      await media.call((node) => node.connectTransport({ transportId, dtlsParameters }));
      return {};
    },

    produce: async ({ transportId, kind, source, rtpParameters, paused = false }, { session }) => {
      const { id: participantId } = participantOf(room, session, "joined");
      ownTransport(participantId, transportId, "send");
      if (KIND_OF[source] !== kind) throw new ProtocolError("invalid_params", `a ${source} producer must be ${KIND_OF[source]}`);
      if (store.producersOf(participantId).some((p) => p.source === source)) {
        throw new ProtocolError("invalid_params", `a ${source} producer already exists; close it first`);
      }
      const { producerId } = await media.call((node) => node.produce({ transportId, kind, source, rtpParameters, participantId, paused }));
      if (!stillHere(participantId) || !store.transport(transportId)) {
        await media.callQuietly("closeProducer", (node) => node.closeProducer({ producerId }));
        throw new ProtocolError("closed", "left while producing");
      }
      store.addProducer({ id: producerId, participantId, transportId, kind, source, paused });
      room.publish("newProducer", { peerId: participantId, producer: { id: producerId, kind, source, paused } }, { to: "joined", except: participantId });
      return { producerId };
    },

    closeProducer: async ({ producerId }, { session }) => {
      const { id: participantId } = participantOf(room, session, "joined");
      const producer = store.producer(producerId);
      if (!producer || producer.participantId !== participantId) throw new ProtocolError("not_found", `no producer ${producerId}`);
      store.removeProducer(producerId);
      room.publish("producerClosed", { peerId: participantId, producerId }, { to: "joined", except: participantId });
      await media.callQuietly("closeProducer", (node) => node.closeProducer({ producerId }));
      return {};
    },

    setProducerPaused: async ({ producerId, paused }, { session }) => {
      const { id: participantId } = participantOf(room, session, "joined");
      const producer = store.producer(producerId);
      if (!producer || producer.participantId !== participantId) throw new ProtocolError("not_found", `no producer ${producerId}`);
      if (producer.paused === paused) return {};
      await media.call((node) => node.setProducerPaused({ producerId, paused }));
      store.setProducerPaused(producerId, paused);
      room.publish("producerPaused", { peerId: participantId, producerId, paused }, { to: "joined", except: participantId });
      return {};
    },

    consume: async ({ transportId, producerId }, { session }) => {
      const { id: participantId } = participantOf(room, session, "joined");
      ownTransport(participantId, transportId, "recv");
      const producer = store.producer(producerId);
      if (!producer) throw new ProtocolError("not_found", `no producer ${producerId}`);
      if (producer.participantId === participantId) throw new ProtocolError("forbidden", "cannot consume your own producer");
      const consumer = await media.call((node) => node.consume({ transportId, producerId }));
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
        producerPaused: store.producer(producerId)?.paused ?? false,
        rtpParameters: consumer.rtpParameters,
      };
    },

    resumeConsumer: async ({ consumerId }, { session }) => {
      const { id: participantId } = participantOf(room, session, "joined");
      const consumer = store.consumer(consumerId);
      if (!consumer || consumer.participantId !== participantId) throw new ProtocolError("not_found", `no consumer ${consumerId}`);
      await media.call((node) => node.resumeConsumer({ consumerId }));
      return {};
    },

    setPreferredLayers: async ({ consumerId, spatialLayer, temporalLayer }, { session }) => {
      const { id: participantId } = participantOf(room, session, "joined");
      const consumer = store.consumer(consumerId);
      if (!consumer || consumer.participantId !== participantId) throw new ProtocolError("not_found", `no consumer ${consumerId}`);
      await media.call((node) => node.setPreferredLayers({ consumerId, spatialLayer, ...(temporalLayer === undefined ? {} : { temporalLayer }) }));
      return {};
    },

    restartIce: async ({ transportId }, { session }) => {
      ownTransport(participantOf(room, session, "hello").id, transportId);
      return media.call((node) => node.restartIce({ transportId }));
    },

    transportStats: async ({ transportId }, { session }) => {
      ownTransport(participantOf(room, session, "hello").id, transportId);
      return media.call((node) => node.getTransportStats({ transportId }));
    },
  };
}
