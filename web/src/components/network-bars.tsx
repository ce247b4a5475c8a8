import type { Quality } from "../lib/network-quality.ts";

const BARS: Record<Quality, number> = { good: 3, fair: 2, poor: 1, unknown: 0 };

/** Three bars, like a phone's signal: how well this person's media reaches us. */
export function NetworkBars(props: { quality: Quality; label?: boolean }) {
  return (
    <span class="bars" data-quality={props.quality} title={`Network: ${props.quality}`} role={props.label ? "img" : undefined} aria-label={props.label ? `Network ${props.quality}` : undefined}>
      {[1, 2, 3].map((n) => (
        <i classList={{ lit: n <= BARS[props.quality] }} style={{ height: `${n * 4 + 2}px` }} />
      ))}
    </span>
  );
}
