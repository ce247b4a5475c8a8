import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { NodeCloseCode } from "../src/nodes/node-do.ts";
import type { RegistryDO } from "../src/registry/registry-do.ts";
import { FakeNode, closeFakeNodes, graceAlarm, nodeDo, registry, roomPlacement } from "./support/fake-node.ts";
import { createRoom, participant } from "./support/socket.ts";

afterEach(closeFakeNodes);

/** Rewrites fields of a node's stored registry record, then makes the registry read it back. */
async function editRecord(nodeId: string, edit: (record: Record<string, unknown>) => void): Promise<void> {
  await runInDurableObject(registry(), (_instance: RegistryDO, state) => {
    const row = state.storage.sql.exec<{ record: string }>("SELECT record FROM nodes WHERE id = ?", nodeId).one();
    const record = JSON.parse(row.record) as Record<string, unknown>;
    edit(record);
    state.storage.sql.exec("UPDATE nodes SET record = ? WHERE id = ?", JSON.stringify(record), nodeId);
  });
  await evictDurableObject(registry());
}

/** The registry loses a node's record (evicted, or all dropped by a schema change) while the node stays connected. */
async function forget(nodeId: string): Promise<void> {
  await runInDurableObject(registry(), (_instance: RegistryDO, state) => {
    state.storage.sql.exec("DELETE FROM nodes WHERE id = ?", nodeId);
  });
  await evictDurableObject(registry());
  expect((await registry().list()).some((n) => n.id === nodeId)).toBe(false);
}

/** How a socket was closed; fails instead of waiting forever when it stays open. */
function closedWithin<T>(closed: Promise<T>, ms = 5000): Promise<T> {
  return Promise.race([closed, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`socket still open after ${ms} ms`)), ms))]);
}

describe("a connected node the registry forgot", () => {
  it("is registered again from its last registration at its next load report, keeping its socket", async () => {
    const node = await FakeNode.connect("forgotten-1", { registration: { capacity: { workers: 2, consumersPerWorker: 400 } } });
    await forget("forgotten-1");

    node.report({ consumers: 7 });
    await expect.poll(() => registry().isHealthy("forgotten-1"), { timeout: 5000 }).toBe(true);
    const [record] = (await registry().list()).filter((n) => n.id === "forgotten-1");
    expect(record).toMatchObject({
      kind: "sfu",
      region: "test-region",
      reportIntervalMs: 60_000,
      capacity: { workers: 2, consumersPerWorker: 400 },
      load: { consumers: 7 },
    });
    expect(await registry().pick({ kind: "sfu" })).toMatchObject({ nodeId: "forgotten-1" });
    expect(node.socket.ws.readyState).toBe(WebSocket.OPEN);
  });

  it("is made to dial in and register again when no registration of it is kept", async () => {
    const node = await FakeNode.connect("forgotten-2");
    // A node DO from before registrations were kept.
    await runInDurableObject(nodeDo("forgotten-2"), (_instance, state) => state.storage.kv.delete("registration"));
    await forget("forgotten-2");

    node.report();
    expect((await closedWithin(node.socket.closed)).code).toBe(NodeCloseCode.unregistered);
    await FakeNode.connect("forgotten-2");
    expect(await registry().isHealthy("forgotten-2")).toBe(true);
  });
});

describe("a node that stops reporting while its socket stays open", () => {
  it("is hung up on when the registry marks it unhealthy, and its rooms move if it does not come back", async () => {
    const hung = await FakeNode.connect("hung-1");
    const { roomId, token } = await createRoom();
    const host = await participant(roomId, token);
    expect((await roomPlacement(roomId)).nodeId).toBe("hung-1");
    const other = await FakeNode.connect("hung-2");

    // More than three report intervals without a report.
    await editRecord("hung-1", (record) => (record.lastSeen = Date.now() - 3 * 60_000 - 1000));
    expect(await runDurableObjectAlarm(registry())).toBe(true);
    expect(await registry().isHealthy("hung-1")).toBe(false);
    expect((await closedWithin(hung.socket.closed)).code).toBe(NodeCloseCode.unresponsive);
    // Only the silent node.
    expect(await registry().isHealthy("hung-2")).toBe(true);
    expect(other.socket.ws.readyState).toBe(WebSocket.OPEN);

    // The usual path from here: a grace period, then the rooms move.
    expect(await graceAlarm("hung-1")).not.toBeNull();
    expect(await runDurableObjectAlarm(nodeDo("hung-1"))).toBe(true);
    expect((await host.socket.nextEvent("mediaReset")).data).toMatchObject({ reason: "the media server went away" });
    const moved = await roomPlacement(roomId);
    expect(moved.nodeId).toBe("hung-2");
    expect(other.routers.get(moved.routerId!)).toBe(roomId);
  });

  it("is hung up on when the registry evicts it, should it still be on the line then", async () => {
    const node = await FakeNode.connect("evicted-1");
    await editRecord("evicted-1", (record) => Object.assign(record, { healthy: false, unhealthySince: Date.now() - 16 * 60_000 }));
    expect(await runDurableObjectAlarm(registry())).toBe(true);
    expect((await registry().list()).some((n) => n.id === "evicted-1")).toBe(false);
    expect((await closedWithin(node.socket.closed)).code).toBe(NodeCloseCode.unresponsive);
  });
});
