// The assessment form's running score: each part's subtotal, how many of its items are
// scored, and the total of the scored items, updated as the assessor picks scores. Without
// the script the same figures are shown as of the last save.
(function () {
  "use strict";
  function update() {
    var total = 0;
    var parts = document.querySelectorAll("fieldset.indicator");
    for (var i = 0; i < parts.length; i++) {
      var part = parts[i];
      var checked = part.querySelectorAll("input[type=radio][name^='item.']:checked");
      var sum = 0;
      for (var j = 0; j < checked.length; j++) { sum += parseInt(checked[j].value, 10) || 0; }
      total += sum;
      var points = part.querySelector(".subtotal-points");
      var answered = part.querySelector(".subtotal-answered");
      if (points) { points.textContent = String(sum); }
      if (answered) { answered.textContent = String(checked.length); }
    }
    var all = document.getElementById("running-points");
    if (all) { all.textContent = String(total); }
  }
  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("assessment-form");
    if (!form) { return; }
    form.addEventListener("change", update);
    update();
  });
})();
