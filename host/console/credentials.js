// The Credentials view: every credential of the config lists and `auth-dir`, sortable and
// filterable, with a live countdown for each cooling model; per row Disable / Enable (and
// Delete, behind a confirmation, for an auth file), and an upload area for auth files.

import { api } from "./api.js";
import { $, cell, el, localTime, secondsUntil } from "./dom.js";

let credentials = [];
let sort = { field: "id", ascending: true };

const COLUMNS = [
  ["id", "Id"], ["kind", "Provider"], ["label", "Label"], ["prefix", "Prefix"],
  ["priority", "Priority"], ["weight", "Weight"], ["state", "State"],
  ["successes", "Successes"], ["failures", "Failures"], ["last_error", "Last error"],
];

function mount(section) {
  section.append(
    el("h2", { id: "credentials-title" }, "Credentials"),
    el("div", { class: "toolbar" },
      el("label", { for: "filter" }, "Filter"),
      el("input", { id: "filter", type: "search", placeholder: "id, provider, label, prefix, state, error",
        oninput: render }),
      el("span", { id: "credentials-updated", class: "muted" })),
    el("div", { class: "scroll" },
      el("table", { id: "credentials-table" },
        el("thead", {}, el("tr", {},
          COLUMNS.map(([field, title]) => el("th", { scope: "col" },
            el("button", { type: "button", "data-sort": field, onclick: () => sortBy(field) },
              title))),
          el("th", { scope: "col" }, "Token expires"),
          el("th", { scope: "col", class: "actions" }, "Actions"))),
        el("tbody"))),
    el("p", { id: "credentials-message", class: "message", role: "status" }),
    uploadArea(),
    deleteDialog(),
  );
  section.setAttribute("aria-labelledby", "credentials-title");
}

/** The upload area: a drop zone for `.json` files, with a file input as the keyboard path. */
function uploadArea() {
  const zone = el("div", { id: "upload-zone", class: "drop-zone",
    ondragenter: dragOver, ondragover: dragOver,
    ondragleave: () => zone.classList.remove("dragging"),
    ondrop: (event) => {
      event.preventDefault();
      zone.classList.remove("dragging");
      upload([...event.dataTransfer.files]);
    } },
  el("label", { for: "upload-input" }, "Drop auth files (.json) here, or choose them:"),
  el("input", { id: "upload-input", type: "file", accept: ".json,application/json", multiple: true,
    onchange: (event) => {
      const files = [...event.target.files];
      event.target.value = "";
      upload(files);
    } }));
  return zone;
}

function dragOver(event) {
  event.preventDefault();
  event.dataTransfer.dropEffect = "copy";
  event.currentTarget.classList.add("dragging");
}

/** The confirmation asked before a delete: Cancel (focused first) or Delete. */
function deleteDialog() {
  return el("dialog", { id: "delete-dialog", "aria-labelledby": "delete-title" },
    el("h3", { id: "delete-title" }, "Delete auth file"),
    el("p", { id: "delete-name" }),
    el("div", { class: "dialog-buttons" },
      el("button", { type: "button", id: "delete-cancel", autofocus: true,
        onclick: () => $("delete-dialog").close() }, "Cancel"),
      el("button", { type: "button", id: "delete-confirm", class: "danger",
        onclick: confirmDelete }, "Delete")));
}

/** The auth file of a credential (its file name), or null for one from the config. */
function fileName(credential) {
  const source = String(credential.source || "");
  if (!source.startsWith("file:")) return null;
  return source.slice(5).split("/").pop();
}

/** Shows the outcome of an action: `error` in the error colour, else as a note. */
function say(text, error = false) {
  const line = $("credentials-message");
  line.textContent = text;
  line.classList.toggle("error", error);
}

/** An API failure's own message (`message` when the API adds one to its error code). */
function failure(error) {
  const body = error.body || {};
  return body.message || error.message;
}

/** Runs `action`, says how it went, and loads the list again either way. */
async function act(action, done) {
  try {
    const answer = await action();
    say(done(answer), answer && answer.status === "partial");
  } catch (error) {
    say(failure(error), true);
  }
  await refresh().catch((error) => say(failure(error), true));
}

function setDisabled(credential, disabled) {
  // An auth file is named by its file name, a config credential by its id.
  const name = fileName(credential) || credential.id;
  act(() => api("/auth-files/status", { method: "PATCH", json: { name, disabled } }),
    () => `${credential.id} ${disabled ? "disabled" : "enabled"}`);
}

let pendingDelete = null;

function askDelete(name) {
  pendingDelete = name;
  $("delete-name").textContent = `Delete ${name} from the auth folder? This cannot be undone.`;
  $("delete-dialog").showModal();
  $("delete-cancel").focus();
}

function confirmDelete() {
  const name = pendingDelete;
  $("delete-dialog").close();
  if (!name) return;
  act(() => api("/auth-files?name=" + encodeURIComponent(name), { method: "DELETE" }),
    () => `${name} deleted`);
}

function upload(files) {
  if (!files.length) return;
  const form = new FormData();
  for (const file of files) form.append("file", file, file.name);
  act(() => api("/auth-files", { method: "POST", body: form }), (answer) => {
    if (answer.status !== "partial") return `uploaded ${files.map((f) => f.name).join(", ")}`;
    const failed = (answer.failed || [])
      .map((f) => (String(f.error).startsWith(f.name) ? f.error : `${f.name}: ${f.error}`))
      .join("; ");
    return `uploaded ${answer.uploaded} of ${files.length} files; failed: ${failed}`;
  });
}

/** The action buttons of a row. */
function actions(credential) {
  const buttons = [];
  const file = fileName(credential);
  if (credential.state !== "error") {
    const disabled = credential.state === "disabled";
    buttons.push(el("button", { type: "button", class: "toggle",
      "aria-label": `${disabled ? "Enable" : "Disable"} ${credential.id}`,
      onclick: () => setDisabled(credential, !disabled) }, disabled ? "Enable" : "Disable"));
  }
  if (file) {
    buttons.push(el("button", { type: "button", class: "delete",
      "aria-label": `Delete ${file}`, onclick: () => askDelete(file) }, "Delete"));
  }
  return el("td", { class: "actions" }, buttons);
}

function sortBy(field) {
  sort = { field, ascending: sort.field === field ? !sort.ascending : true };
  render();
}

async function refresh() {
  const body = await api("/credentials");
  credentials = body.credentials;
  $("credentials-updated").textContent = "updated " + new Date().toLocaleTimeString();
  render();
}

function stateText(credential) {
  const cooldowns = Object.entries(credential.cooldowns || {});
  if (credential.state === "cooling" && cooldowns.length) {
    return cooldowns
      .map(([model, c]) => `cooling ${model} ${secondsUntil(c.until)} s`)
      .join(", ");
  }
  if (credential.state === "token_unavailable") {
    return `token unavailable: ${credential.message || ""}`;
  }
  return credential.state;
}

function render() {
  const filter = $("filter").value.trim().toLowerCase();
  const rows = credentials
    .filter((c) =>
      !filter ||
      [c.id, c.kind, c.label, c.prefix, c.state, c.last_error]
        .some((v) => String(v || "").toLowerCase().includes(filter)))
    .sort((a, b) => {
      const [x, y] = [a[sort.field] ?? "", b[sort.field] ?? ""];
      const order = typeof x === "number" ? x - y : String(x).localeCompare(String(y));
      return sort.ascending ? order : -order;
    });
  const body = $("credentials-table").tBodies[0];
  // Rows are drawn anew (every second while one cools): a focused action button keeps focus.
  const active = document.activeElement;
  const focused = body.contains(active) && active.tagName === "BUTTON"
    ? `tr[data-id="${CSS.escape(active.closest("tr").dataset.id)}"] button.${active.className}`
    : null;
  body.replaceChildren(
    ...rows.map((c) => el("tr", { "data-id": c.id },
      cell(c.id),
      cell(c.kind),
      cell(c.label),
      cell(c.prefix || "—"),
      cell(String(c.priority ?? "—"), "number"),
      cell(String(c.weight ?? "—"), "number"),
      cell(stateText(c), "state state-" + c.state),
      cell(String(c.successes ?? "—"), "number"),
      cell(String(c.failures ?? "—"), "number"),
      cell(c.last_error || (c.state === "error" ? c.message : null) || "—", "wrap last-error"),
      cell(c.token && c.token.expires_at ? localTime(c.token.expires_at) : "—"),
      actions(c),
    )),
  );
  if (focused) {
    const again = body.querySelector(focused);
    if (again) again.focus();
  }
}

/** The cooling countdowns tick between refreshes. */
function tick() {
  if (credentials.some((c) => c.state === "cooling")) render();
}

export default { id: "credentials", title: "Credentials", mount, refresh, tick,
  refreshOn: ["credential"], pollWhileLive: true };
