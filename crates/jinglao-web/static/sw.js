// The service worker of the caregiver's phone page (scope /my/). It keeps the last copy of
// /my/visits and of the files it needs, so the page opens without a connection; every request
// goes to the network first and a stored copy is used only when the network fails. Records
// made offline are kept and sent by visit.js, not here.
"use strict";
var CACHE = "jinglao-my-v1";
var KEPT = ["/my/visits", "/static/visit.js", "/static/app.css", "/static/print.css"];

self.addEventListener("install", function () { self.skipWaiting(); });
self.addEventListener("activate", function (event) { event.waitUntil(self.clients.claim()); });

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") { return; }
  var url = new URL(request.url);
  if (url.origin !== self.location.origin || KEPT.indexOf(url.pathname) < 0) { return; }
  var key = url.pathname;
  event.respondWith(fetch(request).then(function (response) {
    // Only a real copy of the page is kept, never a redirect to the sign-in page.
    if (response.ok && !response.redirected && response.type === "basic") {
      var copy = response.clone();
      event.waitUntil(caches.open(CACHE).then(function (cache) { return cache.put(key, copy); }));
    }
    return response;
  }, function () {
    return caches.match(key).then(function (kept) { return kept || Response.error(); });
  }));
});
