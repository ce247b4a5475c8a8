import * as v from "valibot";

/** Every error that crosses a boundary carries one of these codes. */
export const ERROR_CODES = [
  "bad_frame",
  "frame_too_large",
  "unknown_method",
  "invalid_params",
  "protocol_mismatch",
  "unauthorized",
  "not_joined",
  "already_joined",
  "room_not_found",
  "room_closed",
  "room_full",
  "room_locked",
  "rate_limited",
  "too_many_connections",
  "body_too_large",
  "resume_failed",
  "not_found",
  "forbidden",
  "no_node_available",
  "node_unavailable",
  "media_error",
  "timeout",
  "closed",
  "internal",
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export const ErrorBody = v.object({
  code: v.picklist(ERROR_CODES),
  message: v.pipe(v.string(), v.maxLength(1024)),
});
export type ErrorBody = v.InferOutput<typeof ErrorBody>;

/** A typed error: thrown by handlers, returned to callers as `{ code, message }`. */
export class ProtocolError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = "ProtocolError";
    this.code = code;
  }

  toBody(): ErrorBody {
    return { code: this.code, message: this.message };
  }

  static from(body: ErrorBody): ProtocolError {
    return new ProtocolError(body.code, body.message);
  }
}

/** Maps anything thrown to a body that is safe to send: unknown errors become `internal`. */
export function toErrorBody(error: unknown): ErrorBody {
  if (error instanceof ProtocolError) return error.toBody();
  return { code: "internal", message: "internal error" };
}

export function isProtocolError(error: unknown, code?: ErrorCode): error is ProtocolError {
  return error instanceof ProtocolError && (code === undefined || error.code === code);
}
