// The Sessions view: where session-affinity bindings live (memory or Redis, degraded or not),
// how many there are in total and per credential, the share of picks that found a binding
// (GET /sessions), and dropping one credential's bindings (DELETE /sessions?credential=<id>)
// after a confirmation.

import { api } from "./api.js";
import { $, cell, count, el, percent } from "./dom.js";
import { counted } from "./counted.js";

/** The credential whose bindings the open confirmation would drop. */
let pending = null;

function mount(section) {
  section.setAttribute("aria-labelledby", "sessions-title");
  section.append(
    el("h2", { id: "sessions-title" }, "Sessions"),
    el("dl", { id: "sessions-summary", class: "facts" }),
    el("h3", {}, "Bindings per credential"),
    el("p", { id: "sessions-empty", class: "muted", hidden: true }, "No session is bound to a credential."),
    el("div", { class: "scroll" },
      el("table", { id: "sessions-table" },
        el("thead", {}, el("tr", {},
          el("th", { scope: "col" }, "Credential"),
          el("th", { scope: "col", class: "number" }, "Bindings"),
          el("th", { scope: "col", class: "number" }, "Share of bindings"),
          el("th", { scope: "col" }, el("span", { class: "visually-hidden" }, "Action")))),
        el("tbody"))),
    el("dialog", { id: "sessions-confirm", "aria-labelledby": "sessions-confirm-text" },
      el("p", { id: "sessions-confirm-text" }),
      el("div", { class: "toolbar" },
        el("button", { type: "button", id: "sessions-confirm-drop", class: "danger", onclick: confirmDrop },
          "Drop bindings"),
        el("button", { type: "button", id: "sessions-confirm-cancel", onclick: cancel }, "Cancel"))),
  );
  $("sessions-confirm").addEventListener("close", () => { pending = null; });
}

function fact(term, value, id) {
  return [el("dt", {}, term), el("dd", { id }, value)];
}

function render(sessions) {
  const { hits, misses, rebinds, inherited } = sessions;
  // Every affinity pick is a request that could have hit its binding.
  const picks = (hits || 0) + (misses || 0) + (rebinds || 0) + (inherited || 0);
  const hitShare = hits === undefined || misses === undefined
    ? "not reported by this switchyard"
    : `${percent(hits, picks)} (${counted(hits, "hit")}, ${counted(misses, "miss", "misses")}, ` +
      `${counted(rebinds, "rebind")}, ${count(inherited || 0)} inherited from an earlier turn)`;
  $("sessions-summary").replaceChildren(
    ...fact("Store", sessions.store + (sessions.degraded
      ? " — degraded: Redis unreachable, bindings are per replica" : ""), "sessions-store"),
    ...fact("Bindings", counted(sessions.bindings, "session"), "sessions-bindings"),
    ...fact("Requests that hit a binding", hitShare, "sessions-hit-share"),
  );
  $("sessions-store").className = sessions.degraded ? "state-error" : "";
  const entries = Object.entries(sessions["by-credential"] || {})
    .sort(([a, x], [b, y]) => y - x || a.localeCompare(b));
  $("sessions-empty").hidden = entries.length > 0;
  $("sessions-table").tBodies[0].replaceChildren(...entries.map(([id, n]) =>
    el("tr", { "data-id": id },
      cell(id),
      cell(counted(n, "session"), "number bindings"),
      cell(percent(n, sessions.bindings), "number"),
      el("td", {}, el("button", { type: "button", class: "drop", "data-id": id,
        "aria-label": `Drop the bindings of ${id}`, onclick: () => ask(id, n) }, "Drop bindings")))));
}

/** Opens the confirmation for dropping `id`'s `n` bindings; Cancel has the focus. */
function ask(id, n) {
  pending = id;
  $("sessions-confirm-text").textContent =
    `Drop ${counted(n, "session binding")} of ${id}? Those sessions pick a credential anew.`;
  $("sessions-confirm").showModal();
  $("sessions-confirm-cancel").focus();
}

function cancel() {
  $("sessions-confirm").close();
}

async function confirmDrop() {
  const id = pending;
  $("sessions-confirm").close();
  if (!id) return;
  try {
    await api("/sessions?credential=" + encodeURIComponent(id), { method: "DELETE" });
  } catch (error) {
    $("status-error").textContent = `Sessions: ${error.message}`;
  }
  await refresh().catch((error) => { $("status-error").textContent = `Sessions: ${error.message}`; });
}

async function refresh() {
  render(await api("/sessions"));
}

export default { id: "sessions", title: "Sessions", mount, refresh, pollWhileLive: true };
