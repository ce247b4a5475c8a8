import { Device } from "mediasoup-client";
import type { types } from "mediasoup-client";
import {
  backoffDelay,
  isProtocolError,
  type BackoffOptions,
  type DtlsParameters,
  type IceServer,
  type MediaSource,
  type MethodName,
  type ParamsOf,
  type ResultOf,
  type RoomMethods,
  type RtpCapabilities,
  type RtpParameters,
} from "@meridian/protocol";

/** What the engine needs from the room socket: typed requests (SignallingClient has them). */
export interface RoomRequester {
  request<K extends MethodName<RoomMethods>>(method: K, params: ParamsOf<RoomMethods, K>): Promise<ResultOf<RoomMethods, K>>;
}

/** Camera simulcast: three layers so each viewer gets what its tile and bandwidth need. */
const CAMERA_ENCODINGS: types.RtpEncodingParameters[] = [
  { rid: "r0", scaleResolutionDownBy: 4, maxBitrate: 150_000, scalabilityMode: "L1T3" },
  { rid: "r1", scaleResolutionDownBy: 2, maxBitrate: 500_000, scalabilityMode: "L1T3" },
  { rid: "r2", scaleResolutionDownBy: 1, maxBitrate: 1_200_000, scalabilityMode: "L1T3" },
];
/** Screen content: one sharp layer; text matters more than frame rate. */
const SCREEN_ENCODINGS: types.RtpEncodingParameters[] = [{ maxBitrate: 2_500_000 }];

/** A transport that stays disconnected this long gets an ICE restart (Chrome says "failed" only after ~30 s). */
const DISCONNECTED_GRACE_MS = 2_000;
/** ICE restarts that did not bring a transport back are retried, 1 s doubling to 8 s, jittered like every retry. */
const ICE_RESTART_BACKOFF: BackoffOptions = { baseMs: 1_000, maxMs: 8_000 };

export type TransportState = types.ConnectionState;

export interface RemoteMedia {
  readonly consumer: types.Consumer;
  readonly producerId: string;
  readonly peerId: string;
  readonly source: MediaSource;
  /** The producer was paused (muted, camera off) when we consumed it. */
  readonly producerPaused: boolean;
}

export interface MediaEngineOptions {
  /** mediasoup-client Device options; tests pass a FakeHandler factory. */
  readonly device?: types.DeviceOptions;
  /** Called when a transport's connection state changes (the UI shows "media reconnecting"). */
  readonly onTransportState?: (direction: "send" | "recv", state: TransportState) => void;
}

/**
 * All WebRTC work for one call, through mediasoup-client: the Device, one send and one recv
 * transport to the SFU node, producers for local tracks, consumers for remote ones. It
 * talks only to the room socket, never to the node.
 *
 * Everything here can be rebuilt in place (`reset`): when the room's media moves to another
 * node, the same engine loads the new router's capabilities, creates new transports, and
 * the caller re-produces and re-consumes. A generation counter makes the work of an older
 * incarnation that finishes late drop itself instead of leaking into the new one.
 */
export class MediaEngine {
  #signalling: RoomRequester;
  readonly #options: MediaEngineOptions;
  #device: Device | undefined;
  #send: types.Transport | undefined;
  #recv: types.Transport | undefined;
  #iceServers: IceServer[] = [];
  #generation = 0;
  #ready: Promise<void>;
  #markReady!: () => void;
  #closed = false;
  readonly #producers = new Map<MediaSource, types.Producer>();
  readonly #consumers = new Map<string, RemoteMedia>();
  readonly #consuming = new Map<string, Promise<RemoteMedia | undefined>>();
  readonly #iceTimers = new Set<ReturnType<typeof setTimeout>>();
  /** This generation's transports told the room they lost their media server (once until they reconnect). */
  #reportedLoss = false;
  /** Transports being made (once per generation). */
  #creating: Promise<void> | undefined;

  constructor(signalling: RoomRequester, options: MediaEngineOptions = {}) {
    this.#signalling = signalling;
    this.#options = options;
    this.#ready = this.#newReadyPromise();
  }

  /** After a resume, requests go through the new socket; transports and tracks stay. */
  rebind(signalling: RoomRequester): void {
    this.#signalling = signalling;
  }

  get ready(): boolean {
    return this.#send !== undefined && this.#recv !== undefined;
  }

  /** Transports exist or are being made: the SFU is (or is becoming) a path for this call. */
  get active(): boolean {
    return this.ready || this.#creating !== undefined;
  }

  /** The STUN/TURN servers the room gave this member (a peer-to-peer link uses them too). */
  get iceServers(): readonly IceServer[] {
    return this.#iceServers;
  }

  /** Resolves once transports exist (again, after a reset). */
  whenReady(): Promise<void> {
    return this.#ready;
  }

  get generation(): number {
    return this.#generation;
  }

  /** Asks the room for fresh STUN/TURN servers (in the call only) and uses them from now on. */
  async refreshIceServers(): Promise<void> {
    const { iceServers } = await this.#signalling.request("iceServers", {});
    this.setIceServers(iceServers);
  }

  /** STUN/TURN servers for new transports, and for the current ones' next ICE gathering. */
  setIceServers(iceServers: IceServer[] | undefined): void {
    if (!iceServers) return;
    this.#iceServers = iceServers;
    for (const transport of [this.#send, this.#recv]) {
      if (transport && !transport.closed) void transport.updateIceServers({ iceServers: iceServers as RTCIceServer[] }).catch(() => undefined);
    }
  }

  /** Loads a Device for the router and creates both transports. */
  async start(routerRtpCapabilities: RtpCapabilities): Promise<void> {
    if (await this.load(routerRtpCapabilities)) await this.ensureTransports();
  }

  /**
   * Loads a Device for the router, without transports (a peer-to-peer call needs none,
   * yet): true when it is this generation's.
   */
  async load(routerRtpCapabilities: RtpCapabilities): Promise<boolean> {
    const generation = this.#generation;
    const device = this.#options.device ? new Device(this.#options.device) : await Device.factory();
    await device.load({ routerRtpCapabilities: routerRtpCapabilities as types.RtpCapabilities });
    if (generation !== this.#generation || this.#closed) return false;
    this.#device = device;
    return true;
  }

  /** Both transports, made once: the call goes through the SFU. */
  ensureTransports(): Promise<void> {
    if (this.ready || !this.#device || this.#closed) return this.#ready;
    const generation = this.#generation;
    this.#creating ??= this.#createTransports(generation).finally(() => {
      if (generation === this.#generation) this.#creating = undefined;
    });
    return this.#creating;
  }

  /**
   * The room's media moved: drop every local WebRTC object (the node that held their
   * counterparts is gone), then start over with the new router's capabilities — with
   * transports again only when `transports` (a peer-to-peer call loads the device only).
   */
  async reset(routerRtpCapabilities: RtpCapabilities, transports = true): Promise<void> {
    this.#newGeneration();
    this.#reportedLoss = false;
    if ((await this.load(routerRtpCapabilities)) && transports) await this.ensureTransports();
  }

  /**
   * The call went peer-to-peer: gives the SFU back our transports (and with them our
   * producers and consumers). The device stays, for the next time the call needs the SFU.
   */
  async release(): Promise<void> {
    const transports = [this.#send, this.#recv].filter((t): t is types.Transport => t !== undefined);
    this.#newGeneration();
    await Promise.all(
      transports.map((t) =>
        this.#signalling.request("closeTransport", { transportId: t.id }).catch((error: unknown) => {
          if (!isProtocolError(error, "not_found") && !isProtocolError(error, "closed")) throw error;
        }),
      ),
    );
  }

  /** Whether any media reached the receive transport within `windowMs` (false without one). */
  async inboundFlowing(windowMs: number): Promise<boolean> {
    const recv = this.#recv;
    if (!recv || recv.closed) return false;
    const received = async () => {
      let bytes = 0;
      (await recv.getStats()).forEach((s: { type: string; bytesReceived?: number }) => {
        if (s.type === "inbound-rtp") bytes += s.bytesReceived ?? 0;
      });
      return bytes;
    };
    const before = await received();
    await new Promise((resolve) => setTimeout(resolve, windowMs));
    return !recv.closed && (await received()) > before;
  }

  /** Which sources we currently send, and their producers. */
  producer(source: MediaSource): types.Producer | undefined {
    return this.#producers.get(source);
  }

  async produce(track: MediaStreamTrack, source: MediaSource, options: { paused?: boolean } = {}): Promise<types.Producer> {
    await this.#ready;
    const send = this.#send;
    if (!send) throw new Error("send transport not ready");
    const generation = this.#generation;
    const paused = options.paused === true;
    // A muted microphone is produced paused: the others see it muted from the start.
    if (paused) track.enabled = false;
    const producer = await send.produce({
      track,
      appData: { source, paused },
      stopTracks: false,
      ...(source === "camera"
        ? { encodings: CAMERA_ENCODINGS, codecOptions: { videoGoogleStartBitrate: 1000 } }
        : source === "screen"
          ? { encodings: SCREEN_ENCODINGS, codecOptions: { videoGoogleStartBitrate: 1000 } }
          : { codecOptions: { opusDtx: true, opusFec: true } }),
    });
    if (paused) producer.pause();
    if (generation !== this.#generation) {
      producer.close();
      throw new StaleMediaError();
    }
    this.#producers.set(source, producer);
    return producer;
  }

  /** Mute / unmute (camera off / on) without renegotiating; the others see `producerPaused`. */
  async setPaused(source: MediaSource, paused: boolean): Promise<void> {
    const producer = this.#producers.get(source);
    if (!producer) return;
    if (paused) producer.pause();
    else producer.resume();
    // appData.paused is what the room was told (at produce, then here).
    producer.appData.paused = paused;
    await this.#signalling.request("setProducerPaused", { producerId: producer.id, paused });
  }

  /**
   * Whether the room shows this source paused. Not `producer.paused`: mediasoup-client
   * also calls a producer paused whose track was disabled when it was made.
   */
  pausedInRoom(source: MediaSource): boolean | undefined {
    const producer = this.#producers.get(source);
    return producer && !producer.closed ? producer.appData.paused === true : undefined;
  }

  /** Swaps the track a producer sends (another camera or microphone); no renegotiation. */
  async replaceTrack(source: MediaSource, track: MediaStreamTrack): Promise<void> {
    await this.#producers.get(source)?.replaceTrack({ track });
  }

  /** Stops sending a source; `tellRoom` false when the room already closed it (a host's mute). */
  async closeProducer(source: MediaSource, tellRoom = true): Promise<void> {
    const producer = this.#producers.get(source);
    if (!producer) return;
    this.#producers.delete(source);
    producer.close();
    if (!tellRoom) return;
    await this.#signalling.request("closeProducer", { producerId: producer.id }).catch((error: unknown) => {
      if (!isProtocolError(error, "not_found")) throw error;
    });
  }

  /**
   * Consumes a remote producer: created paused on the node, resumed once the track is
   * wired. Undefined when it is already consumed (announced twice) or a reset overtook it.
   */
  consume(producerId: string): Promise<RemoteMedia | undefined> {
    const existing = this.#consumers.get(producerId);
    if (existing) return Promise.resolve(existing);
    let pending = this.#consuming.get(producerId);
    if (!pending) {
      pending = this.#consume(producerId).finally(() => {
        if (this.#consuming.get(producerId) === pending) this.#consuming.delete(producerId);
      });
      this.#consuming.set(producerId, pending);
    }
    return pending;
  }

  async #consume(producerId: string): Promise<RemoteMedia | undefined> {
    await this.#ready;
    const generation = this.#generation;
    const recv = this.#recv;
    if (!recv) throw new Error("recv transport not ready");
    const answer = await this.#signalling.request("consume", { transportId: recv.id, producerId });
    if (generation !== this.#generation) return undefined;
    const consumer = await recv.consume({
      id: answer.consumerId,
      producerId: answer.producerId,
      kind: answer.kind,
      rtpParameters: answer.rtpParameters as types.RtpParameters,
    });
    if (generation !== this.#generation) {
      consumer.close();
      return undefined;
    }
    const remote: RemoteMedia = {
      consumer,
      producerId,
      peerId: answer.peerId,
      source: answer.source,
      producerPaused: answer.producerPaused,
    };
    this.#consumers.set(producerId, remote);
    await this.#signalling.request("resumeConsumer", { consumerId: consumer.id });
    return remote;
  }

  /** Closes the local consumer of a producer that went away. */
  dropProducer(producerId: string): void {
    this.#consumers.get(producerId)?.consumer.close();
    this.#consumers.delete(producerId);
    this.#consuming.delete(producerId);
  }

  /** Asks the node for a simulcast layer of one consumer (the tile it plays in got bigger or smaller). */
  async setPreferredLayer(producerId: string, spatialLayer: number): Promise<boolean> {
    const remote = this.#consumers.get(producerId);
    if (!remote || remote.consumer.kind !== "video" || remote.consumer.closed) return false;
    await this.#signalling.request("setPreferredLayers", { consumerId: remote.consumer.id, spatialLayer });
    return true;
  }

  /** The browser's stats of what we receive from one producer (undefined when not consumed). */
  receiveStats(producerId: string): Promise<RTCStatsReport> | undefined {
    const remote = this.#consumers.get(producerId);
    return remote && !remote.consumer.closed ? remote.consumer.getStats() : undefined;
  }

  /** The browser's stats of the send transport (outbound streams and what the SFU reports back). */
  sendStats(): Promise<RTCStatsReport> | undefined {
    return this.#send && !this.#send.closed ? this.#send.getStats() : undefined;
  }

  close(): void {
    this.#closed = true;
    this.#generation++;
    this.#closeLocal();
  }

  /** Everything local closes; work of the old generation that finishes late drops itself. */
  #newGeneration(): void {
    this.#closeLocal();
    this.#generation++;
    this.#creating = undefined;
    this.#ready = this.#newReadyPromise();
  }

  #closeLocal(): void {
    for (const timer of this.#iceTimers) clearTimeout(timer);
    this.#iceTimers.clear();
    for (const producer of this.#producers.values()) producer.close();
    for (const { consumer } of this.#consumers.values()) consumer.close();
    this.#send?.close();
    this.#recv?.close();
    this.#send = undefined;
    this.#recv = undefined;
    this.#producers.clear();
    this.#consumers.clear();
    this.#consuming.clear();
  }

  /** Creates the recv and send transports together: both are needed before media flows. */
  async #createTransports(generation: number): Promise<void> {
    const device = this.#device!;
    const [recvOptions, sendOptions] = await Promise.all([
      this.#signalling.request("createTransport", { direction: "recv", rtpCapabilities: device.rtpCapabilities as RtpCapabilities }),
      this.#signalling.request("createTransport", { direction: "send" }),
      // After a reset the TURN credentials from hello may have expired: fresh ones, in the same round trip.
      generation > 0
        ? this.#signalling.request("iceServers", {}).then(({ iceServers }) => void (this.#iceServers = iceServers), () => undefined)
        : undefined,
    ]);
    if (generation !== this.#generation || this.#closed) return;
    const iceServers = this.#iceServers as RTCIceServer[];
    const recv = device.createRecvTransport({ ...(recvOptions as types.TransportOptions), iceServers });
    const send = device.createSendTransport({ ...(sendOptions as types.TransportOptions), iceServers });
    this.#wire(recv, "recv");
    this.#wire(send, "send");
    send.on("produce", ({ kind, rtpParameters, appData }, callback, errback) => {
      this.#signalling
        .request("produce", {
          transportId: send.id,
          kind,
          source: appData.source as MediaSource,
          rtpParameters: rtpParameters as RtpParameters,
          ...(appData.paused === true ? { paused: true } : {}),
        })
        .then(({ producerId }) => callback({ id: producerId }), errback);
    });
    this.#recv = recv;
    this.#send = send;
    this.#markReady();
  }

  #wire(transport: types.Transport, direction: "send" | "recv"): void {
    transport.on("connect", ({ dtlsParameters }, callback, errback) => {
      this.#signalling
        .request("connectTransport", { transportId: transport.id, dtlsParameters: dtlsParameters as DtlsParameters })
        .then(() => callback(), errback);
    });
    let restarting = false;
    let attempt = 0;
    const later = (ms: number, run: () => void) => {
      const timer = setTimeout(() => {
        this.#iceTimers.delete(timer);
        run();
      }, ms);
      this.#iceTimers.add(timer);
    };
    const restart = async () => {
      if (restarting || transport.closed) return;
      restarting = true;
      try {
        await this.#restartIce(transport);
      } catch {
        // Signalling may be down too; try again while the transport is still unhealthy.
      } finally {
        restarting = false;
      }
      const delay = backoffDelay(attempt++, ICE_RESTART_BACKOFF);
      later(delay, () => {
        if (!transport.closed && (transport.connectionState === "failed" || transport.connectionState === "disconnected")) void restart();
      });
    };
    transport.on("connectionstatechange", (state) => {
      this.#options.onTransportState?.(direction, state);
      if (state === "connected") attempt = 0;
      if (state === "connected") this.#reportedLoss = false;
      if ((state === "disconnected" || state === "failed") && !this.#reportedLoss) {
        // The room moves us now if our node is gone for it too (its control link closed);
        // otherwise the ICE restarts below bring the transport back.
        this.#reportedLoss = true;
        void this.#signalling.request("mediaUnreachable", {}).catch(() => undefined);
      }
      if (state === "failed") void restart();
      if (state === "disconnected") {
        later(DISCONNECTED_GRACE_MS, () => {
          if (transport.connectionState === "disconnected") void restart();
        });
      }
    });
  }

  /** Fresh TURN credentials first (they are short-lived), then new ICE credentials from the node. */
  async #restartIce(transport: types.Transport): Promise<void> {
    const { iceServers } = await this.#signalling.request("iceServers", {});
    this.#iceServers = iceServers;
    if (transport.closed) return;
    await transport.updateIceServers({ iceServers: iceServers as RTCIceServer[] });
    const { iceParameters } = await this.#signalling.request("restartIce", { transportId: transport.id });
    if (transport.closed) return;
    await transport.restartIce({ iceParameters: iceParameters as types.IceParameters });
  }

  #newReadyPromise(): Promise<void> {
    return new Promise<void>((resolve) => (this.#markReady = resolve));
  }
}

/** A produce that a media reset overtook: the caller re-produces in the new generation. */
export class StaleMediaError extends Error {
  constructor() {
    super("media was reset meanwhile");
  }
}
