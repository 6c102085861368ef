// 村庄位置: the approved visits' GPS fixes, the learned point and the village's coordinate
// on its county's outline (ECharts, the vendored 许昌 map). Data from the page's
// json_script block, already in the outline's GCJ-02 (CSP: no inline script).
(function () {
  "use strict";
  var el = document.getElementById("location-map");
  var dataEl = document.getElementById("location-data");
  if (!el || !dataEl || !window.echarts) { return; }
  var data = JSON.parse(dataEl.textContent);
  var geo = null;
  var city = echarts.getMap ? echarts.getMap("许昌") : null;
  if (data.county && city && city.geoJSON) {
    var feature = city.geoJSON.features.filter(function (f) { return f.properties.name === data.county; })[0];
    if (feature) {
      // a copy, with the file's encoding flag: ECharts decodes a map's coordinates in
      // place, and only when told they are encoded (as static/js/visit-map.js does)
      echarts.registerMap("村庄位置-" + data.county, JSON.parse(JSON.stringify({
        type: "FeatureCollection", features: [feature], UTF8Encoding: city.geoJSON.UTF8Encoding
      })));
      geo = { map: "村庄位置-" + data.county, roam: true, label: { show: false },
        itemStyle: { areaColor: "#f5f5f5", borderColor: "#9e9e9e" },
        emphasis: { disabled: true } };
    }
  }
  var series = [
    { name: "走访定位", type: "scatter", symbolSize: 7, itemStyle: { color: "#757575", opacity: 0.7 }, data: data.fixes }
  ];
  if (data.proposal) {
    series.push({ name: "推算位置", type: "scatter", symbol: "pin", symbolSize: 28, itemStyle: { color: "#b71c1c" }, data: [{ value: data.proposal, name: "推算位置" }] });
  }
  if (data.village) {
    series.push({ name: "现有坐标", type: "scatter", symbolSize: 12, itemStyle: { color: "#1565c0" }, data: [{ value: data.village, name: "现有坐标" }] });
  }
  var option = {
    tooltip: { trigger: "item", formatter: function (p) { return echarts.format.encodeHTML(p.name) + "<br>" + p.value[1].toFixed(5) + ", " + p.value[0].toFixed(5); } },
    legend: { bottom: 0, data: series.map(function (s) { return s.name; }) },
    series: series
  };
  if (geo) {
    option.geo = geo;
    series.forEach(function (s) { s.coordinateSystem = "geo"; });
  } else {
    // a county without a vendored outline: the points on plain axes
    option.grid = { left: 50, right: 16, top: 16, bottom: 50 };
    option.xAxis = { type: "value", scale: true, name: "经度" };
    option.yAxis = { type: "value", scale: true, name: "纬度" };
  }
  var chart = echarts.init(el);
  chart.setOption(option);
  window.addEventListener("resize", function () { chart.resize(); });
})();
