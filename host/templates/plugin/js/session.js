// {{name}}: a switchyard session-id extractor (world `session-extractor`), in JavaScript.
//
// Takes the session from the `x-conversation` header: every request naming the same
// conversation goes to the same upstream credential.
//
// Settings (the instance's `config` in config.yaml, handed to `configure` as JSON):
// {"prefix": "team-a:"}, put before every id (default: none).
//
// componentize-js maps the exported WIT interface `session` to the exported object `session`:
// records are objects with camelCase fields, `option<T>` is the value or `undefined`, an enum
// is its case name as a string, and `result<_, string>` returns normally for ok and throws for
// err.

// The header this extractor reads. Only the headers named in `describe` are copied into the
// plugin on each call.
const HEADER = "x-conversation";

// The prefix of this live instance, set once by `configure`.
let prefix = "";

export const session = {
  describe() {
    // needsBody false: the host does not copy the body into the plugin.
    return { name: "{{name}}", version: "0.1.0", needsBody: false, headerNames: [HEADER] };
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
    for (const [key, value] of Object.entries(settings)) {
      // Throwing rejects the settings: the configuration is not applied.
      if (key !== "prefix") throw `unknown setting ${JSON.stringify(key)}`;
      if (typeof value !== "string") throw "prefix must be a string";
    }
    prefix = settings.prefix ?? "";
  },

  extract(head, _body) {
    // An exception escaping here traps the plugin (the host then skips it for this request):
    // whatever goes wrong with a request's input means "no session" instead.
    try {
      return sessionOf(head);
    } catch {
      return undefined;
    }
  },
};

// The session a request names, if any.
function sessionOf(head) {
  const field = head.headers.find(([name]) => name === HEADER);
  const value = field === undefined ? "" : field[1].trim();
  if (value === "") return undefined;
  // The client named its session: an explicit id wins over computed (derived) ones.
  return { primary: prefix + value, fallback: undefined, kind: "explicit" };
}
