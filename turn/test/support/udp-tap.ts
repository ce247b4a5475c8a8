import { createSocket, type Socket } from "node:dgram";
import type { AddressInfo } from "node:net";
import { decodeMessage, type StunMessage } from "../../src/stun.ts";

/**
 * A UDP forwarder on loopback in front of coturn that keeps every STUN message either
 * way. Each client socket gets an upstream socket of its own, so coturn still sees one
 * 5-tuple per client (one allocation each), and the tap can switch new clients to
 * another server without a moment where nothing answers.
 */

export interface Server {
  readonly host: string;
  readonly port: number;
}

export interface UdpTap {
  readonly port: number;
  readonly toServer: StunMessage[];
  readonly toClient: StunMessage[];
  /** What the tap swallowed (TapOptions.drop). */
  readonly dropped: StunMessage[];
  /** Clients that send their first datagram from now on reach `server`. */
  retarget(server: Server): void;
  close(): void;
}

export interface TapOptions {
  /** Client datagrams to swallow before forwarding any: a lossy path. */
  readonly drop?: number;
}

export async function startUdpTap(server: Server, options: TapOptions = {}): Promise<UdpTap> {
  const downstream = createSocket("udp4");
  await new Promise<void>((resolve) => downstream.bind(0, "127.0.0.1", () => resolve()));
  const toServer: StunMessage[] = [];
  const toClient: StunMessage[] = [];
  const dropped: StunMessage[] = [];
  const upstreams = new Map<string, { socket: Socket; server: Server }>();
  let target = server;
  let toDrop = options.drop ?? 0;

  downstream.on("message", (data, from) => {
    const message = decodeMessage(data);
    if (toDrop > 0) {
      toDrop--;
      if (message) dropped.push(message);
      return;
    }
    if (message) toServer.push(message);
    const key = `${from.address}:${from.port}`;
    let upstream = upstreams.get(key);
    if (!upstream) {
      const socket = createSocket("udp4");
      socket.on("message", (answer) => {
        const decoded = decodeMessage(answer);
        if (decoded) toClient.push(decoded);
        downstream.send(answer, from.port, from.address);
      });
      upstream = { socket, server: target };
      upstreams.set(key, upstream);
    }
    upstream.socket.send(data, upstream.server.port, upstream.server.host);
  });

  return {
    port: (downstream.address() as AddressInfo).port,
    toServer,
    toClient,
    dropped,
    retarget(next) {
      target = next;
    },
    close() {
      downstream.close();
      for (const { socket } of upstreams.values()) socket.close();
      upstreams.clear();
    },
  };
}
