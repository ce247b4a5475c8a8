import { createSignal } from "solid-js";

/** A tiny history router: two routes do not need a library in the initial bundle. */
const [path, setPath] = createSignal(location.pathname);
addEventListener("popstate", () => setPath(location.pathname));

export { path };

export function navigate(to: string, options: { replace?: boolean } = {}): void {
  if (options.replace) history.replaceState(null, "", to);
  else history.pushState(null, "", to);
  setPath(location.pathname);
}

/** `/r/:roomId` → roomId. */
export function roomIdFromPath(pathname: string): string | undefined {
  return pathname.match(/^\/r\/([^/]+)\/?$/)?.[1];
}
