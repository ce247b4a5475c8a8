import { errorFields, isProtocolError, type EventData, type Logger, type PeerInfo, type RoomEvents } from "@meridian/protocol";
import type { RequestGeo } from "../../lib/geo.ts";
import type { Audience } from "../room-store.ts";
import type { ProducerRow, TransportRow } from "./media-store.ts";
import type { RoomMedia } from "./room-media.ts";

type EventName = keyof RoomEvents & string;

/** People whose media must be placed again, kept durably until a node takes them. */
export interface PendingMove {
  readonly participants: ReadonlyArray<{ participantId: string; geo: RequestGeo }>;
  readonly reason: string;
  /** Nodes not to use (the one they were moved off). */
  readonly exclude: readonly string[];
}

/** What moving media needs of its room. */
export interface FailoverHost {
  readonly media: RoomMedia;
  readonly log: Logger;
  isParticipant(participantId: string): boolean;
  peers(exceptId?: string): PeerInfo[];
  publish<K extends EventName>(event: K, data: EventData<RoomEvents, K>, audience: Audience): number;
  nodeHealthy(nodeId: string): Promise<boolean>;
  /** Keeps `move` and has the alarm try it again shortly. */
  retryLater(move: PendingMove): Promise<void>;
}

/**
 * Moving people's media from one leg to another, and only theirs: when a leg's node dies
 * its participants go to their next best node while everyone else's media flows on (the
 * others only see the moved people's producers close and come back); when a pipe
 * cannot be made, the participant who needed it goes to the producer's leg.
 */
export class MediaFailover {
  readonly #host: FailoverHost;

  constructor(host: FailoverHost) {
    this.#host = host;
  }

  /** A leg is gone with its node or router: its participants are placed again elsewhere. */
  async legLost(legId: string, reason: string): Promise<void> {
    const { media, log } = this.#host;
    const loss = await media.dropLeg(legId);
    if (!loss) return;
    log.warn("media leg lost; moving its participants", { legId, nodeId: loss.leg.nodeId, participants: loss.participants.length, reason });
    this.#producersClosed(loss.producers);
    // Its node is not excluded: the registry offers only healthy, active nodes, and one
    // that lost a worker or restarted and came back is as good a home as any.
    await this.place({ participants: loss.participants, reason, exclude: [] });
  }

  /** Moves one participant off their leg (to `to`, or their next best node but this one). */
  async moveParticipant(participantId: string, reason: string, to?: string): Promise<void> {
    const { media } = this.#host;
    const placement = media.store.placement(participantId);
    const from = placement ? media.store.leg(placement.legId) : undefined;
    if (!placement || !from) return;
    this.#producersClosed(await media.unplace(participantId));
    await this.place({ participants: [{ participantId, geo: placement.geo }], reason, exclude: to ? [] : [from.nodeId] }, to);
  }

  /**
   * Places people whose media was lost and tells each of them (`mediaReset`, with the
   * room's live producers to consume again); those no node takes now are retried.
   */
  async place(move: PendingMove, to?: string): Promise<void> {
    const { media, log } = this.#host;
    const waiting: Array<{ participantId: string; geo: RequestGeo }> = [];
    for (const { participantId, geo } of move.participants) {
      if (!this.#host.isParticipant(participantId)) continue;
      try {
        const leg = await media.place(participantId, geo, { exclude: move.exclude, ...(to ? { to } : {}) });
        this.#host.publish(
          "mediaReset",
          { routerRtpCapabilities: leg.rtpCapabilities, reason: move.reason, peers: this.#host.peers(participantId) },
          { to: "one", id: participantId },
        );
      } catch (error) {
        log.error("a participant's media could not be placed again; retrying", { participantId, ...errorFields(error) });
        waiting.push({ participantId, geo });
      }
    }
    if (waiting.length) await this.#host.retryLater({ ...move, participants: waiting });
  }

  /**
   * Consumes across legs. When the pipe between the two legs cannot be made, a leg whose
   * node is down is lost; otherwise the subscriber goes to the producer's leg, where no
   * pipe is needed, and the room keeps working on the legs it has.
   */
  async consume(participantId: string, transport: TransportRow, producer: ProducerRow) {
    const { media, log } = this.#host;
    try {
      await media.pipes.carry(producer, transport.legId);
    } catch (error) {
      if (!isProtocolError(error) || isProtocolError(error, "not_found")) throw error;
      log.warn("no pipe between two legs", { from: producer.legId, to: transport.legId, ...errorFields(error) });
      const [here, there] = [media.store.leg(transport.legId), media.store.leg(producer.legId)];
      if (here && !(await this.#host.nodeHealthy(here.nodeId))) await this.legLost(here.id, "the media server stopped answering");
      else if (there && !(await this.#host.nodeHealthy(there.nodeId))) await this.legLost(there.id, "the media server stopped answering");
      else if (there) await this.moveParticipant(participantId, "the media servers could not be joined", there.id);
      throw error;
    }
    return media.call(transport.legId, (node) => node.consume({ transportId: transport.id, producerId: producer.id }));
  }

  /**
   * A browser says its media server went silent. When that server's node has also left
   * the edge (its control socket closed), it is gone: its leg moves now, seconds before
   * the node's reconnect grace would have moved it. A node still on the line keeps it
   * (the browser's own network may be the problem; ICE restarts).
   */
  async unreachable(participantId: string): Promise<boolean> {
    const leg = this.#host.media.legOf(participantId);
    if (!leg || (await this.#host.nodeHealthy(leg.nodeId))) return false;
    await this.legLost(leg.id, "the media server stopped answering");
    return true;
  }

  #producersClosed(producers: readonly ProducerRow[]): void {
    for (const p of producers) {
      this.#host.publish("producerClosed", { peerId: p.participantId, producerId: p.id }, { to: "joined", except: p.participantId });
    }
  }
}

