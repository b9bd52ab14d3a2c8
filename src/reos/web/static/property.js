// Property page: htmx answers a form with mistakes with 422 and the form re-rendered with
// its messages; swap those answers like any other (htmx leaves 4xx unswapped by default).
// After the underwriting results change, each input is marked invalid or not from its
// message (the form itself is not re-rendered, so the focus stays where the user types).
(function () {
  "use strict";
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.xhr && event.detail.xhr.status === 422) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
  document.addEventListener("htmx:afterSettle", function () {
    var form = document.getElementById("uw-form");
    if (!form) { return; }
    form.querySelectorAll("input[id^='uw-']").forEach(function (input) {
      var box = document.getElementById("err-" + input.name.replace(/\./g, "-"));
      var bad = !!(box && box.textContent.trim());
      if (bad) { input.setAttribute("aria-invalid", "true"); } else { input.removeAttribute("aria-invalid"); }
      var field = input.closest(".field");
      if (field) { field.classList.toggle("invalid", bad); }
    });
  });
})();
