/** Room ids: 12 random base32 characters as xxxx-xxxx-xxxx (60 bits: not guessable). */
const ALPHABET = "abcdefghijklmnopqrstuvwxyz234567";
export const ROOM_ID_PATTERN = /^[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}$/;

export function newRoomId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  const chars = Array.from(bytes, (b) => ALPHABET[b & 31]);
  return `${chars.slice(0, 4).join("")}-${chars.slice(4, 8).join("")}-${chars.slice(8).join("")}`;
}

export function isRoomId(value: string): boolean {
  return ROOM_ID_PATTERN.test(value);
}
