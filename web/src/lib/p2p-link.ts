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
  /** Not connected this long after opening (or after an ICE restart): failed. */
  readonly connectTimeoutMs?: number;
}

const KIND: Record<MediaSource, MediaKind> = { mic: "audio", camera: "video", screen: "video", "screen-audio": "audio" };
/** No simulcast between two browsers: one encoding, which the browser's congestion control scales to the path. */
const MAX_BITRATE: Partial<Record<MediaSource, number>> = { camera: 1_500_000, screen: 2_500_000 };
const CONNECT_TIMEOUT_MS = 8_000;
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
  readonly peerId: string;
  readonly #options: P2PLinkOptions;
  readonly #pc: RTCPeerConnection;
  readonly #polite: boolean;
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

  constructor(options: P2PLinkOptions) {
    this.#options = options;
    this.peerId = options.peerId;
    this.#polite = options.selfId > options.peerId;
    this.#pc = new RTCPeerConnection({
      iceServers: options.iceServers as RTCIceServer[],
      iceTransportPolicy: options.relayOnly ? "relay" : "all",
      bundlePolicy: "max-bundle",
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
    this.#arm();
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
    return this.#sending.has(source) ? this.#senders.get(source)?.sender : undefined;
  }

  async produce(track: MediaStreamTrack, source: MediaSource, options: { paused?: boolean } = {}): Promise<void> {
    if (this.#state === "closed") return;
    const paused = options.paused === true;
    const existing = this.#senders.get(source);
    if (existing) {
      await existing.sender.replaceTrack(track);
      await this.#setActive(existing, !paused);
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
    if (!transceiver || !sending) return;
    sending.paused = paused;
    await this.#setActive(transceiver, !paused);
    this.#announceSources();
  }

  pausedInRoom(source: MediaSource): boolean | undefined {
    return this.#sending.get(source)?.paused;
  }

  async replaceTrack(source: MediaSource, track: MediaStreamTrack): Promise<void> {
    await this.#senders.get(source)?.sender.replaceTrack(track);
  }

  /** Stops sending a source; its transceiver stays for when it comes back (no renegotiation). */
  async closeProducer(source: MediaSource): Promise<void> {
    const transceiver = this.#senders.get(source);
    if (!transceiver || !this.#sending.delete(source)) return;
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
        await this.#pc.setLocalDescription();
        this.#sendDescription();
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
    if (local) this.#signal({ type: "description", description: { type: local.type, sdp: local.sdp } });
  }

  /** Which of our transceivers carries what: only those negotiated (with a mid) mean anything to the other side. */
  #announceSources(): void {
    if (this.#state === "closed") return;
    const sources: Record<string, { source: MediaSource; paused: boolean }> = {};
    for (const [source, sending] of this.#sending) {
      const mid = this.#senders.get(source)?.mid;
      if (mid !== null && mid !== undefined) sources[mid] = { source, paused: sending.paused };
    }
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
    this.#options.onRemote(tracks);
  }

  #signal(signal: P2PSignal): void {
    if (this.#state !== "closed") this.#options.send(signal);
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
    }, this.#options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS);
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
      const iceServers = await this.#options.freshIceServers().catch(() => undefined);
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
    this.#options.onState(state);
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
