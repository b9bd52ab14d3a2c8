// Real Estate OS maps: Leaflet with clustered markers coloured by score.
//
// Markup contract (server-rendered; see templates/partials/map.html):
//   <div class="map" data-reos-map
//        data-points='[{"id":"…","lat":41.9,"lon":-93.6,"label":"12 Main St","score":71,"href":"/properties/…"}]'
//        data-outlines='[{"name":"50010","ring":[[lat,lon],…]}]'
//        data-tiles="https://…/{z}/{x}/{y}.png" or "none"   (the REOS_MAP_TILE_URL setting)
//        data-attribution="…"></div>
// "none" draws the offline basemap: no tiles, the outlines of the data's own areas.
// Each map is kept on the element as element.reosMap = {map, cluster, markers, outlines,
// setPoints(points, fit), setOutlines(outlines)}
// so page scripts (draw-a-polygon search, the table following the viewport) can use it.
(function () {
  "use strict";

  function scoreColour(score) {
    if (score === null || score === undefined) return "#6e7781";
    if (score >= 70) return "#116329";
    if (score >= 50) return "#7d4e00";
    return "#a40e26";
  }

  function markerFor(p) {
    var marker = L.circleMarker([p.lat, p.lon], {
      radius: 7, weight: 1, color: "#1b1f24", fillColor: scoreColour(p.score), fillOpacity: 0.9
    });
    marker.reosScore = p.score;
    var label = document.createElement("span");
    if (p.href) {
      var a = document.createElement("a");
      a.href = p.href;
      a.textContent = p.label || p.id;
      label.appendChild(a);
    } else {
      label.textContent = p.label || p.id;
    }
    if (p.score !== null && p.score !== undefined) {
      label.appendChild(document.createTextNode(" · score " + p.score));
    }
    marker.bindPopup(label);
    marker.reosPoint = p;
    return marker;
  }

  function clusterIcon(cluster) {
    var children = cluster.getAllChildMarkers();
    var best = null;
    children.forEach(function (m) {
      if (m.reosScore !== null && m.reosScore !== undefined && (best === null || m.reosScore > best)) best = m.reosScore;
    });
    var div = document.createElement("div");
    div.className = "reos-cluster";
    div.style.background = scoreColour(best);
    div.textContent = String(children.length);
    return L.divIcon({ html: div.outerHTML, className: "", iconSize: [34, 34] });
  }

  function parse(el, name) {
    try { return JSON.parse(el.getAttribute(name) || "[]"); } catch (e) { return []; }
  }

  function mount(el) {
    if (el.reosMap || typeof L === "undefined") return;
    // maxZoom on the map itself: the offline basemap has no tile layer to give one, and
    // markercluster refuses a map without it.
    var map = L.map(el, { preferCanvas: true, keyboard: true, maxZoom: 19, zoomSnap: 0.5 });
    var tiles = el.getAttribute("data-tiles") || "none";
    if (tiles !== "none") {
      L.tileLayer(tiles, { maxZoom: 19, attribution: el.getAttribute("data-attribution") || "" }).addTo(map);
    } else {
      el.classList.add("offline");
    }
    var points = parse(el, "data-points");
    var areas = parse(el, "data-outlines");
    // A view first: Leaflet places layers (the area labels) only on a map with a centre.
    var located = points.filter(function (p) { return p.lat !== null && p.lon !== null && p.lat !== undefined && p.lon !== undefined; });
    if (located.length) {
      map.fitBounds(L.latLngBounds(located.map(function (p) { return [p.lat, p.lon]; })).pad(0.1), { maxZoom: 16 });
    } else if (areas.length) {
      map.fitBounds(L.latLngBounds([].concat.apply([], areas.map(function (o) { return o.ring; }))).pad(0.1));
    } else {
      map.setView([39.5, -98.35], 4);
    }
    var pane = map.createPane("reos-areas");
    pane.style.zIndex = 350; // above the tiles and outlines, below markers (overlay pane: 400)
    pane.style.pointerEvents = "none";
    var outlines = L.layerGroup().addTo(map);
    function setOutlines(list) {
      outlines.clearLayers();
      list.forEach(function (o) {
        if (!o.ring || o.ring.length < 3) return;
        L.polygon(o.ring, { color: "#57606a", weight: 1, fillOpacity: 0.04, interactive: false }).addTo(outlines);
        if (tiles === "none") {
          // the area's name under the markers (its own pane), never over them
          var c = L.polygon(o.ring).getBounds().getCenter();
          var name = document.createElement("span");
          name.textContent = String(o.name);
          L.marker(c, {
            pane: "reos-areas", interactive: false, keyboard: false,
            icon: L.divIcon({ className: "reos-area", html: name, iconSize: null })
          }).addTo(outlines);
        }
      });
    }
    setOutlines(areas);
    var cluster = L.markerClusterGroup ? L.markerClusterGroup({ iconCreateFunction: clusterIcon, maxClusterRadius: 40 }) : L.layerGroup();
    cluster.addTo(map);
    var state = { map: map, cluster: cluster, markers: [], outlines: outlines, setOutlines: setOutlines };
    state.setPoints = function (points, fit) {
      cluster.clearLayers();
      state.markers = points.filter(function (p) {
        return p.lat !== null && p.lon !== null && p.lat !== undefined && p.lon !== undefined;
      }).map(markerFor);
      if (cluster.addLayers) cluster.addLayers(state.markers); else state.markers.forEach(function (m) { cluster.addLayer(m); });
      if (fit && state.markers.length) {
        map.fitBounds(L.featureGroup(state.markers).getBounds().pad(0.1), { maxZoom: 16, animate: false });
      }
    };
    state.setPoints(points, false);
    el.reosMap = state;
    el.dispatchEvent(new CustomEvent("reos:map-ready", { bubbles: true, detail: state }));
  }

  function mountAll(root) {
    (root || document).querySelectorAll("[data-reos-map]").forEach(mount);
  }
  window.ReosMap = { mount: mount, mountAll: mountAll, scoreColour: scoreColour };
  document.addEventListener("DOMContentLoaded", function () { mountAll(document); });
  document.addEventListener("htmx:afterSettle", function (e) { mountAll(e.target); });
})();
