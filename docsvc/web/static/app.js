/* The pages' small behaviours (no inline scripts: the CSP allows 'self' only).
   - forms with class "busy" disable their buttons and say "working" once submitted;
   - the directory picker filters organisations as one types (diacritics ignored);
   - the status form shows the refusal's confirmation only when 02 is chosen, and needs it. */
(function () {
  "use strict";
  function fold(text) {
    return text.normalize("NFD").replace(/[\u0300-\u036f]/g, "").replace(/đ/g, "d")
      .replace(/Đ/g, "D").toLowerCase();
  }
  var working = document.body.getAttribute("data-working") || "…";
  document.querySelectorAll("form.busy").forEach(function (form) {
    form.addEventListener("submit", function () {
      if (form.dataset.sent) { return; }
      form.dataset.sent = "1";
      form.setAttribute("aria-busy", "true");
      window.setTimeout(function () {  // after the browser took the submitter's value
        form.querySelectorAll("button").forEach(function (b) {
          b.disabled = true;
          b.dataset.label = b.textContent;
          b.textContent = working;
        });
      }, 0);
    });
  });
  window.addEventListener("pageshow", function (event) {  // back button: forms work again
    if (!event.persisted) { return; }
    document.querySelectorAll("form.busy").forEach(function (form) {
      delete form.dataset.sent;
      form.removeAttribute("aria-busy");
      form.querySelectorAll("button").forEach(function (b) {
        b.disabled = false;
        if (b.dataset.label) { b.textContent = b.dataset.label; }
      });
    });
  });
  document.querySelectorAll("input.org-filter").forEach(function (input) {
    var box = document.getElementById(input.dataset.target);
    input.addEventListener("input", function () {
      var q = fold(input.value.trim());
      box.querySelectorAll("li[data-search]").forEach(function (li) {
        li.hidden = false;
      });
      if (!q) { return; }
      var items = Array.prototype.slice.call(box.querySelectorAll("li[data-search]")).reverse();
      items.forEach(function (li) {  // children first: a parent stays when a child matches
        var match = li.dataset.search.indexOf(q) !== -1;
        var shownChild = li.querySelector("li[data-search]:not([hidden])");
        li.hidden = !(match || shownChild);
      });
    });
  });
  document.querySelectorAll("form.status-form").forEach(function (form) {
    var code = form.querySelector("select[name=code]");
    var box = form.querySelector(".refuse-confirm");
    var tick = box && box.querySelector("input[name=confirm]");
    function sync() {
      var refusing = code.value === "02";
      box.hidden = !refusing;
      tick.required = refusing;
    }
    if (code && box && tick) { code.addEventListener("change", sync); sync(); }
  });
  document.querySelectorAll("button[data-print]").forEach(function (b) {
    b.addEventListener("click", function () { window.print(); });
  });
})();
