// Region picker: turns one <select data-region-picker> (every region the user may choose,
// in tree order, each option carrying data-parent and data-level) into cascading selects,
// one per level. Without JavaScript the single select still works: the server sends the whole
// scoped list, indented by level. The original select stays the submitted field.
(function () {
  "use strict";
  function build(original) {
    var opts = Array.prototype.slice.call(original.options);
    var empty = opts.filter(function (o) { return o.value === ""; })[0];
    var nodes = opts.filter(function (o) { return o.value !== ""; }).map(function (o) {
      return {
        code: o.value,
        name: o.textContent.replace(/^[\s\u3000]+/, ""),
        parent: o.getAttribute("data-parent") || "",
        selectable: !o.disabled,
      };
    });
    if (nodes.length < 2) return;
    var byCode = {};
    nodes.forEach(function (n) { byCode[n.code] = n; });
    function kids(code) {
      return nodes.filter(function (n) {
        return code === "" ? !byCode[n.parent] : n.parent === code;
      });
    }
    var wrap = document.createElement("div");
    wrap.className = "region-cascade";
    wrap.id = original.id + "-levels";
    original.parentNode.insertBefore(wrap, original);
    original.hidden = true;
    original.setAttribute("aria-hidden", "true");
    original.tabIndex = -1;
    var label = document.querySelector('label[for="' + original.id + '"]');
    function path(code) {
      var out = [];
      while (code && byCode[code]) { out.unshift(code); code = byCode[code].parent; }
      return out;
    }
    function render(chosen) {
      wrap.innerHTML = "";
      var trail = path(chosen);
      var parent = "";
      for (var depth = 0; ; depth++) {
        var list = kids(parent);
        if (!list.length) break;
        var sel = document.createElement("select");
        sel.className = "select";
        sel.setAttribute("data-depth", depth);
        if (depth === 0) { sel.id = original.id + "-cascade"; if (label) label.htmlFor = sel.id; }
        else sel.setAttribute("aria-label", "下一级");
        var first = document.createElement("option");
        first.value = "";
        first.textContent = depth === 0 && empty ? empty.textContent : "请选择";
        sel.appendChild(first);
        list.forEach(function (n) {
          var o = document.createElement("option");
          o.value = n.code;
          o.textContent = n.name;
          if (trail[depth] === n.code) o.selected = true;
          sel.appendChild(o);
        });
        sel.addEventListener("change", function (ev) {
          var s = ev.target;
          var v = s.value || (s.previousSibling ? s.previousSibling.value : "");
          render(v);
        });
        wrap.appendChild(sel);
        if (!trail[depth]) break;
        parent = trail[depth];
      }
      var last = trail.length ? byCode[trail[trail.length - 1]] : null;
      original.value = last && last.selectable ? last.code : "";
    }
    render(original.value);
  }
  document.addEventListener("DOMContentLoaded", function () {
    var all = document.querySelectorAll("select[data-region-picker]");
    for (var i = 0; i < all.length; i++) build(all[i]);
  });
})();
