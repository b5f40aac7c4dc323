// r3d's report charts: hovering a chart reads out each series at the nearest x (and draws a
// cursor line); clicking a legend entry hides or shows its series. Each div.r3d-chart holds
// its SVG and a JSON <script class="r3d-chart-data"> with {x0, x1, left, width, svgWidth,
// xlabel, series: [{name, x: [...], y: [...]}]}.
(function () {
  "use strict";

  function nearest(xs, value) {
    let lo = 0;
    let hi = xs.length - 1;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (xs[mid] < value) lo = mid;
      else hi = mid;
    }
    return Math.abs(xs[lo] - value) <= Math.abs(xs[hi] - value) ? lo : hi;
  }

  function format(value) {
    if (value === null || value === undefined) return "–";
    return Math.abs(value) >= 1e4 || (Math.abs(value) < 1e-3 && value !== 0)
      ? value.toExponential(3)
      : Number(value.toPrecision(4)).toString();
  }

  function setup(chart) {
    const data = JSON.parse(chart.querySelector("script.r3d-chart-data").textContent);
    const svg = chart.querySelector("svg");
    const cursor = svg.querySelector(".r3d-cursor");
    const readout = chart.querySelector(".r3d-chart-readout");
    const hidden = new Set();
    svg.addEventListener("mousemove", (event) => {
      const rect = svg.getBoundingClientRect();
      const svgX = ((event.clientX - rect.left) / rect.width) * data.svgWidth;
      const fraction = (svgX - data.left) / data.width;
      if (fraction < 0 || fraction > 1) return;
      const x = data.x0 + fraction * (data.x1 - data.x0);
      const parts = [];
      let shownX = x;
      data.series.forEach((series, k) => {
        if (hidden.has(k) || !series.x.length) return;
        const i = nearest(series.x, x);
        shownX = series.x[i];
        parts.push(series.name + " " + format(series.y[i]));
      });
      readout.textContent = data.xlabel + " " + format(shownX) + ":  " + parts.join("   ");
      cursor.setAttribute("x1", svgX);
      cursor.setAttribute("x2", svgX);
      cursor.setAttribute("visibility", "visible");
    });
    svg.addEventListener("mouseleave", () => cursor.setAttribute("visibility", "hidden"));
    chart.querySelectorAll(".r3d-legend span").forEach((entry) => {
      entry.style.cursor = "pointer";
      entry.addEventListener("click", () => {
        const k = Number(entry.dataset.series);
        if (hidden.has(k)) hidden.delete(k);
        else hidden.add(k);
        entry.style.opacity = hidden.has(k) ? "0.35" : "1";
        svg.querySelectorAll('polyline[data-series="' + k + '"]').forEach((line) => {
          line.style.display = hidden.has(k) ? "none" : "";
        });
      });
    });
  }

  function setupAll() {
    document.querySelectorAll("div.r3d-chart").forEach((chart) => {
      if (chart.querySelector("script.r3d-chart-data")) setup(chart);
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setupAll);
  else setupAll();
})();
