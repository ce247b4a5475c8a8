import type { ErrorCode } from "@meridian/protocol";

/** The JSON error body every HTTP endpoint answers with: `{ error: { code, message } }`. */
export function errorResponse(status: number, code: ErrorCode, message: string, headers?: HeadersInit): Response {
  return Response.json({ error: { code, message } }, { status, ...(headers ? { headers } : {}) });
}

export function isWebSocketUpgrade(request: Request): boolean {
  return request.headers.get("upgrade")?.toLowerCase() === "websocket";
}
