import { describe, expect, it } from "vitest";
import { LocalMedia } from "../src/state/local-media.ts";
import { fakeDevices } from "./support/fake-devices.ts";

describe("LocalMedia", () => {
  it("asks for camera and microphone in one request (one permission prompt) and lists the devices", async () => {
    const devices = fakeDevices();
    const local = new LocalMedia(devices, {});
    await local.start();
    expect(devices.requests).toHaveLength(1);
    expect(local.state.cameraTrack?.kind).toBe("video");
    expect(local.state.micTrack?.kind).toBe("audio");
    expect(local.state.cameras.map((c) => c.label)).toEqual(["Fake camera", "Second camera"]);
    expect(local.state.cameraId).toBe("video-default");
  });

  it("explains a denied permission and leaves both off", async () => {
    const local = new LocalMedia(fakeDevices({ denied: true }), {});
    await local.start();
    expect(local.state).toMatchObject({ cameraProblem: "denied", micProblem: "denied", cameraOn: false, micOn: false, cameraTrack: undefined });
  });

  it("without a camera still starts the microphone", async () => {
    const devices = fakeDevices({ camera: false, mic: true });
    const local = new LocalMedia(devices, {});
    await local.start();
    expect(local.state.cameraProblem).toBe("not-found");
    expect(local.state.cameraOn).toBe(false);
    expect(local.state.micTrack?.kind).toBe("audio");
    expect(local.state.micProblem).toBeUndefined();
  });

  it("retries after the user fixed the permission", async () => {
    const devices = fakeDevices({ denied: true });
    const local = new LocalMedia(devices, {});
    await local.start();
    devices.set({ denied: false });
    await local.retry();
    expect(local.state.cameraProblem).toBeUndefined();
    expect(local.state.cameraTrack?.kind).toBe("video");
    expect(local.state.micOn).toBe(true);
  });

  it("joins with what the saved preferences say: camera off means no camera request at all", async () => {
    const devices = fakeDevices();
    const local = new LocalMedia(devices, { joinWithCamera: false, micId: "audio-default" });
    await local.start();
    expect(devices.requests).toEqual([{ video: false, audio: expect.objectContaining({ deviceId: { ideal: "audio-default" } }) }]);
    expect(local.state.cameraTrack).toBeUndefined();
  });

  it("turning the camera off stops it (the light goes out); muting keeps the microphone track but disables it", async () => {
    const local = new LocalMedia(fakeDevices(), {});
    await local.start();
    const camera = local.state.cameraTrack!;
    await local.setCamera(false);
    expect(camera.readyState).toBe("ended");
    expect(local.state.cameraTrack).toBeUndefined();
    const mic = local.state.micTrack!;
    await local.setMic(false);
    expect(local.state.micTrack).toBe(mic);
    expect(mic.enabled).toBe(false);
  });

  it("switching camera releases the old one and opens the chosen device", async () => {
    const local = new LocalMedia(fakeDevices(), {});
    await local.start();
    const old = local.state.cameraTrack!;
    const next = await local.selectCamera("video-2");
    expect(old.readyState).toBe("ended");
    expect(next?.getSettings().deviceId).toBe("video-2");
    expect(local.state.cameraId).toBe("video-2");
  });
});
