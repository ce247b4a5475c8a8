/**
 * Bumped on any incompatible change to a message of the browser ↔ room wire. A client
 * speaking another version is refused with `protocol_mismatch`, which the web app turns
 * into "please reload".
 */
// 3: peer-to-peer calls of two. A tab from before would stay on the SFU while the other
// browser waits for it peer-to-peer: it must reload.
export const PROTOCOL_VERSION = 3;

/**
 * The node ↔ edge wire's own version, so a change for browsers does not refuse every
 * running node (and a node fleet upgrades on its own schedule). A node speaking another
 * one is refused at registration and keeps retrying.
 */
export const NODE_PROTOCOL_VERSION = 2;
