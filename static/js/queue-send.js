// 离线队列：存储与上传，页面（visit-queue.js）和 service worker（Background Sync）共用。
//
// Entries live in IndexedDB ("xuchang-visit-queue" / "entries", keyed by the client-made
// UUID). An entry leaves the queue only after the server answered 200/201; a 400 keeps it
// with the server's reasons (修改 / 放弃 on the page). The "meta" store remembers who is
// signed in on this browser and their CSRF token, so the service worker uploads only that
// user's entries, with a token the server accepts.
(function (scope) {
  "use strict";

  var DB_NAME = "xuchang-visit-queue";
  var STORE = "entries";
  var META = "meta";
  var LOCK = "xuchang-visit-queue";

  var dbPromise = null;

  function openDb() {
    if (!dbPromise) {
      dbPromise = new Promise(function (resolve, reject) {
        if (!scope.indexedDB) { reject(new Error("no IndexedDB")); return; }
        // version 2 adds the meta store; version 1's entries stay as they are
        var req = indexedDB.open(DB_NAME, 2);
        req.onupgradeneeded = function () {
          var db = req.result;
          if (!db.objectStoreNames.contains(STORE)) { db.createObjectStore(STORE, { keyPath: "uuid" }); }
          if (!db.objectStoreNames.contains(META)) { db.createObjectStore(META, { keyPath: "key" }); }
        };
        req.onsuccess = function () {
          var db = req.result;
          // another tab (or a new worker) upgrading: let it, and open again next time
          db.onversionchange = function () { db.close(); dbPromise = null; };
          resolve(db);
        };
        req.onerror = function () { reject(req.error); };
        req.onblocked = function () { reject(new Error("blocked")); };
      });
      dbPromise.catch(function () { dbPromise = null; });
    }
    return dbPromise;
  }

  function tx(storeName, mode, work) {
    return openDb().then(function (db) {
      return new Promise(function (resolve, reject) {
        var t = db.transaction(storeName, mode);
        var result;
        var req = work(t.objectStore(storeName));
        if (req) { req.onsuccess = function () { result = req.result; }; }
        t.oncomplete = function () { resolve(result); };
        t.onerror = function () { reject(t.error); };
        t.onabort = function () { reject(t.error || new Error("aborted")); };
      });
    });
  }

  var store = {
    put: function (entry) { return tx(STORE, "readwrite", function (s) { return s.put(entry); }); },
    remove: function (uuid) { return tx(STORE, "readwrite", function (s) { return s.delete(uuid); }); },
    get: function (uuid) { return tx(STORE, "readonly", function (s) { return s.get(uuid); }); },
    all: function () { return tx(STORE, "readonly", function (s) { return s.getAll(); }); },
    of: function (user) {
      return store.all().then(function (all) {
        return (all || []).filter(function (e) { return String(e.user) === String(user); })
          .sort(function (a, b) { return a.createdAt - b.createdAt; });
      });
    }
  };

  var session = {
    // {key: "session", user, csrf, at}
    set: function (user, csrf) {
      return tx(META, "readwrite", function (s) {
        return s.put({ key: "session", user: String(user), csrf: csrf || "", at: Date.now() });
      });
    },
    get: function () { return tx(META, "readonly", function (s) { return s.get("session"); }); },
    clear: function () { return tx(META, "readwrite", function (s) { return s.delete("session"); }); }
  };

  function payloadBytes(entry) {
    return (entry.photos || []).reduce(function (n, p) { return n + p.data.byteLength; }, 0);
  }

  function body(entry) {
    var data = new FormData();
    data.append("client_uuid", entry.uuid);
    Object.keys(entry.fields).forEach(function (name) {
      var value = entry.fields[name];
      if (Array.isArray(value)) {
        value.forEach(function (v) { data.append(name, v); });
      } else if (value !== "" && value !== null && value !== undefined) {
        data.append(name, value);
      }
    });
    (entry.photos || []).forEach(function (p) {
      data.append("photos", new Blob([p.data], { type: p.type }), p.name);
      // what the photo's own EXIF said (read in the browser before it was shrunk)
      data.append("photo_taken_at", (p.exif && p.exif.takenAt) || "");
      data.append("photo_latitude", (p.exif && p.exif.latitude) || "");
      data.append("photo_longitude", (p.exif && p.exif.longitude) || "");
    });
    return data;
  }

  // A problem has no files: it goes as JSON (the problem API takes JSON only), leaving
  // out what was not filled in, as the form body does.
  function jsonBody(entry) {
    var data = { client_uuid: entry.uuid };
    Object.keys(entry.fields).forEach(function (name) {
      var value = entry.fields[name];
      if (value !== "" && value !== null && value !== undefined) { data[name] = value; }
    });
    return JSON.stringify(data);
  }

  // -> {kind: "ok", record} | {kind: "rejected", errors} | {kind: "auth"} | {kind: "retry"}
  function send(entry, csrf) {
    var controller = scope.AbortController ? new AbortController() : null;
    // A weak uplink needs time for photos; a time-out only means "send again later".
    var timer = controller ? setTimeout(function () { controller.abort(); }, 20000 + payloadBytes(entry) / 10) : null;
    // an entry queued before problems could be queued has no kind: it is a visit
    var problem = entry.kind === "problem";
    var headers = { "X-CSRFToken": csrf || "", "Accept": "application/json" };
    if (problem) { headers["Content-Type"] = "application/json"; }
    return fetch(scope.XuchangQueue.apis[problem ? "problem" : "visit"], {
      method: "POST",
      body: problem ? jsonBody(entry) : body(entry),
      credentials: "same-origin",
      headers: headers,
      signal: controller ? controller.signal : undefined
    }).then(function (resp) {
      if (resp.status === 200 || resp.status === 201) {
        return resp.json().catch(function () { return {}; }).then(function (record) {
          return { kind: "ok", record: record };
        });
      }
      if (resp.status === 400) {
        return resp.json().catch(function () { return { detail: ["提交的内容有误。"] }; }).then(function (errors) {
          return { kind: "rejected", errors: errors };
        });
      }
      if (resp.status === 401 || resp.status === 403) { return { kind: "auth" }; }
      return { kind: "retry" };
    }, function () {
      return { kind: "retry" };
    }).finally(function () {
      if (timer) { clearTimeout(timer); }
    });
  }

  // One sender at a time, across tabs and the service worker (Web Locks where present).
  function locked(work) {
    if (scope.navigator && navigator.locks && navigator.locks.request) {
      return navigator.locks.request(LOCK, work);
    }
    return work();
  }

  // Send the user's waiting entries in order; stop at the first that cannot go now.
  // -> {uploaded: [the entries sent], problem: "" | "auth" | "retry"}
  function flush(user, csrf) {
    return locked(function () {
      return store.of(user).then(function (entries) {
        var uploaded = [];
        var waiting = entries.filter(function (e) { return !e.errors; });
        function next(i) {
          if (i >= waiting.length) { return { uploaded: uploaded, problem: "" }; }
          var entry = waiting[i];
          return send(entry, csrf).then(function (r) {
            if (r.kind === "ok") {
              uploaded.push(entry);
              return store.remove(entry.uuid).then(function () { return next(i + 1); });
            }
            if (r.kind === "rejected") {
              entry.errors = r.errors;
              return store.put(entry).then(function () { return next(i + 1); });
            }
            return { uploaded: uploaded, problem: r.kind };
          });
        }
        return next(0);
      });
    });
  }

  scope.XuchangQueue = {
    store: store,
    session: session,
    send: send,
    flush: flush,
    locked: locked,
    apis: { visit: "/api/visits/", problem: "/api/problems/" },
    SYNC_TAG: "xuchang-queue"
  };
})(self);
