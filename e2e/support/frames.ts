import type { Page } from "playwright-core";

/**
 * What a user sees, measured where they see it: each tile's <video> element's rendered
 * frame count, sampled in the page so a stall shows however the stream under the tile
 * changes (a rebuilt transport, a call switching between peer-to-peer and the SFU).
 */

/** The tile of the person whose name starts the tile's label. */
export const tileOf = (name: string) => `[data-testid="tile"][aria-label^="${name}"]`;

/** Records, every `everyMs`, the frames the page has rendered in the tile of each of `names`: a log to find gaps in afterwards. */
export function recordFrames(page: Page, names: string[], everyMs = 100): Promise<void> {
  return page.evaluate(
    ([watched, interval]) => {
      const w = window as unknown as { __frames: Record<string, Array<[number, number]>>; __framesTimer?: number };
      clearInterval(w.__framesTimer);
      w.__frames = Object.fromEntries(watched.map((name) => [name, []]));
      w.__framesTimer = setInterval(() => {
        for (const name of watched) {
          const video = document.querySelector<HTMLVideoElement>(`[data-testid="tile"][aria-label^="${name}"] video`);
          // A new stream under the same element restarts its count: any change is a new frame.
          w.__frames[name]!.push([Date.now(), video?.srcObject ? (video.getVideoPlaybackQuality?.().totalVideoFrames ?? 0) : -1]);
        }
      }, interval) as unknown as number;
    },
    [names, everyMs] as const,
  );
}

/**
 * Records, every `everyMs`, the frames decoded for the video in the tile of each of
 * `names`: the decoder of whichever receiver (peer-to-peer or SFU) feeds the tile now,
 * found by its track. Unlike rendered frames, this does not count what a starved headless
 * compositor drops.
 */
export function recordDecoded(page: Page, names: string[], everyMs = 50): Promise<void> {
  return page.evaluate(
    ([watched, interval]) => {
      const w = window as unknown as { __frames: Record<string, Array<[number, number]>>; __framesTimer?: number; __meridianPCs: RTCPeerConnection[] };
      clearInterval(w.__framesTimer);
      w.__frames = Object.fromEntries(watched.map((name) => [name, []]));
      let busy = false;
      w.__framesTimer = setInterval(async () => {
        if (busy) return;
        busy = true;
        try {
          for (const name of watched) {
            const video = document.querySelector<HTMLVideoElement>(`[data-testid="tile"][aria-label^="${name}"] video`);
            const track = (video?.srcObject as MediaStream | null)?.getVideoTracks()[0];
            const receiver = track && w.__meridianPCs.flatMap((pc) => (pc.connectionState === "closed" ? [] : pc.getReceivers())).find((r) => r.track === track);
            let decoded = -1;
            (await receiver?.getStats())?.forEach((s: { type: string; framesDecoded?: number }) => {
              if (s.type === "inbound-rtp") decoded = s.framesDecoded ?? 0;
            });
            // A tile's new receiver restarts the count: any change is a new frame.
            w.__frames[name]!.push([Date.now(), track ? decoded * 1000 + (track.id.charCodeAt(0) % 1000) : -1]);
          }
        } finally {
          busy = false;
        }
      }, interval) as unknown as number;
    },
    [names, everyMs] as const,
  );
}

/** The longest time the tile of `name` showed (or decoded, after `recordDecoded`) no new frame, between `from` and now (or `to`). */
export function longestStall(page: Page, name: string, from: number, to = Number.MAX_SAFE_INTEGER): Promise<number> {
  return page.evaluate(
    ([watched, since, until]) => {
      const log = (window as unknown as { __frames: Record<string, Array<[number, number]>> }).__frames[watched]!.filter(([at]) => at >= since && at <= until);
      let longest = 0;
      let lastChange = log[0]?.[0] ?? since;
      for (let i = 1; i < log.length; i++) {
        if (log[i]![1] !== log[i - 1]![1]) lastChange = log[i]![0];
        longest = Math.max(longest, log[i]![0] - lastChange);
      }
      return longest;
    },
    [name, from, to] as const,
  );
}

/** Whether the tile of `name` rendered new frames after `since`. */
export function framesAdvanced(page: Page, name: string, since: number): Promise<boolean> {
  return page.evaluate(
    ([watched, from]) => {
      const log = (window as unknown as { __frames: Record<string, Array<[number, number]>> }).__frames[watched]!.filter(([at]) => at >= from);
      return log.some(([, frames], i) => i > 0 && frames > log[i - 1]![1]);
    },
    [name, since] as const,
  );
}

/** A node's Prometheus metrics, by name (labels dropped). */
export async function nodeMetrics(port: number): Promise<Record<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return Object.fromEntries([...text.matchAll(/^(meridian_sfu_\w+)\{[^}]*\} ([\d.e+-]+)$/gm)].map((m) => [m[1]!, Number(m[2])]));
}
