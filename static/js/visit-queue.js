// 双十工作日：下沉记录和问题登记的离线队列。
//
// A visit (with the problems found on it) or a problem is first stored in this browser
// (IndexedDB), then sent to the API with its client-made UUID; it leaves the queue only
// after the server answered 200/201. A dropped connection keeps it queued; it is sent
// again on the `online` event, on every page load, every 30 s while something waits, and
// by the "立即上传" button. The server recognises a resent UUID, so a retry can never
// create a second visit or problem.
//
// One queue holds both kinds of entry (`entry.kind`, see KINDS); an entry queued before
// problems could be queued has no kind and is a visit. The form on the page
// (`form[data-offline-form]`, its value the kind) is read and filled through FORMS.
(function () {
  "use strict";

  var RETRY_MS = 30000;
  var PHOTO_MAX_SIDE = 1600;
  var LAST_VILLAGE_KEY = "xuchang-visit-last-village";

  var status = document.querySelector("[data-visit-queue]");
  var form = document.querySelector("form[data-offline-form]");
  var anyForm = document.getElementById("visit-form");
  var user = status ? status.dataset.user : null;
  var formKind = form ? (form.dataset.offlineForm === "problem" ? "problem" : "visit") : null;

  // ----- kinds of entry: where each is sent, and which form corrects it -----

  var KINDS = {
    visit: {
      api: status ? status.dataset.api : null,
      newUrl: status ? status.dataset.newUrl : null
    },
    problem: {
      api: status ? status.dataset.problemsApi : null,
      newUrl: status ? status.dataset.problemNewUrl : null
    }
  };

  function kindOf(entry) { return entry && entry.kind === "problem" ? "problem" : "visit"; }

  function editUrl(entry) {
    var url = entry.formUrl || KINDS[kindOf(entry)].newUrl;
    return url + (url.indexOf("?") === -1 ? "?" : "&") + "load=" + encodeURIComponent(entry.uuid);
  }

  // ----- ids -----

  function newUuid() {
    if (window.crypto && typeof crypto.randomUUID === "function") {
      return crypto.randomUUID();
    }
    // crypto.randomUUID needs HTTPS; getRandomValues works on a plain-HTTP intranet too.
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  // ----- storage and sending: static/js/queue-send.js (shared with the service worker) -----

  var Q = window.XuchangQueue;
  Q.apis.visit = KINDS.visit.api || Q.apis.visit;
  Q.apis.problem = KINDS.problem.api || Q.apis.problem;

  var store = {
    put: Q.store.put,
    remove: Q.store.remove,
    get: Q.store.get,
    mine: function () { return Q.store.of(user); }
  };

  function csrfToken() {
    return status ? status.dataset.csrf : "";
  }

  // -> {kind: "ok", visit} | {kind: "rejected", errors} | {kind: "auth"} | {kind: "retry"}
  // (`visit` is the stored record the API answered with: a visit or a problem)
  function send(entry) {
    return Q.send(entry, csrfToken()).then(function (r) {
      if (r.kind === "ok") { r.visit = r.record; }
      return r;
    });
  }

  // The browser replays the queue by itself when the network is back, where it can
  // (Background Sync in the service worker, static/js/pwa.js).
  function requestSync() {
    if (window.XuchangPwa) { window.XuchangPwa.requestSync(); }
  }

  var locked = Q.locked;

  var flushing = null;
  var lastProblem = "";

  function flush() {
    if (!status) { return Promise.resolve(0); }
    if (flushing) { return flushing; }
    flushing = Q.flush(user, csrfToken()).then(function (result) {
      lastProblem = result.problem;
      if (result.problem) { requestSync(); }
      if (result.uploaded.length) { showDone(uploadedText(result.uploaded)); }
      return result.uploaded.length;
    }, function () {
      return 0;
    }).finally(function () {
      flushing = null;
      return refresh();
    });
    return flushing;
  }

  // ----- the badge -----

  function el(selector) { return status ? status.querySelector(selector) : null; }

  function showDone(text) {
    var done = el("[data-queue-done]");
    if (!done) { return; }
    el("[data-queue-done-text]").textContent = text;
    done.hidden = false;
  }

  function uploadedText(entries) {
    var problems = entries.filter(function (e) { return kindOf(e) === "problem"; }).length;
    var visits = entries.length - problems;
    if (!problems) { return "已上传 " + visits + " 条暂存的下沉记录。"; }
    if (!visits) { return "已上传 " + problems + " 条暂存的问题。"; }
    return "已上传 " + entries.length + " 条暂存的记录（下沉记录 " + visits + " 条、问题 " + problems + " 条）。";
  }

  function errorText(errors) {
    var parts = [];
    Object.keys(errors || {}).forEach(function (k) {
      var v = errors[k];
      parts.push(Array.isArray(v) ? v.join("；") : String(v));
    });
    return parts.join("；") || "提交的内容有误。";
  }

  function refresh() {
    if (!status) { return Promise.resolve(); }
    return store.mine().then(function (entries) {
      var waiting = entries.filter(function (e) { return !e.errors; });
      var rejected = entries.filter(function (e) { return e.errors; });
      el("[data-queue-count]").textContent = String(waiting.length);
      el("[data-queue-pending]").hidden = waiting.length === 0;
      var message = el("[data-queue-message]");
      if (lastProblem === "auth") {
        message.textContent = "登录已失效，请重新登录；记录已保存在本机，登录后会自动上传。";
      } else if (navigator.onLine === false) {
        message.textContent = "当前没有网络。记录已保存在本机，联网后会自动上传。";
      } else {
        message.textContent = "记录已保存在本机，网络恢复后会自动上传。";
      }
      renderRejected(rejected);
    }, function () {});
  }

  function renderRejected(rejected) {
    var box = el("[data-queue-rejected]");
    var list = el("[data-queue-rejected-list]");
    list.textContent = "";
    box.hidden = rejected.length === 0;
    rejected.forEach(function (entry) {
      var li = document.createElement("li");
      li.className = "mt-1";
      var text = document.createElement("div");
      text.textContent = entry.label + "：" + errorText(entry.errors);
      li.appendChild(text);
      var here = form && kindOf(entry) === formKind;
      var edit = document.createElement(here ? "button" : "a");
      edit.className = "btn btn-sm btn-outline-danger me-2 mt-1";
      edit.textContent = "修改";
      if (here) {
        edit.type = "button";
        edit.addEventListener("click", function () { FORMS[formKind].load(entry); });
      } else {
        edit.href = editUrl(entry);
      }
      var drop = document.createElement("button");
      drop.type = "button";
      drop.className = "btn btn-sm btn-link text-danger mt-1";
      drop.textContent = "放弃这条";
      drop.addEventListener("click", function () {
        if (window.confirm("放弃后这条记录将被删除，确定吗？")) {
          store.remove(entry.uuid).then(refresh);
        }
      });
      li.appendChild(edit);
      li.appendChild(drop);
      list.appendChild(li);
    });
  }

  // ----- the form (common to both kinds; FORMS below says what differs) -----

  var photos = [];
  var sending = false;

  function field(name) { return form.elements.namedItem(name); }

  function clearErrors() {
    form.querySelectorAll("[data-error-for]").forEach(function (e) { e.textContent = ""; });
    form.querySelectorAll(".is-invalid").forEach(function (e) { e.classList.remove("is-invalid"); });
    var top = form.querySelector("[data-form-errors]");
    top.textContent = "";
    top.hidden = true;
  }

  var FIELD_ALIASES = { longitude: "latitude" };

  function showErrors(errors) {
    var top = form.querySelector("[data-form-errors]");
    var topMessages = [];
    Object.keys(errors || {}).forEach(function (name) {
      var messages = Array.isArray(errors[name]) ? errors[name] : [String(errors[name])];
      var slot = form.querySelector('[data-error-for="' + (FIELD_ALIASES[name] || name) + '"]');
      if (slot) {
        slot.textContent = (slot.textContent ? slot.textContent + " " : "") + messages.join(" ");
        var input = form.querySelector('[name="' + name + '"].form-control, [name="' + name + '"].form-select');
        if (input) { input.classList.add("is-invalid"); }
      } else {
        topMessages = topMessages.concat(messages);
      }
    });
    if (topMessages.length) {
      topMessages.forEach(function (m) {
        var d = document.createElement("div");
        d.textContent = m;
        top.appendChild(d);
      });
      top.hidden = false;
    }
    var first = form.querySelector(".field-error:not(:empty), .invalid-feedback:not(:empty), [data-form-errors]:not([hidden])");
    if (first) { first.scrollIntoView({ block: "center" }); }
  }

  function showResult(text, kind) {
    var box = document.querySelector("[data-offline-result]");
    box.className = "alert alert-" + (kind || "success");
    box.textContent = "";
    if (text.nodeType) { box.appendChild(text); } else { box.textContent = text; }
    box.hidden = false;
    box.scrollIntoView({ block: "start" });
  }

  function setBusy(busy) {
    sending = busy;
    var button = form.querySelector("[data-submit]");
    if (!button.dataset.idleText) { button.dataset.idleText = button.textContent; }
    button.disabled = busy;
    button.textContent = busy ? "正在保存…" : button.dataset.idleText;
  }

  function resultLink(text, href) {
    var span = document.createElement("span");
    span.textContent = text + " ";
    if (href) {
      var a = document.createElement("a");
      a.href = href;
      a.textContent = "查看";
      span.appendChild(a);
    }
    return span;
  }

  function selectedText(name) {
    var select = field(name);
    if (!select) { return form.dataset.villageName || ""; }  // a problem form fixed by its visit
    var option = select.options[select.selectedIndex];
    return option && option.value ? option.textContent : "";
  }

  function newFormUuid() {
    field("client_uuid").value = newUuid();
  }

  function onSubmit(event) {
    event.preventDefault();
    if (sending) { return; }
    var kind = FORMS[formKind];
    clearErrors();
    var values = kind.read();
    var problems = kind.check(values);
    if (Object.keys(problems).length) { showErrors(problems); return; }
    setBusy(true);
    var params = new URLSearchParams(window.location.search);
    params.delete("load");
    var entry = {
      uuid: field("client_uuid").value,
      kind: formKind,
      formUrl: window.location.pathname + (params.toString() ? "?" + params.toString() : ""),
      user: user,
      createdAt: Date.now(),
      label: kind.label(values),
      fields: values,
      photos: photos.map(function (p) { return { name: p.name, type: p.type, data: p.data, exif: p.exif || null }; }),
      errors: null
    };
    try { if (values.village) { localStorage.setItem(LAST_VILLAGE_KEY, values.village); } } catch (e) { /* private mode */ }
    var stored = false;
    store.put(entry).then(function () { stored = true; }, function () { stored = false; })
      .then(function () {
        // Sent and, once answered, taken out of the queue under the lock, so a flush
        // starting meanwhile does not send it a second time.
        return locked(function () {
          return send(entry).then(function (r) {
            if (r.kind !== "ok" && r.kind !== "rejected") { return r; }
            return store.remove(entry.uuid).catch(function () {}).then(function () { return r; });
          });
        });
      })
      .then(function (r) {
        if (r.kind === "ok") {
          kind.reset();
          showResult(kind.saved(entry, r.visit));
          return;
        }
        if (r.kind === "rejected") {
          showErrors(r.errors);
          return;
        }
        lastProblem = r.kind;
        if (stored) { requestSync(); }
        if (!stored) {
          showResult("网络不通，且本浏览器无法暂存记录。请联网后再点“" + form.querySelector("[data-submit]").dataset.idleText + "”。", "danger");
          return;
        }
        kind.reset();
        showResult(
          r.kind === "auth"
            ? "登录已失效：记录已保存在本机，重新登录后会自动上传。"
            : "网络不通：记录已保存在本机（" + entry.label + "），联网后会自动上传。",
          "warning"
        );
      })
      .finally(function () {
        setBusy(false);
        refresh();
      });
  }

  // ----- 发现问题: rows of (category, description) on the visit form, sent with the visit
  // as repeated problem_category / problem_description fields, row by row -----

  var problemBox = form ? form.querySelector("[data-problem-rows]") : null;

  function problemRows() {
    return problemBox ? Array.prototype.slice.call(problemBox.querySelectorAll("[data-problem-list] [data-problem-row]")) : [];
  }

  function renumberProblemRows() {
    var rows = problemRows();
    rows.forEach(function (row, i) {
      row.querySelector("[data-problem-row-title]").textContent = "发现问题 " + (i + 1);
      ["category", "description"].forEach(function (name) {
        var id = "problem-" + name + "-" + (i + 1);
        row.querySelector('[data-problem-field="' + name + '"]').id = id;
        row.querySelector('[data-problem-label="' + name + '"]').htmlFor = id;
      });
    });
    var add = problemBox.querySelector("[data-problem-add]");
    add.hidden = false;
    add.disabled = rows.length >= Number(problemBox.dataset.maxRows || 5);
  }

  function wireProblemRow(row) {
    row.querySelector("[data-problem-remove]").addEventListener("click", function () {
      row.remove();
      renumberProblemRows();
    });
  }

  function addProblemRow(values) {
    var template = problemBox.querySelector("template[data-problem-row-template]");
    var row = template.content.firstElementChild.cloneNode(true);
    wireProblemRow(row);
    row.querySelector('[data-problem-field="category"]').value = values ? values.category : "";
    row.querySelector('[data-problem-field="description"]').value = values ? values.description : "";
    problemBox.querySelector("[data-problem-list]").appendChild(row);
    renumberProblemRows();
    return row;
  }

  function setProblemRows(fields) {
    if (!problemBox) { return; }
    problemRows().forEach(function (row) { row.remove(); });
    var categories = fields.problem_category || [];
    var descriptions = fields.problem_description || [];
    categories.forEach(function (c, i) { addProblemRow({ category: c, description: descriptions[i] || "" }); });
    renumberProblemRows();
  }

  function readProblemRows(values) {
    if (!problemBox) { return; }
    values.problem_category = [];
    values.problem_description = [];
    problemRows().forEach(function (row) {
      values.problem_category.push(row.querySelector('[data-problem-field="category"]').value);
      values.problem_description.push(row.querySelector('[data-problem-field="description"]').value);
    });
  }

  // The server's rules (visits.services), checked here first so a cadre offline hears them.
  function checkProblemRows(values, errors) {
    var messages = [];
    (values.problem_category || []).forEach(function (category, i) {
      var description = values.problem_description[i].trim();
      if (!category && !description) { return; }
      if (!category) { messages.push("发现问题第" + (i + 1) + "行：请选择问题类别。"); }
      if (!description) { messages.push("发现问题第" + (i + 1) + "行：请填写问题描述。"); }
    });
    if (messages.length) { errors.problems = messages; }
  }

  function countProblemRows(fields) {
    return (fields.problem_category || []).filter(function (c, i) {
      return c || (fields.problem_description[i] || "").trim();
    }).length;
  }

  // ----- what differs between the visit form and the problem form -----

  var FORMS = {};

  FORMS.visit = {
    read: function () {
      var data = new FormData(form);
      var values = {};
      ["village", "date", "day_part", "notes", "latitude", "longitude"].forEach(function (n) {
        values[n] = (data.get(n) || "").toString();
      });
      ["meetings", "people_reached", "households_visited"].forEach(function (n) {
        values[n] = (data.get(n) || "").toString().trim() || "0";
      });
      values.activities = data.getAll("activities").map(String);
      readProblemRows(values);
      return values;
    },
    check: function (values) {
      var errors = {};
      if (!values.village) { errors.village = ["请选择联系点。"]; }
      if (!values.date) { errors.date = ["请填写日期。"]; }
      var max = field("date").getAttribute("max");
      if (values.date && max && values.date > max) { errors.date = ["日期不能晚于今天。"]; }
      if (!values.activities.length) { errors.activities = ["请至少选择一项工作内容。"]; }
      ["meetings", "people_reached", "households_visited"].forEach(function (n) {
        if (!/^\d+$/.test(values[n])) { errors[n] = ["请填写 0 或正整数。"]; }
      });
      checkProblemRows(values, errors);
      return errors;
    },
    label: function (values) {
      var name = selectedText("village").replace(/（.*$/, "");
      var d = values.date.split("-");
      return name + " " + (d.length === 3 ? Number(d[1]) + "月" + Number(d[2]) + "日" : values.date);
    },
    reset: function () {
      var village = field("village").value;
      form.reset();
      if (village) { field("village").value = village; }
      newFormUuid();
      field("latitude").value = "";
      field("longitude").value = "";
      photos = [];
      renderPhotos();
      setProblemRows({});
      setLocateStatus("可选：记录当前位置，便于审核核实");
      clearErrors();
    },
    saved: function (entry, visit) {
      var found = countProblemRows(entry.fields);
      return resultLink(
        "已保存：" + entry.label + " 的下沉记录已提交，等待审核" + (found ? "（发现问题 " + found + " 条已登记）" : "") + "。",
        visit && visit.id ? "/visits/" + encodeURIComponent(visit.id) + "/" : null
      );
    },
    load: function (entry) {
      clearErrors();
      var f = entry.fields;
      field("client_uuid").value = entry.uuid;
      ["village", "date", "notes", "meetings", "people_reached", "households_visited", "latitude", "longitude"].forEach(function (n) {
        if (field(n)) { field(n).value = f[n] || ""; }
      });
      form.querySelectorAll('[name="day_part"]').forEach(function (r) { r.checked = r.value === f.day_part; });
      form.querySelectorAll('[name="activities"]').forEach(function (c) { c.checked = f.activities.indexOf(c.value) !== -1; });
      if (f.latitude) { setLocateStatus("已定位：" + f.latitude + ", " + f.longitude); }
      setProblemRows(f);
      photos = entry.photos.map(function (p) { return { name: p.name, type: p.type, data: p.data, exif: p.exif || null, thumb: null }; });
      Promise.all(photos.map(function (p) {
        return thumbnail(new Blob([p.data], { type: p.type })).then(function (t) { p.thumb = t; });
      })).then(renderPhotos);
      showErrors(entry.errors);
    }
  };

  var PROBLEM_FIELDS = ["village", "category", "description", "raised_by", "handler", "deadline"];

  FORMS.problem = {
    read: function () {
      var values = {};
      PROBLEM_FIELDS.forEach(function (n) {
        values[n] = field(n) ? String(field(n).value || "") : "";
      });
      // raised from a visit (?visit=): the visit decides the village
      if (form.dataset.visit) {
        values.visit = form.dataset.visit;
        values.village = form.dataset.village;
      }
      return values;
    },
    check: function (values) {
      var errors = {};
      if (!values.village) { errors.village = ["请选择村(社区)。"]; }
      if (!values.category) { errors.category = ["请选择问题类别。"]; }
      if (!values.description.trim()) { errors.description = ["请填写问题描述。"]; }
      return errors;
    },
    label: function (values) {
      var text = values.description.trim();
      return "问题（" + selectedText("village").replace(/^.*· /, "") + "）" + (text.length > 12 ? text.slice(0, 12) + "…" : text);
    },
    reset: function () {
      var village = field("village") ? field("village").value : "";
      form.reset();
      if (village) { field("village").value = village; }
      newFormUuid();
      clearErrors();
    },
    saved: function (entry, problem) {
      return resultLink(
        "已登记：" + entry.label + "。",
        problem && problem.id ? "/problems/" + encodeURIComponent(problem.id) + "/" : null
      );
    },
    load: function (entry) {
      clearErrors();
      field("client_uuid").value = entry.uuid;
      PROBLEM_FIELDS.forEach(function (n) {
        if (field(n)) { field(n).value = entry.fields[n] || ""; }
      });
      showErrors(entry.errors);
    }
  };

  // ----- photos: shrunk in the browser so the queue stays small and uploads are quick -----

  function drawScaled(source, width, height, maxSide) {
    var scale = Math.min(1, maxSide / Math.max(width, height));
    var canvas = document.createElement("canvas");
    canvas.width = Math.max(1, Math.round(width * scale));
    canvas.height = Math.max(1, Math.round(height * scale));
    canvas.getContext("2d").drawImage(source, 0, 0, canvas.width, canvas.height);
    return canvas;
  }

  function thumbnail(blob) {
    if (!window.createImageBitmap) { return Promise.resolve(null); }
    return createImageBitmap(blob).then(function (bmp) {
      var url = drawScaled(bmp, bmp.width, bmp.height, 176).toDataURL("image/jpeg", 0.7);
      if (bmp.close) { bmp.close(); }
      return url;
    }, function () { return null; });
  }

  // What the photo itself says about when and where it was taken (EXIF, read with the
  // vendored exifr before the photo is redrawn, which drops all metadata). A photo without
  // EXIF, or with a broken one, is kept all the same, without it.
  function pad2(n) { return (n < 10 ? "0" : "") + n; }

  function localIso(d) {
    return d.getFullYear() + "-" + pad2(d.getMonth() + 1) + "-" + pad2(d.getDate()) + "T" +
      pad2(d.getHours()) + ":" + pad2(d.getMinutes()) + ":" + pad2(d.getSeconds());
  }

  function readExif(file) {
    if (!window.exifr) { return Promise.resolve(null); }
    var blocks = { tiff: true, exif: true, gps: true, ifd1: false, interop: false, xmp: false, icc: false, iptc: false, jfif: false, ihdr: false };
    return window.exifr.parse(file, blocks)
      .then(function (tags) {
        if (!tags) { return null; }
        var taken = tags.DateTimeOriginal || tags.CreateDate;
        var exif = {
          takenAt: taken instanceof Date && !isNaN(taken.getTime()) ? localIso(taken) : "",
          latitude: typeof tags.latitude === "number" && isFinite(tags.latitude) ? tags.latitude.toFixed(6) : "",
          longitude: typeof tags.longitude === "number" && isFinite(tags.longitude) ? tags.longitude.toFixed(6) : ""
        };
        return exif.takenAt || exif.latitude ? exif : null;
      })
      .catch(function () { return null; });
  }

  function shrink(file) {
    return readExif(file).then(function (exif) {
      return shrinkImage(file).then(function (p) { p.exif = exif; return p; });
    });
  }

  function shrinkImage(file) {
    var original = function () {
      return file.arrayBuffer().then(function (data) {
        return { name: file.name || "photo.jpg", type: file.type || "application/octet-stream", data: data };
      });
    };
    if (!window.createImageBitmap) { return original(); }
    return createImageBitmap(file).then(function (bmp) {
      var canvas = drawScaled(bmp, bmp.width, bmp.height, PHOTO_MAX_SIDE);
      if (bmp.close) { bmp.close(); }
      return new Promise(function (resolve) { canvas.toBlob(resolve, "image/jpeg", 0.82); })
        .then(function (blob) {
          if (!blob) { return original(); }
          return blob.arrayBuffer().then(function (data) {
            return { name: "photo.jpg", type: "image/jpeg", data: data };
          });
        });
    }, original);
  }

  function renderPhotos() {
    var list = form.querySelector("[data-photo-list]");
    if (!list) { return; }
    list.textContent = "";
    photos.forEach(function (p, i) {
      var slot = document.createElement("div");
      slot.className = "photo-slot";
      if (p.thumb) {
        var img = document.createElement("img");
        img.src = p.thumb;
        img.alt = "照片 " + (i + 1);
        img.className = "photo-thumb";
        slot.appendChild(img);
      } else {
        var ph = document.createElement("div");
        ph.className = "photo-thumb d-flex align-items-center justify-content-center small text-muted";
        ph.textContent = "照片 " + (i + 1);
        slot.appendChild(ph);
      }
      var remove = document.createElement("button");
      remove.type = "button";
      remove.className = "btn btn-danger btn-sm photo-remove";
      remove.setAttribute("aria-label", "删除照片 " + (i + 1));
      remove.textContent = "×";
      remove.addEventListener("click", function () { photos.splice(i, 1); renderPhotos(); });
      slot.appendChild(remove);
      list.appendChild(slot);
    });
    var max = Number(form.dataset.maxPhotos || 3);
    form.querySelectorAll("[data-photo-input]").forEach(function (input) {
      input.disabled = photos.length >= max;
      input.closest("label").classList.toggle("disabled", photos.length >= max);
    });
  }

  function onPhotosChosen(event) {
    var input = event.target;
    var max = Number(form.dataset.maxPhotos || 3);
    var files = Array.prototype.slice.call(input.files || []);
    input.value = "";
    var slot = form.querySelector('[data-error-for="photos"]');
    slot.textContent = "";
    var room = max - photos.length;
    if (files.length > room) {
      slot.textContent = "每条记录最多 " + max + " 张照片，多出的没有加入。";
      files = files.slice(0, Math.max(0, room));
    }
    files.reduce(function (chain, file) {
      return chain.then(function () {
        return shrink(file).then(function (p) {
          return thumbnail(new Blob([p.data], { type: p.type })).then(function (t) {
            p.thumb = t;
            if (photos.length < max) { photos.push(p); }
            renderPhotos();
          });
        });
      });
    }, Promise.resolve()).catch(function () {
      slot.textContent = "有照片无法读取，请重新选择。";
    });
  }

  // ----- location (any visit form) -----

  function setLocateStatus(text) {
    var s = anyForm && anyForm.querySelector("[data-locate-status]");
    if (s) { s.textContent = text; }
  }

  function locate() {
    var lat = anyForm.elements.namedItem("latitude");
    var lon = anyForm.elements.namedItem("longitude");
    if (!navigator.geolocation) {
      setLocateStatus("此浏览器不支持定位（需要 HTTPS 访问）。定位是可选项，可以直接提交。");
      return;
    }
    setLocateStatus("正在定位…");
    navigator.geolocation.getCurrentPosition(function (pos) {
      lat.value = pos.coords.latitude.toFixed(6);
      lon.value = pos.coords.longitude.toFixed(6);
      setLocateStatus("已定位：" + lat.value + ", " + lon.value + "（精度约 " + Math.round(pos.coords.accuracy) + " 米）");
    }, function (err) {
      var reasons = { 1: "未允许定位权限", 2: "暂时无法获取位置", 3: "定位超时" };
      setLocateStatus((reasons[err.code] || "定位失败") + "。定位是可选项，可以直接提交。");
    }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
  }

  // ----- wiring -----

  if (anyForm) {
    var locateButton = anyForm.querySelector("[data-locate]");
    if (locateButton) { locateButton.addEventListener("click", locate); }
    anyForm.querySelectorAll('input[inputmode="numeric"]').forEach(function (input) {
      input.addEventListener("focus", function () { input.select(); });
    });
  }

  if (form) {
    field("client_uuid").value = newUuid();
    var villageSelect = field("village");
    if (villageSelect && !villageSelect.value) {
      try {
        var last = localStorage.getItem(LAST_VILLAGE_KEY);
        if (last && villageSelect.querySelector('option[value="' + CSS.escape(last) + '"]')) { villageSelect.value = last; }
      } catch (e) { /* private mode */ }
    }
    form.addEventListener("submit", onSubmit);
    form.querySelectorAll("[data-photo-input]").forEach(function (input) {
      input.addEventListener("change", onPhotosChosen);
    });
    if (problemBox) {
      problemRows().forEach(wireProblemRow);  // rows the server showed again
      problemBox.querySelector("[data-problem-add]").addEventListener("click", function () {
        addProblemRow(null).querySelector('[data-problem-field="category"]').focus();
      });
      renumberProblemRows();
    }
    var load = new URLSearchParams(window.location.search).get("load");
    if (load) {
      store.get(load).then(function (entry) {
        if (entry && entry.user === user && kindOf(entry) === formKind) { FORMS[formKind].load(entry); }
      }, function () {});
    }
  }

  if (status) {
    var flushButton = status.querySelector("[data-queue-flush]");
    flushButton.addEventListener("click", function () {
      flushButton.disabled = true;
      flush().finally(function () { flushButton.disabled = false; });
    });
    var refreshLink = status.querySelector("[data-queue-refresh]");
    if (refreshLink) {
      refreshLink.addEventListener("click", function (e) { e.preventDefault(); window.location.reload(); });
    }
    window.addEventListener("online", flush);
    // the service worker sent the queue (Background Sync): show what is left
    document.addEventListener("xuchang:queue-flushed", function (e) {
      if (e.detail && e.detail.uploaded) { showDone("已上传 " + e.detail.uploaded + " 条暂存的记录。"); }
      refresh();
    });
    window.addEventListener("offline", refresh);
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible") { flush(); }
    });
    window.addEventListener("pageshow", function (e) { if (e.persisted) { flush(); } });
    refresh();
    setInterval(function () {
      if (navigator.onLine !== false && !el("[data-queue-pending]").hidden) { flush(); }
    }, RETRY_MS);
    flush();
  }
})();
