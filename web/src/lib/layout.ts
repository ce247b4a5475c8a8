/** Pure layout arithmetic for the call: grid shape and simulcast layer per tile size. */

export interface GridShape {
  readonly columns: number;
  readonly rows: number;
  /** Width of one tile in px. */
  readonly tileWidth: number;
}

/**
 * The grid that makes `count` tiles of `aspect` (width / height) as large as possible in
 * a `width` x `height` area with `gap` px between tiles.
 */
export function bestGrid(count: number, width: number, height: number, aspect = 16 / 9, gap = 8): GridShape {
  const n = Math.max(1, count);
  let best: GridShape = { columns: 1, rows: n, tileWidth: 0 };
  for (let columns = 1; columns <= n; columns++) {
    const rows = Math.ceil(n / columns);
    const maxWidth = (width - gap * (columns - 1)) / columns;
    const maxHeight = (height - gap * (rows - 1)) / rows;
    const tileWidth = Math.max(0, Math.min(maxWidth, maxHeight * aspect));
    if (tileWidth > best.tileWidth + 0.5) best = { columns, rows, tileWidth: Math.floor(tileWidth) };
  }
  return best;
}

/**
 * The simulcast layer worth receiving for a tile `heightPx` CSS px tall on a screen with
 * `pixelRatio`: layer 0 is a quarter of the camera's resolution (~180p), 1 half (~360p),
 * 2 full (720p). A layer is picked when the tile shows at least ~70 % of its lines.
 */
export function layerForHeight(heightPx: number, pixelRatio = 1): 0 | 1 | 2 {
  const lines = heightPx * pixelRatio;
  if (lines <= 260) return 0;
  if (lines <= 520) return 1;
  return 2;
}

/** Two letters for someone without video. */
export function initialsOf(name: string): string {
  const words = name.trim().split(/\s+/).filter(Boolean);
  const letters = words.slice(0, 2).map((word) => [...word][0]!.toUpperCase());
  return letters.join("") || "?";
}
