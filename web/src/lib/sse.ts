// A Server-Sent Events reader over fetch, so requests can carry the
// Authorization header (EventSource cannot) in team mode.

export interface SSEMessage {
  event: string;
  data: string;
}

/**
 * Splits an event-stream text into messages. Returns the messages complete
 * in `buf` and the unfinished rest, to prepend to the next chunk.
 */
export function parseSSE(buf: string): { messages: SSEMessage[]; rest: string } {
  const messages: SSEMessage[] = [];
  const norm = buf.replace(/\r\n?/g, "\n");
  const blocks = norm.split("\n\n");
  const rest = blocks.pop() ?? "";
  for (const block of blocks) {
    let event = "message";
    const data: string[] = [];
    for (const line of block.split("\n")) {
      if (line === "" || line.startsWith(":")) continue;
      const i = line.indexOf(":");
      const field = i < 0 ? line : line.slice(0, i);
      let value = i < 0 ? "" : line.slice(i + 1);
      if (value.startsWith(" ")) value = value.slice(1);
      if (field === "event") event = value;
      else if (field === "data") data.push(value);
    }
    if (data.length > 0) messages.push({ event, data: data.join("\n") });
  }
  return { messages, rest };
}

/** Reads a response body as SSE, calling onMessage for each message. */
export async function readSSE(body: ReadableStream<Uint8Array>, onMessage: (m: SSEMessage) => void, signal?: AbortSignal): Promise<void> {
  const reader = body.getReader();
  const dec = new TextDecoder();
  let buf = "";
  try {
    for (;;) {
      if (signal?.aborted) return;
      const { value, done } = await reader.read();
      if (done) break;
      buf += dec.decode(value, { stream: true });
      const { messages, rest } = parseSSE(buf);
      buf = rest;
      messages.forEach(onMessage);
    }
    const { messages } = parseSSE(buf + "\n\n");
    messages.forEach(onMessage);
  } finally {
    reader.releaseLock();
  }
}
