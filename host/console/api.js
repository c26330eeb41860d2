// The management API as the console uses it: every call sends the management key (kept in the
// tab's sessionStorage only) as `Authorization: Bearer`, never in a URL.

const KEY = "switchyard.management-key";
const API = "/v0/management";

/** The key of this tab, or null. */
export function key() {
  return sessionStorage.getItem(KEY);
}

/** Keeps `value` as this tab's key. */
export function setKey(value) {
  sessionStorage.setItem(KEY, value);
}

/** Forgets this tab's key. */
export function forgetKey() {
  sessionStorage.removeItem(KEY);
}

/** An API failure: the API's own message, its HTTP status and the whole JSON body. */
export class ApiError extends Error {
  constructor(message, status, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

/**
 * Calls `path` under /v0/management. `options.json` is sent as a JSON body; `options.body`
 * (a string or Blob) as is, with `options.type` as its content type. Answers the parsed JSON
 * (or the text, for `options.text`), or throws an ApiError.
 */
export async function api(path, options = {}) {
  const headers = { Authorization: "Bearer " + key() };
  let body = options.body;
  if (options.json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(options.json);
  } else if (options.type) {
    headers["Content-Type"] = options.type;
  }
  const response = await fetch(API + path, {
    method: options.method || "GET",
    headers,
    body,
    cache: "no-store",
  });
  if (options.text && response.ok) return response.text();
  const parsed = await response.json().catch(() => ({}));
  if (!response.ok) {
    throw new ApiError(parsed.error || `HTTP ${response.status}`, response.status, parsed);
  }
  return parsed;
}

/**
 * The live event stream (`GET /v0/management/events`), read with fetch() and a streamed body
 * so the key travels in a header. `onEvent({type, data})` gets each event; `onState(live)`
 * whether the stream is up. A dropped stream is retried every `retryMs` until `stop()`.
 */
export class EventStream {
  constructor(onEvent, onState, retryMs = 5000) {
    this.onEvent = onEvent;
    this.onState = onState;
    this.retryMs = retryMs;
    this.controller = null;
    this.retry = null;
    this.stopped = false;
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.retry);
    if (this.controller) this.controller.abort();
    this.controller = null;
  }

  async connect() {
    if (this.stopped) return;
    this.controller = new AbortController();
    try {
      const response = await fetch(API + "/events", {
        headers: { Authorization: "Bearer " + key(), Accept: "text/event-stream" },
        cache: "no-store",
        signal: this.controller.signal,
      });
      if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
      this.onState(true);
      await this.read(response.body.getReader());
    } catch (_) {
      // Dropped, refused (the 9th stream, a rotated key) or aborted: polling takes over.
    }
    this.onState(false);
    if (!this.stopped) this.retry = setTimeout(() => this.connect(), this.retryMs);
  }

  async read(reader) {
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        this.dispatch(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
      }
    }
  }

  /** One SSE block: `event:` and `data:` lines; comments (keepalives) are skipped. */
  dispatch(block) {
    let type = "message";
    const data = [];
    for (const line of block.split("\n")) {
      if (line.startsWith("event:")) type = line.slice(6).trim();
      else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
    }
    if (!data.length) return;
    let parsed;
    try {
      parsed = JSON.parse(data.join("\n"));
    } catch (_) {
      return;
    }
    this.onEvent({ type, data: parsed });
  }
}
