import type { Logger } from "@meridian/protocol";
import { createLogger } from "../../src/log.ts";
import { Arrivals } from "./arrivals.ts";

export type LogLine = Record<string, unknown> & { level: string; msg: string };

export interface CapturedLog {
  /** Logs at `info` and above, as a node does by default. */
  readonly log: Logger;
  /** Every line so far, parsed. */
  readonly lines: readonly LogLine[];
  /** The next line matching that no earlier `next` took, logged already or within the timeout. */
  next(match: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
}

/** A node logger that keeps its lines for the test to read and wait for. */
export function captureLog(): CapturedLog {
  const lines = new Arrivals<LogLine>("a matching log line");
  return {
    log: createLogger("test", "info", (text) => lines.push(JSON.parse(text) as LogLine)),
    lines: lines.all,
    next: (match, timeoutMs = 8000) =>
      lines.next(match, timeoutMs).catch((error: Error) => {
        throw new Error(`${error.message}; got:\n${lines.all.map((l) => JSON.stringify(l)).join("\n")}`);
      }),
  };
}
