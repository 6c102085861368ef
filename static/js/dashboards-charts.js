// 目标看板: charts, the city map and the sortable league table. Data comes from the
// page's json_script blocks (CSP: no inline script).
(function () {
  "use strict";
  var me = document.getElementById("dash-script");
  var childBase = me ? me.dataset.childBase : "";
  var year = me ? me.dataset.year : "";
  var charts = [];
  function json(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }
  function init(id) {
    var el = document.getElementById(id);
    if (!el || !window.echarts) { return null; }
    var chart = echarts.init(el);
    charts.push(chart);
    return chart;
  }
  function drill(id) {
    if (childBase && id !== undefined && id !== null) {
      window.location.href = childBase + id + "/?year=" + encodeURIComponent(year);
    }
  }
  var data = json("dash-charts");
  if (data) {
    var bars = init("chart-bars");
    if (bars) {
      var many = data.bars.labels.length > 10;
      bars.setOption({
        tooltip: { trigger: "axis", valueFormatter: function (v) { return v === null || v === undefined ? "—" : v + "%"; } },
        grid: { left: 40, right: 16, top: 20, bottom: many ? 70 : 40, containLabel: true },
        xAxis: { type: "category", data: data.bars.labels, axisLabel: { interval: 0, rotate: many ? 45 : 0 } },
        yAxis: { type: "value", name: "%", min: 0, max: 100 },
        dataZoom: data.bars.labels.length > 25 ? [{ type: "slider", height: 14, bottom: 2 }, { type: "inside" }] : [],
        series: [{ type: "bar", data: data.bars.values, barMaxWidth: 48, itemStyle: { color: "#b71c1c" },
          label: { show: !many, position: "top", formatter: function (p) { return p.value === null ? "" : p.value + "%"; } } }]
      });
      bars.on("click", function (p) { drill(data.bars.ids[p.dataIndex]); });
    }
    var levels = init("chart-levels");
    if (levels) {
      levels.setOption({
        tooltip: { trigger: "axis" },
        grid: { left: 40, right: 16, top: 20, bottom: 30, containLabel: true },
        xAxis: { type: "category", data: data.levels.labels },
        yAxis: { type: "value", name: "个", minInterval: 1 },
        series: [{ type: "bar", data: data.levels.values, barMaxWidth: 48,
          itemStyle: { color: function (p) { return ["#b0bec5", "#ffcc80", "#ffb74d", "#ff9800", "#f4511e", "#b71c1c"][p.dataIndex]; } },
          label: { show: true, position: "top" } }]
      });
    }
    var trend = init("chart-trend");
    if (trend) {
      var rate = data.trend.labels.map(function (label) {
        var i = data.trend.workday_labels.indexOf(label);
        return i < 0 ? null : data.trend.workday[i];
      });
      trend.setOption({
        tooltip: { trigger: "axis" },
        legend: { data: ["下沉走访(次)", "双十达标率(%)"] },
        grid: { left: 40, right: 40, top: 40, bottom: 30, containLabel: true },
        xAxis: { type: "category", data: data.trend.labels },
        yAxis: [{ type: "value", name: "次", minInterval: 1 }, { type: "value", name: "%", min: 0, max: 100, splitLine: { show: false } }],
        series: [
          { name: "下沉走访(次)", type: "bar", data: data.trend.visits, itemStyle: { color: "#1565c0" }, barMaxWidth: 28 },
          { name: "双十达标率(%)", type: "line", yAxisIndex: 1, data: rate, connectNulls: false, itemStyle: { color: "#2e7d32" } }
        ]
      });
    }
    var types = init("chart-types");
    if (types) {
      types.setOption({
        tooltip: { trigger: "item", formatter: function (p) { return p.name + "：" + p.value + " 件（已化解 " + p.data.resolved + "）"; } },
        series: [{ type: "pie", radius: ["35%", "65%"], data: data.types, label: { formatter: "{b}\n{d}%" } }]
      });
    }
  }
  var map = json("dash-map");
  if (map && window.echarts) {
    var extra = document.getElementById("map-extra");
    var el = document.getElementById("chart-map");
    var geo = echarts.getMap ? echarts.getMap("许昌") : null;
    var names = {};
    if (geo && geo.geoJSON) {
      geo.geoJSON.features.forEach(function (f) { names[f.properties.name] = true; });
    }
    var onMap = map.counties.filter(function (c) { return names[c.name]; });
    var off = map.counties.filter(function (c) { return !names[c.name]; });
    if (el && geo) {
      var chart = echarts.init(el);
      charts.push(chart);
      var values = onMap.map(function (c) { return c.value; }).filter(function (v) { return v !== null; });
      chart.setOption({
        tooltip: { trigger: "item", formatter: function (p) { return p.name + "：" + (p.value === undefined || isNaN(p.value) ? "—" : p.value + "%"); } },
        visualMap: { min: values.length ? Math.floor(Math.min.apply(null, values)) : 0, max: values.length ? Math.ceil(Math.max.apply(null, values)) : 100,
          left: 0, bottom: 0, text: ["高", "低"], calculable: true, inRange: { color: ["#ffebee", "#ef9a9a", "#b71c1c"] } },
        series: [{ type: "map", map: "许昌", roam: false, label: { show: true },
          data: onMap.map(function (c) { return { name: c.name, value: c.value, id: c.id }; }) }]
      });
      chart.on("click", function (p) { if (p.data) { drill(p.data.id); } });
    }
    if (extra) {
      var list = geo ? off : map.counties;
      list.forEach(function (c) {
        var a = document.createElement("a");
        a.href = childBase + c.id + "/?year=" + encodeURIComponent(year);
        a.className = "btn btn-sm btn-outline-secondary me-1 mt-1";
        a.textContent = c.name + "：" + (c.value === null ? "—" : c.value + "%");
        extra.appendChild(a);
      });
    }
  }
  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });

  // League table: click a header to sort (numbers by data-value, names by code).
  var table = document.getElementById("league");
  if (table) {
    table.querySelectorAll("th[data-sort]").forEach(function (th, col) {
      th.setAttribute("role", "button");
      th.addEventListener("click", function () {
        var numeric = th.dataset.sort === "num";
        var asc = th.dataset.dir !== "asc";
        if (th.dataset.dir === undefined) { asc = !numeric || th.textContent.indexOf("名次") >= 0; }
        th.dataset.dir = asc ? "asc" : "desc";
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = a.cells[col].dataset.value, y = b.cells[col].dataset.value;
          var r = numeric ? parseFloat(x) - parseFloat(y) : x.localeCompare(y);
          return asc ? r : -r;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  }
})();
