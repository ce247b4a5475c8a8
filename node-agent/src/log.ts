import { createLogger as createJsonLogger, type LogLevel, type Logger } from "@meridian/protocol";

/**
 * A node's logger: the protocol's JSON lines (the edge's format), every level on stdout,
 * which the journal keeps. `info` unless told otherwise, which covers only lifecycle
 * events. `write` takes the lines instead (tests that read them).
 */
export function createLogger(
  component: string,
  level?: LogLevel,
  write: (line: string) => void = (line) => process.stdout.write(line + "\n"),
): Logger {
  return createJsonLogger(component, level, (line) => write(line), "info");
}
