import { ProtocolError, type Handlers, type MediaKind, type MediaSource, type RoomMethods } from "@meridian/protocol";
import type { TransportRow } from "../media/media-store.ts";
import { participantOf, type RequestContext, type RoomApi } from "./context.ts";

type Media = Pick<
  Handlers<RoomMethods, RequestContext>,
  | "createTransport"
  | "connectTransport"
  | "closeTransport"
  | "produce"
  | "closeProducer"
  | "setProducerPaused"
  | "consume"
  | "resumeConsumer"
  | "setPreferredLayers"
  | "restartIce"
  | "transportStats"
  | "mediaUnreachable"
>;

const KIND_OF: Record<MediaSource, MediaKind> = { mic: "audio", camera: "video", screen: "video", "screen-audio": "audio" };

/**
 * The room's side of the mediasoup signalling. The room is the authority: every request
 * is checked against who owns what before a node is asked to do it, on the leg (node)
 * where the thing lives. Transports may be created on the pre-join page; sending and
 * receiving need the call.
 */
export function mediaHandlers(room: RoomApi): Media {
  const { media } = room;
  const store = media.store;

  const ownTransport = (participantId: string, transportId: string, direction?: "send" | "recv"): TransportRow => {
    const transport = store.transport(transportId);
    if (!transport || transport.participantId !== participantId) throw new ProtocolError("not_found", `no transport ${transportId}`);
    if (direction && transport.direction !== direction) {
      throw new ProtocolError("forbidden", `transport ${transportId} is a ${transport.direction} transport`);
    }
    return transport;
  };

  /** A participant can vanish (socket closed, kicked, moved) while a node call is in flight. */
  const stillHere = (participantId: string): boolean => room.store.participant(participantId) !== undefined;

  const closeTransport = async (transport: TransportRow): Promise<void> => {
    const gone = store.removeTransport(transport.id);
    for (const p of gone.producers) {
      room.publish("producerClosed", { peerId: p.participantId, producerId: p.id }, { to: "joined", except: p.participantId });
    }
    await media.closeTransport(transport, gone);
  };

  return {
    createTransport: async ({ direction, rtpCapabilities }, { session }) => {
      const { id: participantId } = participantOf(room, session, "hello");
      if (direction === "recv" && !rtpCapabilities) throw new ProtocolError("invalid_params", "a recv transport needs rtpCapabilities");
      const leg = media.legOf(participantId);
      if (!leg) throw new ProtocolError("no_node_available", "the room has no media server for you yet");
      // One transport per direction: a new one (e.g. after a failed ICE) replaces the old.
      for (const old of store.transportsOf(participantId, direction)) await closeTransport(old);
      const transport = await media.call(leg.id, (node) =>
        node.createWebRtcTransport({ routerId: leg.id, participantId, direction, ...(rtpCapabilities ? { rtpCapabilities } : {}) }),
      );
      if (!stillHere(participantId) || media.legOf(participantId)?.id !== leg.id) {
        await media.callQuietly(leg.id, "closeTransport", (node) => node.closeTransport({ transportId: transport.id }));
        throw new ProtocolError("closed", "left or moved while the transport was being created");
      }
      store.addTransport({ id: transport.id, participantId, direction, legId: leg.id });
      return transport;
    },

    connectTransport: async ({ transportId, dtlsParameters }, { session }) => {
      const transport = ownTransport(participantOf(room, session, "hello").id, transportId);
      await media.call(transport.legId, (node) => node.connectTransport({ transportId, dtlsParameters }));
      return {};
    },

    closeTransport: async ({ transportId }, { session }) => {
      await closeTransport(ownTransport(participantOf(room, session, "hello").id, transportId));
      return {};
    },

    produce: async ({ transportId, kind, source, rtpParameters, paused = false }, { session }) => {
      const { id: participantId } = participantOf(room, session, "joined");
      const transport = ownTransport(participantId, transportId, "send");
      if (KIND_OF[source] !== kind) throw new ProtocolError("invalid_params", `a ${source} producer must be ${KIND_OF[source]}`);
      if (store.producersOf(participantId).some((p) => p.source === source)) {
        throw new ProtocolError("invalid_params", `a ${source} producer already exists; close it first`);
      }
      const { producerId } = await media.call(transport.legId, (node) => node.produce({ transportId, kind, source, rtpParameters, participantId, paused }));
      if (!stillHere(participantId) || !store.transport(transportId)) {
        await media.callQuietly(transport.legId, "closeProducer", (node) => node.closeProducer({ producerId }));
        throw new ProtocolError("closed", "left while producing");
      }
      const producer = { id: producerId, participantId, transportId, kind, source, paused, legId: transport.legId };
      store.addProducer(producer);
      media.produced(producer);
      room.publish("newProducer", { peerId: participantId, producer: { id: producerId, kind, source, paused } }, { to: "joined", except: participantId });
      return { producerId };
    },

    closeProducer: async ({ producerId }, { session }) => {
      const { id: participantId } = participantOf(room, session, "joined");
      const producer = store.producer(producerId);
      if (!producer || producer.participantId !== participantId) throw new ProtocolError("not_found", `no producer ${producerId}`);
      const consumers = store.removeProducer(producerId);
      room.publish("producerClosed", { peerId: participantId, producerId }, { to: "joined", except: participantId });
      await media.closeProducer(producer, consumers);
      return {};
    },

    setProducerPaused: async ({ producerId, paused }, { session }) => {
      const { id: participantId } = participantOf(room, session, "joined");
      const producer = store.producer(producerId);
      if (!producer || producer.participantId !== participantId) throw new ProtocolError("not_found", `no producer ${producerId}`);
      if (producer.paused === paused) return {};
      await media.setProducerPaused(producer, paused);
      store.setProducerPaused(producerId, paused);
      room.publish("producerPaused", { peerId: participantId, producerId, paused }, { to: "joined", except: participantId });
      return {};
    },

    consume: async ({ transportId, producerId }, { session }) => {
      const { id: participantId } = participantOf(room, session, "joined");
      const transport = ownTransport(participantId, transportId, "recv");
      const producer = store.producer(producerId);
      if (!producer) throw new ProtocolError("not_found", `no producer ${producerId}`);
      if (producer.participantId === participantId) throw new ProtocolError("forbidden", "cannot consume your own producer");
      const consumer = await room.failover.consume(participantId, transport, producer);
      if (!stillHere(participantId) || !store.producer(producerId) || !store.transport(transportId)) {
        // The consumer dies with its producer or transport on the node; nothing to record.
        throw new ProtocolError("not_found", "the producer or transport went away while consuming");
      }
      store.addConsumer({ id: consumer.consumerId, participantId, transportId, producerId, legId: transport.legId });
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
      await media.call(consumer.legId, (node) => node.resumeConsumer({ consumerId }));
      return {};
    },

    setPreferredLayers: async ({ consumerId, spatialLayer, temporalLayer }, { session }) => {
      const { id: participantId } = participantOf(room, session, "joined");
      const consumer = store.consumer(consumerId);
      if (!consumer || consumer.participantId !== participantId) throw new ProtocolError("not_found", `no consumer ${consumerId}`);
      await media.call(consumer.legId, (node) => node.setPreferredLayers({ consumerId, spatialLayer, ...(temporalLayer === undefined ? {} : { temporalLayer }) }));
      return {};
    },

    restartIce: async ({ transportId }, { session }) => {
      const transport = ownTransport(participantOf(room, session, "hello").id, transportId);
      return media.call(transport.legId, (node) => node.restartIce({ transportId }));
    },

    transportStats: async ({ transportId }, { session }) => {
      const transport = ownTransport(participantOf(room, session, "hello").id, transportId);
      return media.call(transport.legId, (node) => node.getTransportStats({ transportId }));
    },

    mediaUnreachable: async (_params, { session }) => {
      const { id: participantId } = participantOf(room, session, "hello");
      return { moved: await room.failover.unreachable(participantId) };
    },
  };
}
