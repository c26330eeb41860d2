// The Config view (not built yet).

import { el } from "./dom.js";

function mount(section) {
  section.append(el("h2", {}, "Config"), el("p", { class: "muted" }, "Not built yet."));
}

async function refresh() {}

export default { id: "config", title: "Config", mount, refresh };
