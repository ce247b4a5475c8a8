/**
 * Bumped on any incompatible change to a message below. A client speaking another
 * version is refused with `protocol_mismatch`, which the web app turns into "please reload".
 */
export const PROTOCOL_VERSION = 2;
