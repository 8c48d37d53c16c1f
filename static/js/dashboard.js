// The dashboard's trend chart, drawn from the JSON the page carries (#trend-data) with the
// vendored Chart.js. The same numbers are in a table under the chart, so the page reads
// without this script. Redrawn when htmx swaps the dashboard for new filters.
(() => {
  "use strict";
  document.documentElement.classList.add("js");

  const COLOURS = {
    sent: "#2354d6",
    accepted: "#7a5af8",
    replied: "#117a43",
    positive: "#dc6803",
  };

  function shortDay(iso) {
    const [year, month, day] = iso.split("-").map(Number);
    return new Date(Date.UTC(year, month - 1, day)).toLocaleDateString(undefined, {
      day: "numeric",
      month: "short",
      timeZone: "UTC",
    });
  }

  function draw() {
    const source = document.getElementById("trend-data");
    const canvas = document.getElementById("trend-chart");
    // A swap brings a new canvas; one that already has its chart is left alone.
    if (!source || !canvas || typeof window.Chart === "undefined" || window.Chart.getChart(canvas)) return;
    const data = JSON.parse(source.textContent);
    new window.Chart(canvas, {
      type: "line",
      data: {
        labels: data.labels.map(shortDay),
        datasets: data.series.map((series) => ({
          label: series.label,
          data: series.values,
          borderColor: COLOURS[series.key],
          backgroundColor: COLOURS[series.key],
          borderWidth: 2,
          pointRadius: data.labels.length > 31 ? 0 : 2,
          tension: 0.2,
        })),
      },
      options: {
        animation: false,
        maintainAspectRatio: false,
        interaction: { mode: "index", intersect: false },
        scales: {
          y: { beginAtZero: true, ticks: { precision: 0 } },
          x: { ticks: { autoSkip: true, maxTicksLimit: 12, maxRotation: 0 } },
        },
        plugins: { legend: { position: "bottom" } },
      },
    });
  }

  document.addEventListener("DOMContentLoaded", draw);
  document.addEventListener("htmx:afterSettle", draw);
})();
