import { Hono } from "hono";
import { userToken, type UserVariables } from "../middleware/user-token.ts";
import { Profile } from "../profiles/profile.ts";
import { jsonBody } from "../middleware/json-body.ts";
import { rateLimit } from "../middleware/limits.ts";

/** `/api/profile`: the token subject's own profile (name, avatar, preferences). */
export const profile = new Hono<{ Bindings: Env; Variables: UserVariables }>();

profile.use("*", userToken);

profile.get("/", async (c) => c.json(await c.env.PROFILES.getByName(c.get("claims").sub).get()));

profile.put("/", rateLimit<{ Bindings: Env; Variables: UserVariables }>("RATE_PROFILE_WRITE", (c) => c.get("claims").sub), jsonBody(Profile), async (c) => c.json(await c.env.PROFILES.getByName(c.get("claims").sub).update(c.req.valid("json"))));
