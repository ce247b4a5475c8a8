import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { WebSocketServer, type WebSocket } from "ws";

/**
 * A scripted stand-in for the edge's node endpoint on loopback: accepts node sockets,
 * answers `register`, and records every frame with the headers it came with. The real
 * edge is covered by the e2e suite; this pins what the TURN agent sends.
 */

export type Frame = Record<string, unknown> & { headers?: Record<string, string | string[] | undefined> };

export interface FakeEdge {
  readonly url: string;
  readonly sockets: WebSocket[];
  next(match: (frame: Frame) => boolean, timeoutMs?: number): Promise<Frame>;
  /** Resolves when a node socket closes. */
  nextClose(timeoutMs?: number): Promise<number>;
  close(): Promise<void>;
}

export async function startFakeEdge(): Promise<FakeEdge> {
  const frames: Frame[] = [];
  const waiters: Array<{ match: (f: Frame) => boolean; resolve: (f: Frame) => void }> = [];
  const closes: number[] = [];
  const closeWaiters: Array<(code: number) => void> = [];
  const server = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await once(server, "listening");
  const sockets: WebSocket[] = [];
  server.on("connection", (socket, request) => {
    sockets.push(socket);
    socket.on("close", (code) => {
      const waiter = closeWaiters.shift();
      if (waiter) waiter(code);
      else closes.push(code);
    });
    socket.on("message", (data) => {
      const frame = JSON.parse(data.toString()) as Frame;
      frame.headers = request.headers;
      if (frame.kind === "req" && frame.method === "register") {
        socket.send(JSON.stringify({ kind: "res", id: frame.id, result: { nodeId: (frame.params as { nodeId: string }).nodeId } }));
      }
      const waiter = waiters.find((w) => w.match(frame));
      if (waiter) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(frame);
      } else frames.push(frame);
    });
  });
  return {
    url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}`,
    sockets,
    next(match, timeoutMs = 8000) {
      const seen = frames.find(match);
      if (seen) {
        frames.splice(frames.indexOf(seen), 1);
        return Promise.resolve(seen);
      }
      return new Promise((resolve, reject) => {
        const waiter = {
          match,
          resolve: (f: Frame) => {
            clearTimeout(timer);
            resolve(f);
          },
        };
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(waiter), 1);
          reject(new Error("timed out waiting for a frame from the node"));
        }, timeoutMs);
        waiters.push(waiter);
      });
    },
    nextClose(timeoutMs = 8000) {
      if (closes.length) return Promise.resolve(closes.shift()!);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("no node socket closed in time")), timeoutMs);
        closeWaiters.push((code) => {
          clearTimeout(timer);
          resolve(code);
        });
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of server.clients) socket.terminate();
        server.close(() => resolve());
      }),
  };
}
