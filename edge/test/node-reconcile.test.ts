import { env } from "cloudflare:workers";
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import type { RoomDO } from "../src/room/room-do.ts";
import { FakeNode, closeFakeNodes, graceAlarm, nodeDo, roomPlacement, routersTable } from "./support/fake-node.ts";
import { createRoom, guestToken, participant, type Participant } from "./support/socket.ts";

const roomDo = (roomId: string) => env.ROOMS.get(env.ROOMS.idFromName(roomId));

afterEach(closeFakeNodes);

/** A room with its host in the call, its media placed on `node` (the only healthy one). */
async function roomOn(node: FakeNode): Promise<{ roomId: string; token: string; host: Participant; routerId: string }> {
  const { roomId, token } = await createRoom();
  const host = await participant(roomId, token);
  const placed = await roomPlacement(roomId);
  expect(placed.nodeId).toBe(node.nodeId);
  expect(node.routers.get(placed.routerId!)).toBe(roomId);
  return { roomId, token, host, routerId: placed.routerId! };
}

describe("a node that re-registers after a drop", () => {
  it("keeps the rooms whose routers it still carries: nothing moves", async () => {
    const node = await FakeNode.connect("keep-1");
    const { roomId, host, routerId } = await roomOn(node);
    await node.drop();

    const back = await node.reconnect();
    await nodeDo("keep-1").reconciled();
    expect(await roomPlacement(roomId)).toEqual({ nodeId: "keep-1", routerId });
    expect(await routersTable("keep-1")).toEqual({ [routerId]: roomId });
    expect(back.closeRequests).toEqual([]);
    // The registration ended the grace period: nothing is left to move the rooms later.
    expect(await graceAlarm("keep-1")).toBeNull();
    expect(await runDurableObjectAlarm(nodeDo("keep-1"))).toBe(false);
    expect(host.socket.events("mediaReset")).toEqual([]);
  });

  it("moves the rooms whose routers it lost (it restarted): they get a new router and a mediaReset", async () => {
    const node = await FakeNode.connect("restart-1");
    const { roomId, host, routerId } = await roomOn(node);
    await node.drop();

    const back = await node.reconnect(new Map());
    expect((await host.socket.nextEvent("mediaReset")).data).toMatchObject({ reason: "the media server restarted" });
    await nodeDo("restart-1").reconciled();
    const moved = await roomPlacement(roomId);
    expect(moved.nodeId).toBe("restart-1");
    expect(moved.routerId).not.toBe(routerId);
    expect([...back.routers]).toEqual([[moved.routerId, roomId]]);
    expect(await routersTable("restart-1")).toEqual({ [moved.routerId!]: roomId });
  });

  it("closes a router it carries that no room uses, and only that one", async () => {
    const node = await FakeNode.connect("stray-1");
    const { roomId, host, routerId } = await roomOn(node);
    await node.drop();

    const back = await node.reconnect(new Map(node.routers).set("stray-1.leftover", "some-old-room"));
    await nodeDo("stray-1").reconciled();
    expect(back.closeRequests).toEqual(["stray-1.leftover"]);
    expect([...back.routers]).toEqual([[routerId, roomId]]);
    expect(await roomPlacement(roomId)).toEqual({ nodeId: "stray-1", routerId });
    expect(host.socket.events("mediaReset")).toEqual([]);
  });
});

describe("a node that does not come back", () => {
  it("keeps its rooms through the grace period, then the alarm moves them to another node", async () => {
    const node = await FakeNode.connect("away-1");
    const { roomId, host, routerId } = await roomOn(node);
    const other = await FakeNode.connect("away-2");
    await node.drop();

    // Media keeps flowing while only the control socket is down.
    expect(await roomPlacement(roomId)).toEqual({ nodeId: "away-1", routerId });
    expect(await runDurableObjectAlarm(nodeDo("away-1"))).toBe(true);
    expect((await host.socket.nextEvent("mediaReset")).data).toMatchObject({ reason: "the media server went away" });
    const moved = await roomPlacement(roomId);
    expect(moved.nodeId).toBe("away-2");
    expect(other.routers.get(moved.routerId!)).toBe(roomId);
    expect(await routersTable("away-1")).toEqual({});
  });
});

describe("routers their rooms let go of", () => {
  it.each([
    ["the node was down", "down" as const],
    ["the node failed the close", "refuses" as const],
  ])("are closed when the node re-registers still carrying them, though the close failed (%s)", async (_name, how) => {
    const nodeId = `release-${how}`;
    const node = await FakeNode.connect(nodeId);
    const { roomId, host, routerId } = await roomOn(node);
    if (how === "down") await node.drop();
    else node.failCloseRouter = { code: "internal", message: "worker busy" };

    // The room empties and, past its grace period, releases its router.
    await host.socket.ok("leave");
    await runInDurableObject(roomDo(roomId), (_instance: RoomDO, state) => state.storage.kv.put("emptySince", Date.now() - 10 * 60_000));
    expect(await runDurableObjectAlarm(roomDo(roomId))).toBe(true);
    expect((await roomPlacement(roomId)).routerId).toBeNull();
    expect(node.routers.has(routerId)).toBe(true);

    const back = await node.reconnect();
    await nodeDo(nodeId).reconciled();
    expect(back.closeRequests).toEqual([routerId]);
    expect(back.routers.size).toBe(0);
    expect(await routersTable(nodeId)).toEqual({});
  });

  it("closes a router abandoned on a node that was down when its room was placed again", async () => {
    const node = await FakeNode.connect("abandon-1");
    const { roomId, host, routerId } = await roomOn(node);
    await host.socket.ok("leave");
    const other = await FakeNode.connect("abandon-2");
    await node.drop();

    // Someone arrives in the empty room while its node is down: the room starts afresh elsewhere.
    await participant(roomId, await guestToken(roomId));
    const moved = await roomPlacement(roomId);
    expect(moved.nodeId).toBe("abandon-2");
    expect(other.routers.get(moved.routerId!)).toBe(roomId);

    const back = await node.reconnect();
    await nodeDo("abandon-1").reconciled();
    expect(back.closeRequests).toEqual([routerId]);
    expect(await routersTable("abandon-1")).toEqual({});
  });

  it("closes routers of rooms that ended or were forgotten though the node DO still lists them, and keeps a live room's", async () => {
    // Ended while no node was up: it never had a router of its own.
    const ended = await createRoom();
    const endedHost = await participant(ended.roomId, ended.token);
    await endedHost.socket.ok("endRoom", {});

    const node = await FakeNode.connect("rooms-gone-1");
    const live = await roomOn(node);
    await node.drop();
    // Rows whose release never reached the node DO.
    const stale = { [`${node.nodeId}.ended`]: ended.roomId, [`${node.nodeId}.forgotten`]: "room-that-expired" };
    await runInDurableObject(nodeDo(node.nodeId), (_instance, state) => {
      for (const [routerId, roomId] of Object.entries(stale)) {
        state.storage.sql.exec("INSERT INTO routers (router_id, room_id) VALUES (?, ?)", routerId, roomId);
      }
    });

    const back = await node.reconnect(new Map([...node.routers, ...Object.entries(stale)]));
    await nodeDo(node.nodeId).reconciled();
    expect(back.closeRequests.sort()).toEqual(Object.keys(stale).sort());
    expect([...back.routers]).toEqual([[live.routerId, live.roomId]]);
    expect(await routersTable(node.nodeId)).toEqual({ [live.routerId]: live.roomId });
    expect(await roomPlacement(live.roomId)).toEqual({ nodeId: node.nodeId, routerId: live.routerId });
  });

  it("closes a router its live room no longer uses (the room moved on while the release was lost)", async () => {
    const node = await FakeNode.connect("room-moved-1");
    const live = await roomOn(node);
    await node.drop();
    // The room has since gone to another router of this node; the old row stayed.
    const old = `${node.nodeId}.old`;
    await runInDurableObject(nodeDo(node.nodeId), (_instance, state) => {
      state.storage.sql.exec("INSERT INTO routers (router_id, room_id) VALUES (?, ?)", old, live.roomId);
    });
    const back = await node.reconnect(new Map([...node.routers, [old, live.roomId]]));
    await nodeDo(node.nodeId).reconciled();
    expect(back.closeRequests).toEqual([old]);
    expect(await routersTable(node.nodeId)).toEqual({ [live.routerId]: live.roomId });
    expect(await roomDo(live.roomId).usesRouter(live.routerId)).toBe(true);
    expect(await roomDo(live.roomId).usesRouter(old)).toBe(false);
  });

  it("ignores reports about rooms placed on another node: a node can neither move nor wake them", async () => {
    const owner = await FakeNode.connect("owner-1");
    const { roomId, host, routerId } = await roomOn(owner);
    const other = await FakeNode.connect("meddler-1");
    other.socket.send({ kind: "evt", event: "routersLost", data: { rooms: [{ roomId, routerId }], reason: "not mine" } });
    other.socket.send({ kind: "evt", event: "activeSpeaker", data: { roomId, routerId, participantId: host.participantId } });
    // An answer on the same socket means the events before it were handled.
    expect((await other.socket.request("register", {})).error?.code).toBe("invalid_params");
    expect(host.socket.events("mediaReset")).toEqual([]);
    expect(host.socket.events("activeSpeaker")).toEqual([]);
    expect(await roomPlacement(roomId)).toEqual({ nodeId: owner.nodeId, routerId });

    // The node that carries it is heard.
    owner.socket.send({ kind: "evt", event: "activeSpeaker", data: { roomId, routerId, participantId: host.participantId } });
    expect((await host.socket.nextEvent("activeSpeaker")).data).toEqual({ peerId: host.participantId });
    owner.socket.send({ kind: "evt", event: "routersLost", data: { rooms: [{ roomId, routerId }], reason: "worker died" } });
    expect((await host.socket.nextEvent("mediaReset")).data).toMatchObject({ reason: "worker died" });
  });
});
