// On the sign-in page nobody is signed in: the copy of the caregiver's visit list kept for
// offline use (names and addresses) is deleted. Records waiting to be sent stay (visit.js
// sends them after the caregiver signs in again).
(function () {
  "use strict";
  if (window.caches) { caches.delete("jinglao-my-v1").catch(function () {}); }
})();
