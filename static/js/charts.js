// Draw the charts declared in the page: <div data-chart="overview" data-source="json-script-id">.
(function () {
  "use strict";
  function overview(el, data) {
    var chart = echarts.init(el);
    chart.setOption({
      tooltip: { trigger: "axis" },
      legend: { data: ["行政村", "社区", "无帮村干部"] },
      grid: { left: 40, right: 10, bottom: 60, containLabel: true },
      xAxis: { type: "category", data: data.labels, axisLabel: { interval: 0, rotate: data.labels.length > 8 ? 45 : 0 } },
      yAxis: { type: "value" },
      series: [
        { name: "行政村", type: "bar", stack: "n", data: data.villages, itemStyle: { color: "#2e7d32" } },
        { name: "社区", type: "bar", stack: "n", data: data.communities, itemStyle: { color: "#1565c0" } },
        { name: "无帮村干部", type: "bar", data: data.uncovered, itemStyle: { color: "#b71c1c" } }
      ]
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }
  var kinds = { overview: overview };
  document.querySelectorAll("[data-chart]").forEach(function (el) {
    var source = document.getElementById(el.dataset.source);
    var draw = kinds[el.dataset.chart];
    if (source && draw && window.echarts) { draw(el, JSON.parse(source.textContent)); }
  });
})();
