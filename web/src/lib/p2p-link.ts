import type { IceServer, MediaKind, MediaSource, P2PSignal } from "@meridian/protocol";

/** How a connected link's media travels: straight between the browsers, or through a TURN relay. */
export type P2PPath = "direct" | "relayed";
export type P2PLinkState = "connecting" | "connected" | "failed" | "closed";

export interface RemoteP2PTrack {
  readonly source: MediaSource;
  readonly kind: MediaKind;
  readonly track: MediaStreamTrack;
  readonly paused: boolean;
}

export interface P2PLinkOptions {
  readonly selfId: string;
  readonly peerId: string;
  readonly iceServers: readonly IceServer[];
  /** Only TURN relay candidates: the other browser never learns this one's addresses. */
  readonly relayOnly: boolean;
  /** To the other browser, through the room. */
  send(signal: P2PSignal): void;
  /** Everything the other browser sends now, by source (after every change). */
  onRemote(tracks: ReadonlyMap<MediaSource, RemoteP2PTrack>): void;
  onState(state: P2PLinkState): void;
  /** Fresh TURN credentials for an ICE restart (they are short-lived). */
  freshIceServers(): Promise<readonly IceServer[]>;
  /**
   * Whether this side makes the first offer. The other side waits for it and answers with
   * its own microphone and camera on the offered transceivers: one round trip instead of
   * two offers crossing (the joiner offers; on a switch, the side that is not polite).
   */
  readonly initiator: boolean;
  /** Not connected this long after opening (or after an ICE restart): failed. */
  readonly connectTimeoutMs?: number;
}

const KIND: Record<MediaSource, MediaKind> = { mic: "audio", camera: "video", screen: "video", "screen-audio": "audio" };
/** No simulcast between two browsers: one encoding, which the browser's congestion control scales to the path. */
const MAX_BITRATE: Partial<Record<MediaSource, number>> = { camera: 1_500_000, screen: 2_500_000 };
const CONNECT_TIMEOUT_MS = 8_000;
/** A warm link's direct candidates had this long; then it gathers relays too (an ICE restart). */
const RELAY_AFTER_MS = 1_500;
/** An answerer that has heard no offer by then offers itself (the other side may be an older client). */
const OFFER_WAIT_MS = 1_500;
/**
 * Where the other browser's video encoder starts (kbps): the camera's cap. A new
 * connection's bandwidth estimate starts low, and the first keyframe would crawl out at
 * the pacer's pace; congestion control brings it down within a second where the path is
 * narrower (the SFU's producers start at 1,000, on a connection that already runs).
 */
const START_BITRATE_KBPS = 1500;
/** Disconnected this long (Chrome says failed only after ~30 s): restart ICE. */
const DISCONNECTED_GRACE_MS = 2_000;

/**
 * One RTCPeerConnection between the two browsers of a call of two, negotiated the
 * "perfect negotiation" way: either side may offer at any time (adding a screen share,
 * restarting ICE); on a collision the polite side (the larger participant id) yields.
 *
 * Each side sends its sources on transceivers of its own (one per source, reused when a
 * source comes back) and tells the other which transceiver (mid) carries which source and
 * whether it is paused: the `sources` signal after every negotiation and every change.
 * Pausing turns the encoding off, so a muted microphone or a camera turned off sends
 * nothing, as on the SFU. The same methods as the SFU engine's send side let the
 * publisher drive either.
 */
export class P2PLink {
  #options: P2PLinkOptions | undefined;
  readonly #pc: RTCPeerConnection;
  #polite = false;
  /** What waits to be sent until the link knows whom it talks to (a warm link's offer and candidates). */
  #outbox: P2PSignal[] = [];
  #relayTimer: ReturnType<typeof setTimeout> | undefined;
  readonly #senders = new Map<MediaSource, RTCRtpTransceiver>();
  readonly #sending = new Map<MediaSource, { paused: boolean }>();
  #remoteSources: Record<string, { source: MediaSource; paused: boolean }> = {};
  #makingOffer = false;
  #ignoreOffer = false;
  /** Signals are applied one at a time, in order. */
  #inbox: Promise<void> = Promise.resolve();
  #state: P2PLinkState = "connecting";
  #deadline: ReturnType<typeof setTimeout> | undefined;
  #disconnectedTimer: ReturnType<typeof setTimeout> | undefined;
  #restarting = false;
  /** An offer came from the other side, or we made ours: our own transceivers may be added freely. */
  #negotiated = false;
  /** Tracks waiting for the first offer's transceivers (the answerer's microphone and camera). */
  readonly #waiting = new Map<MediaSource, MediaStreamTrack>();
  #offerWait: ReturnType<typeof setTimeout> | undefined;
  /** The last `sources` map sent ("{}" before any: an empty map tells the other side nothing). */
  #announced = "{}";

  /**
   * A link to someone (`options`), or a warm one that does not know whom yet: its
   * connection, certificate, transceivers and host candidates get ready while the user is
   * on the pre-join page, and `bind` sends its offer the moment the call has a peer.
   */
  constructor(options: P2PLinkOptions | { readonly relayOnly: boolean }) {
    this.#pc = new RTCPeerConnection({
      iceServers: "iceServers" in options ? (options.iceServers as RTCIceServer[]) : [],
      iceTransportPolicy: options.relayOnly ? "relay" : "all",
      bundlePolicy: "max-bundle",
      // Candidates gathered before the offer: it goes out with them.
      iceCandidatePoolSize: 1,
    });
    this.#pc.addEventListener("negotiationneeded", () => void this.#offer());
    this.#pc.addEventListener("icecandidate", ({ candidate }) => {
      // End of candidates needs no message: the other side's ICE agent does not wait for it.
      if (candidate?.candidate) this.#signal({ type: "candidate", candidate: candidate.toJSON() as Extract<P2PSignal, { type: "candidate" }>["candidate"] });
    });
    this.#pc.addEventListener("signalingstatechange", () => {
      if (this.#pc.signalingState === "stable") this.#announceSources();
    });
    this.#pc.addEventListener("track", () => this.#emitRemote());
    this.#pc.addEventListener("connectionstatechange", () => this.#connectionChanged());
    if ("peerId" in options) this.bind(options);
    // A warm link will offer: its transceivers are the offer's.
    else this.#openTransceivers();
  }

  /**
   * Whom the link talks to. A warm link sends the offer and candidates it made on the
   * pre-join page at once. Its candidates are direct ones only (TURN credentials come
   * with the call): it takes the room's TURN servers now, and if the direct path has not
   * connected soon, restarts ICE to gather relays too.
   */
  bind(options: P2PLinkOptions): this {
    if (this.#options) throw new Error("the link is bound already");
    const warm = this.#negotiated;
    this.#options = options;
    this.#polite = options.selfId > options.peerId;
    const configuration = this.#pc.getConfiguration();
    if (options.iceServers.length > 0 || (configuration.iceTransportPolicy === "relay") !== options.relayOnly) {
      this.#pc.setConfiguration({ ...configuration, iceServers: options.iceServers as RTCIceServer[], iceTransportPolicy: options.relayOnly ? "relay" : "all" });
    }
    this.#arm();
    if (options.initiator) this.#openTransceivers();
    else if (!this.#negotiated) this.#offerWait = setTimeout(() => void this.#stopWaiting(), OFFER_WAIT_MS);
    const held = this.#outbox;
    this.#outbox = [];
    for (const signal of held) this.#signal(signal);
    if (warm && options.iceServers.length > 0) {
      this.#relayTimer = setTimeout(() => {
        if (this.#state === "connecting" && this.#pc.signalingState !== "closed") this.#pc.restartIce();
      }, RELAY_AFTER_MS);
    }
    return this;
  }

  /** Whom the link talks to ("" while warm). */
  get peerId(): string {
    return this.#options?.peerId ?? "";
  }

  /**
   * The offerer's microphone and camera transceivers, both ways: the other side sends on
   * them too, so the first answer already carries its media. Tracks are attached when
   * the publisher produces.
   */
  #openTransceivers(): void {
    this.#negotiated = true;
    for (const source of ["mic", "camera"] as const) {
      if (this.#senders.has(source)) continue;
      const maxBitrate = MAX_BITRATE[source];
      const waiting = this.#waiting.get(source) ?? null;
      const paused = this.#sending.get(source)?.paused ?? false;
      this.#senders.set(source, this.#pc.addTransceiver(waiting ?? KIND[source], { direction: "sendrecv", sendEncodings: [{ active: !paused, ...(maxBitrate ? { maxBitrate } : {}) }] }));
      this.#waiting.delete(source);
    }
    this.#addWaiting();
  }

  /** No offer came: offer ourselves. */
  async #stopWaiting(): Promise<void> {
    if (this.#negotiated || this.#state === "closed") return;
    this.#openTransceivers();
  }

  /** Sources with no transceiver to ride on (a screen share before the first offer): their own. */
  #addWaiting(): void {
    for (const [source, track] of this.#waiting) {
      const maxBitrate = MAX_BITRATE[source];
      const paused = this.#sending.get(source)?.paused ?? false;
      this.#senders.set(source, this.#pc.addTransceiver(track, { direction: "sendonly", sendEncodings: [{ active: !paused, ...(maxBitrate ? { maxBitrate } : {}) }] }));
    }
    this.#waiting.clear();
  }

  /**
   * The first offer arrived: our microphone and camera go on the offered transceivers of
   * their kind (both ways now), so the answer carries them.
   */
  async #adoptOffered(): Promise<void> {
    this.#negotiated = true;
    clearTimeout(this.#offerWait);
    const taken = new Set(this.#senders.values());
    for (const [source, track] of [...this.#waiting]) {
      if (source !== "mic" && source !== "camera") continue;
      const offered = this.#pc.getTransceivers().find((t) => !taken.has(t) && t.mid !== null && t.receiver.track.kind === KIND[source] && !t.sender.track);
      if (!offered) continue;
      taken.add(offered);
      offered.direction = "sendrecv";
      await offered.sender.replaceTrack(track);
      this.#senders.set(source, offered);
      this.#waiting.delete(source);
    }
  }

  get state(): P2PLinkState {
    return this.#state;
  }

  /** A signal from the other browser. */
  receive(signal: P2PSignal): Promise<void> {
    this.#inbox = this.#inbox.then(() => this.#apply(signal)).catch((error: unknown) => console.warn("meridian: p2p signal", (error as Error).message));
    return this.#inbox;
  }

  // ── the send side, as the publisher drives it ──────────────────────────────

  producer(source: MediaSource): { readonly track: MediaStreamTrack | null } | undefined {
    if (!this.#sending.has(source)) return undefined;
    const waiting = this.#waiting.get(source);
    return this.#senders.get(source)?.sender ?? (waiting ? { track: waiting } : undefined);
  }

  async produce(track: MediaStreamTrack, source: MediaSource, options: { paused?: boolean } = {}): Promise<void> {
    if (this.#state === "closed") return;
    const paused = options.paused === true;
    const existing = this.#senders.get(source);
    if (existing) {
      await existing.sender.replaceTrack(track);
      await this.#setActive(existing, !paused);
    } else if (!this.#negotiated) {
      // Rides on the first offer's transceivers when it comes (or on our own, if none does).
      this.#waiting.set(source, track);
    } else {
      const maxBitrate = MAX_BITRATE[source];
      const transceiver = this.#pc.addTransceiver(track, {
        direction: "sendonly",
        sendEncodings: [{ active: !paused, ...(maxBitrate ? { maxBitrate } : {}) }],
      });
      this.#senders.set(source, transceiver);
    }
    this.#sending.set(source, { paused });
    this.#announceSources();
  }

  async setPaused(source: MediaSource, paused: boolean): Promise<void> {
    const transceiver = this.#senders.get(source);
    const sending = this.#sending.get(source);
    if (!sending) return;
    sending.paused = paused;
    if (transceiver) await this.#setActive(transceiver, !paused);
    this.#announceSources();
  }

  pausedInRoom(source: MediaSource): boolean | undefined {
    return this.#sending.get(source)?.paused;
  }

  async replaceTrack(source: MediaSource, track: MediaStreamTrack): Promise<void> {
    if (this.#waiting.has(source)) this.#waiting.set(source, track);
    await this.#senders.get(source)?.sender.replaceTrack(track);
  }

  /** Stops sending a source; its transceiver stays for when it comes back (no renegotiation). */
  async closeProducer(source: MediaSource): Promise<void> {
    this.#waiting.delete(source);
    const transceiver = this.#senders.get(source);
    if (!this.#sending.delete(source) || !transceiver) return;
    this.#announceSources();
    await this.#setActive(transceiver, false);
    await transceiver.sender.replaceTrack(null);
  }

  // ── what it carries ───────────────────────────────────────────────────────

  /** Stats of what arrives for one source (undefined when nothing does). */
  receiveStats(source: MediaSource): Promise<RTCStatsReport> | undefined {
    const mid = Object.keys(this.#remoteSources).find((m) => this.#remoteSources[m]!.source === source);
    const transceiver = mid === undefined ? undefined : this.#pc.getTransceivers().find((t) => t.mid === mid);
    return transceiver && this.#state !== "closed" ? transceiver.receiver.getStats() : undefined;
  }

  /** The whole connection's stats (sending, receiving, the candidate pair). */
  stats(): Promise<RTCStatsReport> | undefined {
    return this.#state === "closed" ? undefined : this.#pc.getStats();
  }

  /** Direct or relayed, from the selected candidate pair; undefined before it connects. */
  async path(): Promise<P2PPath | undefined> {
    const report = await this.stats();
    if (!report) return undefined;
    return pathOf(report);
  }

  close(): void {
    if (this.#state === "closed") return;
    this.#setState("closed");
    clearTimeout(this.#offerWait);
    clearTimeout(this.#relayTimer);
    clearTimeout(this.#deadline);
    clearTimeout(this.#disconnectedTimer);
    this.#pc.close();
  }

  // ── negotiation ───────────────────────────────────────────────────────────

  async #offer(): Promise<void> {
    try {
      this.#makingOffer = true;
      await this.#pc.setLocalDescription();
      this.#sendDescription();
    } catch (error) {
      if (this.#state !== "closed") console.warn("meridian: p2p offer", (error as Error).message);
    } finally {
      this.#makingOffer = false;
    }
  }

  async #apply(signal: P2PSignal): Promise<void> {
    if (this.#state === "closed") return;
    if (signal.type === "description") {
      const { description } = signal;
      const collision = description.type === "offer" && (this.#makingOffer || this.#pc.signalingState !== "stable");
      this.#ignoreOffer = !this.#polite && collision;
      if (this.#ignoreOffer) return;
      await this.#pc.setRemoteDescription(description as RTCSessionDescriptionInit);
      if (description.type === "offer") {
        const first = !this.#negotiated;
        if (first) await this.#adoptOffered();
        await this.#pc.setLocalDescription();
        this.#sendDescription();
        if (first) {
          // What did not fit the offer (a screen share) gets transceivers of its own: one more offer.
          this.#addWaiting();
          await this.#applyPauses();
        }
      }
      this.#emitRemote();
    } else if (signal.type === "candidate") {
      if (!signal.candidate) return;
      try {
        await this.#pc.addIceCandidate(signal.candidate as RTCIceCandidateInit);
      } catch (error) {
        // A candidate of an offer we ignored has no m-line to go to.
        if (!this.#ignoreOffer) throw error;
      }
    } else {
      this.#remoteSources = signal.sources;
      this.#emitRemote();
    }
  }

  #sendDescription(): void {
    const local = this.#pc.localDescription;
    if (local) this.#signal({ type: "description", description: { type: local.type, sdp: withStartBitrate(local.sdp, START_BITRATE_KBPS) } });
  }

  /** Which of our transceivers carries what: only those negotiated (with a mid) mean anything to the other side. */
  #announceSources(): void {
    if (this.#state === "closed") return;
    const sources: Record<string, { source: MediaSource; paused: boolean }> = {};
    for (const [source, sending] of this.#sending) {
      const mid = this.#senders.get(source)?.mid;
      if (mid !== null && mid !== undefined) sources[mid] = { source, paused: sending.paused };
    }
    // Told once per change: negotiations and toggles often leave the map as it was.
    const said = JSON.stringify(sources);
    if (said === this.#announced) return;
    this.#announced = said;
    this.#signal({ type: "sources", sources });
  }

  #emitRemote(): void {
    if (this.#state === "closed") return;
    const tracks = new Map<MediaSource, RemoteP2PTrack>();
    const transceivers = this.#pc.getTransceivers();
    for (const [mid, { source, paused }] of Object.entries(this.#remoteSources)) {
      const transceiver = transceivers.find((t) => t.mid === mid);
      const track = transceiver?.receiver.track;
      if (track && track.kind === KIND[source]) tracks.set(source, { source, kind: KIND[source], track, paused });
    }
    this.#options?.onRemote(tracks);
  }

  #signal(signal: P2PSignal): void {
    if (this.#state === "closed") return;
    if (this.#options) this.#options.send(signal);
    else this.#outbox.push(signal);
  }

  /** Encodings of adopted transceivers exist once negotiated: pause what should be paused, cap the bitrate. */
  async #applyPauses(): Promise<void> {
    for (const [source, sending] of this.#sending) {
      const transceiver = this.#senders.get(source);
      if (!transceiver) continue;
      const parameters = transceiver.sender.getParameters();
      if (!parameters.encodings?.length) continue;
      const maxBitrate = MAX_BITRATE[source];
      for (const encoding of parameters.encodings) {
        encoding.active = !sending.paused;
        if (maxBitrate) encoding.maxBitrate = maxBitrate;
      }
      await transceiver.sender.setParameters(parameters).catch(() => undefined);
    }
  }

  async #setActive(transceiver: RTCRtpTransceiver, active: boolean): Promise<void> {
    const parameters = transceiver.sender.getParameters();
    if (!parameters.encodings?.length || parameters.encodings.every((e) => e.active === active)) return;
    for (const encoding of parameters.encodings) encoding.active = active;
    await transceiver.sender.setParameters(parameters);
  }

  // ── connection health ─────────────────────────────────────────────────────

  /** From now, the link has this long to connect. */
  #arm(): void {
    clearTimeout(this.#deadline);
    this.#deadline = setTimeout(() => {
      if (this.#pc.connectionState !== "connected") this.#setState("failed");
    }, this.#options?.connectTimeoutMs ?? CONNECT_TIMEOUT_MS);
  }

  #connectionChanged(): void {
    const state = this.#pc.connectionState;
    if (this.#state === "closed" || this.#state === "failed") return;
    if (state === "connected") {
      clearTimeout(this.#deadline);
      clearTimeout(this.#disconnectedTimer);
      this.#setState("connected");
    } else if (state === "failed") void this.#restart();
    else if (state === "disconnected") {
      clearTimeout(this.#disconnectedTimer);
      this.#disconnectedTimer = setTimeout(() => {
        if (this.#pc.connectionState === "disconnected") void this.#restart();
      }, DISCONNECTED_GRACE_MS);
    } else if (state === "closed") this.#setState("failed");
  }

  /** One ICE restart with fresh TURN credentials; if it does not connect in time, the link failed. */
  async #restart(): Promise<void> {
    if (this.#restarting || this.#state === "closed" || this.#state === "failed") return;
    this.#restarting = true;
    this.#setState("connecting");
    this.#arm();
    try {
      const iceServers = await this.#options?.freshIceServers().catch(() => undefined);
      // Closed meanwhile: the connection is gone, nothing to restart.
      if (this.#pc.signalingState === "closed") return;
      if (iceServers) this.#pc.setConfiguration({ ...this.#pc.getConfiguration(), iceServers: iceServers as RTCIceServer[] });
      this.#pc.restartIce();
    } finally {
      this.#restarting = false;
    }
  }

  /** Relay-only from now (or not): takes effect with an ICE restart, without a new connection. */
  setRelayOnly(relayOnly: boolean): void {
    if (this.#state === "closed") return;
    const configuration = this.#pc.getConfiguration();
    if ((configuration.iceTransportPolicy === "relay") === relayOnly) return;
    this.#pc.setConfiguration({ ...configuration, iceTransportPolicy: relayOnly ? "relay" : "all" });
    this.#pc.restartIce();
  }

  #setState(state: P2PLinkState): void {
    if (this.#state === state) return;
    this.#state = state;
    this.#options?.onState(state);
  }
}

interface StatLike {
  type: string;
  id: string;
  selectedCandidatePairId?: string;
  localCandidateId?: string;
  remoteCandidateId?: string;
  candidateType?: string;
  state?: string;
  nominated?: boolean;
}

/** Relayed when either end of the selected candidate pair is a TURN relay candidate. */
export function pathOf(report: { forEach(cb: (s: StatLike) => void): void }): P2PPath | undefined {
  const byId = new Map<string, StatLike>();
  report.forEach((s) => byId.set(s.id, s));
  let pair: StatLike | undefined;
  for (const s of byId.values()) {
    if (s.type === "transport" && s.selectedCandidatePairId) pair = byId.get(s.selectedCandidatePairId);
  }
  pair ??= [...byId.values()].find((s) => s.type === "candidate-pair" && s.nominated && s.state === "succeeded");
  if (!pair) return undefined;
  const local = byId.get(pair.localCandidateId ?? "");
  const remote = byId.get(pair.remoteCandidateId ?? "");
  return local?.candidateType === "relay" || remote?.candidateType === "relay" ? "relayed" : "direct";
}

/**
 * Tells the receiving browser where to start sending video: `x-google-start-bitrate` on
 * every video codec of the description we send (Chrome reads it from the remote
 * description; others ignore it). Our own local description is left as it is.
 */
export function withStartBitrate(sdp: string, kbps: number): string {
  const ending = sdp.endsWith("\r\n") ? "\r\n" : "";
  const out: string[] = [];
  let video = false;
  /** This section's video codecs that have no fmtp line yet. */
  let bare: string[] = [];
  const closeSection = () => {
    for (const pt of bare) out.push(`a=fmtp:${pt} x-google-start-bitrate=${kbps}`);
    bare = [];
  };
  for (const line of sdp.slice(0, sdp.length - ending.length).split("\r\n")) {
    if (line.startsWith("m=")) {
      closeSection();
      video = line.startsWith("m=video");
    }
    const rtpmap = video ? /^a=rtpmap:(\d+) (?:VP8|VP9|H264|AV1)\//i.exec(line) : null;
    if (rtpmap) bare.push(rtpmap[1]!);
    const fmtp = video ? /^a=fmtp:(\d+) /.exec(line) : null;
    if (fmtp && bare.includes(fmtp[1]!)) {
      bare = bare.filter((pt) => pt !== fmtp[1]);
      out.push(line.includes("x-google-start-bitrate") ? line : `${line};x-google-start-bitrate=${kbps}`);
      continue;
    }
    out.push(line);
  }
  closeSection();
  return out.join("\r\n") + ending;
}
