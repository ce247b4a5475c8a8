/** The edge endpoint a node dials: EDGE_URL with a ws scheme and the connect path. */
export function edgeConnectUrl(edgeUrl: string): string {
  const url = new URL(edgeUrl);
  if (url.protocol === "http:") url.protocol = "ws:";
  if (url.protocol === "https:") url.protocol = "wss:";
  url.pathname = url.pathname.replace(/\/$/, "") + "/api/nodes/connect";
  return url.toString();
}
