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
  // Stacked counts per area (data.series) with a rate in % on a second axis (data.rate).
  function stackedRate(el, data) {
    var chart = echarts.init(el);
    var series = data.series.map(function (s) {
      return { name: s.name, type: "bar", stack: "n", barMaxWidth: 56, data: s.data, itemStyle: { color: s.color } };
    });
    series.push({
      name: data.rate.name, type: "line", yAxisIndex: 1, data: data.rate.data,
      itemStyle: { color: "#37474f" }, label: { show: data.labels.length <= 12, formatter: "{c}%" }
    });
    var option = {
      tooltip: { trigger: "axis" },
      legend: { type: "scroll", data: series.map(function (s) { return s.name; }) },
      grid: { left: 40, right: 40, top: 60, bottom: data.labels.length > 12 ? 70 : 50, containLabel: true },
      xAxis: { type: "category", data: data.labels, axisLabel: { interval: 0, rotate: data.labels.length > 6 ? 45 : 0 } },
      yAxis: [
        { type: "value", name: data.unit, minInterval: 1 },
        { type: "value", name: "%", min: 0, max: 100, splitLine: { show: false } }
      ],
      series: series
    };
    if (data.labels.length > 12) {
      option.dataZoom = [{ type: "slider", start: 0, end: Math.round(1200 / data.labels.length), height: 16, bottom: 4 }, { type: "inside" }];
    }
    chart.setOption(option);
    window.addEventListener("resize", function () { chart.resize(); });
  }
  var kinds = { overview: overview, stacked_rate: stackedRate };
  document.querySelectorAll("[data-chart]").forEach(function (el) {
    var source = document.getElementById(el.dataset.source);
    var draw = kinds[el.dataset.chart];
    if (source && draw && window.echarts) { draw(el, JSON.parse(source.textContent)); }
  });
})();
