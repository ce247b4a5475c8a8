#!/usr/bin/env node
import { errorFields } from "@meridian/protocol";
import { createLogger } from "@meridian/node-agent";
import { ConfigError, loadConfig } from "./config.ts";
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
    metrics: config.metricsPort ? `${config.metricsIp}:${config.metricsPort}` : "off",
  });

  // SIGTERM (systemd, autoscaling): drain, then exit. SIGINT (Ctrl-C): stop now.
  // A second signal of either kind stops at once.
  let stopping = false;
  const shutdown = (signal: string, drain: boolean) => {
    if (stopping) {
      log.warn("second signal: stopping now", { signal });
      void node.stop().finally(() => process.exit(1));
      return;
    }
    stopping = true;
    log.info("shutting down", { signal, drain });
    void (drain ? node.drain() : node.stop()).then(
      () => process.exit(process.exitCode ?? 0),
      (error) => {
        log.error("shutdown failed", errorFields(error));
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => shutdown("SIGTERM", true));
  process.on("SIGINT", () => shutdown("SIGINT", false));
} catch (error) {
  if (error instanceof ConfigError || error instanceof WorkerBinaryError) {
    boot.error(error.message);
  } else {
    boot.error("node failed to start", errorFields(error));
  }
  process.exit(1);
}
