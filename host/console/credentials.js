// The Credentials view: every credential of the config lists and `auth-dir`, sortable and
// filterable, with a live countdown for each cooling model.

import { api } from "./api.js";
import { $, cell, el, localTime, secondsUntil } from "./dom.js";

let credentials = [];
let sort = { field: "id", ascending: true };
let refreshing = null;

const COLUMNS = [
  ["id", "Id"], ["kind", "Kind"], ["label", "Label"], ["priority", "Priority"],
  ["weight", "Weight"], ["state", "State"], ["successes", "Successes"],
  ["failures", "Failures"],
];

function mount(section) {
  section.append(
    el("h2", { id: "credentials-title" }, "Credentials"),
    el("div", { class: "toolbar" },
      el("label", { for: "filter" }, "Filter"),
      el("input", { id: "filter", type: "search", placeholder: "id, kind, label, state",
        oninput: render }),
      el("span", { id: "credentials-updated", class: "muted" })),
    el("div", { class: "scroll" },
      el("table", { id: "credentials-table" },
        el("thead", {}, el("tr", {},
          COLUMNS.map(([field, title]) => el("th", { scope: "col" },
            el("button", { type: "button", "data-sort": field, onclick: () => sortBy(field) },
              title))),
          el("th", { scope: "col" }, "Token expires"))),
        el("tbody"))),
  );
  section.setAttribute("aria-labelledby", "credentials-title");
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
      [c.id, c.kind, c.label, c.state].some((v) => String(v || "").toLowerCase().includes(filter)))
    .sort((a, b) => {
      const [x, y] = [a[sort.field], b[sort.field]];
      const order = typeof x === "number" ? x - y : String(x).localeCompare(String(y));
      return sort.ascending ? order : -order;
    });
  $("credentials-table").tBodies[0].replaceChildren(
    ...rows.map((c) => el("tr", { "data-id": c.id },
      cell(c.id),
      cell(c.kind),
      cell(c.label),
      cell(String(c.priority), "number"),
      cell(String(c.weight), "number"),
      cell(stateText(c), "state state-" + c.state),
      cell(String(c.successes), "number"),
      cell(String(c.failures), "number"),
      cell(c.token && c.token.expires_at ? localTime(c.token.expires_at) : "—"),
    )),
  );
}

/** A credential event: reload the list (at most one load at a time). */
function event(e, visible) {
  if (e.type !== "credential" || !visible || refreshing) return;
  refreshing = refresh().catch(() => {}).finally(() => { refreshing = null; });
}

/** The cooling countdowns tick between refreshes. */
function tick() {
  if (credentials.some((c) => c.state === "cooling")) render();
}

export default { id: "credentials", title: "Credentials", mount, refresh, event, tick,
  pollWhileLive: true };
