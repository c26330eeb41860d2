// The Overview view (not built yet).

import { el } from "./dom.js";

function mount(section) {
  section.append(el("h2", {}, "Overview"), el("p", { class: "muted" }, "Not built yet."));
}

async function refresh() {}

export default { id: "overview", title: "Overview", mount, refresh };
