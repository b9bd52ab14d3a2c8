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

  function readPoints() {
    var el = $("deal-points");
    if (!el) return null;
    try { return JSON.parse(el.textContent || "[]"); } catch (e) { return []; }
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
      if (quiet) { quiet = false; return; }
      if (follow.checked && !drawing) sendBounds();
    });
    follow.addEventListener("change", function () {
      if (follow.checked) { sendBounds(); } else { bboxInput.value = ""; submitFilters(); }
    });

    // The markers follow the table's filter after every swap (not the fit: when the table
    // follows the map, the map stays where the user put it).
    document.body.addEventListener("htmx:afterSwap", function (e) {
      if (!e.target || e.target.id !== "deals-results" && !(e.detail && e.detail.target && e.detail.target.id === "deals-results")) return;
      var points = readPoints();
      if (points === null) return;
      var fit = !follow.checked && points.length > 0;
      if (fit) quiet = true;
      state.setPoints(points, fit);
    });

    var initial = parsePolygon(polygonInput.value);
    if (initial.length >= 3) {
      showArea(initial);
      clearBtn.disabled = false;
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
  document.addEventListener("htmx:afterSettle", function (e) {
    if (e.target && e.target.id === "deals-results") wireTable(e.target);
    else { var r = document.getElementById("deals-results"); if (r && e.target && e.target.contains && e.target.contains(r)) wireTable(r); }
  });
})();
