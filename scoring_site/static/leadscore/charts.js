/* Draws every <canvas data-chart-url> with Chart.js 2.9 from a django-chartjs JSON view.
   Marks the canvas data-chart-state="drawn" | "empty" | "error" so people (and tests) can tell. */
(function () {
  function number(value) { return Number(value).toLocaleString(undefined, {maximumFractionDigits: 1}); }

  function options(canvas) {
    var stacked = canvas.dataset.stacked === "true";
    return {
      animation: false, responsive: true, maintainAspectRatio: false,
      legend: {display: canvas.dataset.legend !== "false", position: "bottom"},
      tooltips: {mode: "index", intersect: false, callbacks: {label: function (item, data) {
        return data.datasets[item.datasetIndex].label + ": " + number(item.yLabel);
      }}},
      scales: {
        xAxes: [{stacked: stacked, gridLines: {display: false}, ticks: {autoSkip: true, maxTicksLimit: 12}}],
        yAxes: [{stacked: stacked, ticks: {beginAtZero: true, callback: number}}]
      }
    };
  }

  function showState(canvas, state, message) {
    canvas.dataset.chartState = state;
    var note = canvas.parentNode.querySelector(".chart-note");
    if (note) { note.textContent = message || ""; note.hidden = !message; }
  }

  function draw(canvas) {
    if (canvas.dataset.chartState) { return; }
    canvas.dataset.chartState = "loading";
    fetch(canvas.dataset.chartUrl, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (response) {
        return response.json().then(function (body) { return {ok: response.ok, body: body}; });
      })
      .then(function (result) {
        if (!result.ok) { showState(canvas, "error", result.body.error || "The chart could not be loaded."); return; }
        var data = result.body;
        var empty = !data.labels.length || data.datasets.every(function (d) { return d.data.every(function (v) { return !v; }); });
        if (empty) { showState(canvas, "empty", canvas.dataset.empty || "No data for this period yet."); return; }
        if (canvas.dataset.chartType === "line") {
          data.datasets.forEach(function (d) { d.fill = false; d.lineTension = 0; d.steppedLine = canvas.dataset.stepped === "true"; });
        }
        new Chart(canvas.getContext("2d"), {type: canvas.dataset.chartType || "bar", data: data, options: options(canvas)});
        showState(canvas, "drawn", "");
      })
      .catch(function () { showState(canvas, "error", "The chart could not be loaded. Try again in a moment."); });
  }

  function drawAll(root) { (root || document).querySelectorAll("canvas[data-chart-url]").forEach(draw); }
  document.addEventListener("DOMContentLoaded", function () { drawAll(document); });
  document.addEventListener("htmx:afterSettle", function (event) { drawAll(event.target); });
})();
