import { validator } from "hono/validator";
import * as v from "valibot";
import { summarizeIssues } from "@meridian/protocol";
import { errorResponse } from "../lib/http.ts";

const JSON_TYPE = /^application\/([\w.-]+\+)?json$/i;

/**
 * Validates a JSON object body against a valibot schema (Hono's validator: handlers read
 * it with `c.req.valid("json")`). No body is `{}`; a body that is not declared as JSON is
 * refused (415) rather than ignored; one that is not a JSON object, or does not match the
 * schema, gets a typed 400.
 */
export function jsonBody<S extends v.GenericSchema>(schema: S) {
  return validator("json", async (value, c) => {
    const declared = (c.req.header("content-type") ?? "").split(";")[0]!.trim();
    if (!JSON_TYPE.test(declared) && (await c.req.text()).trim() !== "") {
      return errorResponse(415, "invalid_params", "send the body as application/json");
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      return errorResponse(400, "invalid_params", "the body must be a JSON object");
    }
    const parsed = v.safeParse(schema, value);
    if (!parsed.success) return errorResponse(400, "invalid_params", summarizeIssues(parsed.issues));
    return parsed.output as v.InferOutput<S>;
  });
}
