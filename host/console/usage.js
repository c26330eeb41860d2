// The Usage view: the usage totals overall, by credential and by model (GET /usage), and a
// live tail of the newest usage records from the event stream. Records exist only with
// `usage-statistics-enabled: true` (GET /usage-statistics-enabled says).

import { api } from "./api.js";
import { $, cell, el, localTime, micros } from "./dom.js";
import { counted } from "./counted.js";

/** Records the tail keeps, newest first. */
const TAIL = 100;

/** The newest usage records, newest first, each with when the page received it. */
const tail = [];
let live = null;
/** A redraw of the tail is scheduled for the next frame. */
let drawing = false;

const TOTAL_COLUMNS = ["Requests", "Failed", "Tokens in", "Tokens out", "Cached tokens"];

function totalsTable(id, first) {
  return el("div", { class: "scroll" },
    el("table", { id },
      el("thead", {}, el("tr", {},
        first ? el("th", { scope: "col" }, first) : null,
        TOTAL_COLUMNS.map((title) => el("th", { scope: "col", class: "number" }, title)))),
      el("tbody")));
}

function mount(section) {
  section.setAttribute("aria-labelledby", "usage-title");
  section.append(
    el("h2", { id: "usage-title" }, "Usage"),
    el("p", { id: "usage-disabled", class: "notice", role: "status", hidden: true },
      "Usage statistics are off (usage-statistics-enabled: false): no usage records are kept " +
      "or sent, so the totals and the live tail stay as they are."),
    el("h3", {}, "Totals"),
    totalsTable("usage-total", null),
    el("h3", {}, "By credential"),
    totalsTable("usage-by-credential", "Credential"),
    el("h3", {}, "By model"),
    totalsTable("usage-by-model", "Model"),
    el("h3", {}, "Live tail"),
    el("p", { id: "usage-tail-state", class: "muted", role: "status" }),
    el("div", { class: "scroll" },
      el("table", { id: "usage-tail" },
        el("thead", {}, el("tr", {},
          ["Time", "Credential", "Model", "Status", "Latency", "Tokens in", "Tokens out"]
            .map((title, i) => el("th", { scope: "col", class: i >= 3 ? "number" : null }, title)))),
        el("tbody"))),
  );
  showStreamState();
}

function totalsCells(t) {
  return [
    cell(counted(t.requests, "request"), "number"),
    cell(counted(t.failed, "request"), "number"),
    cell(counted(t.input_tokens, "token"), "number"),
    cell(counted(t.output_tokens, "token"), "number"),
    cell(counted(t.cached_tokens, "token"), "number"),
  ];
}

function fillTotals(id, rows) {
  const body = $(id).tBodies[0];
  if (!rows.length) {
    body.replaceChildren(el("tr", {}, el("td", { colspan: 6, class: "muted" }, "nothing yet")));
    return;
  }
  body.replaceChildren(...rows.map(([name, totals]) =>
    el("tr", { "data-id": name }, name === null ? null : cell(name), ...totalsCells(totals))));
}

/** Whether the live event stream is up (the shell's status badge says). */
function streamUp() {
  const badge = $("live-state");
  return Boolean(badge && badge.classList.contains("live"));
}

function showStreamState() {
  const up = streamUp();
  if (up === live) return;
  live = up;
  $("usage-tail-state").textContent = up
    ? `Live: the newest ${TAIL} usage records, newest first, times in your time zone.`
    : "Live tail paused (the event stream is down); totals refresh every 5 s.";
}

function renderTail() {
  if (!tail.length) {
    $("usage-tail").tBodies[0].replaceChildren(el("tr", {}, el("td", { colspan: 7, class: "muted" },
      "no usage record since this page opened")));
    return;
  }
  $("usage-tail").tBodies[0].replaceChildren(...tail.map((r) =>
    el("tr", { "data-request-id": r.request_id || null, "data-received-at": r.receivedAt },
      cell(localTime(r.timestamp)),
      cell(r.credential || "none", "credential"),
      cell(r.model, "model"),
      cell(String(r.status), "number http-status" + (r.failed ? " state-error" : "")),
      cell(micros((r.latency_ms || 0) * 1000), "number"),
      cell(counted(r.tokens && r.tokens.input_tokens, "token"), "number"),
      cell(counted(r.tokens && r.tokens.output_tokens, "token"), "number"))));
}

async function refresh() {
  const [usage, enabled] = await Promise.all([
    api("/usage"),
    api("/usage-statistics-enabled").catch(() => ({})),
  ]);
  $("usage-disabled").hidden = enabled["usage-statistics-enabled"] !== false;
  fillTotals("usage-total", [[null, usage.total]]);
  fillTotals("usage-by-credential", Object.entries(usage["by-credential"] || {}));
  fillTotals("usage-by-model", Object.entries(usage["by-model"] || {}));
  showStreamState();
  renderTail();
}

/** A usage event joins the tail (kept whether or not the view is shown). */
function event(e, visible) {
  if (e.type !== "usage") return;
  tail.unshift({ ...e.data, receivedAt: Date.now() });
  tail.length = Math.min(tail.length, TAIL);
  showStreamState();
  if (visible && !drawing) {
    // At most one redraw a frame, however many records arrive.
    drawing = true;
    requestAnimationFrame(() => {
      drawing = false;
      renderTail();
    });
  }
}

/** Follows the stream's state (checked once a second). */
function tick() {
  showStreamState();
}

export default { id: "usage", title: "Usage", mount, refresh, event, tick, pollWhileLive: true };
