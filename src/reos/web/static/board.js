// The CRM board: drag a card to another column to move the deal (HTML5 drag and drop),
// arrow keys to go from card to card. Without JavaScript each card's "Move" form does
// the same move; this script only adds the shortcut.
(function () {
  "use strict";
  var board = document.getElementById("board");
  if (!board) { return; }
  var status = document.getElementById("board-message");
  var dragged = null;
  var origin = null;

  function csrf() {
    var input = document.querySelector("input[name=csrf_token]");
    return input ? input.value : "";
  }

  function say(text, failed) {
    if (!status) { return; }
    status.hidden = false;
    status.setAttribute("role", failed ? "alert" : "status");
    status.classList.toggle("failed", !!failed);
    status.textContent = text;
  }

  function addCount(list, delta) {
    var badge = list.closest(".column").querySelector(".count");
    var total = parseInt(badge.getAttribute("data-count"), 10) + delta;
    badge.setAttribute("data-count", String(total));
    badge.setAttribute("aria-label", total + " deals");
    badge.textContent = total.toLocaleString("en-US");
  }

  function putBack(card) {
    if (origin.next && origin.next.parentNode === origin.list) {
      origin.list.insertBefore(card, origin.next);
    } else {
      origin.list.appendChild(card);
    }
  }

  function settle(card, stage, version) {
    card.setAttribute("data-stage", stage);
    card.setAttribute("data-version", String(version));
    var field = card.querySelector("input[name=version]");
    if (field) { field.value = String(version); }
    var select = card.querySelector("select[name=stage]");
    if (select) { select.value = stage; }
  }

  function move(card, list) {
    var from = origin.list;
    var stage = list.getAttribute("data-stage");
    card.classList.add("saving");
    card.setAttribute("aria-busy", "true");
    var body = new URLSearchParams();
    body.set("stage", stage);
    fetch(board.getAttribute("data-move-url") + card.getAttribute("data-deal-id") + "/move", {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Accept": "application/json",
        "Content-Type": "application/x-www-form-urlencoded",
        "If-Match": '"' + card.getAttribute("data-version") + '"',
        "X-CSRF-Token": csrf()
      },
      body: body
    }).then(function (response) {
      return response.json().catch(function () {
        return { ok: false, message: "The server answered " + response.status + "." };
      });
    }).then(function (answer) {
      card.classList.remove("saving");
      card.removeAttribute("aria-busy");
      if (answer.ok) {
        settle(card, answer.stage, answer.version);
        addCount(from, -1);
        addCount(list, 1);
        say(answer.message, false);
      } else {
        putBack(card);
        say(answer.message, true);
      }
      card.focus();
    }).catch(function () {
      card.classList.remove("saving");
      card.removeAttribute("aria-busy");
      putBack(card);
      say("The move could not be sent (network error); the deal was not moved.", true);
    });
  }

  board.addEventListener("dragstart", function (event) {
    var card = event.target.closest && event.target.closest(".deal-card[draggable=true]");
    if (!card) { return; }
    dragged = card;
    origin = { list: card.parentNode, next: card.nextElementSibling };
    card.classList.add("dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.getAttribute("data-deal-id"));
  });

  board.addEventListener("dragend", function () {
    if (dragged) { dragged.classList.remove("dragging"); }
    board.querySelectorAll(".drop-target").forEach(function (el) { el.classList.remove("drop-target"); });
  });

  board.addEventListener("dragover", function (event) {
    var list = event.target.closest && event.target.closest(".column");
    if (!dragged || !list) { return; }
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    var cards = list.querySelector(".cards");
    board.querySelectorAll(".drop-target").forEach(function (el) {
      if (el !== cards) { el.classList.remove("drop-target"); }
    });
    cards.classList.add("drop-target");
  });

  board.addEventListener("drop", function (event) {
    var column = event.target.closest && event.target.closest(".column");
    if (!dragged || !column) { return; }
    event.preventDefault();
    var list = column.querySelector(".cards");
    var card = dragged;
    dragged = null;
    card.classList.remove("dragging");
    list.classList.remove("drop-target");
    if (list === origin.list) { return; }
    list.insertBefore(card, list.firstElementChild);
    var empty = column.querySelector(".empty");
    if (empty) { empty.remove(); }
    move(card, list);
  });

  // Arrow keys on a focused card: up and down within the column, left and right to the
  // nearest card of the neighbouring columns.
  board.addEventListener("keydown", function (event) {
    var card = event.target;
    if (!card.classList || !card.classList.contains("deal-card")) { return; }
    var target = null;
    if (event.key === "ArrowDown") { target = card.nextElementSibling; }
    if (event.key === "ArrowUp") { target = card.previousElementSibling; }
    if (event.key === "ArrowLeft" || event.key === "ArrowRight") {
      var lists = Array.prototype.slice.call(board.querySelectorAll(".cards"));
      var here = lists.indexOf(card.parentNode);
      var index = Array.prototype.indexOf.call(card.parentNode.children, card);
      var step = event.key === "ArrowLeft" ? -1 : 1;
      for (var i = here + step; i >= 0 && i < lists.length; i += step) {
        var cards = lists[i].children;
        if (cards.length) { target = cards[Math.min(index, cards.length - 1)]; break; }
      }
    }
    if (target) {
      event.preventDefault();
      target.focus();
    }
  });
})();
