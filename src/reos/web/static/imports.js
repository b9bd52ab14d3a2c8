// Imports: refuse a file over the upload limit before sending it (the server refuses it too).
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches || !form.matches("form.upload")) return;
    var input = form.querySelector("input[type=file]");
    var limit = parseInt(form.getAttribute("data-max-bytes"), 10);
    var box = document.getElementById("upload-error");
    if (input && input.files && input.files[0] && limit && input.files[0].size > limit) {
      event.preventDefault();
      box.textContent = input.files[0].name + " is larger than " + Math.floor(limit / 1048576) + " MB; import it with `reos import`.";
      box.hidden = false;
    }
  });
})();
