// 许昌市“联乡帮村”工作平台 · service worker (visits/pwa.py serves and explains it).
"use strict";
const CONFIG = {{ config_json|safe }};

importScripts(CONFIG.modules["workbox-sw"]);
workbox.setConfig({ debug: false, modulePathCb: (name) => CONFIG.modules[name] });
importScripts(CONFIG.modules["queue-send"]);
XuchangQueue.apis = CONFIG.apis;

const { precacheAndRoute, cleanupOutdatedCaches } = workbox.precaching;
const { registerRoute } = workbox.routing;
const { NetworkFirst } = workbox.strategies;

// ----- the static files of the shell, by content revision -----
cleanupOutdatedCaches();
precacheAndRoute(CONFIG.precache);

// ----- the cadre's own pages: network first, kept only for the user who is signed in -----
const PAGES = CONFIG.pagesCache;
const USER_KEY = "/__portal-user__";

function pathOf(url) {
  return new URL(url, self.location.origin).pathname;
}

async function cachedUser(cache) {
  const marker = await cache.match(USER_KEY);
  return marker ? marker.text() : null;
}

// The pages of one user only: another user's page empties the cache first.
async function keepFor(user) {
  let cache = await caches.open(PAGES);
  const current = await cachedUser(cache);
  if (current !== null && current !== user) {
    await caches.delete(PAGES);
    cache = await caches.open(PAGES);
  }
  if (current !== user) {
    await cache.put(USER_KEY, new Response(user));
  }
  return cache;
}

async function forget() {
  await caches.delete(PAGES);
  await XuchangQueue.session.clear().catch(() => {});
}

function shellResponse(response) {
  return Boolean(
    response &&
      response.status === 200 &&
      !response.redirected &&
      response.type === "basic" &&
      response.headers.get("X-Portal-User")
  );
}

// The copy kept offline knows it is one (data-offline-copy on its <body>): the page then
// shows its age and offers today's date (static/js/pwa.js).
async function stamped(response) {
  const headers = new Headers(response.headers);
  // kept for one user, whose cookies are not a request header the cache can compare
  headers.delete("Vary");
  headers.delete("Content-Length");
  const html = await response.clone().text();
  const marked = html.replace("<body ", '<body data-offline-copy="1" ');
  return new Response(marked, { status: 200, statusText: "OK", headers });
}

const shellPlugin = {
  cacheKeyWillBeUsed: async ({ request }) => new URL(pathOf(request.url), self.location.origin).href,
  cacheWillUpdate: async ({ response }) => (shellResponse(response) ? stamped(response) : null),
};

const shellStrategy = new NetworkFirst({
  cacheName: PAGES,
  networkTimeoutSeconds: 6,
  matchOptions: { ignoreSearch: true, ignoreVary: true },
  plugins: [
    shellPlugin,
    {
      // A page of another user never lands beside this one's.
      fetchDidSucceed: async ({ response }) => {
        const user = response.headers.get("X-Portal-User");
        if (shellResponse(response)) {
          await keepFor(user);
        }
        return response;
      },
    },
  ],
});

registerRoute(
  ({ request, url }) =>
    request.mode === "navigate" &&
    url.origin === self.location.origin &&
    CONFIG.shellPages.includes(url.pathname),
  shellStrategy
);

// Fetch the shell pages now (after a sign-in, or when they are old), so that a cadre who
// opened the portal once finds every page of the shell offline, not only those visited.
async function warm(user) {
  const cache = await keepFor(user);
  for (const page of CONFIG.shellPages) {
    try {
      const response = await fetch(page, { credentials: "same-origin", redirect: "manual" });
      if (!shellResponse(response) || response.headers.get("X-Portal-User") !== user) {
        continue;
      }
      await cache.put(new URL(page, self.location.origin).href, await stamped(response));
    } catch (e) {
      return; // no network: what is cached stays
    }
  }
}

// ----- Background Sync: send the offline queue when the browser says the network is back -----
async function replay() {
  const who = await XuchangQueue.session.get();
  if (!who || !who.user) {
    return;
  }
  const result = await XuchangQueue.flush(who.user, who.csrf);
  const windows = await self.clients.matchAll({ type: "window" });
  windows.forEach((w) => w.postMessage({ type: "QUEUE_FLUSHED", uploaded: result.uploaded.length }));
  if (result.problem === "retry") {
    // rejecting makes the browser try the sync again later, with its own back-off
    throw new Error("the network is still down");
  }
}

self.addEventListener("sync", (event) => {
  if (event.tag === XuchangQueue.SYNC_TAG) {
    event.waitUntil(replay());
  }
});

// Signing out (the POST to the sign-out address) empties the page cache while the request
// goes to the server as usual; the signed-out page does the same (static/js/pwa.js).
self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method === "POST" && pathOf(request.url) === CONFIG.logoutPath) {
    event.waitUntil(forget());
  }
});

self.addEventListener("message", (event) => {
  const data = event.data || {};
  if (data.type === "SKIP_WAITING") {
    self.skipWaiting();
  } else if (data.type === "WARM" && data.user) {
    // workbox-window's messageSW() waits for this answer
    const answer = () => event.ports[0] && event.ports[0].postMessage({ type: "WARMED" });
    event.waitUntil(warm(String(data.user)).then(answer, answer));
  } else if (data.type === "SIGNED_OUT") {
    event.waitUntil(forget());
  }
});

// A new version waits until the cadre chooses to update (the page shows the prompt), so a
// form being filled in is never reloaded under them. The queue lives in IndexedDB, which
// an update does not touch.
self.addEventListener("activate", (event) => {
  event.waitUntil(self.clients.claim());
});
// version {{ config.version }}
