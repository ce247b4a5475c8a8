import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocketServer, type WebSocket as ServerSocket } from "ws";
import { isProtocolError } from "@meridian/protocol";
import { SignallingClient } from "../src/lib/signalling.ts";

/** The browser's signalling client, against a scripted room endpoint on loopback. */

let server: WebSocketServer | undefined;
afterEach(async () => {
  if (!server) return;
  for (const client of server.clients) client.terminate();
  await new Promise((resolve) => server!.close(resolve));
  server = undefined;
});

async function room(onRequest: (socket: ServerSocket, frame: { id: number; method: string; params: unknown }) => void) {
  server = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await once(server, "listening");
  const sockets: ServerSocket[] = [];
  server.on("connection", (socket) => {
    sockets.push(socket);
    socket.on("message", (data) => {
      const frame = JSON.parse(String(data));
      if (frame.kind === "req") onRequest(socket, frame);
    });
  });
  return { url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}/`, sockets };
}

describe("SignallingClient", () => {
  it("matches responses to requests and validates results", async () => {
    const { url } = await room((socket, frame) => {
      if (frame.method === "closeProducer") socket.send(JSON.stringify({ kind: "res", id: frame.id, result: {} }));
      if (frame.method === "produce") socket.send(JSON.stringify({ kind: "res", id: frame.id, result: { producerId: 42 } }));
      if (frame.method === "resumeConsumer") {
        socket.send(JSON.stringify({ kind: "res", id: frame.id, error: { code: "not_found", message: "no consumer" } }));
      }
    });
    const client = new SignallingClient(url, "test-token");
    await client.connect();
    await expect(client.request("closeProducer", { producerId: "p" })).resolves.toEqual({});
    const bad = await client
      .request("produce", { transportId: "t", kind: "audio", source: "mic", rtpParameters: { codecs: [{ mimeType: "audio/opus", payloadType: 1, clockRate: 48000 }] } })
      .catch((e: unknown) => e);
    expect(isProtocolError(bad, "bad_frame")).toBe(true);
    const missing = await client.request("resumeConsumer", { consumerId: "c" }).catch((e: unknown) => e);
    expect(isProtocolError(missing, "not_found")).toBe(true);
    client.close();
  });

  it("delivers valid events to listeners and drops invalid ones", async () => {
    const { url, sockets } = await room(() => undefined);
    const client = new SignallingClient(url, "test-token");
    await client.connect();
    const seen: string[] = [];
    client.on("peerLeft", ({ peerId }) => seen.push(peerId));
    const socket = sockets[0]!;
    socket.send(JSON.stringify({ kind: "evt", event: "peerLeft", data: { peerId: 7, reason: "left" } }));
    socket.send(JSON.stringify({ kind: "evt", event: "peerLeft", data: { peerId: "p1", reason: "left" } }));
    await expect.poll(() => seen).toEqual(["p1"]);
    client.close();
  });

  it("gives onAny listeners each event with its log seq, and ignores keepalive pongs", async () => {
    const { url, sockets } = await room(() => undefined);
    const client = new SignallingClient(url, "test-token");
    await client.connect();
    const seen: Array<[string, number | undefined]> = [];
    client.onAny((event, _data, seq) => seen.push([event, seq]));
    const socket = sockets[0]!;
    socket.send("pong");
    socket.send(JSON.stringify({ kind: "evt", event: "presence", data: { peerId: "p1", presence: "reconnecting" }, seq: 7 }));
    socket.send(JSON.stringify({ kind: "evt", event: "activeSpeaker", data: { peerId: null } }));
    await expect.poll(() => seen).toEqual([
      ["presence", 7],
      ["activeSpeaker", undefined],
    ]);
    client.close();
  });

  it("offers the protocol and the token as subprotocols, never in the URL", async () => {
    const { url } = await room(() => undefined);
    const offered = new Promise<string | undefined>((resolve) => server!.once("headers", (_headers, request) => resolve(request.headers["sec-websocket-protocol"])));
    const client = new SignallingClient(url, "secret-token");
    await client.connect();
    expect(await offered).toBe("meridian.v1, bearer.secret-token");
    client.close();
  });

  it("times a request out when the room never answers", async () => {
    const { url } = await room(() => undefined);
    const client = new SignallingClient(url, "test-token", { timeoutMs: 100 });
    await client.connect();
    const error = await client.request("leave", {}).catch((e: unknown) => e);
    expect(isProtocolError(error, "timeout")).toBe(true);
    client.close();
  });

  it("fails pending requests and reports the close when the room goes away", async () => {
    const { url, sockets } = await room(() => undefined);
    const client = new SignallingClient(url, "test-token");
    await client.connect();
    const closed = new Promise<{ code: number; reason: string }>((resolve) => client.onClose(resolve));
    const pending = client.request("leave", {}).catch((e: unknown) => e);
    sockets[0]!.close(4004, "room ended");
    expect(await closed).toEqual({ code: 4004, reason: "room ended" });
    expect(isProtocolError(await pending, "closed")).toBe(true);
  });

  it("rejects connect when nothing answers", async () => {
    const { url } = await room(() => undefined);
    await new Promise((resolve) => server!.close(resolve));
    for (const client of server!.clients) client.terminate();
    server = undefined;
    const failed = await new SignallingClient(url, "test-token").connect().catch((e: unknown) => e);
    expect(isProtocolError(failed, "closed")).toBe(true);
  });
});
