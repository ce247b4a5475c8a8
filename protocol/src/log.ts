/**
 * The one JSON-line log format of every server-side part (edge, SFU node, TURN agent):
 * `{ t, level, component, msg, ...fields }`, one object per line, so one pipeline reads
 * them all. Quiet by default: below the configured level nothing is formatted.
 */

export const LOG_LEVELS = ["debug", "info", "warn", "error", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
type Emitting = Exclude<LogLevel, "silent">;
const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  /** The same sink and level, under `<component>.<sub>`. */
  child(sub: string): Logger;
}

/** Where lines go. The default uses the console by level (Workers Logs indexes it). */
export type LogSink = (line: string, level: Emitting) => void;

const consoleSink: LogSink = (line, level) => {
  if (level === "error") console.error(line);
  else if (level === "warn") console.warn(line);
  else console.log(line);
};

export function isLogLevel(value: unknown): value is LogLevel {
  return typeof value === "string" && (LOG_LEVELS as readonly string[]).includes(value);
}

/** `level` is read leniently (a Worker var is any string): anything unknown means `fallback`. */
export function createLogger(component: string, level: string | undefined, sink: LogSink = consoleSink, fallback: LogLevel = "warn"): Logger {
  const min = RANK[isLogLevel(level) ? level : fallback];
  const emit = (lvl: Emitting, msg: string, fields?: Record<string, unknown>) => {
    if (RANK[lvl] < min) return;
    sink(JSON.stringify({ t: new Date().toISOString(), level: lvl, component, msg, ...fields }), lvl);
  };
  return {
    debug: (msg, fields) => emit("debug", msg, fields),
    info: (msg, fields) => emit("info", msg, fields),
    warn: (msg, fields) => emit("warn", msg, fields),
    error: (msg, fields) => emit("error", msg, fields),
    child: (sub) => createLogger(`${component}.${sub}`, level, sink, fallback),
  };
}

/** A thrown value as log fields, without dumping a whole object. */
export function errorFields(error: unknown): Record<string, unknown> {
  return error instanceof Error ? { error: error.message, errorName: error.name } : { error: String(error) };
}
