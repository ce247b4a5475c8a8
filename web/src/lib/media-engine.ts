import { Device } from "mediasoup-client";
import type { types } from "mediasoup-client";
import type { DtlsParameters, MediaSource, RtpCapabilities, RtpParameters } from "@meridian/protocol";
import type { SignallingClient } from "./signalling.ts";

/** Camera simulcast: three layers so each viewer gets what its tile and bandwidth need. */
const CAMERA_ENCODINGS: types.RtpEncodingParameters[] = [
  { rid: "r0", scaleResolutionDownBy: 4, maxBitrate: 150_000 },
  { rid: "r1", scaleResolutionDownBy: 2, maxBitrate: 500_000 },
  { rid: "r2", scaleResolutionDownBy: 1, maxBitrate: 1_200_000 },
];

export interface RemoteMedia {
  readonly consumer: types.Consumer;
  readonly peerId: string;
  readonly source: MediaSource;
}

/**
 * All WebRTC work for one call, through mediasoup-client: the Device, one send and one
 * recv transport to the SFU node, producers for local tracks, consumers for remote ones.
 * Signalling goes through the room socket; this class never talks to the node directly.
 */
export class MediaEngine {
  #signalling: SignallingClient;
  #device: Device | undefined;
  #send: types.Transport | undefined;
  #recv: types.Transport | undefined;
  readonly #producers = new Map<MediaSource, types.Producer>();
  readonly #consumers = new Map<string, RemoteMedia>();
  readonly #consuming = new Set<string>();

  constructor(signalling: SignallingClient) {
    this.#signalling = signalling;
  }

  /** After a resume, requests go through the new socket; transports and tracks stay. */
  rebind(signalling: SignallingClient): void {
    this.#signalling = signalling;
  }

  get ready(): boolean {
    return this.#send !== undefined && this.#recv !== undefined;
  }

  async load(routerRtpCapabilities: RtpCapabilities): Promise<void> {
    const device = await Device.factory();
    await device.load({ routerRtpCapabilities: routerRtpCapabilities as types.RtpCapabilities });
    this.#device = device;
  }

  /** Creates the recv and send transports together: both are needed before media flows. */
  async createTransports(): Promise<void> {
    const device = this.#requireDevice();
    const [recvOptions, sendOptions] = await Promise.all([
      this.#signalling.request("createTransport", {
        direction: "recv",
        rtpCapabilities: device.rtpCapabilities as RtpCapabilities,
      }),
      this.#signalling.request("createTransport", { direction: "send" }),
    ]);
    this.#recv = device.createRecvTransport(recvOptions as types.TransportOptions);
    this.#wireConnect(this.#recv);
    this.#send = device.createSendTransport(sendOptions as types.TransportOptions);
    this.#wireConnect(this.#send);
    this.#send.on("produce", ({ kind, rtpParameters, appData }, callback, errback) => {
      this.#signalling
        .request("produce", {
          transportId: this.#send!.id,
          kind,
          source: appData.source as MediaSource,
          rtpParameters: rtpParameters as RtpParameters,
        })
        .then(({ producerId }) => callback({ id: producerId }), errback);
    });
  }

  async produce(track: MediaStreamTrack, source: MediaSource): Promise<types.Producer> {
    if (!this.#send) throw new Error("send transport not ready");
    const producer = await this.#send.produce({
      track,
      appData: { source },
      stopTracks: false,
      ...(source === "camera"
        ? { encodings: CAMERA_ENCODINGS, codecOptions: { videoGoogleStartBitrate: 1000 } }
        : source === "mic"
          ? { codecOptions: { opusDtx: true, opusFec: true } }
          : {}),
    });
    this.#producers.set(source, producer);
    return producer;
  }

  /**
   * Consumes a remote producer: created paused on the node, resumed once the track is
   * wired. Undefined when it is already being consumed (announced twice).
   */
  async consume(producerId: string): Promise<RemoteMedia | undefined> {
    if (!this.#recv) throw new Error("recv transport not ready");
    if (this.#consuming.has(producerId)) return undefined;
    this.#consuming.add(producerId);
    const recv = this.#recv;
    let consumer: types.Consumer;
    let answer;
    try {
      answer = await this.#signalling.request("consume", { transportId: recv.id, producerId });
      consumer = await recv.consume({
        id: answer.consumerId,
        producerId: answer.producerId,
        kind: answer.kind,
        rtpParameters: answer.rtpParameters as types.RtpParameters,
      });
    } catch (error) {
      this.#consuming.delete(producerId);
      throw error;
    }
    const remote: RemoteMedia = { consumer, peerId: answer.peerId, source: answer.source };
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

  close(): void {
    for (const producer of this.#producers.values()) producer.close();
    for (const { consumer } of this.#consumers.values()) consumer.close();
    this.#send?.close();
    this.#recv?.close();
    this.#producers.clear();
    this.#consumers.clear();
  }

  #wireConnect(transport: types.Transport): void {
    transport.on("connect", ({ dtlsParameters }, callback, errback) => {
      this.#signalling
        .request("connectTransport", {
          transportId: transport.id,
          dtlsParameters: dtlsParameters as DtlsParameters,
        })
        .then(() => callback(), errback);
    });
  }

  #requireDevice(): Device {
    if (!this.#device) throw new Error("device not loaded");
    return this.#device;
  }
}
