import { readFileSync } from "node:fs";
import * as v from "valibot";
import { summarizeIssues } from "@meridian/protocol";

/** ports.json at the repository root: the one source of truth for every VM port. */
export const PORTS_FILE = new URL("../../ports.json", import.meta.url);

const Port = v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(65535));

const PortsSchema = v.pipe(
  v.object({
    sfu: v.object({
      webrtcPortBase: Port,
      maxWorkers: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(256)),
      metricsPort: Port,
    }),
    turn: v.object({
      listeningPort: Port,
      tlsListeningPort: Port,
      altTlsListeningPort: Port,
      relayMinPort: Port,
      relayMaxPort: Port,
      prometheusPort: Port,
    }),
  }),
  v.check((p) => p.turn.relayMinPort <= p.turn.relayMaxPort, "turn.relayMinPort must not exceed relayMaxPort"),
  v.check((p) => p.sfu.webrtcPortBase + p.sfu.maxWorkers - 1 <= 65535, "sfu.webrtcPortBase + maxWorkers exceeds 65535"),
);

export type Ports = v.InferOutput<typeof PortsSchema>;
export type TurnPorts = Ports["turn"];

export function loadPorts(file: URL | string = PORTS_FILE): Ports {
  const parsed = v.safeParse(PortsSchema, JSON.parse(readFileSync(file, "utf8")));
  if (!parsed.success) throw new Error(`invalid ports.json: ${summarizeIssues(parsed.issues)}`);
  return parsed.output;
}
