import { createSocket } from "node:dgram";

/**
 * UDP port pairs on loopback for ffmpeg's receivers (RTP on an even port, RTCP on the
 * next), from a range of their own so they never meet the WebRTC or pipe ports. A pair is
 * checked free by binding it before it is handed out.
 */
export class RecordingPorts {
  readonly #min: number;
  readonly #max: number;
  readonly #used = new Set<number>();

  constructor(range: { readonly min: number; readonly max: number }) {
    this.#min = range.min + (range.min % 2);
    this.#max = range.max;
  }

  get inUse(): number {
    return this.#used.size;
  }

  async allocate(ip: string): Promise<number> {
    for (let port = this.#min; port + 1 <= this.#max; port += 2) {
      if (this.#used.has(port)) continue;
      // Reserved before the check: two tracks starting together must not get one pair.
      this.#used.add(port);
      if ((await free(ip, port)) && (await free(ip, port + 1))) return port;
      this.#used.delete(port);
    }
    throw new Error(`no free recording port pair in ${this.#min}-${this.#max}`);
  }

  release(port: number): void {
    this.#used.delete(port);
  }
}

function free(ip: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket("udp4");
    socket.once("error", () => {
      socket.close();
      resolve(false);
    });
    socket.bind(port, ip, () => socket.close(() => resolve(true)));
  });
}
