// A count with its unit, in the singular for one: "1 request", "3 requests".

import { count } from "./dom.js";

/** `n` (thousands separated) followed by `noun`, or by `plural` (`noun` + "s") unless `n` is 1. */
export function counted(n, noun, plural = noun + "s") {
  const value = Number(n || 0);
  return `${count(value)} ${value === 1 ? noun : plural}`;
}
