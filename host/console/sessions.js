// The Sessions view (not built yet).

import { el } from "./dom.js";

function mount(section) {
  section.append(el("h2", {}, "Sessions"), el("p", { class: "muted" }, "Not built yet."));
}

async function refresh() {}

export default { id: "sessions", title: "Sessions", mount, refresh };
