#!/usr/bin/env node
import { ConfigError, loadConfig } from "./config.ts";
import { createLogger, errorFields } from "./log.ts";
import { SfuNode } from "./node.ts";
import { WorkerBinaryError, resolveWorkerBinary } from "./worker-binary.ts";

const boot = createLogger("sfu");
let node: SfuNode;
try {
  const config = loadConfig();
  const log = createLogger("sfu", config.logLevel).child(config.nodeId);
  node = new SfuNode(config, resolveWorkerBinary(), log);
  await node.start();
  log.info("node started", {
    nodeId: config.nodeId,
    region: config.region,
    workers: config.numWorkers,
    listenIp: config.listenIp,
    announcedAddress: config.announcedAddress ?? null,
    rtcPorts: `${config.rtcPortBase}-${config.rtcPortBase + config.numWorkers - 1}`,
  });

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info("shutting down", { signal });
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    void node.stop().then(() => process.exit(process.exitCode ?? 0));
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
} catch (error) {
  if (error instanceof ConfigError || error instanceof WorkerBinaryError) {
    boot.error(error.message);
  } else {
    boot.error("node failed to start", errorFields(error));
  }
  process.exit(1);
}
