/**
 * How a token id reads in logprobs. The served models are byte-level (ids 0..255 are UTF-8 bytes): a
 * byte that is a whole character reads as itself, a byte inside a multibyte character as OpenAI's
 * "bytes:\xNN" form, and the raw bytes go alongside in chat's `bytes` field.
 */
export function tokenText(id: number): string {
  if (id < 0 || id > 255) return '';
  if (id < 0x80) return String.fromCharCode(id);
  return `bytes:\\x${id.toString(16).padStart(2, '0')}`;
}

export function tokenBytes(id: number): number[] {
  return id >= 0 && id <= 255 ? [id] : [];
}
