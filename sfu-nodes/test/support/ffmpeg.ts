import { spawnSync } from "node:child_process";

/**
 * ffmpeg and ffprobe from the system (Debian's, which `npm test` installs). Missing: under
 * CI=true the suite fails with the reason; on a developer machine it is skipped with it.
 */
export function requireFfmpeg(): { ffmpeg: string; ffprobe: string } | undefined {
  const ffmpeg = process.env.FFMPEG_BIN ?? "ffmpeg";
  const ffprobe = process.env.FFPROBE_BIN ?? "ffprobe";
  const missing = [ffmpeg, ffprobe].filter((bin) => spawnSync(bin, ["-version"], { stdio: "ignore" }).status !== 0);
  if (missing.length === 0) return { ffmpeg, ffprobe };
  const reason = `no ${missing.join(" or ")}: install Debian's ffmpeg package (npm test does)`;
  if (process.env.CI === "true") throw new Error(reason);
  console.warn(`skipping recording tests: ${reason}`);
  return undefined;
}
