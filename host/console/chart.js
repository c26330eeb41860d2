// A small line chart drawn as SVG: one polyline per series over equally spaced points, a
// missing value (null) breaking its line. Colours come from CSS classes (`series-0`,
// `series-1`, …), so light and dark follow the page's variables.

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 300;
const HEIGHT = 80;
/** Room above the highest point, so a flat line at the top stays visible. */
const HEADROOM = 1.1;

function svg(tag, attrs = {}) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  return node;
}

/** The runs of consecutive non-null values of `values`, each as `[[index, value], …]`. */
function runs(values) {
  const all = [];
  let run = [];
  values.forEach((value, index) => {
    if (value === null || value === undefined || Number.isNaN(value)) {
      if (run.length) all.push(run);
      run = [];
    } else {
      run.push([index, value]);
    }
  });
  if (run.length) all.push(run);
  return all;
}

/**
 * An SVG line chart of `series` (arrays of numbers or null, all of one length), scaled from 0
 * to the largest value, described by `label` for assistive technology. Answers
 * `{svg, max}`: the element and the value its top edge stands for.
 */
export function lineChart(series, label) {
  const points = Math.max(2, ...series.map((s) => s.length));
  const largest = Math.max(0, ...series.flat().filter((v) => typeof v === "number"));
  const max = largest > 0 ? largest * HEADROOM : 1;
  const x = (index) => (index / (points - 1)) * WIDTH;
  const y = (value) => HEIGHT - (value / max) * HEIGHT;
  const chart = svg("svg", {
    viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
    preserveAspectRatio: "none",
    class: "chart",
    role: "img",
    "aria-label": label,
  });
  chart.append(svg("line", { x1: 0, y1: HEIGHT, x2: WIDTH, y2: HEIGHT, class: "chart-axis",
    "vector-effect": "non-scaling-stroke" }));
  series.forEach((values, n) => {
    for (const run of runs(values)) {
      // A lone point is drawn as a dot: a line of no length with round caps.
      const drawn = run.length === 1 ? [run[0], run[0]] : run;
      chart.append(svg("polyline", {
        points: drawn.map(([i, v]) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(" "),
        class: `chart-line series-${n}` + (run.length === 1 ? " chart-dot" : ""),
        fill: "none",
        "vector-effect": "non-scaling-stroke",
      }));
    }
  });
  return { svg: chart, max: largest };
}
