// The Plugins view (not built yet).

import { el } from "./dom.js";

function mount(section) {
  section.append(el("h2", {}, "Plugins"), el("p", { class: "muted" }, "Not built yet."));
}

async function refresh() {}

export default { id: "plugins", title: "Plugins", mount, refresh };
