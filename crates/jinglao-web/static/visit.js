// Adds the phone's position and clock to the check-in and check-out forms before they are
// sent. Without this script (or without permission to locate) the forms still work: the server
// uses its own time and the visit goes to the exception queue for its missing position.
(function () {
  "use strict";
  function fill(form, pos) {
    form.elements.device_at.value = new Date().toISOString();
    if (pos) {
      form.elements.lat.value = pos.coords.latitude.toFixed(6);
      form.elements.lon.value = pos.coords.longitude.toFixed(6);
    }
  }
  document.querySelectorAll("form.stamp-form").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (form.dataset.stamped === "yes" || !navigator.geolocation) {
        fill(form, null);
        return;
      }
      event.preventDefault();
      var button = form.querySelector("button");
      if (button) { button.disabled = true; button.textContent = "正在定位…"; }
      var sent = false;
      var send = function (pos) {
        if (sent) { return; }
        sent = true;
        fill(form, pos);
        form.dataset.stamped = "yes";
        form.submit();
      };
      navigator.geolocation.getCurrentPosition(send, function () { send(null); },
        { enableHighAccuracy: true, timeout: 10000, maximumAge: 30000 });
      // A permission prompt left unanswered calls neither callback: send without a position
      // after 12 s rather than leave the caregiver waiting (the visit is then reviewed).
      setTimeout(function () { send(null); }, 12000);
    });
  });
  // A visit lasts longer than the 30-minute idle time-out of a session: while a visit is in
  // progress on this page, a quiet request every ten minutes keeps the caregiver signed in.
  // (Without the script, a caregiver signed out meanwhile signs in again and checks out; the
  // check-in is already stored.)
  if (document.querySelector("form.stamp-form button.check-out")) {
    setInterval(function () {
      fetch("/my/visits", { credentials: "same-origin", cache: "no-store" }).catch(function () {});
    }, 10 * 60 * 1000);
  }
})();
