#!/usr/bin/env node
import { errorFields } from "@meridian/protocol";
import { createLogger } from "@meridian/node-agent";
import { AgentConfigError, loadAgentConfig } from "./agent-config.ts";
import { TurnAgent } from "./turn-agent.ts";

/** `node turn/src/agent.ts`: registers this coturn host with the edge (systemd: meridian-turn-agent). */

const boot = createLogger("turn-agent");
try {
  const config = loadAgentConfig();
  const log = createLogger("turn-agent", config.logLevel).child(config.nodeId);
  const agent = new TurnAgent(config, log);
  await agent.start();
  const metrics = config.metrics.port > 0 ? `${config.metrics.ip}:${config.metrics.port}` : "off";
  log.info("agent started", { nodeId: config.nodeId, region: config.region, probe: config.probe, metrics });

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info("shutting down", { signal });
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    void agent.stop().then(() => process.exit(0));
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
} catch (error) {
  if (error instanceof AgentConfigError) boot.error(error.message);
  else boot.error("agent failed to start", errorFields(error));
  process.exit(1);
}
