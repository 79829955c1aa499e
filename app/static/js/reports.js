// Draws the report page's charts from the JSON block #report-data (no inline script, so the
// Content-Security-Policy can forbid it). Suppressed figures arrive as null and are not
// drawn; the tables beside the charts carry every figure in words.
(function () {
  "use strict";
  var source = document.getElementById("report-data");
  if (!source || typeof Chart === "undefined") {
    return;
  }
  var data = JSON.parse(source.textContent);
  var NHS_BLUE = "#005eb8";
  var PALETTE = ["#005eb8", "#009639", "#ed8b00", "#330072", "#da291c", "#00a499", "#768692", "#ae2573"];
  Chart.defaults.font.family = "Frutiger W01, Arial, sans-serif";
  Chart.defaults.color = "#212b32";
  Chart.defaults.animation = false;

  function percent(value) {
    return value === null || value === undefined ? "suppressed" : value.toFixed(1) + "%";
  }

  if (data.funnel) {
    var funnelCanvas = document.getElementById("funnel-chart");
    new Chart(funnelCanvas, {
      type: "bar",
      data: {
        labels: data.funnel.labels,
        datasets: [{ label: "Members", data: data.funnel.values, backgroundColor: NHS_BLUE }],
      },
      options: {
        indexAxis: "y",
        responsive: true,
        maintainAspectRatio: false,
        plugins: {
          legend: { display: false },
          tooltip: {
            callbacks: {
              label: function (ctx) {
                return ctx.raw === null ? "suppressed" : ctx.raw.toLocaleString("en-GB");
              },
            },
          },
        },
        scales: { x: { beginAtZero: true, title: { display: true, text: "Members" } } },
      },
    });
  }

  if (data.takeUp) {
    var takeUpCanvas = document.getElementById("takeup-chart");
    var datasets = data.takeUp.series.map(function (series, i) {
      return {
        label: series.label,
        backgroundColor: PALETTE[i % PALETTE.length],
        errorBarColor: "#212b32",
        errorBarWhiskerColor: "#212b32",
        errorBarLineWidth: 1.5,
        errorBarWhiskerLineWidth: 1.5,
        errorBarWhiskerSize: 12,
        data: series.points.map(function (p) {
          return p === null || p.y === null ? { y: null, yMin: null, yMax: null, suppressed: !!(p && p.suppressed) } : p;
        }),
      };
    });
    var overall = data.takeUp.overall;
    var overallLine = {
      id: "overallLine",
      afterDatasetsDraw: function (chart) {
        if (overall === null) {
          return;
        }
        var y = chart.scales.y.getPixelForValue(overall);
        var ctx = chart.ctx;
        ctx.save();
        ctx.setLineDash([6, 4]);
        ctx.strokeStyle = "#4c6272";
        ctx.lineWidth = 1.5;
        ctx.beginPath();
        ctx.moveTo(chart.chartArea.left, y);
        ctx.lineTo(chart.chartArea.right, y);
        ctx.stroke();
        ctx.setLineDash([]);
        ctx.fillStyle = "#4c6272";
        ctx.font = "12px Arial, sans-serif";
        ctx.textAlign = "right";
        ctx.fillText("overall " + overall.toFixed(1) + "%", chart.chartArea.right - 4, y - 4);
        ctx.restore();
      },
    };
    // a group without a bar gets the table's mark where the bar would be, so a gap never
    // looks like 0%: "*" suppressed, "–" nobody invited (no rate to show)
    var suppressedMarks = {
      id: "suppressedMarks",
      afterDatasetsDraw: function (chart) {
        var ctx = chart.ctx;
        ctx.save();
        ctx.fillStyle = "#4c6272";
        ctx.font = "bold 14px Arial, sans-serif";
        ctx.textAlign = "center";
        chart.data.datasets.forEach(function (dataset, i) {
          chart.getDatasetMeta(i).data.forEach(function (bar, j) {
            var point = dataset.data[j];
            if (point && (point.y === null || point.y === undefined)) {
              ctx.fillText(point.suppressed ? "*" : "\u2013", bar.x, chart.chartArea.bottom - 6);
            }
          });
        });
        ctx.restore();
      },
    };
    new Chart(takeUpCanvas, {
      type: "barWithErrorBars",
      data: { labels: data.takeUp.labels, datasets: datasets },
      plugins: [overallLine, suppressedMarks],
      options: {
        responsive: true,
        maintainAspectRatio: false,
        plugins: {
          legend: { display: data.takeUp.series.length > 1, position: "bottom" },
          tooltip: {
            callbacks: {
              label: function (ctx) {
                var p = ctx.raw || {};
                if (p.y === null || p.y === undefined) {
                  return ctx.dataset.label + (p.suppressed ? ": suppressed" : ": nobody invited");
                }
                return ctx.dataset.label + ": " + percent(p.y) + " (95% CI " + percent(p.yMin) + " to " + percent(p.yMax) + ")";
              },
            },
          },
        },
        scales: {
          y: {
            beginAtZero: true,
            suggestedMax: 100,
            title: { display: true, text: "Take-up, % of invited" },
            ticks: { callback: function (v) { return v + "%"; } },
          },
          x: { title: { display: true, text: data.takeUp.axis } },
        },
      },
    });
  }
})();
