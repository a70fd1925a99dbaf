// Draws the preview's score distribution once the htmx-polled result arrives.
(function () {
  function draw() {
    var canvas = document.getElementById("distribution-chart");
    if (!canvas || canvas.dataset.drawn || typeof Chart === "undefined") return;
    canvas.dataset.drawn = "1";
    fetch(canvas.dataset.url, {credentials: "same-origin"})
      .then(function (response) { return response.json(); })
      .then(function (data) {
        new Chart(canvas.getContext("2d"), {
          type: "bar", data: data,
          options: {legend: {position: "bottom"}, scales: {yAxes: [{ticks: {beginAtZero: true, precision: 0}}],
                    xAxes: [{scaleLabel: {display: true, labelString: "Sales-readiness score"}}]}}
        });
      });
  }
  document.addEventListener("DOMContentLoaded", draw);
  document.addEventListener("htmx:afterSettle", draw);
})();
