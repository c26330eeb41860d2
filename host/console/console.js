// The switchyard operator console's shell: login, the view menu (one view per `#hash`), the
// live event stream, and polling every 5 s while the stream is down. Each view is a module
// with `id`, `title`, `mount(section)`, `refresh()` and optionally `refreshOn` (the event kinds
// that make the shown view load again), `event(e, visible)` (every event, for views that use
// the data itself), `tick()` and `pollWhileLive` (refresh on the 5 s timer even while events
// arrive).

import { ApiError, EventStream, api, forgetKey, key, setKey } from "./api.js";
import { $, el } from "./dom.js";
import credentials from "./credentials.js";
import overview from "./overview.js";
import sessions from "./sessions.js";
import plugins from "./plugins.js";
import config from "./config.js";
import usage from "./usage.js";

const POLL_MS = 5000;
const VIEWS = [overview, credentials, sessions, plugins, config, usage];

let current = null;
let live = false;
/**
 * The views loading now, each with whether another load was asked for meanwhile: a view never
 * loads twice at once (timer, event, menu), and a request during a load runs after it.
 */
const loading = new Map();
let poller = null;
let ticker = null;
const stream = new EventStream(onEvent, onStreamState, POLL_MS);

function viewFor(hash) {
  const id = hash.replace(/^#/, "");
  return VIEWS.find((v) => v.id === id) || VIEWS[0];
}

/** Shows the view the URL's hash names and loads it. */
async function route() {
  const view = viewFor(location.hash);
  current = view;
  for (const v of VIEWS) $(v.id).hidden = v !== view;
  for (const link of $("views").querySelectorAll("a")) {
    if (link.getAttribute("href") === "#" + view.id) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  await refresh(view);
}

/** Refreshes `view` (after its current load, if any), showing a failure in the status line. */
async function refresh(view) {
  if (loading.has(view)) {
    loading.set(view, true);
    return;
  }
  loading.set(view, false);
  try {
    await view.refresh();
    if (view === current) $("status-error").textContent = "";
  } catch (error) {
    if (error instanceof ApiError && (error.status === 401 || error.status === 403)) {
      logOut(error.message);
    } else if (view === current) {
      $("status-error").textContent = `${view.title}: ${error.message}`;
    }
  } finally {
    const again = loading.get(view);
    loading.delete(view);
    if (again && key()) refresh(view);
  }
}

function onEvent(event) {
  for (const view of VIEWS) {
    if (view.event) view.event(event, view === current);
  }
  if (current && (current.refreshOn || []).includes(event.type)) refresh(current);
}

function onStreamState(up) {
  live = up;
  $("live-state").textContent = up ? "live" : "polling every 5 s";
  $("live-state").className = up ? "badge live" : "badge";
}

function showLoggedIn(loggedIn) {
  $("login").hidden = loggedIn;
  $("nav").hidden = !loggedIn;
  $("status").hidden = !loggedIn;
  for (const v of VIEWS) $(v.id).hidden = true;
}

async function logIn(event) {
  event.preventDefault();
  setKey($("key").value);
  $("login-error").textContent = "";
  try {
    // Any authenticated call proves the key; the credentials list is small.
    await api("/credentials");
  } catch (error) {
    forgetKey();
    $("login-error").textContent = error.message;
    return;
  }
  $("key").value = "";
  start();
}

function start() {
  showLoggedIn(true);
  onStreamState(false);
  stream.start();
  clearInterval(poller);
  poller = setInterval(() => {
    if (current && (!live || current.pollWhileLive)) refresh(current);
  }, POLL_MS);
  clearInterval(ticker);
  ticker = setInterval(() => {
    if (current && current.tick) current.tick();
  }, 1000);
  route();
}

function logOut(message) {
  forgetKey();
  stream.stop();
  clearInterval(poller);
  clearInterval(ticker);
  poller = ticker = null;
  current = null;
  showLoggedIn(false);
  $("login-error").textContent = message || "";
  $("key").focus();
}

document.addEventListener("DOMContentLoaded", () => {
  const menu = $("views");
  for (const view of VIEWS) {
    menu.append(el("a", { href: "#" + view.id }, view.title));
    view.mount($(view.id));
  }
  $("login-form").addEventListener("submit", logIn);
  $("logout").addEventListener("click", () => logOut());
  window.addEventListener("hashchange", () => {
    if (key()) route();
  });
  if (key()) {
    api("/credentials").then(start, (error) => logOut(error.message));
  } else {
    showLoggedIn(false);
  }
});
