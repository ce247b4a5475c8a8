import type { types } from "mediasoup";
import { ProtocolError } from "@meridian/protocol";
import type { PooledWorker } from "./worker-pool.ts";

/** What a WebRTC or plain transport carries: whose it is and which way media flows. */
export interface TransportData {
  [key: string]: unknown;
  routerId: string;
  participantId: string;
  direction: "send" | "recv";
  rtpCapabilities?: types.RtpCapabilities;
}

/** A pipe transport belongs to its router, not to a participant. */
export interface PipeData {
  [key: string]: unknown;
  routerId: string;
}

export interface ProducerData {
  [key: string]: unknown;
  participantId: string;
  source: string;
  transportId: string;
  /** A copy of a producer of another node, fed through a pipe. */
  piped?: boolean;
}

export interface ConsumerData {
  [key: string]: unknown;
  transportId: string;
  /** Feeds a pipe to another node, not a browser. */
  piped?: boolean;
}

export type ClientTransport = types.WebRtcTransport<TransportData> | types.PlainTransport<TransportData>;
export type PipeTransport = types.PipeTransport<PipeData>;

export interface RoomRouter {
  readonly roomId: string;
  readonly router: types.Router;
  readonly worker: PooledWorker;
  /** Reports the room's loudest participant (audio producers, piped ones too, are added as they come). */
  readonly speakers: types.ActiveSpeakerObserver;
}

/**
 * The node's mediasoup objects by id, and the per-worker counts placement reads. Every
 * object leaves its map when it closes, however it closes (its router, its transport,
 * its producer, or its worker going away).
 */
export class MediaObjects {
  readonly routers = new Map<string, RoomRouter>();
  readonly transports = new Map<string, ClientTransport>();
  readonly pipes = new Map<string, PipeTransport>();
  readonly producers = new Map<string, types.Producer<ProducerData>>();
  readonly consumers = new Map<string, types.Consumer<ConsumerData>>();

  router(routerId: string): RoomRouter {
    const room = this.routers.get(routerId);
    if (!room) throw new ProtocolError("not_found", `no router ${routerId}`);
    return room;
  }

  transport(transportId: string): ClientTransport {
    const transport = this.transports.get(transportId);
    if (!transport) throw new ProtocolError("not_found", `no transport ${transportId}`);
    return transport;
  }

  pipe(transportId: string): PipeTransport {
    const pipe = this.pipes.get(transportId);
    if (!pipe) throw new ProtocolError("not_found", `no pipe transport ${transportId}`);
    return pipe;
  }

  producer(producerId: string): types.Producer<ProducerData> {
    const producer = this.producers.get(producerId);
    if (!producer || producer.closed) throw new ProtocolError("not_found", `no producer ${producerId}`);
    return producer;
  }

  consumer(consumerId: string): types.Consumer<ConsumerData> {
    const consumer = this.consumers.get(consumerId);
    if (!consumer || consumer.closed) throw new ProtocolError("not_found", `no consumer ${consumerId}`);
    return consumer;
  }

  addTransport(transport: ClientTransport): void {
    this.transports.set(transport.id, transport);
    // Both transport kinds have the same observer; TypeScript cannot call a union of them.
    (transport.observer as types.TransportObserver).on("close", () => this.transports.delete(transport.id));
  }

  addPipe(pipe: PipeTransport): void {
    this.pipes.set(pipe.id, pipe);
    pipe.observer.on("close", () => this.pipes.delete(pipe.id));
  }

  /** Counts it on its worker and lets the room's speaker observer hear it when it is audio. */
  async addProducer(producer: types.Producer<ProducerData>, room: RoomRouter | undefined, onObserverError: (error: Error) => void): Promise<void> {
    this.producers.set(producer.id, producer);
    if (room) room.worker.producers++;
    producer.observer.on("close", () => {
      this.producers.delete(producer.id);
      if (room) room.worker.producers--;
    });
    if (producer.kind === "audio") await room?.speakers.addProducer({ producerId: producer.id }).catch(onObserverError);
  }

  addConsumer(consumer: types.Consumer<ConsumerData>, room: RoomRouter): void {
    this.consumers.set(consumer.id, consumer);
    room.worker.consumers++;
    consumer.observer.on("close", () => {
      this.consumers.delete(consumer.id);
      room.worker.consumers--;
    });
  }
}

/** Bits per second received and sent over these transports, by their own latest stats. */
export async function bitrateOf(transports: Iterable<{ closed: boolean; getStats(): Promise<Array<{ recvBitrate?: number; sendBitrate?: number }>> }>): Promise<{ in: number; out: number }> {
  let inBps = 0;
  let outBps = 0;
  for (const transport of transports) {
    if (transport.closed) continue;
    const [stats] = await transport.getStats().catch(() => []);
    inBps += stats?.recvBitrate ?? 0;
    outBps += stats?.sendBitrate ?? 0;
  }
  return { in: inBps, out: outBps };
}

/** Runs a mediasoup call; its errors (bad parameters, closed objects) become `media_error`. */
export async function media<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof ProtocolError) throw error;
    throw new ProtocolError("media_error", error instanceof Error ? error.message : String(error));
  }
}
