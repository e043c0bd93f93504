// Server-Sent Events read from a fetch response body, for the pages and
// processes that follow the host's revision events (docs/http.md §6.10)
// without an EventSource: @tessera/web/session and @tessera/node/client
// share it.

/** The next chunk, or a rejection after `ms` of silence (0: wait forever). */
function readWithin(reader, ms) {
  if (!ms) return reader.read();
  let timer;
  const silent = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no data for ${ms} ms`)), ms);
  });
  return Promise.race([reader.read(), silent]).finally(() => clearTimeout(timer));
}

/** One event block's fields: `{event, id, data}`, or null for comments only. */
function parse(block) {
  let event = 'message';
  let id;
  const data = [];
  let fields = 0;
  for (const line of block.split('\n')) {
    if (line === '' || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    fields += 1;
    if (field === 'event') event = value;
    else if (field === 'id') id = value;
    else if (field === 'data') data.push(value);
  }
  return fields === 0 ? null : { event, id, data: data.join('\n') };
}

/**
 * The events of a `text/event-stream` body, in order. `idleMs`: give up
 * (throw) after that long without a byte (the host sends a comment every
 * 15 s, so silence means a dead connection). The body is cancelled when
 * the loop ends.
 */
export async function* serverEvents(body, { idleMs = 0 } = {}) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  try {
    for (;;) {
      const { value, done } = await readWithin(reader, idleMs);
      if (done) return;
      // Lines end with CRLF, LF or CR; a CR at the end may be half a CRLF.
      buffer = (buffer + value).replace(/\r\n|\r(?=.)/gs, '\n');
      let end;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const event = parse(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
        if (event) yield event;
      }
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}
