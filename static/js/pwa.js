// 离线应用（页面一侧）：注册 service worker、提示新版本、标出离线页面的更新时间、
// 退出登录时清除本机缓存的页面。The worker itself: templates/visits/sw.js (visits/pwa.py).
(function () {
  "use strict";

  var body = document.body;
  var user = body.dataset.portalUser || "";
  var swUrl = body.dataset.sw || "";
  var csrf = body.dataset.csrf || "";
  var PAGES = "xuchang-pages";
  var WARM_KEY = "xuchang-shell-warmed";
  var WARM_EVERY_MS = 30 * 60 * 1000;
  var queue = window.XuchangQueue;
  var hasSw = "serviceWorker" in navigator;

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  function when(ms) {
    var d = new Date(ms);
    return (d.getMonth() + 1) + "月" + d.getDate() + "日 " + pad(d.getHours()) + ":" + pad(d.getMinutes());
  }

  function localDay(d) {
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate());
  }

  // Everything this browser keeps of a user's pages goes; the offline queue stays (its
  // entries carry their user and are sent only in that user's session).
  function forgetPages() {
    var jobs = [];
    if (window.caches) { jobs.push(caches.delete(PAGES).catch(function () {})); }
    if (queue) { jobs.push(queue.session.clear().catch(function () {})); }
    if (hasSw && navigator.serviceWorker.controller) {
      navigator.serviceWorker.controller.postMessage({ type: "SIGNED_OUT" });
    }
    try {
      Object.keys(localStorage).forEach(function (k) {
        if (k.indexOf(WARM_KEY) === 0) { localStorage.removeItem(k); }
      });
    } catch (e) { /* private mode */ }
    return Promise.all(jobs);
  }

  // ----- signed out (the sign-in page, the signed-out page): nothing private stays -----
  if (!user) {
    forgetPages();
    return;
  }

  // ----- signed in -----
  if (queue) { queue.session.set(user, csrf).catch(function () {}); }

  // A page served from the cache (the worker marks the copy it keeps) says how old it is,
  // and a form kept from an earlier day offers today.
  var renderedAt = Number(body.dataset.renderedAt || 0) * 1000;
  var offlineCopy = body.dataset.offlineCopy === "1";
  var staleBar = document.querySelector("[data-pwa-stale]");
  function markStale() {
    if (!staleBar || !renderedAt) { return; }
    var old = offlineCopy;
    var offline = navigator.onLine === false;
    if (!old && !offline) { staleBar.hidden = true; return; }
    staleBar.textContent = (offline ? "当前没有网络，" : "") +
      (old ? "本页是离线保存的版本，更新于 " + when(renderedAt) + "。" : "") +
      "可以照常填报，记录会先保存在本机，联网后自动上传。";
    staleBar.hidden = false;
  }
  markStale();
  window.addEventListener("online", markStale);
  window.addEventListener("offline", markStale);

  var renderedDay = body.dataset.renderedDay || "";
  var today = localDay(new Date());
  if (offlineCopy && renderedDay && renderedDay < today) {
    document.querySelectorAll('input[type="date"]').forEach(function (input) {
      if (input.max === renderedDay) { input.max = today; }
      if (input.value === renderedDay) { input.value = today; }
    });
  }

  if (!hasSw || !swUrl || !window.workbox || !window.workbox.Workbox) { return; }

  // ----- the service worker and its updates -----
  var wb = new window.workbox.Workbox(swUrl, { scope: "/" });
  var updateBar = document.querySelector("[data-pwa-update]");

  wb.addEventListener("waiting", function () {
    if (!updateBar) { return; }
    updateBar.hidden = false;
    updateBar.querySelector("button").addEventListener("click", function () {
      updateBar.querySelector("button").disabled = true;
      // the page reloads once the new worker is in control (below); queued entries are
      // in IndexedDB, which an update never touches
      wb.addEventListener("controlling", function () { window.location.reload(); });
      wb.messageSkipWaiting();
    }, { once: true });
  });

  wb.addEventListener("message", function (event) {
    var data = event.data || {};
    if (data.type === "QUEUE_FLUSHED") {
      document.dispatchEvent(new CustomEvent("xuchang:queue-flushed", { detail: data }));
    }
  });

  function warm() {
    var last = 0;
    try { last = Number(localStorage.getItem(WARM_KEY + ":" + user) || 0); } catch (e) { /* private mode */ }
    if (Date.now() - last < WARM_EVERY_MS || navigator.onLine === false) { return; }
    wb.messageSW({ type: "WARM", user: user }).then(function () {
      try { localStorage.setItem(WARM_KEY + ":" + user, String(Date.now())); } catch (e) { /* private mode */ }
    }, function () {});
  }

  wb.register().then(function () {
    return navigator.serviceWorker.ready;
  }).then(function () {
    // Only from the home page ("opened the portal once"), and only once the cadre stays
    // there a moment: a fetch of the shell still under way while the user signs out or
    // the cookies are cleared was seen to leave the next sign-in without a valid CSRF
    // cookie (see the closing note of issue 17).
    if (window.location.pathname === "/") { setTimeout(warm, 2000); }
  }).catch(function () { /* no worker: the pages still work online */ });

  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible" && navigator.onLine !== false) {
      wb.update().catch(function () {});
    }
  });

  // For the offline queue: ask the browser to replay it when the network is back, even if
  // this page is closed by then (Background Sync, where the browser has it).
  window.XuchangPwa = {
    requestSync: function () {
      return navigator.serviceWorker.ready.then(function (reg) {
        return reg.sync ? reg.sync.register(queue.SYNC_TAG) : null;
      }).catch(function () {});
    }
  };
})();
