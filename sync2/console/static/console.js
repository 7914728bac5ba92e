// sync2 admin console: draws the charts whose data the server put in data-chart attributes
// (JSON data, never code), and sends a click on a chart point to that point's record.
(function () {
  "use strict";
  var COLOURS = ["#1f6feb", "#1a7f37", "#9a6700", "#8250df", "#bf3989", "#0a7ea4"];

  function draw(target) {
    if (target.dataset.points || !window.uPlot) { return; }
    var spec = JSON.parse(target.dataset.chart);
    var errors = spec.labels.length - 1;
    var series = [{}].concat(spec.labels.map(function (label, i) {
      var isErrors = label === "errors";
      return {
        label: label,
        stroke: isErrors ? "#d1242f" : COLOURS[i % COLOURS.length],
        width: 2,
        spanGaps: true,
        points: { show: true, size: isErrors ? 6 : 7 },
        paths: isErrors && i === errors ? window.uPlot.paths.bars({ size: [0.4, 8] }) : undefined
      };
    }));
    var width = Math.max(320, Math.min(target.clientWidth || 640, 900));
    var plot = new window.uPlot({
      width: width,
      height: 220,
      scales: { x: { time: true } },
      series: series,
      axes: [{}, { label: spec.unit || "" }]
    }, [spec.x].concat(spec.series), target);
    target.dataset.points = String(spec.x.length);
    if (spec.links && spec.links.length) {
      plot.over.addEventListener("click", function () {
        var i = plot.cursor.idx;
        if (i !== null && i !== undefined && spec.links[i]) { window.location.hash = spec.links[i]; }
      });
    }
  }

  function drawAll() {
    document.querySelectorAll("[data-chart]").forEach(draw);
  }

  document.addEventListener("DOMContentLoaded", drawAll);
  document.addEventListener("htmx:afterSwap", drawAll);
})();
