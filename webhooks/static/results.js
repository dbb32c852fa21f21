// The results page's charts, drawn by Chart.js from the page's JSON data block (no inline script:
// the staff CSP forbids it). Every chart has a table with the same numbers beside it.
(function () {
  "use strict";
  var source = document.getElementById("results-data");
  if (!source || typeof Chart === "undefined") { return; }
  var data = JSON.parse(source.textContent);
  // No animation: the numbers are what matters, and a test can read them at once.
  var common = {animation: false, responsive: true, maintainAspectRatio: false};

  function percentAxis() {
    return {min: 0, max: 100, ticks: {callback: function (v) { return v + "%"; }}};
  }

  function draw(id, config) {
    var canvas = document.getElementById(id);
    if (canvas) { new Chart(canvas, config); }
  }

  draw("chart-trend", {
    type: "line",
    data: {
      labels: data.labels,
      datasets: [
        {label: "Confirmed", data: data.confirmation_rate, borderColor: "#0f766e", backgroundColor: "#0f766e", spanGaps: true},
        {label: "No-shows", data: data.no_show_rate, borderColor: "#b91c1c", backgroundColor: "#b91c1c", spanGaps: true},
        {label: "No-shows, not confirmed", data: data.unconfirmed_no_show_rate, borderColor: "#d97706",
         backgroundColor: "#d97706", spanGaps: true}
      ]
    },
    options: Object.assign({}, common, {scales: {y: percentAxis()}})
  });

  // Long reasons break into lines of about 24 characters, so a phone shows them whole.
  function wrap(text) {
    var lines = [], line = "";
    text.split(" ").forEach(function (word) {
      if (line && (line + " " + word).length > 24) { lines.push(line); line = word; } else { line = line ? line + " " + word : word; }
    });
    if (line) { lines.push(line); }
    return lines;
  }

  function bars(id, series, label, color) {
    draw(id, {
      type: "bar",
      data: {labels: series.labels.map(wrap), datasets: [{label: label, data: series.values, backgroundColor: color}]},
      options: Object.assign({}, common, {indexAxis: "y", plugins: {legend: {display: false}},
                                          scales: {x: {beginAtZero: true, ticks: {precision: 0}}}})
    });
  }

  bars("chart-failures", data.failures, "Failed", "#b91c1c");
  bars("chart-optouts", data.opt_outs, "Opt-outs", "#7c3aed");
  bars("chart-funnel", data.funnel, "Clients", "#0f766e");
}());
