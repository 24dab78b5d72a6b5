// The caregiver's phone page (/my/visits). Adds the phone's position and clock to the check-in
// and check-out forms, and keeps them working without a connection:
//
// - A form is first sent with fetch. If the network fails, the record (with the phone's time
//   and position) is kept on the phone, the card shows it as waiting, and a check-in offline
//   shows the check-out form at once. Kept records are sent, oldest first and marked
//   `offline=1`, when the connection returns; the server flags every one of them for review
//   and says when one came late. Nothing kept is dropped unless the server answered it.
// - A service worker (/my/sw.js) keeps the last copy of this page, so it opens offline too.
//
// Without this script (or without permission to locate) the forms still work: the server
// uses its own time and the visit goes to the exception queue for its missing position.
(function () {
  "use strict";
  var PENDING = "jinglao.pending.v1";
  var REJECTED = "jinglao.rejected.v1";
  var list = document.getElementById("visits");
  var caregiver = list ? list.dataset.caregiver : null;
  var panel = document.getElementById("offline-status");
  var syncing = false;

  function read(key) {
    try { return JSON.parse(localStorage.getItem(key) || "[]"); } catch (e) { return []; }
  }
  function write(key, value) { localStorage.setItem(key, JSON.stringify(value)); }
  function mine(entries) { return entries.filter(function (e) { return e.caregiver === caregiver; }); }
  function csrf() {
    var field = document.querySelector("input[name=_csrf]");
    return field ? field.value : "";
  }

  function fill(form, pos) {
    form.elements.device_at.value = new Date().toISOString();
    if (form.signaturePng && form.elements.signature) { form.elements.signature.value = form.signaturePng(); }
    if (pos) {
      form.elements.lat.value = pos.coords.latitude.toFixed(6);
      form.elements.lon.value = pos.coords.longitude.toFixed(6);
    }
  }

  // Calls back once with the position, or with null when it is refused, unavailable, or a
  // permission prompt stays unanswered for 12 s (the visit is then reviewed).
  function locate(done) {
    if (!navigator.geolocation) { done(null); return; }
    var called = false;
    var once = function (pos) { if (!called) { called = true; done(pos); } };
    navigator.geolocation.getCurrentPosition(once, function () { once(null); },
      { enableHighAccuracy: true, timeout: 10000, maximumAge: 30000 });
    setTimeout(function () { once(null); }, 12000);
  }

  function fields(form) {
    var out = {};
    ["visit_id", "device_at", "lat", "lon", "code", "notes", "signature"].forEach(function (name) {
      if (form.elements[name]) { out[name] = form.elements[name].value; }
    });
    return out;
  }

  function showStatus() {
    if (!panel) { return; }
    var waiting = mine(read(PENDING)).length;
    var rejected = mine(read(REJECTED));
    var lines = [];
    if (waiting > 0) {
      lines.push("有 " + waiting + " 条签到签退记录存在手机上，等待联网上传。请不要清除浏览器数据。");
    }
    rejected.forEach(function (r) { lines.push("上传被拒绝（" + r.what + "）：" + r.reason); });
    panel.hidden = lines.length === 0;
    panel.textContent = "";
    lines.forEach(function (line) {
      var p = document.createElement("p");
      p.textContent = line;
      panel.appendChild(p);
    });
    if (rejected.length > 0) {
      var ok = document.createElement("button");
      ok.type = "button";
      ok.className = "button button-secondary";
      ok.textContent = "知道了";
      ok.addEventListener("click", function () {
        write(REJECTED, read(REJECTED).filter(function (r) { return r.caregiver !== caregiver; }));
        showStatus();
      });
      panel.appendChild(ok);
    }
  }

  // Draws a kept record on its card: a check-in swaps the check-in form for the check-out form
  // of the same visit; a check-out removes the form.
  function apply(entry) {
    var card = document.getElementById(entry.card);
    if (!card) { return; }
    var state = card.querySelector(".visit-state");
    var form = card.querySelector("form.stamp-form");
    if (entry.kind === "in") {
      if (state) { state.textContent = "服务中（离线记录，待上传）"; state.dataset.state = "offline"; }
      var template = card.querySelector("template.offline-check-out");
      if (form && template) {
        var next = template.content.firstElementChild.cloneNode(true);
        next.action = "/my/visits/" + entry.fields.visit_id + "/check-out";
        form.replaceWith(next);
        watch(next);
      }
    } else {
      if (state) { state.textContent = "已签退（离线记录，待上传）"; state.dataset.state = "offline"; }
      if (form) { form.remove(); }
    }
  }

  function keep(form) {
    var card = form.closest(".visit-card");
    var entry = {
      caregiver: caregiver,
      card: card ? card.id : "",
      kind: form.querySelector("button.check-in") ? "in" : "out",
      action: form.getAttribute("action"),
      fields: fields(form),
      kept_at: new Date().toISOString()
    };
    var pending = read(PENDING);
    pending.push(entry);
    write(PENDING, pending);
    apply(entry);
    showStatus();
  }

  function send(form) {
    var body = new URLSearchParams(new FormData(form));
    fetch(form.action, { method: "POST", body: body, credentials: "same-origin" }).then(function (r) {
      if (r.ok && r.url.indexOf("/login") < 0) {
        location.assign(r.url);
        return;
      }
      // The server refused it (or the session ended): send it the ordinary way so the page
      // shows the server's own answer. Nothing was stored, so sending again is harmless.
      form.dataset.stamped = "yes";
      form.submit();
    }, function () {
      keep(form);
    });
  }

  // The signature pad of a check-out form (shown only with the script): a finger or stylus
  // draws on the canvas; `form.signaturePng()` gives the PNG data URL, or "" when nothing drawn.
  function pad(form) {
    var group = form.querySelector(".signature-group");
    var canvas = form.querySelector("canvas.signature-pad");
    if (!group || !canvas || !canvas.getContext) { return; }
    group.hidden = false;
    var ink = canvas.getContext("2d");
    ink.lineWidth = 4;
    ink.lineCap = "round";
    ink.lineJoin = "round";
    ink.strokeStyle = "#0b0c0c";
    var drawing = false;
    var drawn = false;
    var at = function (e) {
      var r = canvas.getBoundingClientRect();
      return [(e.clientX - r.left) * canvas.width / r.width, (e.clientY - r.top) * canvas.height / r.height];
    };
    canvas.addEventListener("pointerdown", function (e) {
      drawing = true;
      if (canvas.setPointerCapture) { try { canvas.setPointerCapture(e.pointerId); } catch (err) { /* synthetic */ } }
      var p = at(e);
      ink.beginPath();
      ink.moveTo(p[0], p[1]);
      e.preventDefault();
    });
    canvas.addEventListener("pointermove", function (e) {
      if (!drawing) { return; }
      var p = at(e);
      ink.lineTo(p[0], p[1]);
      ink.stroke();
      drawn = true;
      e.preventDefault();
    });
    ["pointerup", "pointercancel"].forEach(function (t) {
      canvas.addEventListener(t, function () { drawing = false; });
    });
    var clear = form.querySelector(".clear-signature");
    if (clear) {
      clear.addEventListener("click", function () {
        ink.clearRect(0, 0, canvas.width, canvas.height);
        drawn = false;
      });
    }
    form.signaturePng = function () { return drawn ? canvas.toDataURL("image/png") : ""; };
  }

  function watch(form) {
    pad(form);
    form.addEventListener("submit", function (event) {
      if (form.dataset.stamped === "yes") { return; }
      event.preventDefault();
      var button = form.querySelector("button");
      if (button) { button.disabled = true; button.textContent = "正在定位…"; }
      locate(function (pos) {
        fill(form, pos);
        if (button) { button.textContent = "正在提交…"; }
        send(form);
      });
    });
  }

  // Sends the kept records one at a time, oldest first. A network failure stops and tries
  // again later; a record the server refuses is shown with the server's reason.
  function sync() {
    if (syncing || !caregiver) { return; }
    var first = mine(read(PENDING))[0];
    if (!first) { return; }
    syncing = true;
    var body = new URLSearchParams(first.fields);
    body.set("offline", "1");
    body.set("_csrf", csrf());
    var finish = function (sent) {
      syncing = false;
      write(PENDING, read(PENDING).filter(function (e) {
        return !(e.kept_at === first.kept_at && e.action === first.action);
      }));
      if (mine(read(PENDING)).length > 0) { sync(); } else if (sent) { location.reload(); }
    };
    var signInAgain = function () {
      syncing = false;
      if (!panel || document.getElementById("sign-in-again")) { return; }
      panel.hidden = false;
      panel.textContent = "登录已过期。请重新登录，登录后离线记录会自动上传。";
      var link = document.createElement("a");
      link.href = "/login?next=/my/visits";
      link.id = "sign-in-again";
      link.className = "button";
      link.textContent = "重新登录";
      panel.appendChild(link);
    };
    fetch(first.action, { method: "POST", body: body, credentials: "same-origin" }).then(function (r) {
      if (r.url.indexOf("/login") >= 0 || r.status === 401) { signInAgain(); return; }
      if (r.ok) { finish(true); return; }
      if (r.status >= 500 || r.status === 429) { syncing = false; return; }
      return r.text().then(function (html) {
        var page = new DOMParser().parseFromString(html, "text/html");
        var main = page.querySelector("main");
        var code = main ? main.dataset.error : "";
        // A form token that no longer matches means the session ended, not that the record
        // is wrong: keep it and send it after the caregiver signs in again.
        if (code === "csrf_failed" || code === "unauthenticated") { signInAgain(); return; }
        var summary = page.querySelector(".error-summary ul") || page.querySelector("#error-message") || main;
        var rejected = read(REJECTED);
        rejected.push({
          caregiver: caregiver,
          what: first.kind === "in" ? "签到" : "签退",
          reason: summary ? summary.textContent.replace(/\s+/g, " ").trim() : "HTTP " + r.status
        });
        write(REJECTED, rejected);
        finish(true);
      });
    }, function () {
      syncing = false;
    });
  }

  document.querySelectorAll("form.stamp-form").forEach(watch);
  mine(read(PENDING)).forEach(apply);
  showStatus();
  sync();
  window.addEventListener("online", sync);
  setInterval(sync, 30 * 1000);

  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/my/sw.js", { scope: "/my/" }).catch(function () {});
  }

  // No request keeps the session alive: a caregiver's sign-in has its own idle time-out
  // (auth.idle_timeout_minutes_by_role), long enough for a visit.
})();
