// The Usage view (not built yet).

import { el } from "./dom.js";

function mount(section) {
  section.append(el("h2", {}, "Usage"), el("p", { class: "muted" }, "Not built yet."));
}

async function refresh() {}

export default { id: "usage", title: "Usage", mount, refresh };
