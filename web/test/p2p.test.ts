import { createStore } from "solid-js/store";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { MediaSource, P2PSignal } from "@meridian/protocol";
import { hasMedia } from "../src/lib/first-media.ts";
import { pathOf, withStartBitrate, type P2PLinkOptions, type P2PLinkState, type RemoteP2PTrack } from "../src/lib/p2p-link.ts";
import { PeerToPeer, type Link } from "../src/state/call-p2p.ts";
import { RemotePeers } from "../src/state/call-peers.ts";
import type { Publisher } from "../src/state/call-publisher.ts";
import { MediaQuality } from "../src/state/call-quality.ts";
import { streamOf, type CallCore, type CallState, type RemoteStream } from "../src/state/call-types.ts";
import type { RoomConnection } from "../src/state/room-connection.ts";

/**
 * The switches between peer-to-peer and the SFU, decided in the session: which path is
 * opened and when the old one goes, driven by a scripted link (Node has no WebRTC) whose
 * receive stats say whether its media flows yet.
 */

const FLOWING = { type: "inbound-rtp", kind: "video", framesDecoded: 40, framesPerSecond: 30, packetsReceived: 500 };
const STARTING = { type: "inbound-rtp", kind: "video", framesDecoded: 2, framesPerSecond: 4, packetsReceived: 20 };
const report = (...stats: object[]) => ({ forEach: (cb: (s: object) => void) => stats.forEach(cb) }) as unknown as RTCStatsReport;
/** A class instance, like a real track: the store keeps it as it is (it wraps only plain objects). */
class FakeTrack {
  readonly id: string;
  readonly kind: string;
  constructor(id: string, kind: string) {
    this.id = id;
    this.kind = kind;
  }
}
const track = (id: string) => new FakeTrack(id, id.includes("mic") ? "audio" : "video") as unknown as MediaStreamTrack;

class ScriptedLink {
  options!: P2PLinkOptions;
  /** Made warm, on the pre-join page. */
  readonly warm: boolean;
  state: P2PLinkState = "connecting";
  received: P2PSignal[] = [];
  closed = false;
  relayOnly: boolean;
  /** What the link's receivers report, by source. */
  flowing = new Set<MediaSource>();
  produced: MediaSource[] = [];

  constructor(options: P2PLinkOptions | { relayOnly: boolean }) {
    this.relayOnly = options.relayOnly;
    this.warm = !("peerId" in options);
    if ("peerId" in options) this.options = options;
  }
  get peerId(): string {
    return this.options?.peerId ?? "";
  }
  bind(options: P2PLinkOptions): this {
    this.options = options;
    return this;
  }
  receive(signal: P2PSignal): Promise<void> {
    this.received.push(signal);
    return Promise.resolve();
  }
  close(): void {
    this.closed = true;
    this.state = "closed";
  }
  setRelayOnly(relayOnly: boolean): void {
    this.relayOnly = relayOnly;
  }
  path = async (): Promise<"relayed" | "direct"> => (this.relayOnly ? "relayed" : "direct");
  stats = () => Promise.resolve(report());
  receiveStats = (source: MediaSource) => Promise.resolve(report(this.flowing.has(source) ? FLOWING : STARTING));
  setPaused = async () => undefined;
  producer = () => undefined;
  produce = async (_track: MediaStreamTrack, source: MediaSource) => void this.produced.push(source);
  pausedInRoom = () => undefined;
  replaceTrack = async () => undefined;
  closeProducer = async () => undefined;

  become(state: P2PLinkState): void {
    this.state = state;
    this.options.onState(state);
  }
  sends(tracks: Array<[MediaSource, MediaStreamTrack, boolean?]>): void {
    const map = new Map<MediaSource, RemoteP2PTrack>();
    for (const [source, t, paused] of tracks) map.set(source, { source, kind: t.kind as "audio" | "video", track: t, paused: paused ?? false });
    this.options.onRemote(map);
  }
}

function initialState(): CallState {
  return {
    phase: "joined",
    error: undefined,
    signal: "connected",
    media: "connected",
    mediaProblem: undefined,
    participantId: "me",
    role: "guest",
    suggestedName: "",
    displayName: "Me",
    avatar: undefined,
    settings: undefined,
    ready: true,
    peers: {},
    activeSpeakerId: undefined,
    lobby: [],
    screenTrack: undefined,
    quality: "unknown",
    mediaMode: "sfu",
    mediaPath: undefined,
    notices: [],
  };
}

let harness: ReturnType<typeof setup>;

function setup() {
  const [state, set] = createStore<CallState>(initialState());
  const requests: Array<[string, unknown]> = [];
  const dropped: string[] = [];
  /** What the SFU's consumers report, by producer id. */
  const sfuFlowing = new Set<string>();
  const connection = {
    signalling: {
      request: async (method: string, params: unknown) => {
        requests.push([method, params]);
        return {};
      },
    },
    media: {
      iceServers: [{ urls: "turn:127.0.0.1:3478", username: "u", credential: "c" }],
      dropProducer: (id: string) => void dropped.push(id),
      refreshIceServers: async () => undefined,
    },
  } as unknown as RoomConnection;
  const core: CallCore = {
    state,
    set,
    connection: () => connection,
    joinedMedia: () => undefined,
    senders: () => [],
    receiveStats: (stream) => Promise.resolve(report(sfuFlowing.has(stream.producerId) ? FLOWING : STARTING)),
    sendStats: () => undefined,
    notify: () => undefined,
  };
  const peers = new RemotePeers(core, new MediaQuality(core, 0));
  const published: unknown[] = [];
  const publisher = { publish: async (sender: unknown) => void published.push(sender) } as unknown as Publisher;
  let sfuActive = false;
  const sfu = {
    start: vi.fn(async () => void (sfuActive = true)),
    release: vi.fn(async () => void (sfuActive = false)),
    active: () => sfuActive,
  };
  const links: ScriptedLink[] = [];
  const local = { state: { hideAddress: false, micOn: true } };
  const p2p = new PeerToPeer(core, {
    peers,
    publisher,
    local: local as never,
    sfu,
    createLink: (options) => {
      const link = new ScriptedLink(options);
      links.push(link);
      return link as unknown as Link;
    },
  });
  const addPeer = (id: string) =>
    set("peers", id, { id, displayName: id, role: "guest", presence: "connected", avatar: { color: "#fff", initials: id }, streams: {}, quality: "unknown" });
  /** An SFU stream of a peer, playing (consumed) or not. */
  const sfuStream = (peerId: string, producerId: string, source: MediaSource, playing: MediaStreamTrack | undefined) =>
    set("peers", peerId, "streams", producerId, { producerId, via: "sfu", kind: source === "mic" ? "audio" : "video", source, paused: false, track: playing, layer: undefined } satisfies RemoteStream);
  return { state, set, core, peers, p2p, sfu, links, requests, dropped, published, sfuFlowing, addPeer, sfuStream, local, setSfuActive: (on: boolean) => (sfuActive = on) };
}

beforeEach(() => {
  vi.useFakeTimers();
  harness = setup();
});
afterEach(() => {
  harness.p2p.close();
  vi.useRealTimers();
});

describe("peer-to-peer in the session", () => {
  it("links the only other person, with the signals that came before the link; sends on it; never starts the SFU", async () => {
    const { p2p, links, addPeer, published, sfu, requests } = harness;
    addPeer("bob");
    const offer: P2PSignal = { type: "description", description: { type: "offer", sdp: "v=0" } };
    p2p.signal("bob", offer);
    expect(links).toHaveLength(0);
    p2p.setMode("p2p");
    expect(links).toHaveLength(1);
    expect(links[0]!.peerId).toBe("bob");
    expect(links[0]!.options.iceServers).toEqual([{ urls: "turn:127.0.0.1:3478", username: "u", credential: "c" }]);
    expect(links[0]!.received).toEqual([offer]);
    expect(published).toEqual([links[0]]);
    expect(sfu.start).not.toHaveBeenCalled();

    // Our signals go to the room, addressed to Bob.
    links[0]!.options.send({ type: "candidate", candidate: { candidate: "candidate:1 1 udp 1 127.0.0.1 1 typ host" } });
    expect(requests.at(-1)).toEqual(["p2pSignal", { to: "bob", signal: { type: "candidate", candidate: { candidate: "candidate:1 1 udp 1 127.0.0.1 1 typ host" } } }]);

    links[0]!.become("connected");
    await vi.advanceTimersByTimeAsync(0);
    expect(harness.state.mediaPath).toBe("direct");
    expect(p2p.carrying).toBe(true);
  });

  it("back from the SFU: the SFU stream plays until the link's flows, then the SFU is given back after the linger", async () => {
    const { p2p, links, addPeer, sfuStream, sfu, state, dropped, setSfuActive } = harness;
    addPeer("bob");
    setSfuActive(true);
    const sfuCam = track("sfu-cam");
    sfuStream("bob", "prod-cam", "camera", sfuCam);
    p2p.setMode("p2p");
    const link = links[0]!;
    const p2pCam = track("p2p-cam");
    link.sends([["camera", p2pCam]]);
    await vi.advanceTimersByTimeAsync(500);
    // Still the SFU's on the tile: the link's video has not got going.
    expect(streamOf(state.peers.bob!.streams, "camera")!.track).toBe(sfuCam);
    expect(state.peers.bob!.streams["p2p:camera"]!.track).toBeUndefined();

    link.flowing.add("camera");
    await vi.advanceTimersByTimeAsync(100);
    expect(streamOf(state.peers.bob!.streams, "camera")!.track).toBe(p2pCam);
    // The SFU stream stays listed, without its consumer, in case the call goes back.
    expect(state.peers.bob!.streams["prod-cam"]!.via).toBe("sfu");
    expect(state.peers.bob!.streams["prod-cam"]!.track).toBeUndefined();
    expect(dropped).toEqual(["prod-cam"]);

    // Given back only once the link is connected, and a moment later (the other side's handover).
    expect(sfu.release).not.toHaveBeenCalled();
    link.become("connected");
    await vi.advanceTimersByTimeAsync(2_900);
    expect(sfu.release).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(200);
    expect(sfu.release).toHaveBeenCalledTimes(1);
    expect(state.mediaPath).toBe("direct");
  });

  it("a link whose media never flows still takes over after the handover limit", async () => {
    const { p2p, links, addPeer, sfuStream, state, setSfuActive } = harness;
    addPeer("bob");
    setSfuActive(true);
    sfuStream("bob", "prod-cam", "camera", track("sfu-cam"));
    p2p.setMode("p2p");
    const p2pCam = track("p2p-cam");
    links[0]!.sends([["camera", p2pCam]]);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(streamOf(state.peers.bob!.streams, "camera")!.track).not.toBe(p2pCam);
    await vi.advanceTimersByTimeAsync(1_100);
    expect(streamOf(state.peers.bob!.streams, "camera")!.track).toBe(p2pCam);
  });

  it("to the SFU when a third joins: the link plays until the SFU's streams flow, then closes after the linger", async () => {
    const { p2p, links, addPeer, sfuStream, sfu, state, peers, sfuFlowing } = harness;
    addPeer("bob");
    p2p.setMode("p2p");
    const link = links[0]!;
    link.become("connected");
    const p2pCam = track("p2p-cam");
    link.sends([["camera", p2pCam]]);
    await vi.advanceTimersByTimeAsync(0);
    expect(state.peers.bob!.streams["p2p:camera"]!.track).toBe(p2pCam);

    // Carol arrives before the room's switch: nothing changes until the room says so.
    addPeer("carol");
    p2p.reconcile();
    expect(sfu.start).not.toHaveBeenCalled();
    expect(link.closed).toBe(false);

    p2p.setMode("sfu", "a third participant joined");
    expect(sfu.start).toHaveBeenCalledTimes(1);
    expect(state.mediaPath).toBe("server");
    // Bob's camera comes through the SFU; it takes the tile once it flows.
    sfuStream("bob", "prod-cam", "camera", undefined);
    const sfuCam = track("sfu-cam");
    const presented = peers.present("bob", "prod-cam", sfuCam, () => harness.core.receiveStats(state.peers.bob!.streams["prod-cam"]!));
    await vi.advanceTimersByTimeAsync(300);
    expect(streamOf(state.peers.bob!.streams, "camera")!.track).toBe(p2pCam);
    sfuFlowing.add("prod-cam");
    await vi.advanceTimersByTimeAsync(100);
    await presented;
    expect(streamOf(state.peers.bob!.streams, "camera")!.track).toBe(sfuCam);
    expect(state.peers.bob!.streams["p2p:camera"]).toBeUndefined();
    expect(link.closed).toBe(false);
    await vi.advanceTimersByTimeAsync(3_100);
    expect(link.closed).toBe(true);
    expect(p2p.link).toBeUndefined();
  });

  it("a failed link asks the room for the SFU at once, and its streams give way to the SFU's", async () => {
    const { p2p, links, addPeer, sfuStream, state, requests, peers } = harness;
    addPeer("bob");
    p2p.setMode("p2p");
    const link = links[0]!;
    link.become("connected");
    link.sends([["camera", track("p2p-cam")]]);
    await vi.advanceTimersByTimeAsync(0);
    link.become("failed");
    expect(requests.map(([m]) => m)).toContain("p2pFailed");
    expect(state.peers.bob!.streams["p2p:camera"]).toBeUndefined();
    p2p.setMode("sfu", "the direct connection failed");
    expect(link.closed).toBe(true);
    // An SFU stream arriving now shows at once: nothing to wait for.
    sfuStream("bob", "prod-cam", "camera", undefined);
    const sfuCam = track("sfu-cam");
    await peers.present("bob", "prod-cam", sfuCam, () => undefined);
    expect(streamOf(state.peers.bob!.streams, "camera")!.track).toBe(sfuCam);
  });

  it("who offers first: the one who just joined; the one already there waits for the offer; on a switch, the side that is not polite", () => {
    const { p2p, links, addPeer, peers } = harness;
    addPeer("bob");
    p2p.enter("p2p");
    expect(links[0]!.options.initiator).toBe(true);
    peers.remove("bob");
    p2p.reconcile();
    addPeer("zoe");
    p2p.peerJoined("zoe");
    expect(links[1]!.options).toMatchObject({ peerId: "zoe", initiator: false });
    p2p.close();
    // A switch back to P2P between two who were both there: "me" < "zoe", so we are not polite and offer.
    p2p.setMode("sfu");
    p2p.setMode("p2p");
    expect(links[2]!.options).toMatchObject({ peerId: "zoe", initiator: true });
  });

  it("a link warmed on the pre-join page is the one that offers when we join; one not needed is closed", () => {
    const { p2p, links, addPeer, peers } = harness;
    p2p.warm();
    expect(links).toHaveLength(1);
    expect(links[0]!.warm).toBe(true);
    addPeer("bob");
    p2p.enter("p2p");
    expect(links).toHaveLength(1);
    expect(p2p.link).toBe(links[0]);
    expect(links[0]!.options).toMatchObject({ peerId: "bob", initiator: true });

    // Warm again, but the next link waits for the other's offer: the warm one goes.
    peers.remove("bob");
    p2p.reconcile();
    p2p.warm();
    addPeer("zoe");
    p2p.peerJoined("zoe");
    expect(links[1]!.closed).toBe(true);
    expect(links[2]!.options).toMatchObject({ peerId: "zoe", initiator: false });
    // A call that goes through the SFU needs none.
    p2p.close();
    p2p.warm();
    p2p.setMode("sfu");
    expect(links[3]!.closed).toBe(true);
    // Someone who hides their address needs TURN credentials first: nothing to warm.
    harness.local.state.hideAddress = true;
    p2p.warm();
    expect(links).toHaveLength(4);
  });

  it("alone in a P2P room: no link, and no SFU transports kept", () => {
    const { p2p, links, sfu, setSfuActive } = harness;
    setSfuActive(true);
    p2p.setMode("p2p");
    expect(links).toHaveLength(0);
    expect(sfu.release).toHaveBeenCalledTimes(1);
  });

  it("the other person leaving closes the link and drops what it carried", async () => {
    const { p2p, links, addPeer, peers, state } = harness;
    addPeer("bob");
    p2p.setMode("p2p");
    links[0]!.sends([["mic", track("p2p-mic")]]);
    peers.remove("bob");
    p2p.reconcile();
    expect(links[0]!.closed).toBe(true);
    expect(state.peers.bob).toBeUndefined();
  });

  it("hide my address: a new link is relay-only, and a running one switches", () => {
    const { p2p, links, addPeer, local } = harness;
    addPeer("bob");
    p2p.setMode("p2p");
    expect(links[0]!.relayOnly).toBe(false);
    local.state.hideAddress = true;
    p2p.relayOnlyChanged();
    expect(links[0]!.relayOnly).toBe(true);
    p2p.close();
    p2p.reconcile();
    expect(links[1]!.options.relayOnly).toBe(true);
  });
});

describe("path and media helpers", () => {
  it("the description sent to the other browser tells its video encoders where to start; audio is left alone", () => {
    const sdp = [
      "v=0",
      "m=audio 9 UDP/TLS/RTP/SAVPF 111",
      "a=rtpmap:111 opus/48000/2",
      "a=fmtp:111 minptime=10;useinbandfec=1",
      "m=video 9 UDP/TLS/RTP/SAVPF 96 97 98",
      "a=rtpmap:96 VP8/90000",
      "a=rtpmap:97 rtx/90000",
      "a=fmtp:97 apt=96",
      "a=rtpmap:98 H264/90000",
      "a=fmtp:98 profile-level-id=42e01f",
      "",
    ].join("\r\n");
    const out = withStartBitrate(sdp, 1000).split("\r\n");
    expect(out).toContain("a=fmtp:111 minptime=10;useinbandfec=1");
    expect(out).toContain("a=fmtp:97 apt=96");
    expect(out).toContain("a=fmtp:98 profile-level-id=42e01f;x-google-start-bitrate=1000");
    expect(out).toContain("a=fmtp:96 x-google-start-bitrate=1000");
    expect(out.at(-1)).toBe("");
    expect(withStartBitrate(withStartBitrate(sdp, 1000), 1000)).toBe(withStartBitrate(sdp, 1000));
  });

  it("a relay candidate at either end makes the path relayed", () => {
    const stats = (localType: string, remoteType: string) =>
      report(
        { type: "transport", id: "t", selectedCandidatePairId: "p" },
        { type: "candidate-pair", id: "p", localCandidateId: "l", remoteCandidateId: "r", state: "succeeded", nominated: true },
        { type: "local-candidate", id: "l", candidateType: localType },
        { type: "remote-candidate", id: "r", candidateType: remoteType },
      );
    expect(pathOf(stats("host", "host"))).toBe("direct");
    expect(pathOf(stats("srflx", "prflx"))).toBe("direct");
    expect(pathOf(stats("relay", "host"))).toBe("relayed");
    expect(pathOf(stats("host", "relay"))).toBe("relayed");
    expect(pathOf(report({ type: "transport", id: "t" }))).toBeUndefined();
  });

  it("video counts as flowing only at a watchable rate; audio once it arrives; mediasoup's probe never", () => {
    expect(hasMedia(report(FLOWING), "video")).toBe(true);
    expect(hasMedia(report(STARTING), "video")).toBe(false);
    expect(hasMedia(report({ ...FLOWING, ssrc: 1234 }), "video")).toBe(false);
    expect(hasMedia(report({ type: "inbound-rtp", kind: "audio", packetsReceived: 1 }), "audio")).toBe(true);
    expect(hasMedia(report({ type: "inbound-rtp", kind: "audio", packetsReceived: 0 }), "audio")).toBe(false);
  });

  it("a tile shows the stream of a source that has a track", () => {
    const s = (producerId: string, via: "sfu" | "p2p", t?: MediaStreamTrack): RemoteStream => ({ producerId, via, kind: "video", source: "camera", paused: false, track: t, layer: undefined });
    const playing = track("x");
    expect(streamOf({ a: s("a", "sfu"), b: s("b", "p2p", playing) }, "camera")!.producerId).toBe("b");
    expect(streamOf({ a: s("a", "sfu") }, "camera")!.producerId).toBe("a");
    expect(streamOf({ a: s("a", "sfu") }, "screen")).toBeUndefined();
  });
});
