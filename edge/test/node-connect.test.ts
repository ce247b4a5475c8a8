import { env, exports } from "cloudflare:workers";
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { NodeCloseCode } from "../src/nodes/node-do.ts";
import type { RegistryDO } from "../src/registry/registry-do.ts";
import { NODE_PROTOCOL_VERSION, type NodeLoad, type NodeRegistration } from "@meridian/protocol";
import { describe, expect, it } from "vitest";
import { nodeLoad } from "./support/fixtures.ts";
import { BASE, NODE_SECRET, TestSocket, nodeHeaders } from "./support/socket.ts";

const registry = () => env.REGISTRY.get(env.REGISTRY.idFromName("global"));
/** The registry keeps records in memory; evicting it makes it read what the test wrote. */
const evictRegistry = () => evictDurableObject(registry());
const nodeDo = (nodeId: string) => env.NODES.get(env.NODES.idFromName(nodeId));

const load = (over: Partial<NodeLoad> = {}): NodeLoad => nodeLoad({ utilization: 0.1, ...over });

const registration = (nodeId: string, over: Partial<NodeRegistration> = {}): NodeRegistration => ({
  protocol: NODE_PROTOCOL_VERSION,
  nodeId,
  kind: "sfu",
  version: "test",
  region: "eu-central",
  lat: 50.11,
  lon: 8.68,
  load: load(),
  ...over,
});

/** The node side of a control socket, as a test peer: it registers, then answers what it is asked. */
async function connectNode(nodeId: string): Promise<TestSocket> {
  const socket = await TestSocket.open("/api/nodes/connect", nodeHeaders(nodeId));
  const answer = await socket.request("register", registration(nodeId));
  expect(answer).toMatchObject({ result: { nodeId } });
  return socket;
}

describe("node connection authentication", () => {
  it.each([
    ["no credentials", {}],
    ["a wrong secret", nodeHeaders("n1", "not-the-secret-at-all")],
    ["an empty bearer", { authorization: "Bearer ", "x-meridian-node-id": "n1" }],
    ["the secret without the Bearer scheme", { authorization: NODE_SECRET, "x-meridian-node-id": "n1" }],
  ])("refuses %s with 401 and no upgrade", async (_name, headers) => {
    const response = await exports.default.fetch(`${BASE}/api/nodes/connect`, { headers: { upgrade: "websocket", ...headers } });
    expect(response.status).toBe(401);
    expect(response.webSocket).toBeNull();
    expect(await response.json()).toMatchObject({ error: { code: "unauthorized" } });
  });

  it("refuses a malformed node id with 400", async () => {
    const response = await exports.default.fetch(`${BASE}/api/nodes/connect`, {
      headers: { upgrade: "websocket", ...nodeHeaders("../registry") },
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { code: "invalid_params" } });
  });

  it("refuses a correct secret without a WebSocket upgrade with 426", async () => {
    const response = await exports.default.fetch(`${BASE}/api/nodes/connect`, { headers: nodeHeaders("n1") });
    expect(response.status).toBe(426);
  });
});

describe("node registration and reports", () => {
  it("registers a node in the registry, healthy, with its location", async () => {
    await connectNode("fra-1");
    const [record] = (await registry().list()).filter((n) => n.id === "fra-1");
    expect(record).toMatchObject({ id: "fra-1", kind: "sfu", region: "eu-central", lat: 50.11, lon: 8.68, healthy: true });
    expect(await nodeDo("fra-1").connected()).toBe(true);
  });

  it("keeps the capacity a node registers with, and none when a registration has none", async () => {
    const capacity = { workers: 4, consumersPerWorker: 500 };
    const socket = await TestSocket.open("/api/nodes/connect", nodeHeaders("cap-1"));
    await socket.request("register", registration("cap-1", { capacity }));
    await evictRegistry(); // written through, not only in memory
    expect((await registry().list()).find((n) => n.id === "cap-1")?.capacity).toEqual(capacity);
    await socket.request("register", registration("cap-1"));
    expect((await registry().list()).find((n) => n.id === "cap-1")).not.toHaveProperty("capacity");
  });

  it("refuses a registration for another node id than the authenticated one", async () => {
    const socket = await TestSocket.open("/api/nodes/connect", nodeHeaders("honest"));
    const answer = await socket.request("register", registration("impostor"));
    expect(answer.error?.code).toBe("forbidden");
    expect((await registry().list()).some((n) => n.id === "impostor")).toBe(false);
  });

  it("refuses a node speaking another protocol version", async () => {
    const socket = await TestSocket.open("/api/nodes/connect", nodeHeaders("old-node"));
    const answer = await socket.request("register", registration("old-node", { protocol: NODE_PROTOCOL_VERSION + 1 }));
    expect(answer.error?.code).toBe("protocol_mismatch");
  });

  it("refuses an invalid registration with invalid_params", async () => {
    const socket = await TestSocket.open("/api/nodes/connect", nodeHeaders("lost"));
    const answer = await socket.request("register", registration("lost", { lat: 123 }));
    expect(answer.error).toMatchObject({ code: "invalid_params" });
    expect(answer.error?.message).toContain("lat");
  });

  it("updates the registry from load reports", async () => {
    const socket = await connectNode("load-1");
    socket.send({ kind: "evt", event: "load", data: load({ consumers: 42, utilization: 0.5 }) });
    // A request after the event is answered after it was handled: the socket is ordered.
    await socket.request("register", registration("load-1", { load: load({ consumers: 43, utilization: 0.6 }) }));
    const [record] = (await registry().list()).filter((n) => n.id === "load-1");
    expect(record?.load).toMatchObject({ consumers: 43, utilization: 0.6 });
  });

  it("answers malformed frames with typed errors and keeps the socket", async () => {
    const socket = await connectNode("noisy-1");
    socket.sendRaw("not json");
    expect((await socket.nextEvent("error")).data).toMatchObject({ code: "bad_frame" });
    socket.send({ kind: "evt", event: "load", data: { state: "exploding" } });
    expect((await socket.nextEvent("error")).data).toMatchObject({ code: "invalid_params" });
    socket.send({ kind: "evt", event: "selfDestruct", data: {} });
    expect((await socket.nextEvent("error")).data).toMatchObject({ code: "unknown_method" });
    const answer = await socket.request("register", registration("noisy-1"));
    expect(answer.result).toEqual({ nodeId: "noisy-1" });
  });

  it("marks a node unhealthy the moment its socket drops, so it is not chosen", async () => {
    // Christchurch: far from every other node these tests register.
    const here = { lat: -43.5, lon: 172.6 };
    const socket = await TestSocket.open("/api/nodes/connect", nodeHeaders("drop-1"));
    await socket.request("register", registration("drop-1", here));
    expect(await registry().pick({ kind: "sfu", point: here })).toMatchObject({ nodeId: "drop-1", distanceKm: 0 });
    socket.close(1001, "going away");
    await socket.closed;
    await expect.poll(async () => registry().isHealthy("drop-1"), { timeout: 5000 }).toBe(false);
    expect((await registry().pick({ kind: "sfu", point: here }))?.nodeId).not.toBe("drop-1");
    expect(await nodeDo("drop-1").connected()).toBe(false);
  });

  it("marks a node that stopped reporting unhealthy (alarm), then forgets it", async () => {
    const here = { lat: 64.1, lon: -21.9 }; // Reykjavik: no other test node near
    const socket = await TestSocket.open("/api/nodes/connect", nodeHeaders("quiet-1"));
    await socket.request("register", registration("quiet-1", { ...here, reportIntervalMs: 1000 }));
    expect(await registry().pick({ kind: "sfu", point: here })).toMatchObject({ nodeId: "quiet-1" });
    // Three report intervals pass without a report (the socket stays open, the node is hung).
    const backdate = async (field: "lastSeen" | "unhealthySince", ms: number) =>
      runInDurableObject(registry(), async (_instance: RegistryDO, state) => {
        const row = state.storage.sql.exec<{ record: string }>("SELECT record FROM nodes WHERE id = 'quiet-1'").one();
        const record = JSON.parse(row.record) as Record<string, number>;
        record[field] = Date.now() - ms;
        state.storage.sql.exec("UPDATE nodes SET record = ? WHERE id = 'quiet-1'", JSON.stringify(record));
      });
    await backdate("lastSeen", 3500);
    await evictRegistry();
    expect(await runDurableObjectAlarm(registry())).toBe(true);
    expect(await registry().isHealthy("quiet-1")).toBe(false);
    expect((await registry().pick({ kind: "sfu", point: here }))?.nodeId).not.toBe("quiet-1");
    // Its socket is closed (a hung node would keep its rooms forever); one that is alive dials in again and is back.
    expect((await socket.closed).code).toBe(NodeCloseCode.unresponsive);
    const again = await TestSocket.open("/api/nodes/connect", nodeHeaders("quiet-1"));
    await again.request("register", registration("quiet-1", { ...here, reportIntervalMs: 1000 }));
    expect(await registry().isHealthy("quiet-1")).toBe(true);
    // Unhealthy long enough, it is evicted from the registry.
    again.close();
    await expect.poll(() => registry().isHealthy("quiet-1"), { timeout: 5000 }).toBe(false);
    await backdate("unhealthySince", 16 * 60_000);
    await evictRegistry();
    expect(await runDurableObjectAlarm(registry())).toBe(true);
    expect((await registry().list()).some((n) => n.id === "quiet-1")).toBe(false);
  });

  it("lets a reconnecting node replace its previous socket", async () => {
    const first = await connectNode("re-1");
    const second = await connectNode("re-1");
    expect((await first.closed).code).toBe(4001);
    expect(await registry().isHealthy("re-1")).toBe(true);
    const call = nodeDo("re-1").closeRouter({ routerId: "r1" }, 5000);
    const request = await second.next((f) => f.kind === "req", 5000);
    if (request.kind !== "req") throw new Error("expected a request");
    second.send({ kind: "res", id: request.id, result: {} });
    expect(await call).toEqual({ ok: true, result: {} });
  });
});

describe("control calls from rooms to a node", () => {
  it("relays a call and its typed error", async () => {
    const socket = await connectNode("calls-1");
    const call = nodeDo("calls-1").resumeConsumer({ consumerId: "c-404" }, 5000);
    const request = await socket.next((f) => f.kind === "req", 5000);
    expect(request).toMatchObject({ method: "resumeConsumer", params: { consumerId: "c-404" } });
    if (request.kind !== "req") throw new Error("expected a request");
    socket.send({ kind: "res", id: request.id, error: { code: "not_found", message: "no consumer c-404" } });
    expect(await call).toEqual({ ok: false, error: { code: "not_found", message: "no consumer c-404" } });
  });

  it("rejects a result that does not match the method's schema", async () => {
    const socket = await connectNode("calls-2");
    const call = nodeDo("calls-2").createRouter({ roomId: "r" }, 5000);
    const request = await socket.next((f) => f.kind === "req", 5000);
    if (request.kind !== "req") throw new Error("expected a request");
    socket.send({ kind: "res", id: request.id, result: { routerId: 7 } });
    expect(await call).toMatchObject({ ok: false, error: { code: "bad_frame" } });
  });

  it("times out a call the node never answers", async () => {
    await connectNode("silent-1");
    expect(await nodeDo("silent-1").closeRouter({ routerId: "r" }, 200)).toMatchObject({
      ok: false,
      error: { code: "timeout" },
    });
  });

  it("fails calls at once when no node is connected", async () => {
    expect(await nodeDo("nobody").closeRouter({ routerId: "r" })).toMatchObject({
      ok: false,
      error: { code: "node_unavailable" },
    });
  });

  it("fails a pending call when the node's socket drops", async () => {
    const socket = await connectNode("dies-1");
    const call = nodeDo("dies-1").closeRouter({ routerId: "r" }, 10_000);
    await socket.next((f) => f.kind === "req", 5000);
    socket.close(1011, "crashed");
    expect(await call).toMatchObject({ ok: false, error: { code: "node_unavailable" } });
  });
});
