import { createServer, request, type IncomingMessage, type Server } from "node:http";
import { connect } from "node:net";
import type { AddressInfo } from "node:net";

/**
 * Puts a browser somewhere on the map: a loopback proxy in front of `wrangler dev` that
 * adds the MF-CF-Blob header (wrangler dev's stand-in for Cloudflare's request.cf) to
 * every request the page makes through it, WebSocket upgrades included (a browser's
 * extra-header settings do not reach those). The page loads the app from the proxy's
 * origin; the edge sees its own host, so the stack allows that origin explicitly.
 */
export interface CfProxy {
  readonly url: string;
  close(): Promise<void>;
}

export async function startCfProxy(target: string, cf: Record<string, string>, port = 0): Promise<CfProxy> {
  const upstream = new URL(target);
  const blob = JSON.stringify(cf);
  const headersFor = (incoming: IncomingMessage) => ({ ...incoming.headers, host: upstream.host, "mf-cf-blob": blob });
  const server: Server = createServer((req, res) => {
    const forward = request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: headersFor(req) }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    forward.on("error", () => res.destroy());
    req.pipe(forward);
  });
  server.on("upgrade", (req, socket, head) => {
    const upstreamSocket = connect(Number(upstream.port), upstream.hostname, () => {
      const lines = [`${req.method} ${req.url} HTTP/1.1`];
      for (const [name, value] of Object.entries(headersFor(req))) {
        for (const v of Array.isArray(value) ? value : [value]) if (v !== undefined) lines.push(`${name}: ${v}`);
      }
      upstreamSocket.write(`${lines.join("\r\n")}\r\n\r\n`);
      if (head.length) upstreamSocket.write(head);
      socket.pipe(upstreamSocket).pipe(socket);
    });
    const drop = () => {
      socket.destroy();
      upstreamSocket.destroy();
    };
    upstreamSocket.on("error", drop);
    socket.on("error", drop);
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
