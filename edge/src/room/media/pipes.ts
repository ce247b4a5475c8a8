import { ProtocolError, errorFields, type Logger } from "@meridian/protocol";
import { resultOf, type CallOutcome, type NodeCalls } from "../../nodes/node-calls.ts";
import { shared } from "../../lib/shared.ts";
import { pipeKey, type MediaStore, type PipeRow, type ProducerRow } from "./media-store.ts";

/** A copy nobody on its leg has consumed for this long is closed (a quick re-subscribe keeps it). */
export const PIPE_IDLE_MS = 30_000;

/**
 * The pipes between a room's legs, driven from the room DO through the node DOs: one pipe
 * per pair of legs (a pipe transport on each node, addresses and SRTP keys exchanged
 * through the edge only), and each producer carried once to each leg that needs it,
 * however many subscribers are there. Concurrent needs for the same pipe or the same
 * copy share one setup.
 */
export class PipeNetwork {
  readonly #store: MediaStore;
  readonly #node: (legId: string) => NodeCalls;
  readonly #log: Logger;
  readonly #connecting = new Map<string, Promise<PipeRow>>();
  readonly #carrying = new Map<string, Promise<void>>();

  readonly #roomId: () => string;

  constructor(store: MediaStore, node: (legId: string) => NodeCalls, roomId: () => string, log: Logger) {
    this.#store = store;
    this.#node = node;
    this.#roomId = roomId;
    this.#log = log;
  }

  /** Makes sure `producer` has a copy on `toLeg`; marks it in use. */
  async carry(producer: ProducerRow, toLeg: string): Promise<void> {
    if (producer.legId === toLeg) return;
    const existing = this.#store.piped(producer.id, toLeg);
    if (existing) {
      if (existing.idleSince) this.#store.setIdle(producer.id, toLeg, 0);
      return;
    }
    await shared(this.#carrying, `${producer.id}>${toLeg}`, () => this.#carryOnce(producer, toLeg));
  }

  async #carryOnce(producer: ProducerRow, toLeg: string): Promise<void> {
    const pipe = await this.connect(producer.legId, toLeg);
    const [here, there] = pipe.legA === producer.legId ? [pipe.transportA, pipe.transportB] : [pipe.transportB, pipe.transportA];
    const half = await resultOf(this.#node(producer.legId).pipeConsume({ transportId: here, producerId: producer.id }));
    try {
      await resultOf(
        this.#node(toLeg).pipeProduce({
          transportId: there,
          producerId: producer.id,
          kind: half.kind,
          source: producer.source,
          participantId: producer.participantId,
          rtpParameters: half.rtpParameters,
          paused: half.producerPaused,
        }),
      );
    } catch (error) {
      await this.#quietly("close a pipe consumer", () => this.#node(producer.legId).closeConsumer({ consumerId: half.consumerId }));
      throw error;
    }
    // The producer, its leg or the far leg may have gone while this was set up.
    if (!this.#store.producer(producer.id) || !this.#store.leg(toLeg) || !this.#store.pipe(producer.legId, toLeg)) {
      await this.#uncarry(producer.id, producer.legId, toLeg, half.consumerId);
      throw new ProtocolError("not_found", "the producer or a leg went away while it was being piped");
    }
    this.#store.addPiped({ producerId: producer.id, toLeg, consumerId: half.consumerId, idleSince: 0 });
    this.#log.info("producer piped", { producerId: producer.id, from: producer.legId, to: toLeg });
  }

  /** The pipe between two legs, made and connected on first need. */
  async connect(x: string, y: string): Promise<PipeRow> {
    const existing = this.#store.pipe(x, y);
    if (existing) return existing;
    const [a, b] = pipeKey(x, y);
    return shared(this.#connecting, `${a}|${b}`, () => this.#connectOnce(a, b));
  }

  async #connectOnce(a: string, b: string): Promise<PipeRow> {
    const roomId = this.#roomId();
    const [endA, endB] = await Promise.allSettled([
      resultOf(this.#node(a).createPipeTransport({ roomId, routerId: a })),
      resultOf(this.#node(b).createPipeTransport({ roomId, routerId: b })),
    ]);
    if (endA.status === "rejected" || endB.status === "rejected") {
      if (endA.status === "fulfilled") await this.#closeTransport(a, endA.value.transportId);
      if (endB.status === "fulfilled") await this.#closeTransport(b, endB.value.transportId);
      throw endA.status === "rejected" ? endA.reason : (endB as PromiseRejectedResult).reason;
    }
    const { transportId: ta, ...toA } = endA.value;
    const { transportId: tb, ...toB } = endB.value;
    try {
      await Promise.all([
        resultOf(this.#node(a).connectPipeTransport({ transportId: ta, ...toB })),
        resultOf(this.#node(b).connectPipeTransport({ transportId: tb, ...toA })),
      ]);
    } catch (error) {
      await Promise.all([this.#closeTransport(a, ta), this.#closeTransport(b, tb)]);
      throw error;
    }
    if (!this.#store.leg(a) || !this.#store.leg(b)) {
      await Promise.all([this.#closeTransport(a, ta), this.#closeTransport(b, tb)]);
      throw new ProtocolError("not_found", "a leg went away while its pipe was being made");
    }
    const pipe: PipeRow = { legA: a, legB: b, transportA: ta, transportB: tb };
    this.#store.addPipe(pipe);
    this.#log.info("legs piped", { legA: a, legB: b });
    return pipe;
  }

  /** Pause or resume every copy of a producer (the original was done first). */
  async setPaused(producerId: string, paused: boolean): Promise<void> {
    await Promise.all(
      this.#store.copiesOf(producerId).map((copy) =>
        this.#quietly("pause a piped copy", () => this.#node(copy.toLeg).setProducerPaused({ producerId, paused })),
      ),
    );
  }

  /** The producer is gone: its copies go too (the pipe consumers closed with the original). */
  async dropCopies(producerId: string): Promise<void> {
    const copies = this.#store.copiesOf(producerId);
    for (const copy of copies) this.#store.removePiped(producerId, copy.toLeg);
    await Promise.all(copies.map((copy) => this.#quietly("close a piped copy", () => this.#node(copy.toLeg).closeProducer({ producerId }))));
  }

  /** A subscriber on `legId` let go of `producerId`: when it was the last there, the copy starts its idle countdown. */
  released(producerId: string, legId: string, now: number, keep: boolean): void {
    const copy = this.#store.piped(producerId, legId);
    if (!copy || copy.idleSince || keep || this.#store.consumedOn(producerId, legId)) return;
    this.#store.setIdle(producerId, legId, now);
  }

  /** Closes copies idle past PIPE_IDLE_MS (unless `keep` says otherwise). */
  async collect(now: number, keep: (producerId: string, toLeg: string) => boolean): Promise<void> {
    for (const copy of this.#store.idleSince(now - PIPE_IDLE_MS)) {
      if (keep(copy.producerId, copy.toLeg) || this.#store.consumedOn(copy.producerId, copy.toLeg)) {
        this.#store.setIdle(copy.producerId, copy.toLeg, 0);
        continue;
      }
      const producer = this.#store.producer(copy.producerId);
      this.#store.removePiped(copy.producerId, copy.toLeg);
      if (producer) await this.#uncarry(copy.producerId, producer.legId, copy.toLeg, copy.consumerId);
      this.#log.info("idle pipe copy closed", { producerId: copy.producerId, to: copy.toLeg });
    }
  }

  /** When the next idle copy is due. */
  nextDeadline(): number | undefined {
    const since = this.#store.earliestIdle();
    return since === undefined ? undefined : since + PIPE_IDLE_MS;
  }

  /**
   * A leg goes (emptied, or its node died): every pipe to it is closed at the other end,
   * which closes the copies and pipe consumers there, and nothing more is asked of `legId`
   * itself unless it is `alive`.
   */
  async detach(legId: string, alive: boolean): Promise<void> {
    for (const copy of this.#store.pipedTouching(legId)) this.#store.removePiped(copy.producerId, copy.toLeg);
    const pipes = this.#store.pipesOf(legId);
    for (const pipe of pipes) this.#store.removePipe(pipe.legA, pipe.legB);
    await Promise.all(
      pipes.flatMap((pipe) => {
        const ends: Array<[string, string]> = [
          [pipe.legA, pipe.transportA],
          [pipe.legB, pipe.transportB],
        ];
        return ends.filter(([leg]) => alive || leg !== legId).map(([leg, transportId]) => this.#closeTransport(leg, transportId));
      }),
    );
  }

  async #uncarry(producerId: string, fromLeg: string, toLeg: string, consumerId: string): Promise<void> {
    await Promise.all([
      this.#quietly("close a piped copy", () => this.#node(toLeg).closeProducer({ producerId })),
      this.#quietly("close a pipe consumer", () => this.#node(fromLeg).closeConsumer({ consumerId })),
    ]);
  }

  #closeTransport(legId: string, transportId: string): Promise<void> {
    return this.#quietly("close a pipe transport", () => this.#node(legId).closeTransport({ transportId }));
  }

  async #quietly(what: string, call: () => Promise<CallOutcome<unknown>>): Promise<void> {
    try {
      await resultOf(call());
    } catch (error) {
      this.#log.warn(`could not ${what}`, errorFields(error));
    }
  }
}
