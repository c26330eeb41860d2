// The Overview view: the last 15 minutes of proxied traffic as small charts (from
// GET /history: 90 windows of 10 s), affinity picks (GET /sessions), credentials by state
// (GET /credentials), plugin faults (GET /plugins) and the last reload (GET /reload).

import { api } from "./api.js";
import { $, count, el, localTime, micros, percent } from "./dom.js";
import { lineChart } from "./chart.js";
import { counted } from "./counted.js";

/** Windows that make up "now" for rates: the last minute. */
const RECENT = 6;

/** The charts: id, title, and the legend of each series. */
const CHARTS = [
  ["requests", "Requests", ["requests/s"]],
  ["errors", "Error rate", ["% of requests"]],
  ["added", "Added latency", ["p50", "p99"]],
  ["upstream", "Upstream latency", ["p50", "p99"]],
  ["tokens", "Tokens", ["in", "out"]],
];

function card(id, title, ...body) {
  return el("article", { class: "card", id: "overview-" + id, "aria-labelledby": `overview-${id}-title` },
    el("h3", { id: `overview-${id}-title` }, title), ...body);
}

function mount(section) {
  section.setAttribute("aria-labelledby", "overview-title");
  section.append(
    el("h2", { id: "overview-title" }, "Overview"),
    el("p", { class: "muted" }, "The last 15 minutes in windows of 10 s; rates over the last minute. ",
      el("span", { id: "overview-updated" })),
    el("div", { class: "cards" },
      CHARTS.map(([id, title, legend]) => card(id, title,
        el("p", { class: "now", id: `overview-${id}-now` }, "—"),
        el("div", { class: "chart-box", id: `overview-${id}-chart` }),
        el("p", { class: "chart-legend muted" },
          legend.map((name, n) => el("span", { class: `swatch series-${n}` }, name)),
          el("span", { id: `overview-${id}-scale` }))))),
    el("div", { class: "cards" },
      card("affinity", "Session affinity",
        el("p", { id: "overview-affinity-off", class: "muted", hidden: true },
          "Off (routing.session-affinity: false): picks since start."),
        el("dl", { id: "overview-affinity-list" })),
      card("credentials", "Credentials by state", el("ul", { id: "overview-credentials-list", class: "plain" })),
      card("plugins", "Plugins", el("p", { id: "overview-plugins-faults" }),
        el("ul", { id: "overview-plugins-list", class: "plain" })),
      card("reload", "Last reload", el("p", { id: "overview-reload-result" }),
        el("p", { id: "overview-reload-detail", class: "muted" }))),
  );
}

const sum = (buckets, field) => buckets.reduce((total, b) => total + (b[field] || 0), 0);

/** The newest non-null quantile of `field` (`added_ms`, …) as text, or "—". */
function latest(buckets, field, quantile) {
  for (let i = buckets.length - 1; i >= 0; i--) {
    const value = buckets[i][field] && buckets[i][field][quantile];
    if (value !== null && value !== undefined) return micros(value * 1000);
  }
  return "—";
}

function rate(requests, seconds) {
  const perSecond = requests / seconds;
  return (perSecond >= 10 ? perSecond.toFixed(0) : perSecond.toFixed(2)) + " req/s";
}

function drawChart(id, series, label, scale) {
  const { svg, max } = lineChart(series, label);
  $(`overview-${id}-chart`).replaceChildren(svg);
  $(`overview-${id}-scale`).textContent = `top ${scale(max)}, 15 min ago → now`;
}

function renderHistory(history) {
  const buckets = history.buckets || [];
  const seconds = history.bucket_seconds || 10;
  const recent = buckets.slice(-RECENT);
  const recentSeconds = Math.max(1, recent.length) * seconds;
  const requests = sum(buckets, "requests");
  const errors = sum(buckets, "errors");

  $("overview-requests-now").textContent =
    `${rate(sum(recent, "requests"), recentSeconds)} · ${counted(requests, "request")} in 15 min`;
  drawChart("requests", [buckets.map((b) => b.requests / seconds)],
    "Requests per second over the last 15 minutes", (max) => rate(max, 1));

  $("overview-errors-now").textContent =
    `${percent(sum(recent, "errors"), sum(recent, "requests"))} · ${counted(errors, "error")} in 15 min`;
  drawChart("errors", [buckets.map((b) => (b.requests ? (100 * b.errors) / b.requests : null))],
    "Error rate over the last 15 minutes", (max) => max.toFixed(1) + " %");

  for (const [id, field, what] of [["added", "added_ms", "switchyard adds"],
    ["upstream", "upstream_ms", "upstream"]]) {
    $(`overview-${id}-now`).textContent =
      `p50 ${latest(buckets, field, "p50")} · p99 ${latest(buckets, field, "p99")}`;
    drawChart(id, ["p50", "p99"].map((q) => buckets.map((b) => (b[field] ? b[field][q] : null))),
      `p50 and p99 latency ${what} over the last 15 minutes`, (max) => micros(max * 1000));
  }

  const tokensIn = sum(buckets, "input_tokens");
  const tokensOut = sum(buckets, "output_tokens");
  $("overview-tokens-now").textContent =
    `${count(tokensIn)} tokens in · ${count(tokensOut)} tokens out in 15 min`;
  drawChart("tokens", [buckets.map((b) => b.input_tokens), buckets.map((b) => b.output_tokens)],
    "Tokens in and out per window over the last 15 minutes",
    (max) => count(Math.round(max)) + " tokens / 10 s");
}

function renderAffinity(sessions) {
  const list = $("overview-affinity-list");
  const { hits, misses, rebinds } = sessions;
  if (hits === undefined || misses === undefined) {
    list.replaceChildren(el("dt", {}, "Bindings"), el("dd", {}, counted(sessions.bindings, "session")),
      el("dt", {}, "Picks"), el("dd", { class: "muted" }, "not reported by this switchyard"));
    return;
  }
  const inherited = sessions.inherited || 0;
  const picks = hits + misses + (rebinds || 0) + inherited;
  list.replaceChildren(
    el("dt", {}, "Hits"), el("dd", {}, `${counted(hits, "pick")} (${percent(hits, picks)})`),
    el("dt", {}, "Misses"), el("dd", {}, `${counted(misses, "pick")} (${percent(misses, picks)})`),
    el("dt", {}, "Rebinds"), el("dd", {}, `${counted(rebinds || 0, "pick")} (${percent(rebinds || 0, picks)})`),
    el("dt", {}, "Inherited"), el("dd", {}, `${counted(inherited, "pick")} (${percent(inherited, picks)})`),
    el("dt", {}, "Bindings"), el("dd", {}, counted(sessions.bindings, "session")),
  );
}

/** Sets the Credentials view's filter to `state`, so the link shows those credentials. */
function filterCredentials(state) {
  const filter = $("filter");
  if (filter) filter.value = state;
}

function renderCredentials(credentials) {
  const byState = new Map();
  for (const c of credentials) byState.set(c.state, (byState.get(c.state) || 0) + 1);
  const items = [...byState.entries()].sort(([a], [b]) => a.localeCompare(b))
    .map(([state, n]) => el("li", { "data-state": state },
      el("a", { href: "#credentials", class: "state-" + state, onclick: () => filterCredentials(state) },
        `${count(n)} ${state.replace(/_/g, " ")}`)));
  $("overview-credentials-list").replaceChildren(
    ...(items.length ? items : [el("li", { class: "muted" }, "no credentials")]));
}

function renderPlugins(plugins) {
  const faults = plugins.reduce((total, p) => total + (p.faults || 0), 0);
  $("overview-plugins-faults").textContent =
    `${counted(faults, "fault")} in ${counted(plugins.length, "plugin")}`;
  const inactive = plugins.filter((p) => p.state !== "active");
  $("overview-plugins-list").replaceChildren(...inactive.map((p) => {
    const until = p["quarantined-until"] ? ` until ${localTime(p["quarantined-until"])}` : "";
    return el("li", { class: "state-" + p.state }, `${p.name}: ${p.state}${until}`);
  }));
}

function renderReload(reload) {
  const history = Array.isArray(reload.history) ? reload.history : [];
  // The newest attempt, whichever end of the list it is at.
  const last = history.reduce((newest, entry) =>
    (!newest || Date.parse(entry.at) >= Date.parse(newest.at) ? entry : newest), null);
  const result = $("overview-reload-result");
  if (last) {
    result.textContent = `${last.ok ? "applied" : "failed"} at ${localTime(last.at)}` +
      (last.error ? `: ${last.error}` : "");
    result.className = last.ok ? "state-active" : "state-error";
  } else {
    result.textContent = reload["last-error"] ? `failed: ${reload["last-error"]}` : "no failure";
    result.className = reload["last-error"] ? "state-error" : "state-active";
  }
  $("overview-reload-detail").textContent =
    `generation ${count(reload.generation)} · ${counted(reload.attempts, "attempt")} · ` +
    `${counted(reload.failures, "failure")}` +
    (reload["restart-required"] && reload["restart-required"].length
      ? ` · restart required for ${reload["restart-required"].join(", ")}` : "");
}

async function refresh() {
  const [history, sessions, credentials, plugins, reload, affinity] = await Promise.all([
    api("/history"), api("/sessions"), api("/credentials"), api("/plugins"), api("/reload"),
    api("/routing/session-affinity").catch(() => ({})),
  ]);
  renderHistory(history);
  renderAffinity(sessions);
  $("overview-affinity-off").hidden = affinity["session-affinity"] !== false;
  renderCredentials(credentials.credentials || []);
  renderPlugins(plugins.plugins || []);
  renderReload(reload);
  $("overview-updated").textContent = "Updated " + new Date().toLocaleTimeString() + ".";
  if (!document.body.dataset.firstRender) {
    // When the overview first showed data, in ms since navigation (for the browser tests).
    document.body.dataset.firstRender = performance.now().toFixed(1);
  }
}

export default { id: "overview", title: "Overview", mount, refresh,
  refreshOn: ["credential", "plugin", "reload"], pollWhileLive: true };
