// The Config view: the settings the management API can change, as controls that apply on
// change; the running config (secrets masked here, whatever the API sends) in a <details>; and
// a YAML editor for config.yaml that shows a refused save's error at its line.

import { api } from "./api.js";
import { $, el } from "./dom.js";

/**
 * The settings, each a route under /v0/management taking `{"value": …}`: the route, the label,
 * the control (`select`, `checkbox` or `number` with its unit), and where GET /config has it.
 */
const SETTINGS = [
  { route: "/routing/strategy", label: "Routing strategy", kind: "select",
    options: ["round-robin", "fill-first", "weighted-round-robin"], read: (c) => c.routing.strategy },
  { route: "/routing/session-affinity", label: "Session affinity", kind: "checkbox",
    read: (c) => c.routing["session-affinity"] },
  { route: "/request-retry", label: "Request retries", kind: "number", unit: "retries",
    read: (c) => c["request-retry"] },
  { route: "/max-retry-interval", label: "Longest wait for a cooling credential", kind: "number",
    unit: "s", read: (c) => c["max-retry-interval"] },
  { route: "/max-retry-credentials", label: "Credentials tried per request", kind: "number",
    unit: "credentials (0: all)", read: (c) => c["max-retry-credentials"] },
  { route: "/disable-cooling", label: "Disable cooling", kind: "checkbox",
    read: (c) => c["disable-cooling"] },
  { route: "/passthrough-headers", label: "Pass upstream headers through", kind: "checkbox",
    read: (c) => c["passthrough-headers"] },
  { route: "/usage-statistics-enabled", label: "Usage statistics", kind: "checkbox",
    read: (c) => c["usage-statistics-enabled"] },
  { route: "/debug", label: "Debug logging", kind: "checkbox", read: (c) => c.debug },
];

/** Keys whose values are secrets: shown as `****`. */
const SECRET_KEY = /(^|-)(api-keys?|secret|client-secret|token|password|key)$/i;

/** The config.yaml text last loaded, to tell whether the editor holds unsaved edits. */
let loadedYaml = null;

function controlId(setting) {
  return "setting" + setting.route.replace(/[^a-z]+/g, "-");
}

function mount(section) {
  section.setAttribute("aria-labelledby", "config-title");
  section.append(
    el("h2", { id: "config-title" }, "Config"),
    el("h3", {}, "Settings"),
    el("div", { class: "settings" }, SETTINGS.map(settingRow)),
    el("details", { id: "running-config" },
      el("summary", {}, "Running config (secrets masked)"),
      el("pre", { id: "running-config-text", class: "scroll" })),
    el("h3", {}, el("label", { for: "yaml-text" }, "config.yaml")),
    el("div", { class: "yaml-editor" },
      el("div", { id: "yaml-gutter", class: "gutter", "aria-hidden": "true" }),
      el("textarea", { id: "yaml-text", spellcheck: "false", wrap: "off", rows: "24",
        autocomplete: "off", "aria-describedby": "yaml-message",
        oninput: () => numberLines(null), onscroll: syncGutter })),
    el("div", { class: "toolbar" },
      el("button", { type: "button", id: "yaml-save", onclick: save }, "Save"),
      el("button", { type: "button", id: "yaml-reload",
        onclick: () => loadYaml(true).then(() => say("", false), (e) => say(failure(e), true)) },
        "Discard edits"),
      el("span", { id: "yaml-message", class: "message", role: "status" })),
  );
}

/** One setting's labelled control, applied on change, with its own message line. */
function settingRow(setting) {
  const id = controlId(setting);
  let control;
  if (setting.kind === "select") {
    control = el("select", { id }, setting.options.map((o) => el("option", { value: o }, o)));
  } else if (setting.kind === "checkbox") {
    control = el("input", { id, type: "checkbox" });
  } else {
    control = el("input", { id, type: "number", min: "0", step: "1", inputmode: "numeric" });
  }
  control.addEventListener("change", () => apply(setting, control));
  return el("div", { class: "setting" },
    el("label", { for: id }, setting.label),
    el("span", { class: "control" }, control,
      setting.unit ? el("span", { class: "unit" }, setting.unit) : null),
    el("span", { id: id + "-message", class: "message", role: "status" }));
}

function valueOf(setting, control) {
  if (setting.kind === "checkbox") return control.checked;
  if (setting.kind === "number") return control.value === "" ? NaN : Number(control.value);
  return control.value;
}

/** Sends a control's new value; shows the API's answer beside it; reloads what it changed. */
async function apply(setting, control) {
  const message = $(control.id + "-message");
  message.classList.remove("error");
  message.textContent = "applying…";
  try {
    await api(setting.route, { method: "PUT", json: { value: valueOf(setting, control) } });
    message.textContent = "applied";
  } catch (error) {
    message.textContent = failure(error);
    message.classList.add("error");
  }
  await refreshRunning();
  await loadYaml(false);
}

/** An API failure's own message (`message` when the API adds one to its error code). */
function failure(error) {
  const body = error.body || {};
  return body.message || error.message;
}

async function refresh() {
  await Promise.all([refreshRunning(), loadYaml(false)]);
}

/** Loads GET /config into the controls (not one being used) and the masked view. */
async function refreshRunning() {
  const config = await api("/config");
  for (const setting of SETTINGS) {
    const control = $(controlId(setting));
    if (control === document.activeElement) continue;
    const value = setting.read(config);
    if (setting.kind === "checkbox") control.checked = Boolean(value);
    else control.value = value === undefined || value === null ? "" : String(value);
  }
  $("running-config-text").textContent = JSON.stringify(masked(config), null, 2);
}

/** A copy of `value` with every secret replaced by `****`. */
function masked(value, name = "") {
  if (Array.isArray(value)) return value.map((v) => masked(v, name));
  if (value && typeof value === "object") {
    const out = {};
    for (const [key, inner] of Object.entries(value)) {
      // Header values carry tokens as often as not: all of them are masked.
      out[key] = name === "headers" ? "****" : masked(inner, key);
    }
    return out;
  }
  if (typeof value === "string" && value !== "") {
    if (SECRET_KEY.test(name)) return "****";
    // A URL's user information (a proxy's or a store's password).
    return value.replace(/\/\/[^/@\s]+@/g, "//****@");
  }
  return value;
}

/** Loads config.yaml into the editor, unless it holds unsaved edits (or `force`). */
async function loadYaml(force) {
  const editor = $("yaml-text");
  if (!force && loadedYaml !== null && editor.value !== loadedYaml) return;
  const text = await api("/config.yaml", { text: true });
  loadedYaml = text;
  editor.value = text;
  numberLines(null);
}

function say(text, error) {
  const line = $("yaml-message");
  line.textContent = text;
  line.classList.toggle("error", error);
}

/** Draws the gutter: one number per line of the editor, `errorLine` marked. */
function numberLines(errorLine) {
  const lines = $("yaml-text").value.split("\n").length;
  const numbers = [];
  for (let n = 1; n <= lines; n++) {
    numbers.push(el("span", { class: n === errorLine ? "error-line" : null,
      "data-line": n }, String(n)));
  }
  $("yaml-gutter").replaceChildren(...numbers);
  syncGutter();
}

function syncGutter() {
  $("yaml-gutter").scrollTop = $("yaml-text").scrollTop;
}

/** The line a refused save names: the API's `line`, else "line N" in its message. */
function errorLine(body) {
  if (Number.isInteger(body.line) && body.line > 0) return body.line;
  const match = /line (\d+)/i.exec(body.message || "");
  return match ? Number(match[1]) : null;
}

/** PUTs the editor's text; on a refusal shows the error at its line (nothing was written). */
async function save() {
  const editor = $("yaml-text");
  const text = editor.value;
  say("saving…", false);
  try {
    await api("/config.yaml", { method: "PUT", body: text, type: "application/yaml" });
  } catch (error) {
    const body = error.body || {};
    const line = errorLine(body);
    const place = [line && `line ${line}`, line && body.column && `column ${body.column}`,
      body.key && `key ${Array.isArray(body.key) ? body.key.join(".") : body.key}`].filter(Boolean);
    const where = place.length ? ` (${place.join(", ")})` : "";
    say(`Not saved${where}: ${failure(error)}`, true);
    numberLines(line);
    if (line) selectLine(editor, line);
    return;
  }
  say("Saved and applied.", false);
  await Promise.all([refreshRunning(), loadYaml(true)]);
}

/** Selects line `line` (1-based) of the editor and scrolls it into view. */
function selectLine(editor, line) {
  const lines = editor.value.split("\n");
  const index = Math.min(line, lines.length) - 1;
  let start = 0;
  for (let n = 0; n < index; n++) start += lines[n].length + 1;
  editor.focus();
  editor.setSelectionRange(start, start + lines[index].length);
  const height = parseFloat(getComputedStyle(editor).lineHeight) || 18;
  editor.scrollTop = Math.max(0, (index - 3) * height);
  syncGutter();
}

// A reload (from any source) may change the running config: it is loaded again.
export default { id: "config", title: "Config", mount, refresh, refreshOn: ["reload"] };
