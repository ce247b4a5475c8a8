import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PROTOCOL_VERSION, isProtocolError } from "@meridian/protocol";
import { OPUS_SEND, VP8_SIMULCAST_SEND } from "@meridian/sfu-node/testing";
import { ROOT, freePort, startStack, stopChild, waitForLogLine, type Stack } from "../scripts/lib/stack.ts";
import { RoomClient, createRoom, guestToken } from "./support/room-client.ts";
import { requirePrerequisites } from "./support/prerequisites.ts";

/**
 * Signalling through the real stack: wrangler dev (Worker, room/node/registry DOs) and a
 * real SFU node process on mediasoup. Participants are scripted protocol clients.
 */
const prerequisites = requirePrerequisites();

async function expectError(promise: Promise<unknown>, code: string) {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(isProtocolError(error), `expected ProtocolError ${code}, got ${String(error)}`).toBe(true);
  expect((error as { code: string }).code).toBe(code);
}

describe.skipIf(!prerequisites)("signalling through the edge and a real SFU node", () => {
  let stack: Stack;
  const state = mkdtempSync(join(tmpdir(), "meridian-sig-"));
  const secret = "signalling-node-secret-0123";

  beforeAll(async () => {
    stack = await startStack({
      port: await freePort(),
      nodeSecret: secret,
      persistTo: join(state, "edge"),
      nodes: [{ id: "sig-node-1", rtcPortBase: 30100, workers: 1 }],
      logs: { dir: join(ROOT, "e2e/artifacts/signalling") },
    });
  }, 120_000);

  afterAll(async () => {
    await stack?.stop();
    rmSync(state, { recursive: true, force: true });
  });

  /** Connects with `token` (a guest token when absent), says hello and joins. */
  async function joined(roomId: string, name: string, token?: string) {
    const client = await RoomClient.connect(stack.url, roomId, token ?? (await guestToken(stack.url, roomId)));
    const hello = await client.request("hello", { protocol: PROTOCOL_VERSION });
    if (!hello.routerRtpCapabilities) throw new Error(`no media: ${hello.mediaError?.message}`);
    const answer = await client.request("join", { displayName: name });
    if (answer.status !== "joined") throw new Error("expected to join directly");
    return { client, welcome: { ...hello, routerRtpCapabilities: hello.routerRtpCapabilities, peers: answer.peers } };
  }

  it("relays join, transports, produce, consume, resume, producer closed and peer left", async () => {
    const { roomId, token } = await createRoom(stack.url);
    const alice = await joined(roomId, "Alice", token);
    expect(alice.welcome.peers).toEqual([]);
    expect(alice.welcome.role).toBe("host");
    expect(alice.welcome.routerRtpCapabilities.codecs?.length).toBeGreaterThan(0);

    const bob = await joined(roomId, "Bob");
    expect(bob.welcome.role).toBe("guest");
    expect(bob.welcome.peers).toEqual([
      expect.objectContaining({ id: alice.welcome.participantId, displayName: "Alice", role: "host", presence: "connected", producers: [] }),
    ]);
    expect((await alice.client.nextEvent("peerJoined")).peer).toMatchObject({ id: bob.welcome.participantId, displayName: "Bob", role: "guest" });

    const send = await alice.client.request("createTransport", { direction: "send" });
    expect(send.iceCandidates.map((c) => c.port)).toContain(30100);
    const recv = await bob.client.request("createTransport", {
      direction: "recv",
      rtpCapabilities: bob.welcome.routerRtpCapabilities,
    });

    const mic = await alice.client.request("produce", { transportId: send.id, kind: "audio", source: "mic", rtpParameters: OPUS_SEND });
    const cam = await alice.client.request("produce", { transportId: send.id, kind: "video", source: "camera", rtpParameters: VP8_SIMULCAST_SEND });
    expect(await bob.client.nextEvent("newProducer")).toEqual({
      peerId: alice.welcome.participantId,
      producer: { id: mic.producerId, kind: "audio", source: "mic", paused: false },
    });
    expect((await bob.client.nextEvent("newProducer")).producer.id).toBe(cam.producerId);

    const consumer = await bob.client.request("consume", { transportId: recv.id, producerId: cam.producerId });
    expect(consumer).toMatchObject({ producerId: cam.producerId, peerId: alice.welcome.participantId, kind: "video", source: "camera" });
    expect(consumer.rtpParameters.codecs[0]?.mimeType).toBe("video/VP8");
    await bob.client.request("resumeConsumer", { consumerId: consumer.consumerId });

    // A late joiner learns about the producers that already exist.
    const carol = await joined(roomId, "Carol");
    expect(carol.welcome.peers.find((p) => p.id === alice.welcome.participantId)?.producers.map((p) => p.source).sort()).toEqual([
      "camera",
      "mic",
    ]);

    await alice.client.request("closeProducer", { producerId: cam.producerId });
    expect(await bob.client.nextEvent("producerClosed")).toEqual({ peerId: alice.welcome.participantId, producerId: cam.producerId });
    await expectError(bob.client.request("resumeConsumer", { consumerId: consumer.consumerId }), "not_found");

    await alice.client.request("leave", {});
    expect((await alice.client.closed).code).toBe(1000);
    expect(await bob.client.nextEvent("peerLeft")).toEqual({ peerId: alice.welcome.participantId, reason: "left" });

    // A socket that just drops shows as reconnecting (it may resume).
    carol.client.close();
    expect(await bob.client.nextEvent("presence")).toEqual({ peerId: carol.welcome.participantId, presence: "reconnecting" });
    bob.client.close();
  });

  it("keeps a socket that only said hello invisible, with its transports, until it joins", async () => {
    const { roomId, token } = await createRoom(stack.url);
    const alice = await joined(roomId, "Alice", token);
    const lurker = await RoomClient.connect(stack.url, roomId, await guestToken(stack.url, roomId));
    const hello = await lurker.request("hello", { protocol: PROTOCOL_VERSION });
    const recv = await lurker.request("createTransport", { direction: "recv", rtpCapabilities: hello.routerRtpCapabilities! });
    expect(recv.id).toBeTruthy();
    const send = await alice.client.request("createTransport", { direction: "send" });
    const { producerId } = await alice.client.request("produce", { transportId: send.id, kind: "audio", source: "mic", rtpParameters: OPUS_SEND });
    // Not joined: no room events, no consuming, and nobody was told about it.
    await expectError(lurker.request("consume", { transportId: recv.id, producerId }), "not_joined");
    const info = (await (await fetch(`${stack.url}/api/rooms/${roomId}`)).json()) as { participants: number };
    expect(info.participants).toBe(1);
    const answer = await lurker.request("join", { displayName: "Lurker" });
    if (answer.status !== "joined") throw new Error("expected to join directly");
    const { peers } = answer;
    expect(peers.map((p) => p.displayName)).toEqual(["Alice"]);
    expect((await alice.client.nextEvent("peerJoined")).peer).toMatchObject({ id: hello.participantId, displayName: "Lurker" });
    // The producer it missed while on the pre-join page is in the join answer, and consumable.
    expect(peers[0]?.producers.map((p) => p.id)).toEqual([producerId]);
    expect(await lurker.request("consume", { transportId: recv.id, producerId })).toMatchObject({ producerId, kind: "audio" });
    lurker.close();
    alice.client.close();
  });

  it("lets a host mute (the node closes the audio producer) and kick; a guest may do neither", async () => {
    const { roomId, token } = await createRoom(stack.url);
    const host = await joined(roomId, "Host", token);
    const guest = await joined(roomId, "Guest");
    const watcher = await joined(roomId, "Watcher");
    const send = await guest.client.request("createTransport", { direction: "send" });
    const { producerId } = await guest.client.request("produce", { transportId: send.id, kind: "audio", source: "mic", rtpParameters: OPUS_SEND });
    const recv = await watcher.client.request("createTransport", { direction: "recv", rtpCapabilities: watcher.welcome.routerRtpCapabilities });
    const consumer = await watcher.client.request("consume", { transportId: recv.id, producerId });

    // Pausing one's own producer is announced; the node pauses forwarding.
    await guest.client.request("setProducerPaused", { producerId, paused: true });
    expect(await watcher.client.nextEvent("producerPaused")).toEqual({ peerId: guest.welcome.participantId, producerId, paused: true });

    await expectError(guest.client.request("mute", { participantId: watcher.welcome.participantId }), "forbidden");
    await expectError(guest.client.request("kick", { participantId: host.welcome.participantId }), "forbidden");

    await host.client.request("mute", { participantId: guest.welcome.participantId });
    expect(await guest.client.nextEvent("mutedBy")).toEqual({ by: host.welcome.participantId });
    expect(await watcher.client.nextEvent("producerClosed")).toEqual({ peerId: guest.welcome.participantId, producerId });
    // Closed on the node: the watcher's consumer is gone there too.
    await expectError(watcher.client.request("resumeConsumer", { consumerId: consumer.consumerId }), "not_found");

    await host.client.request("kick", { participantId: guest.welcome.participantId });
    expect(await guest.client.nextEvent("removed")).toEqual({ reason: "kicked" });
    expect((await guest.client.closed).code).toBe(4003);
    expect(await watcher.client.nextEvent("peerLeft")).toEqual({ peerId: guest.welcome.participantId, reason: "kicked" });
    host.client.close();
    watcher.client.close();
  });

  it("enforces ownership: nobody can use another participant's transports or producers", async () => {
    const { roomId, token } = await createRoom(stack.url);
    const alice = await joined(roomId, "Alice", token);
    const mallory = await joined(roomId, "Mallory");
    const aliceSend = await alice.client.request("createTransport", { direction: "send" });
    const { producerId } = await alice.client.request("produce", { transportId: aliceSend.id, kind: "audio", source: "mic", rtpParameters: OPUS_SEND });
    const malloryRecv = await mallory.client.request("createTransport", { direction: "recv", rtpCapabilities: mallory.welcome.routerRtpCapabilities });

    await expectError(mallory.client.request("connectTransport", { transportId: aliceSend.id, dtlsParameters: { fingerprints: [{ algorithm: "sha-256", value: "AA" }] } }), "not_found");
    await expectError(mallory.client.request("produce", { transportId: aliceSend.id, kind: "audio", source: "mic", rtpParameters: OPUS_SEND }), "not_found");
    await expectError(mallory.client.request("closeProducer", { producerId }), "not_found");
    await expectError(mallory.client.request("produce", { transportId: malloryRecv.id, kind: "audio", source: "mic", rtpParameters: OPUS_SEND }), "forbidden");
    await expectError(alice.client.request("consume", { transportId: malloryRecv.id, producerId }), "not_found");
    await expectError(alice.client.request("produce", { transportId: aliceSend.id, kind: "audio", source: "mic", rtpParameters: OPUS_SEND }), "invalid_params");
    await expectError(alice.client.request("produce", { transportId: aliceSend.id, kind: "video", source: "mic", rtpParameters: OPUS_SEND }), "invalid_params");
    await expectError(alice.client.request("join", { displayName: "again" }), "already_joined");
    await expectError(alice.client.request("hello", { protocol: PROTOCOL_VERSION }), "already_joined");
    // The node's own validation comes back typed, too.
    await expectError(
      alice.client.request("produce", {
        transportId: aliceSend.id,
        kind: "video",
        source: "camera",
        rtpParameters: { codecs: [{ mimeType: "video/unknown", payloadType: 120, clockRate: 90000 }] },
      }),
      "media_error",
    );
    alice.client.close();
    mallory.client.close();
  });

  it("refuses a node with a wrong secret; the node says why and keeps retrying", async () => {
    const impostor = await stack.startNode(
      { id: "impostor", rtcPortBase: 30150, env: { NODE_SECRET: "wrong-secret-0123456789" } },
      (entry) => entry.msg === "edge refused the node connection: HTTP 401 (check NODE_SECRET)",
    );
    // Refused twice: it backs off and redials instead of exiting.
    await waitForLogLine(impostor, (entry) => entry.status === 401, 15_000, "impostor");
    expect(impostor.exitCode).toBeNull();
    await stopChild(impostor);
  });

  it("stops a node at once on SIGINT (cleanly, exit 0) and stops choosing it", async () => {
    const node = stack.nodes.get("sig-node-1")!;
    await stopChild(node, 5000, "SIGINT");
    expect(node.exitCode).toBe(0);
    // The node DO learns of the close asynchronously; each attempt is a fresh room and socket.
    const attempt = async () => {
      const { roomId, token } = await createRoom(stack.url);
      const client = await RoomClient.connect(stack.url, roomId, token);
      try {
        const hello = await client.request("hello", { protocol: PROTOCOL_VERSION });
        if (hello.mediaError) return hello.mediaError.code;
        return "joined";
      } catch (error) {
        return isProtocolError(error) ? error.code : String(error);
      } finally {
        client.close();
      }
    };
    await expect.poll(attempt, { timeout: 10_000, interval: 200 }).toBe("no_node_available");
  });
});
