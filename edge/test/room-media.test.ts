import { afterEach, describe, expect, it } from "vitest";
import { FakeNode, closeFakeNodes } from "./support/fake-node.ts";
import { RTP, consume, produce, transport } from "./support/media.ts";
import { createIntegratorRoom, createRoom, guestToken, mintToken, participant, type Participant } from "./support/socket.ts";

/**
 * The room's media requests and the host's mute, end to end through the room with a
 * scripted node: the room asks the node only about what the asker owns, and refuses the
 * rest before the node hears of it.
 */

afterEach(closeFakeNodes);

let nodes = 0;
/** A node of its own for each test, the only healthy one, so the test's rooms land on it. */
const freshNode = (prefix: string) => FakeNode.connect(`${prefix}-${++nodes}`);

/** Runs a request the room must refuse; returns its error code, having checked the node heard nothing meanwhile. */
async function refused(node: FakeNode, p: Participant, method: string, params: Record<string, unknown>): Promise<string | undefined> {
  const before = node.requests.length;
  const response = await p.socket.request(method, params);
  expect(response.result, `${method} should be refused`).toBeUndefined();
  // Every handler awaits its node call before answering, so a call would be here by now.
  expect(node.requests.slice(before)).toEqual([]);
  return response.error?.code;
}

describe("mute", () => {
  it("a host mutes a guest: the node closes the guest's mic (only), the others see it closed, the guest is told by whom", async () => {
    const node = await freshNode("mute");
    const { roomId, token } = await createRoom();
    const host = await participant(roomId, token, { name: "Host" });
    const guest = await participant(roomId, await guestToken(roomId), { name: "Guest" });
    const other = await participant(roomId, await guestToken(roomId), { name: "Other" });
    const send = await transport(guest, "send");
    const mic = await produce(guest, send, "mic");
    const camera = await produce(guest, send, "camera");
    expect(node.producers.has(mic) && node.producers.has(camera)).toBe(true);

    await host.socket.ok("mute", { participantId: guest.participantId });

    expect(node.requestsOf("closeProducer")).toEqual([{ producerId: mic }]);
    expect([...node.producers.keys()]).toEqual([camera]);
    for (const p of [host, other]) {
      expect((await p.socket.nextEvent("producerClosed")).data).toEqual({ peerId: guest.participantId, producerId: mic });
    }
    expect((await guest.socket.nextEvent("mutedBy")).data).toEqual({ by: host.participantId });
    expect(guest.socket.events("producerClosed")).toEqual([]);
    expect([...host.socket.events("mutedBy"), ...other.socket.events("mutedBy")]).toEqual([]);
    // The room forgot the mic (it may be produced again); the camera is still the guest's.
    expect(await refused(node, guest, "closeProducer", { producerId: mic })).toBe("not_found");
    const again = await produce(guest, send, "mic");
    expect(node.producers.has(again)).toBe(true);
    const late = await participant(roomId, await guestToken(roomId), { join: false });
    const joined = await late.socket.ok<{ peers: Array<{ id: string; producers: Array<{ id: string }> }> }>("join", {});
    expect(joined.peers.find((p) => p.id === guest.participantId)?.producers.map((p) => p.id).sort()).toEqual([again, camera].sort());
  });

  it("a moderator may mute a guest but not a host (forbidden), and the host's mic stays open", async () => {
    const node = await freshNode("mute-mod");
    const { roomId, token } = await createIntegratorRoom();
    const host = await participant(roomId, token, { name: "Host" });
    const moderator = await participant(roomId, await mintToken(roomId, { subject: "mod-1", role: "moderator", name: "Mo" }));
    const guest = await participant(roomId, await guestToken(roomId), { name: "Guest" });
    const hostSend = await transport(host, "send");
    const hostMic = await produce(host, hostSend, "mic");
    const guestMic = await produce(guest, await transport(guest, "send"), "mic");

    expect(await refused(node, moderator, "mute", { participantId: host.participantId })).toBe("forbidden");
    expect(node.producers.has(hostMic)).toBe(true);
    // The room still holds the host's mic: a second one is refused as a duplicate.
    expect(await refused(node, host, "produce", { transportId: hostSend, kind: "audio", source: "mic", rtpParameters: RTP.mic })).toBe("invalid_params");

    await moderator.socket.ok("mute", { participantId: guest.participantId });
    expect(node.requestsOf("closeProducer")).toEqual([{ producerId: guestMic }]);
    expect((await guest.socket.nextEvent("mutedBy")).data).toEqual({ by: moderator.participantId });
    expect((await host.socket.nextEvent("producerClosed")).data).toEqual({ peerId: guest.participantId, producerId: guestMic });
    expect(host.socket.events("mutedBy")).toEqual([]);
  });

  it("a guest may mute nobody (forbidden): not another guest, not the host", async () => {
    const node = await freshNode("mute-guest");
    const { roomId, token } = await createRoom();
    const host = await participant(roomId, token, { name: "Host" });
    const guest = await participant(roomId, await guestToken(roomId), { name: "Guest" });
    const victim = await participant(roomId, await guestToken(roomId), { name: "Victim" });
    const victimSend = await transport(victim, "send");
    const hostSend = await transport(host, "send");
    const victimMic = await produce(victim, victimSend, "mic");
    const hostMic = await produce(host, hostSend, "mic");

    for (const target of [victim, host]) {
      expect(await refused(node, guest, "mute", { participantId: target.participantId })).toBe("forbidden");
    }
    expect(node.requestsOf("closeProducer")).toEqual([]);
    expect(node.producers.has(victimMic) && node.producers.has(hostMic)).toBe(true);
    // Both mics are still the room's (a duplicate is refused), and neither owner was told anything.
    for (const [p, send] of [[victim, victimSend], [host, hostSend]] as const) {
      expect(await refused(node, p, "produce", { transportId: send, kind: "audio", source: "mic", rtpParameters: RTP.mic })).toBe("invalid_params");
      expect(p.socket.events("mutedBy")).toEqual([]);
    }
  });
});

/** A call on the node: the host sends a mic, the guest receives it. */
async function call() {
  const node = await freshNode("media");
  const { roomId, token } = await createRoom();
  const host = await participant(roomId, token, { name: "Host" });
  const guest = await participant(roomId, await guestToken(roomId), { name: "Guest" });
  const hostSend = await transport(host, "send");
  const mic = await produce(host, hostSend, "mic");
  const guestRecv = await transport(guest, "recv");
  const consumer = await consume(guest, guestRecv, mic);
  expect(node.consumers.get(consumer)).toMatchObject({ transportId: guestRecv, producerId: mic });
  return { node, roomId, host, guest, hostSend, mic, guestRecv, consumer };
}

describe("media requests through the room", () => {
  it("restartIce: the owner gets the node's new ICE parameters; someone else's transport is not_found", async () => {
    const { node, host, guest, hostSend, guestRecv } = await call();
    const result = await host.socket.ok("restartIce", { transportId: hostSend });
    expect(node.requestsOf("restartIce")).toEqual([{ transportId: hostSend }]);
    expect(result).toEqual({ iceParameters: { usernameFragment: `ufrag-${hostSend}-restarted`, password: "new-password", iceLite: true } });

    expect(await refused(node, guest, "restartIce", { transportId: hostSend })).toBe("not_found");
    expect(await refused(node, host, "restartIce", { transportId: guestRecv })).toBe("not_found");
    expect(await refused(node, host, "restartIce", { transportId: "no-such-transport" })).toBe("not_found");
  });

  it("restartIce and transportStats work on the pre-join page, for one's own transport", async () => {
    const { node, roomId, hostSend } = await call();
    const early = await participant(roomId, await guestToken(roomId), { join: false });
    const { id } = await early.socket.ok<{ id: string }>("createTransport", { direction: "send" });
    expect(node.transports.get(id)).toMatchObject({ participantId: early.participantId, direction: "send" });
    await early.socket.ok("restartIce", { transportId: id });
    await early.socket.ok("transportStats", { transportId: id });
    expect(node.requestsOf("restartIce")).toEqual([{ transportId: id }]);
    expect(node.requestsOf("getTransportStats")).toEqual([{ transportId: id }]);
    expect(await refused(node, early, "transportStats", { transportId: hostSend })).toBe("not_found");
  });

  it("transportStats: the owner gets the node's stats; someone else's transport is not_found", async () => {
    const { node, host, guest, hostSend, guestRecv } = await call();
    expect(await guest.socket.ok("transportStats", { transportId: guestRecv })).toEqual({
      stats: [{ type: "webrtc-transport", transportId: guestRecv, bytesReceived: 0 }],
    });
    expect(node.requestsOf("getTransportStats")).toEqual([{ transportId: guestRecv }]);

    expect(await refused(node, host, "transportStats", { transportId: guestRecv })).toBe("not_found");
    expect(await refused(node, guest, "transportStats", { transportId: hostSend })).toBe("not_found");
  });

  it("setPreferredLayers: the consumer's owner sets them (temporal layer only when given); someone else's consumer is not_found", async () => {
    const { node, host, guest, consumer } = await call();
    await guest.socket.ok("setPreferredLayers", { consumerId: consumer, spatialLayer: 2, temporalLayer: 1 });
    await guest.socket.ok("setPreferredLayers", { consumerId: consumer, spatialLayer: 0 });
    expect(node.requestsOf("setPreferredLayers")).toEqual([
      { consumerId: consumer, spatialLayer: 2, temporalLayer: 1 },
      { consumerId: consumer, spatialLayer: 0 },
    ]);

    expect(await refused(node, host, "setPreferredLayers", { consumerId: consumer, spatialLayer: 1 })).toBe("not_found");
    expect(await refused(node, guest, "setPreferredLayers", { consumerId: "no-such-consumer", spatialLayer: 1 })).toBe("not_found");
  });

  it("resumeConsumer: the consumer's owner resumes it on the node; someone else's consumer is not_found", async () => {
    const { node, host, guest, consumer } = await call();
    expect(await refused(node, host, "resumeConsumer", { consumerId: consumer })).toBe("not_found");
    expect(node.consumers.get(consumer)?.paused).toBe(true);

    await guest.socket.ok("resumeConsumer", { consumerId: consumer });
    expect(node.requestsOf("resumeConsumer")).toEqual([{ consumerId: consumer }]);
    expect(node.consumers.get(consumer)?.paused).toBe(false);
  });

  it("closeTransport: someone else's transport is not_found and stays; the owner's close frees it on the node, and its producers for the others", async () => {
    const { node, host, guest, hostSend, mic, guestRecv, consumer } = await call();
    expect(await refused(node, guest, "closeTransport", { transportId: hostSend })).toBe("not_found");
    expect(await refused(node, host, "closeTransport", { transportId: "no-such-transport" })).toBe("not_found");
    expect(node.transports.has(hostSend)).toBe(true);

    // A call gone peer-to-peer gives its transports back: the node keeps nothing of it.
    await host.socket.ok("closeTransport", { transportId: hostSend });
    expect(node.requestsOf("closeTransport")).toEqual([{ transportId: hostSend }]);
    expect(node.transports.has(hostSend)).toBe(false);
    expect(node.producers.has(mic)).toBe(false);
    expect((await guest.socket.nextEvent("producerClosed")).data).toEqual({ peerId: host.participantId, producerId: mic });
    expect(await refused(node, host, "closeTransport", { transportId: hostSend })).toBe("not_found");

    await guest.socket.ok("closeTransport", { transportId: guestRecv });
    expect(node.transports.size).toBe(0);
    expect(node.consumers.has(consumer)).toBe(false);
    // A new one for the next time the call needs the SFU.
    expect(await transport(host, "send")).toBeTruthy();
  });

  it("closeProducer: someone else's producer is not_found and stays; the owner's close reaches the node and the others", async () => {
    const { node, host, guest, mic, guestRecv } = await call();
    expect(await refused(node, guest, "closeProducer", { producerId: mic })).toBe("not_found");
    expect(node.producers.has(mic)).toBe(true);
    expect(guest.socket.events("producerClosed")).toEqual([]);
    // Still the room's: the guest can consume it again.
    await consume(guest, guestRecv, mic);

    await host.socket.ok("closeProducer", { producerId: mic });
    expect(node.requestsOf("closeProducer")).toEqual([{ producerId: mic }]);
    expect(node.producers.has(mic)).toBe(false);
    expect((await guest.socket.nextEvent("producerClosed")).data).toEqual({ peerId: host.participantId, producerId: mic });
    expect(host.socket.events("producerClosed")).toEqual([]);
    expect(await refused(node, guest, "consume", { transportId: guestRecv, producerId: mic })).toBe("not_found");
  });

  it("setProducerPaused: someone else's producer is not_found; the owner's pause reaches the node and the others, once", async () => {
    const { node, host, guest, mic } = await call();
    expect(await refused(node, guest, "setProducerPaused", { producerId: mic, paused: true })).toBe("not_found");
    expect(node.producers.get(mic)?.paused).toBe(false);
    expect(guest.socket.events("producerPaused")).toEqual([]);

    await host.socket.ok("setProducerPaused", { producerId: mic, paused: true });
    expect(node.requestsOf("setProducerPaused")).toEqual([{ producerId: mic, paused: true }]);
    expect(node.producers.get(mic)?.paused).toBe(true);
    expect((await guest.socket.nextEvent("producerPaused")).data).toEqual({ peerId: host.participantId, producerId: mic, paused: true });
    // Already paused: nothing to tell the node or anyone.
    expect(await host.socket.ok("setProducerPaused", { producerId: mic, paused: true })).toEqual({});
    expect(node.requestsOf("setProducerPaused")).toHaveLength(1);

    await host.socket.ok("setProducerPaused", { producerId: mic, paused: false });
    expect(node.requestsOf("setProducerPaused")).toEqual([
      { producerId: mic, paused: true },
      { producerId: mic, paused: false },
    ]);
    expect((await guest.socket.nextEvent("producerPaused")).data).toEqual({ peerId: host.participantId, producerId: mic, paused: false });
    expect(guest.socket.events("producerPaused")).toEqual([]);
  });
});
