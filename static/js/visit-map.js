// 走访地图: the visits of a day or a month on the county outline, flagged ones large and
// red, the villages small and grey. Data comes from the page's json_script block (CSP: no
// inline script). Clicking a visit opens it; window.visitMap.open(id) does the same.
(function () {
  "use strict";
  var COLORS = { submitted: "#1565c0", approved: "#2e7d32", returned: "#ef6c00" };
  var FLAGGED = "位置存疑";
  var VILLAGES = "村(社区)";

  // The filter: a change of mode, day, month or area reloads the page with it.
  var form = document.getElementById("visit-map-filter");
  if (form) {
    form.addEventListener("change", function (e) {
      var target = e.target;
      if (target.name === "mode") {
        form.querySelectorAll("[data-mode-field]").forEach(function (el) {
          el.classList.toggle("d-none", el.dataset.modeField !== target.value);
        });
      }
      if (target.name === "county") {
        var township = form.querySelector("select[name=township]");
        if (township) { township.value = ""; }
      }
      form.requestSubmit ? form.requestSubmit() : form.submit();
    });
  }

  var source = document.getElementById("visit-map-data");
  var el = document.getElementById("visit-map");
  if (!source || !el || !window.echarts) { return; }
  var data = JSON.parse(source.textContent);
  var esc = echarts.format.encodeHTML;

  function detailUrl(id) {
    return data.detail.replace(/0\/$/, String(parseInt(id, 10)) + "/");
  }
  function open(id) {
    window.location.href = detailUrl(id);
  }

  // The official's county alone when its outline is known; else the whole city.
  function mapName() {
    var city = echarts.getMap ? echarts.getMap("许昌") : null;
    if (!city || !city.geoJSON) { return null; }
    var features = city.geoJSON.features.filter(function (f) {
      return data.outline && f.properties.name === data.outline;
    });
    if (!features.length) { return "许昌"; }
    // A copy: ECharts decodes a map's coordinates in place.
    echarts.registerMap("走访地图", JSON.parse(JSON.stringify({
      type: "FeatureCollection", features: features, UTF8Encoding: city.geoJSON.UTF8Encoding
    })));
    return "走访地图";
  }

  function point(p) {
    return { value: [p.lng, p.lat], id: p.id, visit: p };
  }
  var series = [{
    name: VILLAGES, type: "scatter", coordinateSystem: "geo", symbolSize: 5, z: 1,
    itemStyle: { color: "#9e9e9e" },
    data: data.villages.map(function (v) { return { value: [v.lng, v.lat], name: v.name }; })
  }];
  Object.keys(COLORS).forEach(function (state) {
    series.push({
      name: data.states[state], type: "scatter", coordinateSystem: "geo", symbolSize: 9, z: 3,
      itemStyle: { color: COLORS[state], borderColor: "#fff", borderWidth: 1 },
      data: data.points.filter(function (p) { return p.state === state && !p.flag; }).map(point)
    });
  });
  series.push({
    name: FLAGGED, type: "scatter", coordinateSystem: "geo", symbolSize: 16, z: 5,
    itemStyle: { color: "#d50000", borderColor: "#fff", borderWidth: 2 },
    emphasis: { scale: 1.3 },
    data: data.points.filter(function (p) { return p.flag; }).map(point)
  });

  function tooltip(p) {
    if (!p.data) { return ""; }
    var v = p.data.visit;
    if (!v) { return esc(p.data.name || ""); }
    var lines = [esc(v.cadre) + " · " + esc(v.village), esc(v.date) + " · " + esc(data.states[v.state] || v.state)];
    if (v.flag) { lines.push("位置存疑" + (v.km === null ? "" : "：距村 " + esc(v.km) + " 公里")); }
    lines.push("点击打开记录");
    return lines.join("<br>");
  }

  var name = mapName();
  var chart = echarts.init(el);
  chart.setOption({
    tooltip: { trigger: "item", formatter: tooltip },
    legend: { top: 0, left: "center", data: [FLAGGED].concat(Object.keys(COLORS).map(function (s) { return data.states[s]; }), [VILLAGES]) },
    geo: name ? {
      map: name, roam: true, silent: true, top: el.clientWidth < 480 ? 64 : 40, bottom: 10, left: 10, right: 10,
      label: { show: name === "许昌", color: "#78909c" },
      itemStyle: { areaColor: "#e9eff2", borderColor: "#90a4ae", borderWidth: 1 },
      scaleLimit: { min: 0.8, max: 40 }
    } : undefined,
    series: name ? series : []
  });

  // One township: open on its points rather than on the whole county.
  if (name && data.zoom) {
    var all = data.points.concat(data.villages);
    if (all.length) {
      var lngs = all.map(function (p) { return p.lng; }), lats = all.map(function (p) { return p.lat; });
      var lo = [Math.min.apply(null, lngs), Math.min.apply(null, lats)];
      var hi = [Math.max.apply(null, lngs), Math.max.apply(null, lats)];
      var a = chart.convertToPixel({ geoIndex: 0 }, lo), b = chart.convertToPixel({ geoIndex: 0 }, hi);
      if (a && b) {
        var w = Math.abs(b[0] - a[0]) || 1, h = Math.abs(b[1] - a[1]) || 1;
        var zoom = Math.max(1, Math.min(4, 0.5 * Math.min(chart.getWidth() / w, (chart.getHeight() - 70) / h)));
        chart.setOption({ geo: { center: [(lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2], zoom: zoom } });
      }
    }
  }

  chart.on("click", function (p) {
    if (p.data && p.data.visit) { open(p.data.id); }
  });
  chart.on("finished", function () { el.dataset.ready = "1"; });
  window.addEventListener("resize", function () { chart.resize(); });

  // For tests and for other scripts: the same action as a click, and where a visit's point is.
  window.visitMap = {
    chart: chart,
    open: open,
    pixelOf: function (id) {
      var p = data.points.filter(function (q) { return q.id === id; })[0];
      if (!p) { return null; }
      var xy = chart.convertToPixel({ geoIndex: 0 }, [p.lng, p.lat]);
      var box = el.getBoundingClientRect();
      return xy ? { x: box.left + xy[0], y: box.top + xy[1] } : null;
    }
  };
})();
