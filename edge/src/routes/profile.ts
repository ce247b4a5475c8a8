import { Hono } from "hono";
import { userToken, type UserVariables } from "../middleware/user-token.ts";
import { Profile, profileStub } from "../profiles/profile-do.ts";
import { jsonBody } from "./rooms.ts";

/** `/api/profile`: the token subject's own profile (name, avatar, preferences). */
export const profile = new Hono<{ Bindings: Env; Variables: UserVariables }>();

profile.use("*", userToken);

profile.get("/", async (c) => c.json(await profileStub(c.env, c.get("claims").sub).get()));

profile.put("/", async (c) => {
  const body = await jsonBody(c, Profile);
  if (body instanceof Response) return body;
  return c.json(await profileStub(c.env, c.get("claims").sub).update(body));
});
