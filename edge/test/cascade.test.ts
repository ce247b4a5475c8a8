import { env } from "cloudflare:workers";
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { PROTOCOL_VERSION } from "@meridian/protocol";
import { afterEach, describe, expect, it } from "vitest";
import type { RoomDO } from "../src/room/room-do.ts";
import { FakeNode, closeFakeNodes, nodeDo, placements, registry, roomLegs } from "./support/fake-node.ts";
import { RTP, consume, produce, transport } from "./support/media.ts";
import { TestSocket, createRoom, guestToken, participant } from "./support/socket.ts";

/**
 * Cascading through the room DO with scripted nodes in different places: who lands on
 * which leg, pipes made once per pair of legs and producers carried once per remote leg,
 * what a node may not claim, and a dead node moving only its own participants.
 */

afterEach(closeFakeNodes);

const stub = (roomId: string) => env.ROOMS.get(env.ROOMS.idFromName(roomId));

const CF = {
  paris: { latitude: "48.85", longitude: "2.35", continent: "EU", country: "FR", colo: "CDG" },
  london: { latitude: "51.50", longitude: "-0.13", continent: "EU", country: "GB", colo: "LHR" },
  tokyo: { latitude: "35.68", longitude: "139.69", continent: "AS", country: "JP", colo: "NRT" },
  osaka: { latitude: "34.69", longitude: "135.50", continent: "AS", country: "JP", colo: "KIX" },
  newYork: { latitude: "40.71", longitude: "-74.00", continent: "NA", country: "US", colo: "EWR" },
  saoPaulo: { latitude: "-23.55", longitude: "-46.63", continent: "SA", country: "BR", colo: "GRU" },
  sydney: { latitude: "-33.87", longitude: "151.21", continent: "OC", country: "AU", colo: "SYD" },
  singapore: { latitude: "1.29", longitude: "103.85", continent: "AS", country: "SG", colo: "SIN" },
  losAngeles: { latitude: "34.05", longitude: "-118.24", continent: "NA", country: "US", colo: "LAX" },
};
const SITES = {
  fra: { lat: 50.11, lon: 8.68 },
  nrt: { lat: 35.7, lon: 139.7 },
  iad: { lat: 38.95, lon: -77.45 },
  gru: { lat: -23.5, lon: -46.6 },
  syd: { lat: -33.9, lon: 151.2 },
  sin: { lat: 1.35, lon: 103.82 },
  sjc: { lat: 37.36, lon: -121.93 },
};

let run = 0;
/** Fresh nodes at these sites for one test (ids unique across tests: the registry outlives them). */
async function fleet<S extends keyof typeof SITES>(...sites: S[]): Promise<Record<S, FakeNode>> {
  run++;
  const nodes = {} as Record<S, FakeNode>;
  for (const site of sites) nodes[site] = await FakeNode.connect(`${site}-${run}`, { registration: { ...SITES[site], region: site } });
  return nodes;
}


const join = async (roomId: string, cf: Record<string, string>, name: string) => participant(roomId, await guestToken(roomId, name), { cf, name });

describe("legs: where each participant's media enters the network", () => {
  it("shares a leg within 1,000 km of the participant's best node, opens one for someone far, closes it when they go", async () => {
    const { fra, nrt } = await fleet("fra", "nrt");
    const { roomId, token } = await createRoom();
    const paris = await participant(roomId, token, { cf: CF.paris });
    const london = await join(roomId, CF.london, "London");
    const tokyo = await join(roomId, CF.tokyo, "Tokyo");
    const osaka = await join(roomId, CF.osaka, "Osaka");
    expect(await placements(roomId)).toEqual({
      [paris.participantId]: fra.nodeId,
      [london.participantId]: fra.nodeId,
      [tokyo.participantId]: nrt.nodeId,
      [osaka.participantId]: nrt.nodeId,
    });
    const legs = await roomLegs(roomId);
    expect(legs.map((l) => l.nodeId)).toEqual([fra.nodeId, nrt.nodeId]);
    expect(fra.requestsOf("createRouter")).toHaveLength(1);
    expect(nrt.requestsOf("createRouter")).toHaveLength(1);

    // The far leg closes once its last participant leaves; the room's first leg stays.
    await tokyo.socket.ok("leave");
    expect(nrt.closeRequests).toEqual([]);
    await osaka.socket.ok("leave");
    expect(nrt.closeRequests).toEqual([legs[1]!.routerId]);
    expect((await roomLegs(roomId)).map((l) => l.nodeId)).toEqual([fra.nodeId]);
  });

  it("caps a room's legs: past six, a participant joins the nearest existing leg", async () => {
    const { iad } = await fleet("fra", "nrt", "iad", "gru", "syd", "sin", "sjc");
    const { roomId, token } = await createRoom();
    await participant(roomId, token, { cf: CF.paris });
    await join(roomId, CF.tokyo, "Tokyo");
    await join(roomId, CF.newYork, "New York");
    await join(roomId, CF.saoPaulo, "São Paulo");
    await join(roomId, CF.sydney, "Sydney");
    await join(roomId, CF.singapore, "Singapore");
    // A token's name beyond ASCII crosses the Worker's headers to the room intact.
    const named = await TestSocket.room(roomId, await guestToken(roomId, "São Paulo"));
    expect((await named.ok<{ displayName: string }>("hello", { protocol: PROTOCOL_VERSION })).displayName).toBe("São Paulo");
    named.close();
    expect(await roomLegs(roomId)).toHaveLength(6);
    // Los Angeles' own node (San Jose) would be a seventh leg: Virginia's is the nearest of the six.
    const losAngeles = await join(roomId, CF.losAngeles, "Los Angeles");
    expect(await roomLegs(roomId)).toHaveLength(6);
    expect((await placements(roomId))[losAngeles.participantId]).toBe(iad.nodeId);
  });
});

describe("pipes between legs", () => {
  it("makes one pipe per pair of legs and carries each producer once per remote leg, however many subscribers", async () => {
    const { fra, nrt } = await fleet("fra", "nrt");
    const { roomId, token } = await createRoom();
    const host = await participant(roomId, token, { cf: CF.paris });
    const hostSend = await transport(host, "send");
    const camera = await produce(host, hostSend, "camera");
    const mic = await produce(host, hostSend, "mic");
    const tokyo = await join(roomId, CF.tokyo, "Tokyo");
    const osaka = await join(roomId, CF.osaka, "Osaka");
    for (const p of [tokyo, osaka]) {
      const recv = await transport(p, "recv");
      await Promise.all([consume(p, recv, camera), consume(p, recv, mic)]);
    }

    expect(fra.requestsOf("createPipeTransport")).toHaveLength(1);
    expect(nrt.requestsOf("createPipeTransport")).toHaveLength(1);
    for (const producerId of [camera, mic]) {
      expect(fra.requestsOf("pipeConsume", { producerId })).toHaveLength(1);
      expect(nrt.requestsOf("pipeProduce", { producerId })).toHaveLength(1);
      // Each subscriber consumes the copy on its own node.
      expect(nrt.requestsOf("consume", { producerId })).toHaveLength(2);
      expect(fra.requestsOf("consume", { producerId })).toHaveLength(0);
    }
    // The pipe was connected across: each end to the other's address, with the other's keys.
    const [fraPipe] = [...fra.pipes.values()];
    const [nrtPipe] = [...nrt.pipes.values()];
    expect(fraPipe!.remote).toEqual({ ip: "192.0.2.10", port: expect.any(Number) });
    expect(nrtPipe!.remote).toBeDefined();
  });

  it("passes pause, resume and close on to the copies", async () => {
    const { nrt } = await fleet("fra", "nrt");
    const { roomId, token } = await createRoom();
    const host = await participant(roomId, token, { cf: CF.paris });
    const camera = await produce(host, await transport(host, "send"), "camera");
    const tokyo = await join(roomId, CF.tokyo, "Tokyo");
    await consume(tokyo, await transport(tokyo, "recv"), camera);

    await host.socket.ok("setProducerPaused", { producerId: camera, paused: true });
    expect(nrt.producers.get(camera)?.paused).toBe(true);
    await host.socket.ok("setProducerPaused", { producerId: camera, paused: false });
    expect(nrt.producers.get(camera)?.paused).toBe(false);
    await host.socket.ok("closeProducer", { producerId: camera });
    expect(nrt.producers.has(camera)).toBe(false);
    expect((await tokyo.socket.nextEvent("producerClosed")).data).toEqual({ peerId: host.participantId, producerId: camera });
  });

  it("carries every microphone to the oldest leg (the room's speaker), and listens to that leg's speaker reports only", async () => {
    const { fra } = await fleet("fra", "nrt");
    const { roomId, token } = await createRoom();
    const host = await participant(roomId, token, { cf: CF.paris });
    const tokyo = await join(roomId, CF.tokyo, "Tokyo");
    const mic = await produce(tokyo, await transport(tokyo, "send"), "mic");
    // Nobody on Frankfurt consumes it, yet it is there for the speaker observer.
    await expect.poll(() => fra.requestsOf("pipeProduce", { producerId: mic }).length).toBe(1);

    const [fraLeg, nrtLeg] = await roomLegs(roomId);
    await stub(roomId).activeSpeaker(nrtLeg!.routerId, tokyo.participantId);
    await stub(roomId).activeSpeaker(fraLeg!.routerId, tokyo.participantId);
    for (const p of [host, tokyo]) expect((await p.socket.nextEvent("activeSpeaker")).data).toEqual({ peerId: tokyo.participantId });
    expect(host.socket.events("activeSpeaker")).toEqual([]);
  });

  it("closes a copy nobody on its leg has consumed for 30 s, and keeps one still in use", async () => {
    const { fra, nrt } = await fleet("fra", "nrt");
    const { roomId, token } = await createRoom();
    const host = await participant(roomId, token, { cf: CF.paris });
    const hostSend = await transport(host, "send");
    const camera = await produce(host, hostSend, "camera");
    const screen = (await host.socket.ok<{ producerId: string }>("produce", { transportId: hostSend, kind: "video", source: "screen", rtpParameters: RTP.camera })).producerId;
    const tokyo = await join(roomId, CF.tokyo, "Tokyo");
    const osaka = await join(roomId, CF.osaka, "Osaka");
    await consume(tokyo, await transport(tokyo, "recv"), camera);
    await consume(osaka, await transport(osaka, "recv"), screen);
    const [pipeConsumer] = fra.requestsOf("pipeConsume", { producerId: camera });
    expect(pipeConsumer).toBeDefined();

    // Tokyo replaces its receive transport (as after a failed ICE): the camera's copy has no subscriber left.
    const fresh = await transport(tokyo, "recv");
    await runInDurableObject(stub(roomId), (_instance: RoomDO, state) => {
      const idle = state.storage.sql.exec<{ producer_id: string }>("SELECT producer_id FROM piped WHERE idle_since > 0").toArray();
      expect(idle.map((r) => r.producer_id)).toEqual([camera]);
      state.storage.sql.exec("UPDATE piped SET idle_since = ? WHERE idle_since > 0", Date.now() - 31_000);
    });
    expect(await runDurableObjectAlarm(stub(roomId))).toBe(true);
    expect(nrt.producers.has(camera)).toBe(false);
    expect(fra.requestsOf("closeConsumer")).toHaveLength(1);
    expect(nrt.producers.has(screen)).toBe(true);
    // Consumed again later: carried again.
    await consume(tokyo, fresh, camera);
    expect(fra.requestsOf("pipeConsume", { producerId: camera })).toHaveLength(2);
  });

  it("a node that refuses a pipe leaves the room working: the subscriber moves to the producer's leg", async () => {
    const { fra, nrt } = await fleet("fra", "nrt");
    const { roomId, token } = await createRoom();
    const host = await participant(roomId, token, { cf: CF.paris });
    const camera = await produce(host, await transport(host, "send"), "camera");
    const tokyo = await join(roomId, CF.tokyo, "Tokyo");
    const recv = await transport(tokyo, "recv");
    nrt.failPipes = { code: "node_unavailable", message: "this node has no pipe left" };

    expect((await tokyo.socket.request("consume", { transportId: recv, producerId: camera })).error?.code).toBe("node_unavailable");
    const reset = await tokyo.socket.nextEvent("mediaReset");
    expect(reset.data).toMatchObject({ reason: "the media servers could not be joined", peers: [{ id: host.participantId, producers: [{ id: camera }] }] });
    expect((await placements(roomId))[tokyo.participantId]).toBe(fra.nodeId);
    // On Frankfurt, no pipe is needed.
    await consume(tokyo, await transport(tokyo, "recv"), camera);
    expect(fra.requestsOf("consume", { producerId: camera })).toHaveLength(1);
    expect(host.socket.events("mediaReset")).toEqual([]);
  });
});

describe("what a node may claim", () => {
  it("ignores a node naming a router of the room that lives on another node", async () => {
    const { fra, nrt } = await fleet("fra", "nrt");
    const { roomId, token } = await createRoom();
    const host = await participant(roomId, token, { cf: CF.paris });
    const tokyo = await join(roomId, CF.tokyo, "Tokyo");
    const [fraLeg] = await roomLegs(roomId);
    nrt.socket.send({ kind: "evt", event: "activeSpeaker", data: { roomId, routerId: fraLeg!.routerId, participantId: tokyo.participantId } });
    nrt.socket.send({ kind: "evt", event: "routersLost", data: { rooms: [{ roomId, routerId: fraLeg!.routerId }], reason: "lies" } });
    // A real report from the speaker leg's node gets through: the false ones came first and were dropped.
    fra.socket.send({ kind: "evt", event: "activeSpeaker", data: { roomId, routerId: fraLeg!.routerId, participantId: host.participantId } });
    expect((await host.socket.nextEvent("activeSpeaker")).data).toEqual({ peerId: host.participantId });
    expect(host.socket.events("mediaReset")).toEqual([]);
    expect((await roomLegs(roomId)).map((l) => l.nodeId)).toEqual([fra.nodeId, nrt.nodeId]);
  });

  it("opens a pipe only on a router the node made for that room", async () => {
    const { fra } = await fleet("fra");
    const { roomId, token } = await createRoom();
    await participant(roomId, token, { cf: CF.paris });
    const [leg] = await roomLegs(roomId);
    const other = await createRoom();
    expect(await nodeDo(fra.nodeId).createPipeTransport({ roomId: other.roomId, routerId: leg!.routerId })).toMatchObject({ ok: false, error: { code: "forbidden" } });
    expect(fra.requestsOf("createPipeTransport")).toEqual([]);
    expect(await nodeDo(fra.nodeId).createPipeTransport({ roomId, routerId: leg!.routerId })).toMatchObject({ ok: true });
  });
});

describe("a leg's node dies", () => {
  async function spanningRoom() {
    const nodes = await fleet("fra", "nrt");
    const { roomId, token } = await createRoom();
    const host = await participant(roomId, token, { cf: CF.paris });
    const london = await join(roomId, CF.london, "London");
    const tokyo = await join(roomId, CF.tokyo, "Tokyo");
    const hostCamera = await produce(host, await transport(host, "send"), "camera");
    const tokyoCamera = await produce(tokyo, await transport(tokyo, "send"), "camera");
    await consume(tokyo, await transport(tokyo, "recv"), hostCamera);
    await consume(host, await transport(host, "recv"), tokyoCamera);
    return { ...nodes, roomId, host, london, tokyo, hostCamera, tokyoCamera };
  }

  it("moves only its participants, each told what lives on; the others keep their media and see the moved producers close", async () => {
    const { fra, nrt, roomId, host, london, tokyo, hostCamera, tokyoCamera } = await spanningRoom();
    await fra.drop();
    expect(await runDurableObjectAlarm(nodeDo(fra.nodeId))).toBe(true);

    for (const p of [host, london]) {
      const reset = await p.socket.nextEvent("mediaReset");
      expect(reset.data).toMatchObject({ reason: "the media server went away" });
      const peers = (reset.data as { peers: Array<{ id: string; producers: Array<{ id: string }> }> }).peers;
      expect(peers.find((x) => x.id === tokyo.participantId)?.producers.map((x) => x.id)).toEqual([tokyoCamera]);
      expect(peers.find((x) => x.id !== tokyo.participantId)?.producers).toEqual([]);
    }
    expect((await tokyo.socket.nextEvent("producerClosed")).data).toEqual({ peerId: host.participantId, producerId: hostCamera });
    expect(tokyo.socket.events("mediaReset")).toEqual([]);
    // Everyone is on Tokyo's node now; its pipe to the dead node was closed at its end.
    expect(Object.values(await placements(roomId))).toEqual([nrt.nodeId, nrt.nodeId, nrt.nodeId]);
    expect(nrt.pipes.size).toBe(0);
    expect(nrt.producers.has(tokyoCamera)).toBe(true);
  });

  it("moves a draining node's legs when its drain timeout ends, and only their participants", async () => {
    const { fra, nrt, roomId, host, tokyo, tokyoCamera } = await spanningRoom();
    const [, nrtLeg] = await roomLegs(roomId);
    nrt.report({ state: "draining" });
    await expect.poll(async () => (await registry().list()).find((n) => n.id === nrt.nodeId)?.load.state).toBe("draining");
    nrt.socket.send({ kind: "evt", event: "routersLost", data: { rooms: [{ roomId, routerId: nrtLeg!.routerId }], reason: "node drained" } });
    expect((await tokyo.socket.nextEvent("mediaReset")).data).toMatchObject({ reason: "node drained" });
    expect((await host.socket.nextEvent("producerClosed")).data).toEqual({ peerId: tokyo.participantId, producerId: tokyoCamera });
    expect(host.socket.events("mediaReset")).toEqual([]);
    // A draining node takes no one: Tokyo is on Frankfurt's leg now.
    expect((await placements(roomId))[tokyo.participantId]).toBe(fra.nodeId);
  });

  it("moves them at once when one of their browsers says its media server went silent and the node has left the edge", async () => {
    const { fra, roomId, host, london, tokyo } = await spanningRoom();
    // The node is still on the line: nothing moves (the browser's own network may be at fault).
    expect(await host.socket.ok("mediaUnreachable")).toEqual({ moved: false });
    expect(host.socket.events("mediaReset")).toEqual([]);

    await fra.drop();
    // The node's link closed: the browsers on its leg are asked to check their media, and only they.
    for (const p of [host, london]) await p.socket.nextEvent("mediaCheck");
    expect(tokyo.socket.events("mediaCheck")).toEqual([]);
    expect(await host.socket.ok("mediaUnreachable")).toEqual({ moved: true });
    for (const p of [host, london]) expect((await p.socket.nextEvent("mediaReset")).data).toMatchObject({ reason: "the media server stopped answering" });
    expect(tokyo.socket.events("mediaReset")).toEqual([]);
    expect((await roomLegs(roomId)).map((l) => l.nodeId)).not.toContain(fra.nodeId);
  });
});
