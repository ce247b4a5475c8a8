import { describe, expect, it } from "vitest";
import { api, createRoom, guestToken } from "./support/socket.ts";

describe("/api/profile", () => {
  it("stores the token subject's profile durably and returns it", async () => {
    const { token } = await createRoom();
    const auth = { authorization: `Bearer ${token}` };
    expect(await (await api("/api/profile", { headers: auth })).json()).toEqual({});
    const saved = await api("/api/profile", {
      method: "PUT",
      headers: auth,
      body: JSON.stringify({ displayName: "Ada", avatar: { color: "#36e2b4", initials: "AL" }, preferences: { joinWithCamera: false } }),
    });
    expect(saved.status).toBe(200);
    // A partial update keeps the other fields.
    await api("/api/profile", { method: "PUT", headers: auth, body: JSON.stringify({ preferences: { joinWithMic: false } }) });
    expect(await (await api("/api/profile", { headers: auth })).json()).toEqual({
      displayName: "Ada",
      avatar: { color: "#36e2b4", initials: "AL" },
      preferences: { joinWithMic: false },
    });
  });

  it("is per subject: another user's token sees its own", async () => {
    const { roomId, token } = await createRoom();
    await api("/api/profile", { method: "PUT", headers: { authorization: `Bearer ${token}` }, body: JSON.stringify({ displayName: "Host" }) });
    const other = await api("/api/profile", { headers: { authorization: `Bearer ${await guestToken(roomId)}` } });
    expect(await other.json()).toEqual({});
  });

  it("refuses invalid profiles with 400 and missing tokens with 401", async () => {
    const { token } = await createRoom();
    const auth = { authorization: `Bearer ${token}` };
    for (const body of ["nope", JSON.stringify({ displayName: "" }), JSON.stringify({ avatar: { color: "red", initials: "A" } }), JSON.stringify({ displayName: "x".repeat(65) })]) {
      expect((await api("/api/profile", { method: "PUT", headers: auth, body })).status).toBe(400);
    }
    expect((await api("/api/profile")).status).toBe(401);
    expect((await api("/api/profile", { method: "PUT", body: "{}" })).status).toBe(401);
  });
});
