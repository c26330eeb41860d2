// Small DOM and formatting helpers shared by the views. Text always goes in as text
// (textContent), never as HTML.

/** `document.getElementById`. */
export const $ = (id) => document.getElementById(id);

/**
 * A new element: `attrs` are set as attributes (`class`, `id`, `data-*`, …; `on<event>`
 * functions become listeners), `children` are nodes or strings (as text).
 */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      node.addEventListener(name.slice(2), value);
    } else {
      node.setAttribute(name, value === true ? "" : String(value));
    }
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

/** A table cell with `text`; numbers are right-aligned. */
export function cell(text, className) {
  const td = el("td", { class: className }, text === undefined || text === null ? "—" : text);
  return td;
}

/** An integer with thousands separators. */
export function count(n) {
  return Number(n || 0).toLocaleString();
}

/** A ratio 0…1 as a percentage with one decimal, or "—" when there is nothing to divide. */
export function percent(part, whole) {
  if (!whole) return "—";
  return (100 * part / whole).toFixed(1) + " %";
}

/** Microseconds, shown in µs below 1 ms, in ms below 1 s, else in s. */
export function micros(us) {
  if (us === undefined || us === null) return "—";
  if (us < 1000) return Math.round(us) + " µs";
  if (us < 1e6) return (us / 1000).toFixed(us < 1e4 ? 2 : 1) + " ms";
  return (us / 1e6).toFixed(2) + " s";
}

/** Seconds from now until an RFC 3339 time, never negative. */
export function secondsUntil(time) {
  return Math.max(0, Math.ceil((Date.parse(time) - Date.now()) / 1000));
}

/** An RFC 3339 time in the browser's time zone, or "—". */
export function localTime(time) {
  if (!time) return "—";
  const parsed = new Date(time);
  return Number.isNaN(parsed.getTime()) ? "—" : parsed.toLocaleString();
}
