// The switchyard operator console: login, then the Credentials view. No framework; every API
// call sends the management key as `Authorization: Bearer` (kept in sessionStorage only).

const KEY = "switchyard.management-key";
const API = "/v0/management";
const REFRESH_MS = 5000;

const $ = (id) => document.getElementById(id);

let credentials = [];
let sort = { field: "id", ascending: true };
let timer = null;
let ticker = null;
let fetchedAt = 0;

/** Calls the management API; throws an Error carrying the API's message on a non-2xx answer. */
async function api(path) {
  const response = await fetch(API + path, {
    headers: { Authorization: "Bearer " + sessionStorage.getItem(KEY) },
    cache: "no-store",
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = new Error(body.error || `HTTP ${response.status}`);
    error.status = response.status;
    throw error;
  }
  return body;
}

function show(loggedIn) {
  $("login").hidden = loggedIn;
  $("nav").hidden = !loggedIn;
  $("credentials").hidden = !loggedIn;
}

async function logIn(event) {
  event.preventDefault();
  const key = $("key").value;
  sessionStorage.setItem(KEY, key);
  $("login-error").textContent = "";
  try {
    await loadCredentials();
    $("key").value = "";
    show(true);
    start();
  } catch (error) {
    sessionStorage.removeItem(KEY);
    $("login-error").textContent = error.message;
  }
}

function logOut() {
  sessionStorage.removeItem(KEY);
  clearInterval(timer);
  clearInterval(ticker);
  timer = null;
  ticker = null;
  credentials = [];
  render();
  show(false);
  $("key").focus();
}

async function loadCredentials() {
  const body = await api("/credentials");
  credentials = body.credentials;
  fetchedAt = Date.now();
  $("credentials-updated").textContent = "updated " + new Date(fetchedAt).toLocaleTimeString();
  render();
}

function start() {
  clearInterval(timer);
  timer = setInterval(async () => {
    try {
      await loadCredentials();
      $("credentials-error").textContent = "";
    } catch (error) {
      if (error.status === 401 || error.status === 403) {
        logOut();
        $("login-error").textContent = error.message;
      } else {
        $("credentials-error").textContent = error.message;
      }
    }
  }, REFRESH_MS);
  // The cooling countdowns tick between refreshes.
  clearInterval(ticker);
  ticker = setInterval(renderCountdowns, 1000);
}

/** Seconds left until an RFC 3339 time, never negative. */
function secondsUntil(time) {
  return Math.max(0, Math.ceil((Date.parse(time) - Date.now()) / 1000));
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

function cell(text, className) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  return td;
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
  const tbody = $("credentials-table").tBodies[0];
  tbody.replaceChildren(
    ...rows.map((c) => {
      const tr = document.createElement("tr");
      tr.dataset.id = c.id;
      const expiry = c.token && c.token.expires_at
        ? new Date(c.token.expires_at).toLocaleString()
        : "—";
      tr.append(
        cell(c.id),
        cell(c.kind),
        cell(c.label),
        cell(String(c.priority), "number"),
        cell(String(c.weight), "number"),
        cell(stateText(c), "state state-" + c.state),
        cell(String(c.successes), "number"),
        cell(String(c.failures), "number"),
        cell(expiry),
      );
      return tr;
    }),
  );
}

function renderCountdowns() {
  if (credentials.some((c) => c.state === "cooling")) render();
}

document.addEventListener("DOMContentLoaded", () => {
  $("login-form").addEventListener("submit", logIn);
  $("logout").addEventListener("click", logOut);
  $("filter").addEventListener("input", render);
  for (const button of document.querySelectorAll("th button[data-sort]")) {
    button.addEventListener("click", () => {
      const field = button.dataset.sort;
      sort = { field, ascending: sort.field === field ? !sort.ascending : true };
      render();
    });
  }
  if (sessionStorage.getItem(KEY)) {
    loadCredentials().then(() => { show(true); start(); }, () => logOut());
  } else {
    show(false);
  }
});
