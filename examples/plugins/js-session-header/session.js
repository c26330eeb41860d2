// session-header: a switchyard session-id extractor in JavaScript.
//
// A client names its conversation with the header `x-conversation-id`, or, for browsers and
// clients that keep cookies, with a cookie (`conversation` unless the settings name another).
// The id comes back as an *explicit* session, so the proxy keeps every request of that
// conversation on one upstream credential, ahead of the standard extractor's message hash.
//
// Settings (the instance's `config` in config.yaml, handed to `configure` as JSON):
//   {"cookie": "conversation",   // the cookie to read when the header is absent
//    "prefix": ""}               // put before every id, to keep tenants' ids apart
//
// componentize-js maps the WIT `session` interface to the exported object `session`: records
// are objects with camelCase fields, `option<T>` is the value or `undefined`, an enum is its
// case name as a string, and `result<_, string>` returns normally for ok and throws for err.

import { log } from "switchyard:plugin/host@0.1.0";

const NAME = "session-header";
const VERSION = "1.0.0";
const HEADER = "x-conversation-id";

// The settings of this live instance; `configure` runs once before any `extract`.
let settings = { cookie: "conversation", prefix: "" };

// A cookie name is an HTTP token (RFC 6265 §4.1.1).
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

// Parses and checks the settings document; throws a message naming the bad setting.
function parseSettings(json) {
  const raw = JSON.parse(json);
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw "settings must be an object";
  }
  const parsed = { cookie: "conversation", prefix: "" };
  for (const [key, value] of Object.entries(raw)) {
    if (key === "cookie") {
      if (typeof value !== "string" || !TOKEN.test(value)) {
        throw "cookie must be a cookie name (letters, digits and !#$%&'*+-.^_`|~)";
      }
      parsed.cookie = value;
    } else if (key === "prefix") {
      if (typeof value !== "string" || value.length > 64) {
        throw "prefix must be a string of at most 64 characters";
      }
      parsed.prefix = value;
    } else {
      throw `unknown setting ${JSON.stringify(key)}`;
    }
  }
  return parsed;
}

// The value of cookie `name` in the `cookie` header fields, or undefined.
function cookieValue(headers, name) {
  for (const [field, value] of headers) {
    if (field !== "cookie") continue;
    for (const pair of value.split(";")) {
      const eq = pair.indexOf("=");
      if (eq > 0 && pair.slice(0, eq).trim() === name) {
        return pair.slice(eq + 1).trim().replace(/^"(.*)"$/, "$1");
      }
    }
  }
  return undefined;
}

// The first non-empty value of header `name`, or undefined.
function headerValue(headers, name) {
  for (const [field, value] of headers) {
    if (field === name && value.trim() !== "") return value.trim();
  }
  return undefined;
}

export const session = {
  describe() {
    // Only these two header fields are copied into the plugin on each call.
    return { name: NAME, version: VERSION, needsBody: false, headerNames: [HEADER, "cookie"] };
  },

  configure(settingsJson) {
    try {
      settings = parseSettings(settingsJson);
    } catch (error) {
      // Throwing rejects the settings: the configuration naming them is not applied.
      throw `${NAME}: ${error instanceof Error ? error.message : error}`;
    }
    log("debug", "configured", [["cookie", settings.cookie], ["prefix", settings.prefix]]);
  },

  extract(head, _body) {
    const id = headerValue(head.headers, HEADER) ?? cookieValue(head.headers, settings.cookie);
    if (id === undefined || id === "") return undefined;
    return { primary: settings.prefix + id, fallback: undefined, kind: "explicit" };
  },
};
