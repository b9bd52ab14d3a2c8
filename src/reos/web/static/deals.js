// The deals page: draw-a-polygon search, the table following the map's viewport, the
// map's markers following the table's filter, and "tick every deal on this page".
// Everything else on the page is plain links and forms (htmx swaps #deals-results).
(function () {
  "use strict";

  function $(id) { return document.getElementById(id); }

  function submitFilters() {
    var form = $("deal-filters");
    if (!form) return;
    if (form.requestSubmit) form.requestSubmit(); else form.submit();
  }


  function parsePolygon(text) {
    if (!text) return [];
    return text.split(";").map(function (pair) {
      var p = pair.split(",");
      return [parseFloat(p[0]), parseFloat(p[1])];
    }).filter(function (p) { return isFinite(p[0]) && isFinite(p[1]); });
  }

  function setUp(el, state) {
    var map = state.map;
    var drawBtn = $("draw-start"), finishBtn = $("draw-finish"), clearBtn = $("draw-clear");
    var follow = $("follow-map"), polygonInput = $("f-polygon"), bboxInput = $("f-bbox");
    var help = $("draw-help");
    var drawing = false, vertices = [], preview = null, corners = L.layerGroup().addTo(map);
    var area = null;
    var quiet = false; // a move made by the page itself (fitting the markers)

    function showArea(latlngs) {
      if (area) map.removeLayer(area);
      area = latlngs.length >= 3
        ? L.polygon(latlngs, { color: "#1f4e79", weight: 2, fillOpacity: 0.08, interactive: false }).addTo(map)
        : null;
    }

    function redrawPreview() {
      if (preview) map.removeLayer(preview);
      preview = vertices.length ? L.polyline(vertices, { color: "#1f4e79", dashArray: "4 4", interactive: false }).addTo(map) : null;
      corners.clearLayers();
      vertices.forEach(function (v) {
        L.circleMarker(v, { radius: 4, color: "#1f4e79", fillColor: "#fff", fillOpacity: 1, interactive: false }).addTo(corners);
      });
      finishBtn.disabled = vertices.length < 3;
    }

    function stopDrawing() {
      drawing = false;
      el.classList.remove("drawing");
      drawBtn.setAttribute("aria-pressed", "false");
      help.hidden = true;
      map.doubleClickZoom.enable();
      vertices = [];
      redrawPreview();
    }

    function finish() {
      if (vertices.length < 3) return;
      var ring = vertices.slice();
      stopDrawing();
      showArea(ring);
      polygonInput.value = ring.map(function (v) { return v[0].toFixed(6) + "," + v[1].toFixed(6); }).join(";");
      clearBtn.disabled = false;
      submitFilters();
    }

    drawBtn.addEventListener("click", function () {
      if (drawing) { stopDrawing(); return; }
      map.closePopup();
      drawing = true;
      vertices = [];
      el.classList.add("drawing");
      drawBtn.setAttribute("aria-pressed", "true");
      help.hidden = false;
      map.doubleClickZoom.disable();
      redrawPreview();
    });
    finishBtn.addEventListener("click", finish);
    clearBtn.addEventListener("click", function () {
      stopDrawing();
      showArea([]);
      polygonInput.value = "";
      clearBtn.disabled = true;
      submitFilters();
    });
    map.on("click", function (e) {
      if (!drawing) return;
      var v = [e.latlng.lat, e.latlng.lng];
      var last = vertices[vertices.length - 1];
      if (last && Math.abs(last[0] - v[0]) < 1e-9 && Math.abs(last[1] - v[1]) < 1e-9) return;
      vertices.push(v);
      redrawPreview();
    });
    map.on("dblclick", function (e) {
      if (!drawing) return;
      L.DomEvent.stop(e);
      finish();
    });
    document.addEventListener("keydown", function (e) {
      if (drawing && e.key === "Escape") stopDrawing();
    });

    function sendBounds() {
      var b = map.getBounds();
      var clamp = function (v, lim) { return Math.max(-lim, Math.min(lim, v)); };
      bboxInput.value = [clamp(b.getSouth(), 90), clamp(b.getWest(), 180), clamp(b.getNorth(), 90), clamp(b.getEast(), 180)]
        .map(function (v) { return v.toFixed(6); }).join(",");
      submitFilters();
    }
    map.on("moveend", function () {
      if (quiet) return;
      if (follow.checked && !drawing) sendBounds();
    });
    follow.addEventListener("change", function () {
      if (follow.checked) { sendBounds(); } else { bboxInput.value = ""; submitFilters(); }
    });

    // The markers follow the table's filter: after the table (and after every swap of it)
    // the page asks /deals/map.json for them. The map is fitted to them unless the table
    // follows the map (then the map stays where the user put it).
    var asked = 0;
    var note = $("map-note");
    function loadPoints(fit) {
      var results = $("deals-results");
      var url = results && results.getAttribute("data-map-url");
      if (!url || !window.fetch) return;
      var mine = ++asked;
      el.setAttribute("aria-busy", "true");
      fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { if (!r.ok) throw new Error("the map's deals: " + r.status); return r.json(); })
        .then(function (data) {
          if (mine !== asked) return; // a newer filter's answer is on its way
          map.invalidateSize(false); // the layout may have moved since the map was made
          state.setOutlines(data.outlines || []);
          fit = fit && !follow.checked; // the user may have ticked "follow" meanwhile
          if (fit && data.points.length) { quiet = true; setTimeout(function () { quiet = false; }, 700); }
          state.setPoints(data.points, fit && data.points.length > 0);
          el.setAttribute("data-points-loaded", String(data.points.length));
          if (note) {
            note.textContent = data.capped
              ? "The map shows the best " + data.cap.toLocaleString("en-US") + " deals by score; narrow the filters to see the rest."
              : data.points.length.toLocaleString("en-US") + " deals on the map.";
            note.className = data.capped ? "small capped" : "small muted";
          }
        })
        .catch(function (err) {
          if (note) { note.textContent = String(err.message || err); note.className = "small error"; }
        })
        .then(function () { if (mine === asked) el.removeAttribute("aria-busy"); });
    }
    document.body.addEventListener("htmx:afterSettle", function () {
      var results = $("deals-results");
      var url = results && results.getAttribute("data-map-url");
      if (url && url !== el.getAttribute("data-shown-url")) {
        el.setAttribute("data-shown-url", url);
        loadPoints(!follow.checked);
      }
    });

    var initial = parsePolygon(polygonInput.value);
    if (initial.length >= 3) {
      showArea(initial);
      clearBtn.disabled = false;
    }
    var box = bboxInput.value ? bboxInput.value.split(",").map(parseFloat) : [];
    var first = $("deals-results");
    if (first) el.setAttribute("data-shown-url", first.getAttribute("data-map-url") || "");
    if (box.length === 4 && box.every(isFinite)) {
      quiet = true;
      setTimeout(function () { quiet = false; }, 700);
      map.fitBounds([[box[0], box[1]], [box[2], box[3]]], { animate: false });
      loadPoints(false);
    } else {
      loadPoints(true);
    }
    el.reosDraw = { finish: finish, clear: function () { clearBtn.click(); } };
  }

  function wire() {
    var el = $("deals-map");
    if (!el || el.reosDrawReady) return;
    if (el.reosMap) { el.reosDrawReady = true; setUp(el, el.reosMap); return; }
    el.addEventListener("reos:map-ready", function (e) {
      if (el.reosDrawReady) return;
      el.reosDrawReady = true;
      setUp(el, e.detail);
    });
  }

  // "Tick every deal on this page" (shown only with JavaScript) and the bulk form's
  // fields for the chosen action.
  function wireTable(root) {
    var all = root.querySelector ? root.querySelector("#pick-all") : null;
    if (all) {
      all.hidden = false;
      all.addEventListener("change", function () {
        document.querySelectorAll('#bulk input[name="deal_id"]').forEach(function (box) { box.checked = all.checked; });
      });
    }
    var action = root.querySelector ? root.querySelector("#b-action") : null;
    if (action) {
      var show = function () {
        document.querySelectorAll("#bulk [data-for]").forEach(function (group) {
          group.hidden = group.getAttribute("data-for") !== action.value;
        });
      };
      action.addEventListener("change", show);
      show();
    }
  }

  // The filter form sends only the fields with a value, so the address bar stays short.
  document.addEventListener("htmx:configRequest", function (e) {
    var elt = e.detail && e.detail.elt;
    var data = e.detail && e.detail.formData;
    if (!elt || elt.id !== "deal-filters" || !data || !data.forEach) return;
    var names = [];
    data.forEach(function (value, name) { if (value === "" && names.indexOf(name) < 0) names.push(name); });
    names.forEach(function (name) {
      var kept = data.getAll(name).filter(function (v) { return v !== ""; });
      data.delete(name);
      kept.forEach(function (v) { data.append(name, v); });
    });
  });

  document.addEventListener("DOMContentLoaded", function () { wire(); wireTable(document); });
  document.addEventListener("reos:map-ready", wire);
  // A header sort or a page link changes the address, not the filter form: keep the
  // form's sort and page size in step, so "Apply filters" keeps them.
  document.addEventListener("htmx:pushedIntoHistory", function () {
    var params = new URLSearchParams(location.search);
    var sort = $("f-sort"), limit = $("f-limit");
    if (sort) sort.value = params.get("sort") || "-score";
    if (limit) limit.value = params.get("limit") || "50";
  });
  document.addEventListener("htmx:afterSettle", function (e) {
    if (e.target && e.target.id === "deals-results") wireTable(e.target);
    else { var r = document.getElementById("deals-results"); if (r && e.target && e.target.contains && e.target.contains(r)) wireTable(r); }
  });
})();
