import type { MediaMode, MediaSource, P2PSignal } from "@meridian/protocol";
import { P2PLink, type P2PLinkOptions, type P2PLinkState } from "../lib/p2p-link.ts";
import type { RemotePeers } from "./call-peers.ts";
import type { Publisher } from "./call-publisher.ts";
import type { CallCore } from "./call-types.ts";
import type { LocalMedia } from "./local-media.ts";

/**
 * After our side of a handover is done, the old path keeps sending this long: the other
 * browser does its own handover at about the same time, and must not lose our media first.
 */
const LINGER_MS = 3_000;
/** A handover not done by then is done anyway: the old path goes. */
const HANDOVER_CAP_MS = 12_000;
/** Signals that arrive before the link exists (the other side was quicker) wait, this many at most. */
const PENDING_SIGNALS = 200;
const SPEAKER_SAMPLE_MS = 300;
/** Audio level (0..1) above which someone counts as speaking. */
const SPEAKING_LEVEL = 0.02;
const PATH_EVERY_SAMPLES = 10;

/** The SFU's side of a switch, as the session does it. */
export interface SfuPath {
  /** Transports, consumers and producers on the SFU (idempotent). */
  start(): Promise<void>;
  /** Gives the SFU back our transports. */
  release(): Promise<void>;
  /** Transports exist or are being made. */
  active(): boolean;
}

/** What the session needs of a link (P2PLink; a scripted one in unit tests, which have no WebRTC). */
export type Link = Pick<P2PLink, "peerId" | "state" | "receive" | "close" | "setRelayOnly" | "path" | "stats" | "receiveStats" | "setPaused" | "bind"> &
  Parameters<Publisher["publish"]>[0];

export interface P2PTargets {
  readonly peers: RemotePeers;
  readonly publisher: Publisher;
  readonly local: Pick<LocalMedia, "state">;
  readonly sfu: SfuPath;
  /** A link to someone, or a warm one (`{ relayOnly }`) that `bind` points at someone later. */
  readonly createLink?: (options: P2PLinkOptions | { readonly relayOnly: boolean }) => Link;
}

/**
 * A call of two, browser to browser, and the switches to and from the SFU.
 *
 * The room decides the mode; this follows it. Whichever way the call switches, the new
 * path comes up while the old one keeps playing: each remote source moves to the new path
 * once its media decodes (RemotePeers.present), and only when every source has moved (and
 * a moment more, for the other browser's own handover) does the old path close — the
 * peer-to-peer connection, or our SFU transports, so the node carries nothing for a call
 * of two. A link that does not connect, or fails and does not come back after an ICE
 * restart, is reported to the room, which moves the call to the SFU.
 */
export class PeerToPeer {
  readonly #core: CallCore;
  readonly #targets: P2PTargets;
  #link: Link | undefined;
  /** A warm link, made on the pre-join page of a call that would be peer-to-peer. */
  #spare: { link: Link; relayOnly: boolean } | undefined;
  #pending: Array<{ from: string; signal: P2PSignal }> = [];
  /** When the old path goes: after the linger, or at the cap. */
  #oldPathTimer: ReturnType<typeof setTimeout> | undefined;
  #oldPathCap: ReturnType<typeof setTimeout> | undefined;
  #speakerTimer: ReturnType<typeof setInterval> | undefined;
  #speaker: string | undefined;
  /** Who offers first on a new link: we, having just joined; they, having just joined; else the side that is not polite. */
  #justEntered = false;
  readonly #newcomers = new Set<string>();
  #samples = 0;

  constructor(core: CallCore, targets: P2PTargets) {
    this.#core = core;
    this.#targets = targets;
    targets.peers.onHandover = () => this.reconcile();
  }

  /** The link while one is open (it sends as the publisher tells it). */
  get link(): Link | undefined {
    return this.#link;
  }

  /** Our media goes browser to browser now (the active speaker is ours to find, not the SFU's). */
  get carrying(): boolean {
    return this.#link?.state === "connected" && this.#core.state.mediaMode === "p2p";
  }

  /**
   * On the pre-join page of a call we would join as the second person: a link gets its
   * connection, transceivers and candidates ready, to offer the moment we are in.
   */
  warm(): void {
    if (this.#spare || this.#link || (!this.#targets.createLink && typeof RTCPeerConnection === "undefined")) return;
    const relayOnly = this.#targets.local.state.hideAddress;
    // Relays need the TURN credentials only members get: nothing to get ready before the click.
    if (relayOnly) return;
    this.#spare = { link: this.#create({ relayOnly }), relayOnly };
  }

  /** We are in the call now (joined, or admitted), in this mode: a link we open now offers first. */
  enter(mode: MediaMode): void {
    this.#justEntered = true;
    this.setMode(mode);
    this.#justEntered = false;
    // Not used (we are the first): whoever comes next offers to us.
    this.#dropSpare();
  }

  /** Someone joined after us: a link to them waits for their offer. */
  peerJoined(peerId: string): void {
    this.#newcomers.add(peerId);
    this.reconcile();
    this.#newcomers.delete(peerId);
  }

  /** The room's word on the mode: from the join answer, an admission or a `mediaMode` event. */
  setMode(mode: MediaMode, reason?: string): void {
    if (this.#core.state.mediaMode !== mode) {
      console.info(`meridian: media ${mode === "p2p" ? "peer-to-peer" : "through the SFU"}${reason ? ` (${reason})` : ""}`);
      this.#core.set("mediaMode", mode);
      // Signals can come before the word that the call is peer-to-peer (the other side
      // heard first): kept for the link. Leaving P2P, they are moot.
      if (mode === "sfu") {
        this.#pending = [];
        this.#dropSpare();
      }
      this.#clearOldPath();
    }
    this.reconcile();
  }

  /** A signal from the other browser: to the link, or kept until it exists. */
  signal(from: string, signal: P2PSignal): void {
    if (this.#link?.peerId === from) {
      void this.#link.receive(signal);
      return;
    }
    if (this.#pending.length < PENDING_SIGNALS) this.#pending.push({ from, signal });
    if (this.#core.state.mediaMode === "p2p") this.reconcile();
  }

  /** Hide my address (relay only): applies to the link now, with an ICE restart. */
  relayOnlyChanged(): void {
    this.#link?.setRelayOnly(this.#targets.local.state.hideAddress);
  }

  /**
   * Brings the paths in line with the mode and who is in the call. Called on every change
   * (mode, people, link state, a handover); each step is idempotent.
   */
  reconcile(): void {
    this.#reconcile();
    this.#updatePath();
  }

  #reconcile(): void {
    const { state } = this.#core;
    if (state.phase !== "joined") {
      this.close();
      return;
    }
    const others = Object.keys(state.peers);
    const { sfu } = this.#targets;
    const release = () => void sfu.release().finally(() => this.#updatePath());
    if (state.mediaMode === "p2p") {
      if (others.length === 0) {
        this.#closeLink();
        if (sfu.active()) release();
        return;
      }
      // A third is arriving: the room's switch to the SFU follows; nothing changes meanwhile.
      if (others.length > 1) return;
      const peerId = others[0]!;
      if (this.#link && this.#link.peerId !== peerId) this.#closeLink();
      if (!this.#link) this.#open(peerId);
      if (!sfu.active() || this.#link?.state !== "connected") return;
      // The SFU goes once every remote source plays on the link.
      const playing = Object.values(state.peers[peerId]?.streams ?? {}).some((s) => s.via === "sfu" && s.track);
      if (playing) this.#oldPathCapAfter(release);
      else this.#oldPathAfter(release);
      return;
    }
    if (!sfu.active()) void sfu.start().finally(() => this.#updatePath());
    const link = this.#link;
    if (!link) return;
    const peer = state.peers[link.peerId];
    // The link's peer left, or the link is dead: nothing to wait for.
    if (!peer || link.state === "failed") {
      this.#closeLink();
      return;
    }
    const playing = Object.values(peer.streams).some((s) => s.via === "p2p" && s.track);
    if (playing) this.#oldPathCapAfter(() => this.#closeLink());
    else this.#oldPathAfter(() => this.#closeLink());
  }

  close(): void {
    this.#clearOldPath();
    this.#pending = [];
    this.#dropSpare();
    this.#closeLink();
  }

  #dropSpare(): void {
    this.#spare?.link.close();
    this.#spare = undefined;
  }

  #create(options: P2PLinkOptions | { readonly relayOnly: boolean }): Link {
    return this.#targets.createLink ? this.#targets.createLink(options) : new P2PLink(options);
  }

  #open(peerId: string): void {
    const { state } = this.#core;
    const selfId = state.participantId;
    const connection = this.#core.connection();
    if (!selfId || !connection) return;
    // The callbacks below run only once the link exists.
    let link: Link;
    const relayOnly = this.#targets.local.state.hideAddress;
    const options: P2PLinkOptions = {
      selfId,
      peerId,
      iceServers: connection.media.iceServers,
      relayOnly,
      send: (signal) => {
        void this.#core
          .connection()
          ?.signalling.request("p2pSignal", { to: peerId, signal })
          .catch(() => undefined);
      },
      onRemote: (tracks) => {
        if (this.#link === link) this.#targets.peers.setP2PTracks(peerId, tracks, (source: MediaSource) => link.receiveStats(source));
      },
      onState: (linkState) => this.#linkChanged(link, linkState),
      initiator: this.#newcomers.has(peerId) ? false : this.#justEntered || selfId < peerId,
      freshIceServers: async () => {
        const media = this.#core.connection()?.media;
        await media?.refreshIceServers();
        return media?.iceServers ?? [];
      },
    };
    // The warm link offers first; it serves when we do (and with the same privacy setting).
    const spare = this.#spare;
    this.#spare = undefined;
    if (spare && options.initiator && spare.relayOnly === relayOnly) link = spare.link.bind(options);
    else {
      spare?.link.close();
      link = this.#create(options);
    }
    this.#link = link;
    console.info("meridian: opening a peer-to-peer link", { peerId, relayOnly, warm: spare !== undefined && link === spare.link });
    void this.#targets.publisher.publish(link);
    const pending = this.#pending.filter((p) => p.from === peerId);
    this.#pending = [];
    for (const { signal } of pending) void link.receive(signal);
  }

  #linkChanged(link: Link, linkState: P2PLinkState): void {
    if (this.#link !== link) return;
    if (linkState === "failed") {
      console.warn("meridian: the peer-to-peer link failed; asking the room for the SFU");
      this.#targets.peers.dropP2PStreams(link.peerId);
      void this.#core
        .connection()
        ?.signalling.request("p2pFailed", {})
        .catch(() => undefined);
    }
    if (linkState === "connected") this.#startSpeaker();
    this.#updatePath();
    this.reconcile();
  }

  #closeLink(): void {
    const link = this.#link;
    if (!link) return;
    this.#link = undefined;
    this.#clearOldPath();
    this.#stopSpeaker();
    link.close();
    this.#targets.peers.dropP2PStreams(link.peerId);
    this.#updatePath();
  }

  /** Runs `close` LINGER_MS from the first call (the handover on our side is done). */
  #oldPathAfter(close: () => void): void {
    if (this.#oldPathTimer) return;
    this.#oldPathTimer = setTimeout(() => {
      this.#clearOldPath();
      close();
    }, LINGER_MS);
  }

  /** The handover has until HANDOVER_CAP_MS from its start. */
  #oldPathCapAfter(close: () => void): void {
    if (this.#oldPathCap) return;
    this.#oldPathCap = setTimeout(() => {
      this.#clearOldPath();
      close();
    }, HANDOVER_CAP_MS);
  }

  #clearOldPath(): void {
    clearTimeout(this.#oldPathTimer);
    clearTimeout(this.#oldPathCap);
    this.#oldPathTimer = undefined;
    this.#oldPathCap = undefined;
  }

  /** Direct or relayed while the link carries the call, the server while the SFU does. */
  #updatePath(): void {
    const link = this.#link;
    if (link && this.carrying) {
      void link.path().then((path) => {
        if (this.#link === link && path) this.#core.set("mediaPath", path);
      });
      return;
    }
    this.#core.set("mediaPath", this.#targets.sfu.active() ? "server" : undefined);
  }

  // ── the active speaker, without the SFU's audio observer ──────────────────

  #startSpeaker(): void {
    if (this.#speakerTimer) return;
    this.#speakerTimer = setInterval(() => void this.#sampleSpeaker(), SPEAKER_SAMPLE_MS);
  }

  #stopSpeaker(): void {
    clearInterval(this.#speakerTimer);
    this.#speakerTimer = undefined;
    this.#speaker = undefined;
  }

  /** The louder of the two, once above a speaking level; the last speaker stays until someone else speaks. */
  async #sampleSpeaker(): Promise<void> {
    const link = this.#link;
    if (!link || !this.carrying) return;
    const [local, remote] = await Promise.all([link.stats(), link.receiveStats("mic")]);
    const levelOf = (report: RTCStatsReport | undefined, type: string) => {
      let level = 0;
      report?.forEach((s: { type: string; kind?: string; audioLevel?: number }) => {
        if (s.type === type && s.kind === "audio" && s.audioLevel !== undefined) level = Math.max(level, s.audioLevel);
      });
      return level;
    };
    const mine = this.#targets.local.state.micOn ? levelOf(local, "media-source") : 0;
    const theirs = levelOf(remote, "inbound-rtp");
    const selfId = this.#core.state.participantId;
    const loudest = mine >= theirs ? selfId : link.peerId;
    const level = Math.max(mine, theirs);
    if (this.#link !== link) return;
    // The path can change under a running link (an ICE restart, relay-only switched on).
    if (++this.#samples % PATH_EVERY_SAMPLES === 0) this.#updatePath();
    if (!loudest || level < SPEAKING_LEVEL) return;
    if (this.#speaker !== loudest) this.#core.set("activeSpeakerId", loudest);
    this.#speaker = loudest;
  }
}
