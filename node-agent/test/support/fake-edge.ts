import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { WebSocketServer, type WebSocket } from "ws";
import { Arrivals } from "./arrivals.ts";

/**
 * A scripted stand-in for the edge's node endpoint on loopback: accepts node sockets,
 * answers `register`, and records every frame with the headers it came with. The real
 * edge is covered by the e2e suite; this pins what a node sends and how it copes.
 */

export type Frame = Record<string, unknown> & { headers?: Record<string, string | string[] | undefined> };

export interface FakeEdgeOptions {
  /** Refuses every upgrade with this HTTP status (401: a wrong NODE_SECRET). */
  readonly status?: number;
  /** false: pings go unanswered, as on a half-open socket. Default true. */
  readonly autoPong?: boolean;
  /** false: `register` goes unanswered. Default true. */
  readonly answerRegister?: boolean;
}

export interface FakeEdge {
  /** The EDGE_URL a node is given (`edgeConnectUrl` adds the path; the fake ignores it). */
  readonly url: string;
  readonly server: WebSocketServer;
  /** Node sockets in the order they connected. */
  readonly sockets: WebSocket[];
  /** The next frame matching, from any node socket. */
  next(match: (frame: Frame) => boolean, timeoutMs?: number): Promise<Frame>;
  /** The close code of the next node socket to close. */
  nextClose(timeoutMs?: number): Promise<number>;
  close(): Promise<void>;
}

export async function startFakeEdge(options: FakeEdgeOptions = {}): Promise<FakeEdge> {
  const frames = new Arrivals<Frame>("a frame from the node");
  const closes = new Arrivals<number>("a node socket to close");
  const server = new WebSocketServer({
    host: "127.0.0.1",
    port: 0,
    autoPong: options.autoPong ?? true,
    verifyClient: (_info, done) => (options.status ? done(false, options.status) : done(true)),
  });
  await once(server, "listening");
  const sockets: WebSocket[] = [];
  server.on("connection", (socket, request) => {
    sockets.push(socket);
    socket.on("close", (code) => closes.push(code));
    socket.on("message", (data) => {
      const frame = JSON.parse(data.toString()) as Frame;
      frame.headers = request.headers;
      if (frame.kind === "req" && frame.method === "register" && options.answerRegister !== false) {
        socket.send(JSON.stringify({ kind: "res", id: frame.id, result: { nodeId: (frame.params as { nodeId: string }).nodeId } }));
      }
      frames.push(frame);
    });
  });
  return {
    url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}`,
    server,
    sockets,
    next: (match, timeoutMs = 8000) => frames.next(match, timeoutMs),
    nextClose: (timeoutMs = 8000) => closes.next(() => true, timeoutMs),
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of server.clients) socket.terminate();
        server.close(() => resolve());
      }),
  };
}
