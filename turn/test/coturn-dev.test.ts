import { createSocket, type Socket } from "node:dgram";
import { once } from "node:events";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mintTurnCredential } from "../src/credentials.ts";
import { devParams } from "../src/render-config.ts";
import { coturnAvailable, startCoturn, type RunningCoturn } from "./support/coturn.ts";
import { TurnClient } from "./support/turn-client.ts";

/** The loopback variant `npm start` uses: the local SFU node is a loopback peer. */

const SECRET = "dev-secret-for-tests";

describe.runIf(coturnAvailable())("coturn with the dev variant", () => {
  let server: RunningCoturn;
  let peer: Socket;
  const clients: TurnClient[] = [];

  beforeAll(async () => {
    server = await startCoturn({ params: (ports) => devParams(SECRET, { ports }) });
    peer = createSocket("udp4");
    peer.bind(0, "127.0.0.1");
    await once(peer, "listening");
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    peer?.close();
    await server?.stop();
  });

  it("relays to a peer on loopback and back", async () => {
    const { username, credential } = await mintTurnCredential({ secret: SECRET, userId: "dev", ttlSeconds: 600 });
    const c = await TurnClient.open({ host: server.host, port: server.ports.listeningPort });
    clients.push(c);
    const allocation = await c.allocate(username, credential);
    expect(allocation.ok).toBe(true);
    if (!allocation.ok) return;
    expect(await c.createPermission("127.0.0.1")).toEqual({ ok: true });

    const peerPort = peer.address().port;
    const received = once(peer, "message") as Promise<[Buffer, { address: string; port: number }]>;
    c.send({ family: 4, address: "127.0.0.1", port: peerPort }, Buffer.from("ping through the relay"));
    const [data, from] = await received;
    expect(data.toString()).toBe("ping through the relay");
    // The peer sees the relayed address, not the client: that is what TURN is for.
    expect(from.port).toBe(allocation.relayed.port);

    peer.send("pong from the peer", from.port, from.address);
    const back = await c.nextData();
    expect(back.data.toString()).toBe("pong from the peer");
    expect(back.peer.port).toBe(peerPort);
  });

  it("still refuses private ranges other than loopback", async () => {
    const { username, credential } = await mintTurnCredential({ secret: SECRET, userId: "dev2", ttlSeconds: 600 });
    const c = await TurnClient.open({ host: server.host, port: server.ports.listeningPort });
    clients.push(c);
    expect((await c.allocate(username, credential)).ok).toBe(true);
    expect(await c.createPermission("10.0.0.1")).toMatchObject({ ok: false, code: 403 });
  });
});
