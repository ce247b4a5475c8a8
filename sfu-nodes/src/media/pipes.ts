import type { types } from "mediasoup";
import { ProtocolError, type EdgeToNodeMethods, type Logger, type ParamsOf, type ResultOf, type SrtpParameters } from "@meridian/protocol";
import { bitrateOf, media, type MediaObjects, type PipeData, type ProducerData } from "./media-objects.ts";

type P<K extends keyof EdgeToNodeMethods & string> = ParamsOf<EdgeToNodeMethods, K>;
type R<K extends keyof EdgeToNodeMethods & string> = ResultOf<EdgeToNodeMethods, K>;

export interface PipeOptions {
  /** The address pipes bind, and the one other nodes are told (a public one on a wildcard bind). */
  readonly ip: string;
  readonly announcedAddress?: string;
  /** Each pipe takes one UDP port of this range (ports.json `sfu.pipePortMin`..`pipePortMax`). */
  readonly portRange: { readonly min: number; readonly max: number };
  /** Bounds reported in load: what one node lends to cascading. */
  readonly maxPipes: number;
  readonly maxPipedProducers: number;
}

/**
 * Cascading's node side: pipe transports joining this node's router of a room to the
 * same room's router on another node, and producers crossing them. The room DO drives
 * it all; this node only checks what it is asked about exists here. A pipe gets SRTP
 * keys of its own and RTX/NACK (the link between two regions loses packets), and once
 * connected it takes packets only from the remote tuple it was given.
 */
export class Pipes {
  readonly #objects: MediaObjects;
  readonly #options: PipeOptions;
  readonly #log: Logger;

  constructor(objects: MediaObjects, options: PipeOptions, log: Logger) {
    this.#objects = objects;
    this.#options = options;
    this.#log = log;
  }

  get count(): number {
    return this.#objects.pipes.size;
  }

  /** Producers here that are copies of another node's. */
  get pipedProducers(): number {
    let n = 0;
    for (const producer of this.#objects.producers.values()) if (producer.appData.piped) n++;
    return n;
  }

  async create({ roomId, routerId }: P<"createPipeTransport">): Promise<R<"createPipeTransport">> {
    const room = this.#objects.router(routerId);
    if (room.roomId !== roomId) throw new ProtocolError("forbidden", "that router is another room's");
    if (this.#objects.pipes.size >= this.#options.maxPipes) throw new ProtocolError("node_unavailable", "this node has no pipe left");
    const { ip, announcedAddress, portRange } = this.#options;
    const pipe = await media(() =>
      room.router.createPipeTransport<PipeData>({
        listenInfo: { protocol: "udp", ip, ...(announcedAddress ? { announcedAddress } : {}), portRange },
        enableSrtp: true,
        enableRtx: true,
        appData: { routerId },
      }),
    );
    this.#objects.addPipe(pipe);
    if (!pipe.srtpParameters) {
      pipe.close();
      throw new ProtocolError("media_error", "the pipe transport has no SRTP parameters");
    }
    this.#log.debug("pipe created", { routerId, transportId: pipe.id, port: pipe.tuple.localPort });
    return {
      transportId: pipe.id,
      ip: announcedAddress ?? pipe.tuple.localAddress,
      port: pipe.tuple.localPort,
      srtpParameters: pipe.srtpParameters as SrtpParameters,
    };
  }

  async connect({ transportId, ip, port, srtpParameters }: P<"connectPipeTransport">): Promise<R<"connectPipeTransport">> {
    const pipe = this.#objects.pipe(transportId);
    await media(() => pipe.connect({ ip, port, srtpParameters: srtpParameters as types.SrtpParameters }));
    return {};
  }

  /** The sending half of piping a producer: a pipe consumer on this node, carrying every layer. */
  async consume({ transportId, producerId }: P<"pipeConsume">): Promise<R<"pipeConsume">> {
    const pipe = this.#objects.pipe(transportId);
    const producer = this.#objects.producer(producerId);
    const room = this.#objects.router(pipe.appData.routerId);
    if (!this.#onRouter(producer, pipe.appData.routerId)) {
      throw new ProtocolError("forbidden", "the producer is not on this pipe's router");
    }
    const consumer = await media(() => pipe.consume({ producerId, appData: { transportId, piped: true } }));
    this.#objects.addConsumer(consumer, room);
    return {
      consumerId: consumer.id,
      kind: consumer.kind,
      rtpParameters: consumer.rtpParameters as R<"pipeConsume">["rtpParameters"],
      producerPaused: consumer.producerPaused,
    };
  }

  /** The receiving half: a producer with the original's id, fed by the pipe, for this node's subscribers. */
  async produce(p: P<"pipeProduce">): Promise<R<"pipeProduce">> {
    const pipe = this.#objects.pipe(p.transportId);
    if (this.#objects.producers.has(p.producerId)) throw new ProtocolError("already_joined", `producer ${p.producerId} is already here`);
    if (this.pipedProducers >= this.#options.maxPipedProducers) throw new ProtocolError("node_unavailable", "this node takes no more piped producers");
    const room = this.#objects.routers.get(pipe.appData.routerId);
    const producer = await media(() =>
      pipe.produce<ProducerData>({
        id: p.producerId,
        kind: p.kind,
        rtpParameters: p.rtpParameters as types.RtpParameters,
        paused: p.paused,
        appData: { participantId: p.participantId, source: p.source, transportId: pipe.id, piped: true },
      }),
    );
    await this.#objects.addProducer(producer, room, (error) => this.#log.warn("active speaker observer refused a piped producer", { error: error.message }));
    return {};
  }

  /** Bits per second over the pipes, both ways. */
  bitrate(): Promise<{ in: number; out: number }> {
    return bitrateOf(this.#objects.pipes.values());
  }

  #onRouter(producer: types.Producer<ProducerData>, routerId: string): boolean {
    const id = producer.appData.transportId;
    const transport = this.#objects.transports.get(id) ?? this.#objects.pipes.get(id);
    return transport?.appData.routerId === routerId;
  }
}
