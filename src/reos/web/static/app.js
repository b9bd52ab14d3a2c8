// Real Estate OS dashboard: the little behaviour the pages share (no framework).
(function () {
  "use strict";
  // A select marked data-autosubmit submits its form when changed (organisation switch,
  // filters); without JavaScript the form's own button does it.
  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el && el.matches && el.matches("select[data-autosubmit]")) {
      el.form.requestSubmit ? el.form.requestSubmit() : el.form.submit();
    }
  });
  // htmx: send the CSRF token (also in <body hx-headers>) and show server errors.
  document.addEventListener("htmx:responseError", function (event) {
    var box = document.getElementById("flash");
    if (box) {
      box.textContent = "The server answered " + event.detail.xhr.status + ": " +
        (event.detail.xhr.responseText || "").replace(/<[^>]*>/g, " ").replace(/\s+/g, " ").slice(0, 300);
      box.hidden = false;
    }
  });
})();
