// {{name}}: a switchyard access provider (world `access-provider`), in JavaScript.
//
// Admits a request whose `x-api-token` header holds one of the configured tokens.
//
// Settings (the instance's `config` in config.yaml, handed to `configure` as JSON):
// {"tokens": {"alice": "a-long-random-token"}}, principal -> token. `{}` admits nobody.
//
// componentize-js maps the exported WIT interface `access` to the exported object `access`:
// records are objects with camelCase fields, `option<T>` is the value or `undefined`, a
// variant is `{tag, val}`, and `result<_, string>` returns normally for ok and throws for err.

import { log } from "switchyard:plugin/host@0.1.0";

// The header this provider reads. Only the headers named in `describe` are copied into the
// plugin on each call.
const HEADER = "x-api-token";

// [principal, token] pairs of this live instance, set once by `configure`.
let tokens = [];

// Whether two strings are equal, in time that depends only on their lengths.
function same(a, b) {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

export const access = {
  describe() {
    return { name: "{{name}}", version: "0.1.0", headerNames: [HEADER] };
  },

  configure(settingsJson) {
    let settings;
    try {
      settings = JSON.parse(settingsJson);
    } catch (error) {
      throw `settings are not JSON: ${error}`;
    }
    if (settings === null || typeof settings !== "object" || Array.isArray(settings)) {
      throw "settings must be an object";
    }
    for (const key of Object.keys(settings)) {
      // Throwing rejects the settings: the configuration is not applied.
      if (key !== "tokens") throw `unknown setting ${JSON.stringify(key)}`;
    }
    const entries = Object.entries(settings.tokens ?? {});
    for (const [principal, token] of entries) {
      if (typeof token !== "string" || token === "") {
        throw `tokens.${principal} must be a non-empty string`;
      }
    }
    tokens = entries;
    if (tokens.length === 0) log("warn", "no tokens configured: nobody is admitted", []);
  },

  authenticate(head) {
    // An exception escaping here traps the plugin: the host answers 503 for the request, and a
    // client could provoke that with any input the code does not expect. Whatever goes wrong
    // with a request's input is that request's invalid credential.
    try {
      return check(head);
    } catch (error) {
      log("warn", "request refused: its credential could not be checked", [
        ["error", String(error?.name ?? "error")],
      ]);
      return { tag: "invalid-credential" };
    }
  },
};

// The answer for one request head.
function check(head) {
  const field = head.headers.find(([name]) => name === HEADER);
  if (field === undefined) {
    // Not ours to judge: the next provider in the chain is asked.
    return { tag: "no-credentials" };
  }
  const presented = field[1].trim();
  let found;
  // Every token is compared, so timing reveals nothing about which one matched.
  for (const [principal, token] of tokens) {
    if (same(token, presented)) found = principal;
  }
  if (found === undefined) return { tag: "invalid-credential" };
  return { tag: "allow", val: { principal: found, metadata: [["source", HEADER]] } };
}
