import { ProtocolError, errorFields, type Logger } from "@meridian/protocol";
import { locate, type RequestGeo } from "../../lib/geo.ts";
import { resultOf, type CallOutcome, type NodeCalls } from "../../nodes/node-calls.ts";
import { shared } from "../../lib/shared.ts";
import { REGISTRY_NAME } from "../../registry/name.ts";
import type { ConsumerRow, LegRow, MediaStore, ProducerRow, TransportRow } from "./media-store.ts";
import { PipeNetwork } from "./pipes.ts";

/** Closing things on a node already judged down must not hold up the moves that replace them. */
const ABANDON_CALL_TIMEOUT_MS = 2000;

/** One control call to a node, made on its DO's typed RPC surface. */
export type NodeCall<T> = (node: NodeCalls) => Promise<CallOutcome<T>>;

/** What a leg that went away leaves to the room: the people to place again and the producers that died with it. */
export interface LegLoss {
  readonly leg: LegRow;
  readonly participants: ReadonlyArray<{ participantId: string; geo: RequestGeo }>;
  readonly producers: readonly ProducerRow[];
}

/**
 * A room's media across the SFU nodes it spans. Each participant is placed on a leg (a
 * router on one node) near them; the room's legs are joined by pipes, and a producer is
 * carried to another leg when someone there consumes it. The room DO is the single
 * source of truth (MediaStore); nodes are told what to do through their DOs.
 *
 * The oldest leg is the speaker leg: every audio producer is carried there, so its
 * active speaker observer hears the whole room and is the one the room listens to.
 */
export class RoomMedia {
  readonly store: MediaStore;
  readonly pipes: PipeNetwork;
  readonly #env: Env;
  readonly #roomId: () => string;
  readonly #log: Logger;
  /** Legs being opened, by node: participants placed at the same moment share one. */
  readonly #opening = new Map<string, Promise<LegRow>>();
  /** Placements in progress: while any is, no empty leg counts as abandoned. */
  #placing = 0;

  constructor(env: Env, store: MediaStore, roomId: () => string, log: Logger) {
    this.#env = env;
    this.store = store;
    this.#roomId = roomId;
    this.#log = log;
    this.pipes = new PipeNetwork(store, (legId) => this.#node(legId), roomId, log);
  }

  // ── placement ─────────────────────────────────────────────────────────────

  /** The leg a participant is placed on, if any. */
  legOf(participantId: string): LegRow | undefined {
    const placement = this.store.placement(participantId);
    return placement ? this.store.leg(placement.legId) : undefined;
  }

  /**
   * Places a participant (once: a placed participant keeps their leg): on a leg of the
   * room about as good for them as their best node, or on a new leg there. `exclude`
   * keeps nodes out (one being left); `to` names the leg outright.
   */
  async place(participantId: string, geo: RequestGeo, options: { exclude?: readonly string[]; to?: string } = {}): Promise<LegRow> {
    const current = this.legOf(participantId);
    if (current && !options.exclude?.includes(current.nodeId) && (!options.to || options.to === current.id)) return current;
    let leg: LegRow | undefined;
    this.#placing++;
    try {
      leg = options.to ? this.store.leg(options.to) : await this.#chooseLeg(participantId, geo, options.exclude ?? []);
      if (!leg) throw new ProtocolError("not_found", "that media leg is gone");
      this.store.place(participantId, leg.id, geo);
    } finally {
      this.#placing--;
    }
    await this.#closeAbandonedLegs();
    return leg;
  }

  /**
   * An empty room keeps its last leg for a while; when the next person lands on another
   * leg (that node is down or busy), the empty one is let go. Not while anyone is being
   * placed: a leg just opened is empty until its first participant's placement is written.
   */
  async #closeAbandonedLegs(): Promise<void> {
    if (this.#placing > 0) return;
    for (const leg of this.store.legs()) {
      if (this.store.countPlacedOn(leg.id) === 0 && this.store.legs().length > 1) await this.closeLeg(leg.id, true);
    }
  }

  async #chooseLeg(participantId: string, geo: RequestGeo, exclude: readonly string[]): Promise<LegRow> {
    const legs = this.store.legs();
    const point = locate(geo);
    const choice = await this.#registry().placeLeg({ ...(point ? { point } : {}), ...(exclude.length ? { exclude } : {}) }, legs.map((l) => l.nodeId));
    if (!choice) throw new ProtocolError("no_node_available", "no media server is available right now; try again shortly");
    this.#log.info("participant placed", {
      roomId: this.#roomId(),
      participantId,
      nodeId: choice.nodeId,
      reuse: choice.reuse,
      distanceKm: round(choice.distanceKm),
      best: choice.best?.nodeId,
      bestKm: round(choice.best?.distanceKm),
      legs: legs.length,
    });
    const existing = this.store.legOnNode(choice.nodeId);
    if (existing) return existing;
    return this.#openLeg(choice.nodeId);
  }

  #openLeg(nodeId: string): Promise<LegRow> {
    return shared(this.#opening, nodeId, async () => {
      const node: NodeCalls = this.#env.NODES.getByName(nodeId);
      const { routerId, rtpCapabilities } = await resultOf(node.createRouter({ roomId: this.#roomId() }));
      const raced = this.store.legOnNode(nodeId);
      if (raced) return raced;
      const leg: LegRow = { id: routerId, nodeId, rtpCapabilities, createdAt: Date.now() };
      this.store.addLeg(leg);
      this.#log.info("leg opened", { roomId: this.#roomId(), nodeId, routerId, legs: this.store.legs().length });
      await this.#feedSpeakerLeg();
      return leg;
    });
  }

  /** The leg whose active speaker reports count: the oldest. */
  speakerLeg(): LegRow | undefined {
    return this.store.legs()[0];
  }

  // ── calls ─────────────────────────────────────────────────────────────────

  /** A control call to a leg's node, e.g. `media.call(leg, (node) => node.consume(params))`. */
  call<T>(legId: string, invoke: NodeCall<T>): Promise<T> {
    if (!this.store.leg(legId)) return Promise.reject(new ProtocolError("not_found", "that media leg is gone"));
    return resultOf(invoke(this.#node(legId)));
  }

  /** Best-effort call for cleanup paths: failures are logged, never thrown. */
  async callQuietly(legId: string, what: string, invoke: NodeCall<unknown>): Promise<void> {
    try {
      await this.call(legId, invoke);
    } catch (error) {
      this.#log.warn("node cleanup call failed", { what, legId, ...errorFields(error) });
    }
  }

  // ── routing ───────────────────────────────────────────────────────────────

  /** A producer the room just recorded: its audio is carried to the speaker leg. */
  produced(producer: ProducerRow): void {
    const speaker = this.speakerLeg();
    if (producer.kind !== "audio" || !speaker || speaker.id === producer.legId) return;
    void this.pipes.carry(producer, speaker.id).catch((error) => this.#log.warn("could not carry audio to the speaker leg", errorFields(error)));
  }

  /** Consumes `producer` on `transport`'s leg, carrying it there through a pipe first when it lives on another leg. */
  async consume(transport: TransportRow, producer: ProducerRow) {
    await this.pipes.carry(producer, transport.legId);
    return this.call(transport.legId, (node) => node.consume({ transportId: transport.id, producerId: producer.id }));
  }

  /** The original first (its failure is the caller's), then every copy. */
  async setProducerPaused(producer: ProducerRow, paused: boolean): Promise<void> {
    await this.call(producer.legId, (node) => node.setProducerPaused({ producerId: producer.id, paused }));
    await this.pipes.setPaused(producer.id, paused);
  }

  /** Closes a producer the store has already dropped, with its copies; its consumers' copies are released. */
  async closeProducer(producer: ProducerRow, consumers: readonly ConsumerRow[]): Promise<void> {
    await this.callQuietly(producer.legId, "closeProducer", (node) => node.closeProducer({ producerId: producer.id }));
    await this.pipes.dropCopies(producer.id);
    this.#released(consumers);
  }

  /** Closes a transport the store has already dropped, with what it carried. */
  async closeTransport(transport: TransportRow, gone: { producers: readonly ProducerRow[]; consumers: readonly ConsumerRow[] }): Promise<void> {
    await this.callQuietly(transport.legId, "closeTransport", (node) => node.closeTransport({ transportId: transport.id }));
    for (const producer of gone.producers) await this.pipes.dropCopies(producer.id);
    this.#released(gone.consumers);
  }

  /** A consumer ended (its transport, its subscriber or its producer): a copy left without subscribers starts to idle. */
  #released(consumers: readonly ConsumerRow[]): void {
    const now = Date.now();
    const speaker = this.speakerLeg()?.id;
    for (const c of consumers) {
      const producer = this.store.producer(c.producerId);
      this.pipes.released(c.producerId, c.legId, now, producer?.kind === "audio" && c.legId === speaker);
    }
  }

  // ── people leaving, legs closing ──────────────────────────────────────────

  /**
   * A participant's media is forgotten and closed on its node (they left, or move to
   * another leg); their leg closes when nobody else is on it, unless it is the room's
   * last (an empty room keeps its router for a quick return).
   */
  async unplace(participantId: string, options: { nodeAlive: boolean } = { nodeAlive: true }): Promise<readonly ProducerRow[]> {
    const leg = this.legOf(participantId);
    const gone = this.store.forgetParticipant(participantId);
    if (options.nodeAlive) {
      await Promise.all(gone.transports.map((t) => this.callQuietly(t.legId, "closeTransport", (node) => node.closeTransport({ transportId: t.id }))));
    }
    for (const producer of gone.producers) await this.pipes.dropCopies(producer.id);
    this.#released(gone.consumers);
    if (leg && this.store.countPlacedOn(leg.id) === 0 && this.store.legs().length > 1) await this.closeLeg(leg.id, options.nodeAlive);
    return gone.producers;
  }

  /** Closes a leg: its pipes at the other ends, its router when its node can be reached. */
  async closeLeg(legId: string, nodeAlive: boolean): Promise<void> {
    const leg = this.store.leg(legId);
    if (!leg) return;
    const wasSpeaker = this.speakerLeg()?.id === legId;
    await this.pipes.detach(legId, nodeAlive);
    this.store.removeLeg(legId);
    await this.#closeRouter(leg, nodeAlive);
    this.#log.info("leg closed", { roomId: this.#roomId(), nodeId: leg.nodeId, legs: this.store.legs().length });
    if (wasSpeaker) await this.#feedSpeakerLeg();
  }

  /**
   * A leg's node is gone (or its router): everything on it is forgotten without asking
   * the node, the pipes to it are closed at their other ends, and what remains for the
   * room is returned: who to place again, and which producers died.
   */
  async dropLeg(legId: string): Promise<LegLoss | undefined> {
    const leg = this.store.leg(legId);
    if (!leg) return undefined;
    const participants = this.store.placedOn(legId);
    const producers = this.store.producersOn(legId);
    const wasSpeaker = this.speakerLeg()?.id === legId;
    await this.pipes.detach(legId, false);
    const consumers: ConsumerRow[] = [];
    for (const { participantId } of participants) consumers.push(...this.store.forgetParticipant(participantId).consumers);
    this.store.removeLeg(legId);
    // Its DO forgets the router even though the node cannot be reached: a node that comes
    // back still carrying it has it closed by the next reconciliation.
    await this.#closeRouter(leg, false);
    this.#released(consumers);
    if (wasSpeaker) await this.#feedSpeakerLeg();
    return { leg, participants, producers };
  }

  /** Every leg closes: the room is empty past its grace, or has ended. */
  async release(): Promise<void> {
    const legs = this.store.legs();
    this.store.clear();
    await Promise.all(legs.map((leg) => this.#closeRouter(leg, true)));
  }

  /** Idle copies past their grace are closed; audio into the speaker leg is kept. */
  async alarm(now: number): Promise<void> {
    const speaker = this.speakerLeg()?.id;
    await this.pipes.collect(now, (producerId, toLeg) => toLeg === speaker && this.store.producer(producerId)?.kind === "audio");
  }

  nextDeadline(): number | undefined {
    return this.pipes.nextDeadline();
  }

  /** The speaker leg hears every audio producer of the room. */
  async #feedSpeakerLeg(): Promise<void> {
    const speaker = this.speakerLeg();
    if (!speaker) return;
    const audio = this.store.producers().filter((p) => p.kind === "audio" && p.legId !== speaker.id);
    await Promise.all(audio.map((p) => this.pipes.carry(p, speaker.id).catch((error) => this.#log.warn("could not carry audio to the speaker leg", errorFields(error)))));
  }

  async #closeRouter(leg: LegRow, nodeAlive: boolean): Promise<void> {
    try {
      await resultOf(this.#env.NODES.getByName(leg.nodeId).closeRouter({ routerId: leg.id }, nodeAlive ? undefined : ABANDON_CALL_TIMEOUT_MS));
    } catch (error) {
      this.#log.warn("could not close a leg's router", { nodeId: leg.nodeId, ...errorFields(error) });
    }
  }

  #node(legId: string): NodeCalls {
    const leg = this.store.leg(legId);
    if (!leg) throw new ProtocolError("not_found", "that media leg is gone");
    return this.#env.NODES.getByName(leg.nodeId);
  }

  #registry() {
    return this.#env.REGISTRY.getByName(REGISTRY_NAME);
  }
}

const round = (km: number | undefined) => (km === undefined ? undefined : Math.round(km));
