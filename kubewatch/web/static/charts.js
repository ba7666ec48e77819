// Drawing series from the JSON API with uPlot: average and maximum, in the page's colours and the browser's time zone.
"use strict";

const kwCharts = (function () {
  const plots = new Map();

  function colours() {
    const style = getComputedStyle(document.documentElement);
    const value = (name) => style.getPropertyValue(name).trim();
    return {text: value("--muted"), line: value("--line"), accent: value("--accent"), ok: value("--ok"),
            bad: value("--bad"), wait: value("--wait")};
  }

  // The step that gives about one point per three pixels: whole minutes, or whole hours past the minute tier.
  function step(rangeSeconds, widthPixels, minuteRetention) {
    const wanted = rangeSeconds / Math.max(60, widthPixels / 3);
    if (rangeSeconds > minuteRetention) return Math.max(1, Math.ceil(wanted / 3600)) * 3600;
    return Math.max(1, Math.ceil(wanted / 60)) * 60;
  }

  const number = (digits) => (u, values) => values.map((v) => v === null ? "" : v.toFixed(digits));
  const megabytes = (u, values) => values.map((v) => v === null ? "" : kw.bytes(v * 1048576));
  const rate = (u, values) => values.map((v) => v === null ? "" : kw.bytes(v) + "/s");

  // What each chart draws from a point: [label, field, colour name, dashed].
  const LINES = {
    cpu: {axis: number(0), lines: [["average", "cpuPercent", "accent"], ["maximum", "cpuPercentMax", "wait", true]]},
    memory: {axis: megabytes, lines: [["average", "memoryMB", "accent"], ["maximum", "memoryMBMax", "wait", true],
                                      ["limit", "memoryLimitMB", "bad", true]]},
    network: {axis: rate, lines: [["in", "networkRxBytesPerSec", "ok"], ["out", "networkTxBytesPerSec", "accent"]]},
  };

  function draw(figure, name, points, from, to) {
    const box = figure.querySelector(".plot");
    const old = plots.get(figure);
    if (old) { old.destroy(); plots.delete(figure); }
    box.replaceChildren();
    const spec = LINES[name];
    const lines = spec.lines.filter(([, field]) => points.some((p) => p[field] !== null && p[field] !== undefined));
    figure.dataset.points = lines.length ? points.length : 0;
    if (!points.length || !lines.length) {
      box.append(kw.el("p", {class: "nodata"}, "No data in this range."));
      return;
    }
    const c = colours();
    const format = name === "cpu" ? (u, v) => v === null ? "–" : v.toFixed(1) + " %"
      : (u, v) => v === null ? "–" : spec.axis(u, [v])[0];
    const data = [points.map((p) => Date.parse(p.t) / 1000),
                  ...lines.map(([, field]) => points.map((p) => p[field] ?? null))];
    const options = {
      width: Math.max(200, box.clientWidth), height: 200,
      series: [{}, ...lines.map(([label, , colour, dashed]) => ({
        label, stroke: c[colour], width: 1.5, dash: dashed ? [5, 4] : undefined, value: format, spanGaps: false}))],
      axes: [{stroke: c.text, grid: {stroke: c.line, width: 1}, ticks: {stroke: c.line, width: 1}},
             {stroke: c.text, grid: {stroke: c.line, width: 1}, ticks: {stroke: c.line, width: 1},
              values: spec.axis, size: 80}],
      scales: {x: {time: true, range: () => [from, to]}, y: {range: (u, min, max) => [0, max > 0 ? max * 1.1 : 1]}},
      cursor: {drag: {x: false, y: false}},
      hooks: {draw: [() => { figure.dataset.drawn = "true"; if (!window.kwFirstDraw) window.kwFirstDraw = performance.now(); }]},
    };
    plots.set(figure, new uPlot(options, data, box));
  }

  window.addEventListener("resize", () => {
    for (const [figure, plot] of plots) {
      plot.setSize({width: Math.max(200, figure.querySelector(".plot").clientWidth), height: 200});
    }
  });

  return {draw, step};
})();
