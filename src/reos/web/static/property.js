// Property page: htmx answers a form with mistakes with 422 and the form re-rendered with
// its messages; swap those answers like any other (htmx leaves 4xx unswapped by default).
(function () {
  "use strict";
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.xhr && event.detail.xhr.status === 422) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
})();
