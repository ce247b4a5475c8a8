import { ProtocolError, errorFields, type Logger, type RtpCapabilities } from "@meridian/protocol";
import { locate, type RequestGeo } from "../lib/geo.ts";
import { resultOf, type CallOutcome, type NodeCalls } from "../nodes/node-calls.ts";
import { REGISTRY_NAME } from "../registry/name.ts";
import type { RoomStore } from "./room-store.ts";

/** Closing a router on a node already judged down must not hold up the join that replaces it. */
const ABANDON_CALL_TIMEOUT_MS = 2000;

/** One control call to a node, made on its DO's typed RPC surface. */
export type NodeCall<T> = (node: NodeCalls) => Promise<CallOutcome<T>>;

export interface RouterInfo {
  readonly nodeId: string;
  readonly routerId: string;
  readonly rtpCapabilities: RtpCapabilities;
}

/**
 * The room's media placement: which node carries it and its router there. The first
 * participant's location chooses the node; everyone else in the room shares it.
 */
export class RoomMedia {
  readonly #env: Env;
  readonly #store: RoomStore;
  readonly #log: Logger;
  /** In flight while the first join creates the router, so concurrent joins share it. */
  #creating: Promise<RouterInfo> | undefined;

  constructor(env: Env, store: RoomStore, log: Logger) {
    this.#env = env;
    this.#store = store;
    this.#log = log;
  }

  /**
   * The room's router, created on the best node for `geo` when there is none (or its
   * node is gone while the room is empty). A participant joining an existing room shares
   * its node; when their own nearest node is much closer, that is recorded for cascading.
   */
  async ensureRouter(geo: RequestGeo, participantId?: string): Promise<RouterInfo> {
    const current = this.current();
    if (current) {
      const someoneHere = this.#store.participantCount() > 0;
      if (someoneHere || (await this.#registry().isHealthy(current.nodeId))) {
        if (participantId) await this.#noteAffinity(geo, participantId, current.nodeId);
        return current;
      }
      this.#store.clearRouter();
      await this.#abandon(current);
    }
    this.#creating ??= this.#create(geo).finally(() => (this.#creating = undefined));
    return this.#creating;
  }

  async #noteAffinity(geo: RequestGeo, participantId: string, roomNode: string): Promise<void> {
    const point = locate(geo);
    if (!point) return;
    try {
      const decision = await this.#registry().affinity({ kind: "sfu", point }, roomNode);
      if (!decision.cascadeCandidate) return;
      const c = decision.cascadeCandidate;
      this.#store.recordCascadeCandidate({ participantId, roomNode, nearNode: c.nodeId, roomKm: c.roomNodeKm, nearKm: c.distanceKm }, Date.now());
      this.#log.info("participant far from the room's node", { participantId, roomNode, nearNode: c.nodeId, roomKm: Math.round(c.roomNodeKm), nearKm: Math.round(c.distanceKm) });
    } catch (error) {
      this.#log.warn("affinity check failed", errorFields(error));
    }
  }

  current(): RouterInfo | undefined {
    const room = this.#store.room();
    if (!room?.nodeId || !room.routerId || !room.rtpCapabilities) return undefined;
    return { nodeId: room.nodeId, routerId: room.routerId, rtpCapabilities: room.rtpCapabilities };
  }

  /** A control call to the room's node, e.g. `media.call((node) => node.consume(params))`. */
  call<T>(invoke: NodeCall<T>): Promise<T> {
    const current = this.current();
    if (!current) return Promise.reject(new ProtocolError("not_found", "the room has no media router"));
    return resultOf(invoke(this.#node(current.nodeId)));
  }

  /** Best-effort call for cleanup paths: failures are logged, never thrown. */
  async callQuietly(what: string, invoke: NodeCall<unknown>): Promise<void> {
    try {
      await this.call(invoke);
    } catch (error) {
      this.#log.warn("node cleanup call failed", { what, ...errorFields(error) });
    }
  }

  /** Closes the router (the room emptied) so the node frees it. */
  async release(): Promise<void> {
    const current = this.current();
    if (!current) return;
    await this.callQuietly("closeRouter", (node) => node.closeRouter({ routerId: current.routerId }));
    this.#store.clearRouter();
  }

  #node(nodeId: string): NodeCalls {
    return this.#env.NODES.getByName(nodeId);
  }

  #registry() {
    return this.#env.REGISTRY.getByName(REGISTRY_NAME);
  }

  /**
   * Lets go of a router on a node that is down. Its DO forgets the router even when the
   * node cannot be reached; otherwise a node that came back still carrying it would keep
   * it, since its DO would think this room still used it.
   */
  async #abandon(router: RouterInfo): Promise<void> {
    try {
      await this.#node(router.nodeId).closeRouter({ routerId: router.routerId }, ABANDON_CALL_TIMEOUT_MS);
    } catch (error) {
      this.#log.warn("could not let go of a router on a node that is down", { nodeId: router.nodeId, ...errorFields(error) });
    }
  }

  async #create(geo: RequestGeo): Promise<RouterInfo> {
    const room = this.#store.room();
    if (!room) throw new ProtocolError("room_not_found", "room does not exist");
    const point = locate(geo);
    const choice = await this.#registry().pick({ kind: "sfu", ...(point ? { point } : {}) });
    if (!choice) throw new ProtocolError("no_node_available", "no media server is available right now; try again shortly");
    const { routerId, rtpCapabilities } = await resultOf(this.#node(choice.nodeId).createRouter({ roomId: room.roomId }));
    this.#store.setRouter(choice.nodeId, routerId, rtpCapabilities);
    this.#store.setPlacement(geo);
    this.#log.info("room placed", { roomId: room.roomId, nodeId: choice.nodeId, distanceKm: choice.distanceKm });
    return { nodeId: choice.nodeId, routerId, rtpCapabilities };
  }
}
