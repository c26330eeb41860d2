// The Plugins view: every plugin (embedded, folder, library) with its instances, state, calls,
// faults and median call time, and the history of reloads with their errors.

import { api } from "./api.js";
import { $, cell, count, el, localTime, micros } from "./dom.js";

function mount(section) {
  section.setAttribute("aria-labelledby", "plugins-title");
  section.append(
    el("h2", { id: "plugins-title" }, "Plugins"),
    el("div", { class: "scroll" },
      el("table", { id: "plugins-table" },
        el("thead", {}, el("tr", {},
          ["Name", "Type", "World", "Version", "Source", "State", "Instances", "Calls",
            "Faults", "p50 call", "SHA-256"].map((title) => el("th", { scope: "col" }, title)))),
        el("tbody"))),
    el("h3", { id: "reloads-title" }, "Reloads"),
    el("p", { id: "reload-summary" }),
    el("div", { class: "scroll" },
      el("table", { id: "reloads-table", "aria-labelledby": "reloads-title" },
        el("thead", {}, el("tr", {},
          ["Time", "Result", "Generation", "Error"].map((t) => el("th", { scope: "col" }, t)))),
        el("tbody"))),
  );
}

/** A plugin's state in words: active, quarantined until a time, failed with its error. */
function stateText(plugin) {
  if (plugin.state === "quarantined") {
    const until = plugin["quarantined-until"];
    return until ? `quarantined until ${localTime(until)}` : "quarantined";
  }
  if (plugin.state === "failed") return `failed: ${plugin.error || "unknown error"}`;
  return plugin.state;
}

async function refresh() {
  const [plugins, reload] = await Promise.all([api("/plugins"), api("/reload")]);
  $("plugins-table").tBodies[0].replaceChildren(
    ...plugins.plugins.map((p) => el("tr", { "data-name": p.name },
      cell(p.name),
      cell(p.type),
      cell(p.world),
      cell(p.version),
      cell(p.source),
      cell(stateText(p), "state plugin-" + p.state),
      cell(p.instances.length ? p.instances.join(", ") : "—"),
      cell(count(p.calls), "number"),
      cell(count(p.faults), "number"),
      cell(micros(p["p50-call-us"]), "number"),
      el("td", { class: "hash", title: p.sha256 }, p.sha256 ? p.sha256.slice(0, 12) + "…" : "—"),
    )),
  );
  const failures = reload.failures || 0;
  $("reload-summary").textContent =
    `generation ${reload.generation}, ${count(reload.attempts)} reloads, ` +
    `${count(failures)} refused` +
    (reload["last-error"] ? ` — last error: ${reload["last-error"]}` : "") +
    ((reload["restart-required"] || []).length
      ? ` — restart required for ${reload["restart-required"].join(", ")}`
      : "");
  $("reloads-table").tBodies[0].replaceChildren(
    ...(reload.history || []).map((r) => el("tr", {},
      cell(localTime(r.at)),
      cell(r.ok ? "applied" : "refused", r.ok ? "state-active" : "state-error"),
      cell(String(r.generation), "number"),
      cell(r.error || "—", "wrap"),
    )),
  );
}

export default { id: "plugins", title: "Plugins", mount, refresh,
  refreshOn: ["plugin", "reload"], pollWhileLive: true };
