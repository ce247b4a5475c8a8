import { createEffect, createRoot } from "solid-js";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { FakeHandler, testFakeParameters, type types } from "mediasoup-client";
import { CallSession } from "../src/state/call.ts";
import { MediaEngine } from "../src/lib/media-engine.ts";
import { fakeDevices } from "./support/fake-devices.ts";
import { FakeRoom, RoomError } from "./support/fake-room.ts";

/**
 * The call session end to end in Node: a scripted room on loopback for signalling and
 * mediasoup-client's FakeHandler for WebRTC, so every request the session makes, and
 * every transport it builds, can be checked.
 */

type Handler = ReturnType<types.HandlerFactory["factory"]> & FakeHandler;

function fakeMedia() {
  const handlers: Array<{ handler: Handler; iceServers: RTCIceServer[] | undefined; direction: string }> = [];
  const base = FakeHandler.createFactory(testFakeParameters);
  const handlerFactory: types.HandlerFactory = {
    ...base,
    factory: (options) => {
      const handler = base.factory(options) as Handler;
      handlers.push({ handler, iceServers: options.iceServers, direction: options.direction });
      return handler;
    },
  };
  return { handlers, device: { handlerFactory } };
}

function memoryStorage(): Pick<Storage, "getItem" | "setItem"> {
  const map = new Map<string, string>();
  return { getItem: (k) => map.get(k) ?? null, setItem: (k, v) => void map.set(k, v) };
}

let room: FakeRoom;
let call: CallSession | undefined;

beforeEach(async () => {
  room = await FakeRoom.start();
});
afterEach(async () => {
  call?.dispose();
  call = undefined;
  await room.close();
});

function session(devices = fakeDevices(), statsIntervalMs = 0) {
  const media = fakeMedia();
  call = new CallSession("abcd-efgh-ijkl", {
    endpoint: room.endpoint,
    devices,
    media: { device: media.device },
    profile: false,
    statsIntervalMs,
    storage: memoryStorage(),
  });
  return { call, media, devices };
}

async function joined(name = "Alice") {
  const s = session();
  s.call.prepare();
  await expect.poll(() => s.call.state.ready).toBe(true);
  await s.call.join(name);
  expect(s.call.state.phase).toBe("joined");
  return s;
}

const sources = (calls: Array<Record<string, unknown>>) => calls.map((c) => c.source).sort();

describe("CallSession", () => {
  it("warms up before the click: hello and both transports, without TURN servers until the join answer brings them", async () => {
    const { call, media } = session();
    call.prepare();
    await expect.poll(() => call.state.ready).toBe(true);
    expect(room.calls("hello")).toHaveLength(1);
    expect(room.calls("createTransport").map((c) => c.direction).sort()).toEqual(["recv", "send"]);
    expect(room.calls("createTransport").find((c) => c.direction === "recv")?.rtpCapabilities).toBeDefined();
    expect(media.handlers.map((h) => h.direction).sort()).toEqual(["recv", "send"]);
    // TURN credentials are for people in the call, not a pre-join page.
    for (const { iceServers } of media.handlers) expect(iceServers ?? []).toEqual([]);
    await expect.poll(() => call.local.state.cameraTrack?.kind).toBe("video");
    expect(call.local.state.micTrack?.kind).toBe("audio");
    // Nothing is sent before joining: the others cannot see a pre-join page.
    expect(room.calls("produce")).toHaveLength(0);
    expect(room.calls("join")).toHaveLength(0);

    const updates = media.handlers.map(({ handler }) => vi.spyOn(handler, "updateIceServers"));
    await call.join("Alice");
    for (const update of updates) {
      expect(update).toHaveBeenCalledWith([{ urls: "turn:127.0.0.1:3478?transport=udp", username: "1700000000:me", credential: "secret" }]);
    }
    // Given before the first produce, so the send transport gathers relay candidates.
    await expect.poll(() => room.calls("produce")).toHaveLength(2);
    expect(room.calls("iceServers")).toHaveLength(0);
  });

  it("a call of two warms up no SFU transports; the room's switch to the SFU brings them, and the switch back gives them back", async () => {
    room.mediaMode = "p2p";
    const { call } = session();
    call.prepare();
    await expect.poll(() => call.state.ready).toBe(true);
    await call.join("Alice");
    expect(call.state).toMatchObject({ phase: "joined", mediaMode: "p2p" });
    // Alone in a peer-to-peer room: nothing on the SFU at all.
    expect(room.calls("createTransport")).toHaveLength(0);
    expect(room.calls("produce")).toHaveLength(0);

    room.emit("mediaMode", { mode: "sfu", reason: "a third participant joined" });
    await expect.poll(() => sources(room.calls("produce"))).toEqual(["camera", "mic"]);
    expect(room.calls("createTransport").map((c) => c.direction).sort()).toEqual(["recv", "send"]);
    expect(call.state.mediaPath).toBe("server");

    // Back to P2P with nobody to hand over to: the transports go at once.
    room.emit("mediaMode", { mode: "p2p", reason: "the call has no one to connect to yet" });
    await expect.poll(() => room.calls("closeTransport").length).toBe(2);
    expect(call.state.mediaPath).toBeUndefined();
  });

  it("a guest admitted from the lobby asks for its TURN servers before consuming", async () => {
    room.role = "guest";
    room.lobby = true;
    const bob = room.addPeer("bob", "Bob", [{ source: "camera" }]);
    const { call, media } = session();
    call.prepare();
    await expect.poll(() => call.state.ready).toBe(true);
    await call.join("Guest");
    expect(call.state.phase).toBe("lobby");
    expect(room.calls("iceServers")).toHaveLength(0);
    const updates = media.handlers.map(({ handler }) => vi.spyOn(handler, "updateIceServers"));
    room.emit("admitted", { peers: [bob], lastSeq: 0, mediaMode: "sfu" });
    await expect.poll(() => call.state.peers.bob?.streams[bob.producers[0]!.id]?.track).toBeDefined();
    expect(room.calls("iceServers")).toHaveLength(1);
    const consumeAt = room.requests.findIndex((r) => r.method === "consume");
    expect(room.requests.findIndex((r) => r.method === "iceServers")).toBeLessThan(consumeAt);
    for (const update of updates) expect(update).toHaveBeenCalledWith([{ urls: "turn:127.0.0.1:3478", username: "fresh", credential: "fresh" }]);
  });

  it("joins: shows who is there, consumes what they send first, then sends microphone and camera", async () => {
    const bob = room.addPeer("bob", "Bob", [{ source: "camera" }, { source: "mic", paused: true }]);
    const { call } = await joined();
    await expect.poll(() => sources(room.calls("produce"))).toEqual(["camera", "mic"]);
    const peer = call.state.peers.bob!;
    expect(peer.displayName).toBe("Bob");
    const [camera, mic] = bob.producers;
    expect(peer.streams[camera!.id]?.track?.kind).toBe("video");
    expect(peer.streams[mic!.id]?.paused).toBe(true);
    const order = room.requests.map((r) => r.method);
    expect(order.lastIndexOf("consume")).toBeLessThan(order.indexOf("produce"));
    expect(room.calls("join")).toEqual([{ displayName: "Alice" }]);
  });

  it("joins with the microphone muted: its producer starts paused, the camera is not sent", async () => {
    const { call } = session();
    call.prepare();
    await expect.poll(() => call.local.state.micTrack).toBeDefined();
    await call.toggleMic();
    await call.toggleCamera();
    expect(call.local.state.cameraTrack).toBeUndefined();
    await call.join("Alice");
    await expect.poll(() => room.calls("produce")).toHaveLength(1);
    expect(room.calls("produce")[0]).toMatchObject({ source: "mic", paused: true });
  });

  it("mutes and unmutes: the producer pauses, the room is told, the track is disabled", async () => {
    const { call } = await joined();
    await expect.poll(() => room.calls("produce")).toHaveLength(2);
    await call.toggleMic();
    expect(call.local.state.micOn).toBe(false);
    expect(call.local.state.micTrack?.enabled).toBe(false);
    const [pause] = room.calls("setProducerPaused");
    expect(pause).toMatchObject({ paused: true });
    await call.toggleMic();
    expect(room.calls("setProducerPaused")[1]).toMatchObject({ producerId: pause!.producerId, paused: false });
    expect(call.local.state.micTrack?.enabled).toBe(true);
  });

  it("turns the camera off (track stopped, producer paused) and on again (new track swapped in)", async () => {
    const { call, devices } = await joined();
    await expect.poll(() => room.calls("produce")).toHaveLength(2);
    const first = call.local.state.cameraTrack!;
    await call.toggleCamera();
    expect(first.readyState).toBe("ended");
    expect(room.calls("setProducerPaused").at(-1)).toMatchObject({ paused: true });
    await call.toggleCamera();
    const second = call.local.state.cameraTrack!;
    expect(second).not.toBe(first);
    expect(devices.tracks).toContain(second);
    expect(room.calls("setProducerPaused").at(-1)).toMatchObject({ paused: false });
    // Swapped on the existing producer: no new produce.
    expect(room.calls("produce")).toHaveLength(2);
  });

  it("applies what others do: pause, new producer, speaker, departure", async () => {
    const bob = room.addPeer("bob", "Bob", [{ source: "camera" }]);
    const { call } = await joined();
    const cameraId = bob.producers[0]!.id;
    await expect.poll(() => call.state.peers.bob?.streams[cameraId]?.track).toBeDefined();
    room.emit("producerPaused", { peerId: "bob", producerId: cameraId, paused: true });
    await expect.poll(() => call.state.peers.bob?.streams[cameraId]?.paused).toBe(true);
    const screen = room.producerInfo("screen");
    bob.producers.push(screen);
    room.emit("newProducer", { peerId: "bob", producer: screen });
    await expect.poll(() => call.state.peers.bob?.streams[screen.id]?.track?.kind).toBe("video");
    room.emit("activeSpeaker", { peerId: "bob" }, { logged: false });
    await expect.poll(() => call.state.activeSpeakerId).toBe("bob");
    room.emit("peerLeft", { peerId: "bob", reason: "left" });
    await expect.poll(() => call.state.peers.bob).toBeUndefined();
    expect(call.state.activeSpeakerId).toBeUndefined();
  });

  it("resumes a dropped socket: shows reconnecting, applies missed events once, resends unconfirmed chat with the same clientId", async () => {
    room.addPeer("bob", "Bob");
    const { call } = await joined();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const resume = room.handlers.resume!;
    room.handlers.resume = async (params, socket) => {
      await gate;
      return resume(params, socket);
    };
    // The room stores this message, but the socket drops before its answer.
    const sendChat = room.handlers.sendChat!;
    room.handlers.sendChat = (params, socket) => {
      const result = sendChat(params, socket);
      room.drop();
      return result;
    };
    await call.chat.send("lost answer");
    await expect.poll(() => call.state.signal).toBe("reconnecting");
    room.handlers.sendChat = sendChat;

    const carol = room.addPeer("carol", "Carol");
    room.miss("peerJoined", { peer: carol });
    room.say("bob", "while you were away", { missed: true });
    await call.chat.send("written while reconnecting");
    expect(call.chat.state.items.at(-1)).toMatchObject({ text: "written while reconnecting", status: "sending" });

    release();
    await expect.poll(() => call.state.signal).toBe("connected");
    expect(call.state.phase).toBe("joined");
    expect(call.state.peers.carol?.displayName).toBe("Carol");
    await expect.poll(() => call.chat.state.items.map((i) => `${i.text}:${i.status}`)).toEqual([
      "lost answer:sent",
      "while you were away:sent",
      "written while reconnecting:sent",
    ]);
    // Each stored once: an event is not proof of storage (chat is delivered before its
    // write commits), so "lost answer" went again with its clientId and the room answered
    // with the stored copy.
    expect(room.chat.map((m) => m.text)).toEqual(["lost answer", "while you were away", "written while reconnecting"]);
    expect(room.calls("sendChat").map((c) => c.text)).toEqual(["lost answer", "lost answer", "written while reconnecting"]);
    // The transports survived the signalling hiccup.
    expect(room.calls("createTransport")).toHaveLength(2);
  });

  it("when the room no longer holds its place, joins again from the call page (never back to pre-join)", async () => {
    room.addPeer("bob", "Bob", [{ source: "camera" }]);
    const { call } = await joined();
    await expect.poll(() => room.calls("produce")).toHaveLength(2);
    const phases: string[] = [];
    const stop = createRoot((dispose) => {
      createEffect(() => phases.push(call.state.phase));
      return dispose;
    });
    room.handlers.resume = () => {
      throw new RoomError("resume_failed", "cannot resume: the resume window has passed; join again");
    };
    room.drop();
    await expect.poll(() => room.calls("hello")).toHaveLength(2);
    await expect.poll(() => room.calls("join")).toHaveLength(2);
    await expect.poll(() => call.state.signal).toBe("connected");
    await expect.poll(() => room.calls("produce")).toHaveLength(4);
    expect(call.state.peers.bob?.displayName).toBe("Bob");
    expect(phases).toEqual(["joined"]);
    stop();
  });

  it("rebuilds media after a reset without a click: new transports, its tracks sent again, the others' new producers consumed, nothing old asked for", async () => {
    const bob = room.addPeer("bob", "Bob", [{ source: "camera" }, { source: "mic" }]);
    const { call, media } = await joined();
    await expect.poll(() => room.calls("produce")).toHaveLength(2);
    await expect.poll(() => Object.values(call.state.peers.bob!.streams).filter((s) => s.track).length).toBe(2);
    const before = room.requests.length;
    const old = bob.producers.map((p) => p.id);

    room.resetMedia();
    // Bob's streams went with the old node; Bob stays in the call.
    await expect.poll(() => Object.keys(call.state.peers.bob!.streams)).toEqual([]);
    expect(call.state.peers.bob!.displayName).toBe("Bob");
    await expect.poll(() => room.calls("produce")).toHaveLength(4);
    await expect.poll(() => call.state.media).toBe("connected");
    const after = room.requests.slice(before).map((r) => r.method);
    expect(after.filter((m) => m === "createTransport")).toHaveLength(2);
    // Fresh TURN credentials for the new transports.
    expect(after).toContain("iceServers");
    expect(media.handlers.slice(2).map((h) => h.iceServers)).toEqual([
      [{ urls: "turn:127.0.0.1:3478", username: "fresh", credential: "fresh" }],
      [{ urls: "turn:127.0.0.1:3478", username: "fresh", credential: "fresh" }],
    ]);
    expect(sources(room.calls("produce").slice(2))).toEqual(["camera", "mic"]);
    // The old transports were closed: four handlers built, the first two closed.
    expect(media.handlers).toHaveLength(4);
    expect(media.handlers.slice(0, 2).every(({ handler }) => (handler as unknown as { _closed: boolean })._closed)).toBe(true);

    // Bob produces again on the new router: his new producers are consumed, the old never.
    for (const source of ["camera", "mic"] as const) {
      const producer = room.producerInfo(source);
      bob.producers.push(producer);
      room.emit("newProducer", { peerId: "bob", producer });
    }
    await expect.poll(() => Object.values(call.state.peers.bob!.streams).filter((s) => s.track).length).toBe(2);
    const consumed = room.requests.slice(before).filter((r) => r.method === "consume").map((r) => r.params.producerId as string);
    expect(consumed.sort()).toEqual(bob.producers.map((p) => p.id).sort());
    expect(consumed.some((id) => old.includes(id))).toBe(false);
  });

  it("restarts ICE when a transport fails: fresh TURN credentials, new ICE parameters from the room", async () => {
    const { call, media } = session();
    call.prepare();
    await expect.poll(() => call.state.ready).toBe(true);
    const send = media.handlers.find((h) => h.direction === "send")!.handler;
    const restartIce = vi.spyOn(send, "restartIce");
    const updateIceServers = vi.spyOn(send, "updateIceServers");
    send.setConnectionState("failed");
    await expect.poll(() => restartIce.mock.calls.length).toBe(1);
    expect(room.calls("iceServers")).toHaveLength(1);
    expect(room.calls("restartIce")).toEqual([{ transportId: expect.stringMatching(/^transport-/) }]);
    expect(updateIceServers).toHaveBeenCalledWith([{ urls: "turn:127.0.0.1:3478", username: "fresh", credential: "fresh" }]);
    expect(restartIce.mock.calls[0]![0]).toMatchObject({ usernameFragment: "fresh-ufrag" });
    send.setConnectionState("connected");
  });

  it("asks for the simulcast layer that fits each tile", async () => {
    const bob = room.addPeer("bob", "Bob", [{ source: "camera" }]);
    const { call } = await joined();
    const camera = bob.producers[0]!.id;
    await expect.poll(() => call.state.peers.bob!.streams[camera]?.track).toBeDefined();
    call.setTileSize("bob", camera, 112, 1);
    await expect.poll(() => room.calls("setPreferredLayers")).toHaveLength(1);
    expect(room.calls("setPreferredLayers")[0]).toMatchObject({ spatialLayer: 0 });
    await expect.poll(() => call.state.peers.bob!.streams[camera]?.layer).toBe(0);
    call.setTileSize("bob", camera, 300, 1);
    call.setTileSize("bob", camera, 720, 1); // only the last size of a burst is asked for
    await expect.poll(() => room.calls("setPreferredLayers")).toHaveLength(2);
    expect(room.calls("setPreferredLayers")[1]).toMatchObject({ spatialLayer: 2 });
  });

  it("asks for smaller layers while most received video suffers, and for the tile's layer again once it recovers", async () => {
    // Each consumer's stats: packets counted up every sample, with loss when the line is bad.
    let lossy = false;
    const counters = new Map<string, { received: number; lost: number }>();
    const stats = vi.spyOn(MediaEngine.prototype, "receiveStats").mockImplementation(async (producerId: string) => {
      const c = counters.get(producerId) ?? { received: 0, lost: 0 };
      c.received += 1000;
      c.lost += lossy ? 200 : 0;
      counters.set(producerId, c);
      return new Map([["in", { type: "inbound-rtp", kind: "video", ssrc: 1, packetsReceived: c.received, packetsLost: c.lost, jitter: 0.005 }]]) as unknown as RTCStatsReport;
    });
    try {
      const bob = room.addPeer("bob", "Bob", [{ source: "camera" }]);
      const carol = room.addPeer("carol", "Carol", [{ source: "camera" }]);
      const s = session(fakeDevices(), 40);
      s.call.prepare();
      await expect.poll(() => s.call.state.ready).toBe(true);
      await s.call.join("Alice");
      const cameras = [["bob", bob.producers[0]!.id], ["carol", carol.producers[0]!.id]] as const;
      for (const [peer, id] of cameras) await expect.poll(() => s.call.state.peers[peer]!.streams[id]?.track).toBeDefined();
      for (const [peer, id] of cameras) s.call.setTileSize(peer, id, 720, 1);
      const layers = () => new Map(room.calls("setPreferredLayers").map((c) => [c.consumerId, c.spatialLayer]));
      await expect.poll(() => [...layers().values()]).toEqual([2, 2]);

      lossy = true;
      await expect.poll(() => [...layers().values()], { timeout: 3000 }).toEqual([0, 0]);
      await expect.poll(() => cameras.map(([peer]) => s.call.state.peers[peer]!.quality)).toEqual(["poor", "poor"]);
      lossy = false;
      await expect.poll(() => [...layers().values()], { timeout: 3000 }).toEqual([2, 2]);
      expect(room.calls("setPreferredLayers").map((c) => c.spatialLayer).slice(0, 4)).toEqual([2, 2, 0, 0]);
    } finally {
      stats.mockRestore();
    }
  });

  it("a mute pressed while the microphone's producer is still being made is not lost", async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const produce = room.handlers.produce!;
    room.handlers.produce = async (params, socket) => {
      if ((params as { source: string }).source === "mic") await gate;
      return produce(params, socket);
    };
    const { call } = session();
    call.prepare();
    await expect.poll(() => call.state.ready).toBe(true);
    const joining = call.join("Alice");
    await expect.poll(() => room.calls("produce").map((c) => c.source)).toContain("mic");
    await call.toggleMic();
    expect(call.local.state.micOn).toBe(false);
    release();
    await joining;
    await expect.poll(() => room.calls("setProducerPaused")).toEqual([{ producerId: expect.any(String), paused: true }]);
  });

  it("waits in the lobby and enters when admitted", async () => {
    room.role = "guest";
    room.lobby = true;
    const bob = room.addPeer("bob", "Bob", [{ source: "camera" }]);
    const { call } = session();
    call.prepare();
    await call.join("Guest");
    expect(call.state.phase).toBe("lobby");
    room.emit("admitted", { peers: [bob], lastSeq: 0, mediaMode: "sfu" });
    await expect.poll(() => call.state.phase).toBe("joined");
    await expect.poll(() => call.state.peers.bob!.streams[bob.producers[0]!.id]?.track).toBeDefined();
  });

  it("hosts see who waits and act on it", async () => {
    const { call } = await joined();
    room.emit("lobbyChanged", { waiting: [{ id: "dave", displayName: "Dave", avatar: { color: "#ffffff", initials: "D" }, since: 1 }] });
    await expect.poll(() => call.state.lobby.map((w) => w.displayName)).toEqual(["Dave"]);
    expect(call.state.notices.at(-1)?.text).toContain("Dave");
    await call.admit("dave");
    await call.setLocked(true);
    await call.mutePeer("bob");
    await call.kick("bob");
    expect(room.calls("admit")).toEqual([{ participantId: "dave" }]);
    expect(room.calls("updateSettings")).toEqual([{ locked: true }]);
    expect(call.state.settings?.locked).toBe(true);
    expect(room.calls("mute")).toEqual([{ participantId: "bob" }]);
    expect(room.calls("kick")).toEqual([{ participantId: "bob" }]);
  });

  it("muted by a host: the microphone producer is gone and the microphone shows off", async () => {
    const { call } = await joined();
    await expect.poll(() => room.calls("produce")).toHaveLength(2);
    room.emit("mutedBy", { by: "host" });
    await expect.poll(() => call.local.state.micOn).toBe(false);
    expect(call.state.notices.some((n) => n.text.includes("muted"))).toBe(true);
    // Unmuting sends a new microphone producer (the old one was closed by the room).
    await call.toggleMic();
    await expect.poll(() => room.calls("produce").filter((p) => p.source === "mic")).toHaveLength(2);
  });

  it("removed by a host: the call ends with the reason and the devices stop", async () => {
    const { call } = await joined();
    const camera = call.local.state.cameraTrack!;
    room.emit("removed", { reason: "kicked" }, { logged: false });
    await expect.poll(() => call.state.phase).toBe("removed");
    expect(call.state.error?.kind).toBe("kicked");
    expect(camera.readyState).toBe("ended");
  });

  it("says why a join was refused", async () => {
    room.handlers.join = () => {
      throw new RoomError("room_locked", "the room is locked");
    };
    const { call } = session();
    call.prepare();
    await call.join("Eve");
    expect(call.state.phase).toBe("failed");
    expect(call.state.error?.kind).toBe("locked");
  });

  it("asks for a reload before the click when the room speaks a newer protocol", async () => {
    room.handlers.hello = () => {
      throw new RoomError("protocol_mismatch", "this page speaks protocol 1, the room 2: reload the page");
    };
    const { call } = session();
    call.prepare();
    await expect.poll(() => call.state.phase).toBe("failed");
    expect(call.state.error).toEqual({ kind: "reload", message: "Meridian was updated: reload the page to join." });
  });

  it("leaves: tells the room, stops the devices", async () => {
    const { call } = await joined();
    const mic = call.local.state.micTrack!;
    call.leave();
    await room.next("leave");
    expect(call.state.phase).toBe("left");
    expect(mic.readyState).toBe("ended");
  });
});
