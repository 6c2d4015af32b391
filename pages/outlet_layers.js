/*
 * Beatboard's map layers for Leaflet 1.9.4. pages/outlet_map.py loads this
 * file beside Leaflet and calls:
 *
 * - BeatboardMap.addOutlets(map, payload, options): every outlet of a compact
 *   payload. Once the padded view has at most options.detailLimit of them,
 *   each is drawn on its own. Otherwise they are grouped in grid cells:
 *   bubbles with a ring of status shares ("status" mode), or squares coloured
 *   by the share of outlets without a visit in their neglect window
 *   ("neglect" mode).
 * - BeatboardMap.addRoute(map, stops): one rep's calls of one day.
 * - BeatboardMap.keepView(map, key): restore the last view stored under key
 *   in the browser tab's sessionStorage and store each new one.
 *
 * A click on an outlet or a stop reaches streamlit-folium through the
 * FeatureGroup it belongs to, with feature.properties {outlet: index} or
 * {call: index}. Clicks on cells only zoom, because cells live in a plain
 * LayerGroup, which does not pass events on.
 *
 * Text from the database (outlet, territory and rep names) is only ever set
 * through textContent, so the browser never parses it as HTML.
 */
(function (root) {
  "use strict";

  // Coordinates travel as integer steps of 1e-5 degrees (about 1.1 m).
  var COORDINATE_SCALE = 100000;
  var NO_VISIT = 65535;
  var STATUS_BITS = 7;
  var OVERDUE_FLAG = 8;
  var DAY_MS = 86400000;
  // Leaflet's Web Mercator stops at this latitude.
  var MAX_LATITUDE = 85.0511287798;
  // Outlets this far beyond the view (a share of its size) are drawn too, so
  // that a short pan shows no gap before the redraw.
  var VIEW_PADDING = 0.2;
  var BUBBLE_CELL_PX = 64;
  var MAX_BUBBLE_PX = 56;
  var SQUARE_CELL_PX = 40;
  var POINT_RADIUS_PX = 5;
  var FALLBACK_MAX_ZOOM = 18;
  // Unique keys for grid cells up to zoom 22: 2^26 cells per row.
  var ROW_STRIDE = 67108864;

  function element(tag, text, style) {
    var node = document.createElement(tag);
    if (text !== undefined) {
      node.textContent = text;
    }
    if (style) {
      node.style.cssText = style;
    }
    return node;
  }

  function textBlock(lines) {
    var block = element("div");
    lines.forEach(function (line, index) {
      block.appendChild(element("div", line, index === 0 ? "font-weight:600" : ""));
    });
    return block;
  }

  function detailTable(rows) {
    var table = element("table", undefined, "border-collapse:collapse");
    rows.forEach(function (row) {
      var tableRow = table.insertRow();
      tableRow.appendChild(
        element("th", row[0], "text-align:left;padding:1px 8px 1px 0;font-weight:600")
      );
      tableRow.appendChild(element("td", row[1], "padding:1px 0"));
    });
    return table;
  }

  function formatCount(value) {
    return value.toLocaleString("en-US");
  }

  function shortCount(value) {
    if (value < 1000) {
      return String(value);
    }
    if (value < 10000) {
      return (value / 1000).toFixed(1).replace(/\.0$/, "") + "k";
    }
    return Math.round(value / 1000) + "k";
  }

  function maxZoomOf(map) {
    var zoom = map.getMaxZoom();
    return isFinite(zoom) ? zoom : FALLBACK_MAX_ZOOM;
  }

  function showMessage(map, text) {
    var control = L.control({ position: "bottomleft" });
    control.onAdd = function () {
      return element(
        "div",
        text,
        "background:#fff;padding:6px 10px;border-radius:4px;font:13px sans-serif;" +
          "box-shadow:0 1px 4px rgba(0,0,0,0.3);max-width:320px"
      );
    };
    control.addTo(map);
  }

  // Payload

  function decodeBase64(text) {
    var binary = atob(text);
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) {
      bytes[i] = binary.charCodeAt(i);
    }
    return bytes;
  }

  function inflate(bytes) {
    // "deflate" is the zlib format that Python's zlib.compress writes.
    var stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate"));
    return new Response(stream).arrayBuffer();
  }

  // Split the inflated buffer into its columns; see pages/map_payload.py for
  // the layout. Coordinates are running sums of the steps.
  function readColumns(buffer, count) {
    var n = count;
    var latitudeSteps = new Int32Array(buffer, 0, n);
    var longitudeSteps = new Int32Array(buffer, 4 * n, n);
    var nameLengths = new Uint32Array(buffer, 8 * n, n);
    var columns = {
      count: n,
      territory: new Uint32Array(buffer, 12 * n, n),
      days: new Uint16Array(buffer, 16 * n, n),
      codes: new Uint8Array(buffer, 18 * n, n),
      nameBytes: new Uint8Array(buffer, 19 * n),
      nameStarts: new Uint32Array(n + 1),
      lat: new Float64Array(n),
      lng: new Float64Array(n),
      x: new Float64Array(n),
      y: new Float64Array(n),
    };
    var latitudeUnits = 0;
    var longitudeUnits = 0;
    for (var i = 0; i < n; i++) {
      latitudeUnits += latitudeSteps[i];
      longitudeUnits += longitudeSteps[i];
      var lat = latitudeUnits / COORDINATE_SCALE;
      var lng = longitudeUnits / COORDINATE_SCALE;
      var clamped = Math.max(-MAX_LATITUDE, Math.min(MAX_LATITUDE, lat));
      var sin = Math.sin((clamped * Math.PI) / 180);
      columns.lat[i] = lat;
      columns.lng[i] = lng;
      // Web Mercator in world units from 0 to 1, as Leaflet's EPSG3857.
      columns.x[i] = (lng + 180) / 360;
      columns.y[i] = 0.5 - Math.log((1 + sin) / (1 - sin)) / (4 * Math.PI);
      columns.nameStarts[i + 1] = columns.nameStarts[i] + nameLengths[i];
    }
    return columns;
  }

  // The outlet layer

  function OutletLayer(map, payload, options) {
    this.map = map;
    this.payload = payload;
    this.options = options;
    this.columns = null;
    this.points = new Map();
    this.decoder = new TextDecoder("utf-8");
    // Outlets propagate their clicks to this group, which streamlit-folium
    // listens to; cells go to a plain LayerGroup and only zoom.
    this.outletGroup = L.featureGroup().addTo(map);
    this.cellGroup = L.layerGroup().addTo(map);
    this.shown = "nothing";
    map.getContainer().setAttribute("data-map-layer", options.mode);
    map.on("moveend", this.redraw, this);
  }

  OutletLayer.prototype.load = function () {
    var layer = this;
    var payload = this.payload;
    if (payload.count === 0) {
      this.columns = readColumns(new ArrayBuffer(0), 0);
      this.redraw();
      return Promise.resolve();
    }
    if (typeof DecompressionStream === "undefined") {
      showMessage(
        this.map,
        "This browser cannot unpack the outlets. Use a current Chrome, Edge, Firefox or Safari."
      );
      return Promise.resolve();
    }
    // Only a failed unpacking shows a message; an error while drawing stays
    // an uncaught error, which the browser reports.
    return inflate(decodeBase64(payload.data)).then(
      function (buffer) {
        layer.columns = readColumns(buffer, payload.count);
        layer.redraw();
      },
      function (error) {
        showMessage(layer.map, "The outlets could not be unpacked: " + error.message);
      }
    );
  };

  OutletLayer.prototype.name = function (index) {
    var columns = this.columns;
    return this.decoder.decode(
      columns.nameBytes.subarray(columns.nameStarts[index], columns.nameStarts[index + 1])
    );
  };

  OutletLayer.prototype.status = function (index) {
    return this.columns.codes[index] & STATUS_BITS;
  };

  OutletLayer.prototype.isOverdue = function (index) {
    return (this.columns.codes[index] & OVERDUE_FLAG) !== 0;
  };

  OutletLayer.prototype.lastVisit = function (index) {
    var days = this.columns.days[index];
    if (days === NO_VISIT) {
      return "none";
    }
    var ago = days + " days ago";
    if (days === 0) {
      ago = "today";
    } else if (days === 1) {
      ago = "1 day ago";
    }
    if (!this.payload.periodEnd) {
      return ago;
    }
    var end = Date.parse(this.payload.periodEnd + "T00:00:00Z");
    var day = new Date(end - days * DAY_MS).toISOString().slice(0, 10);
    return day + " (" + ago + ")";
  };

  OutletLayer.prototype.details = function (index) {
    var territory = this.payload.territories[this.columns.territory[index]];
    var table = detailTable([
      ["Outlet", this.name(index)],
      ["Status", this.payload.statusLabels[this.status(index)]],
      ["Last visit", this.lastVisit(index)],
      ["Territory", territory === undefined ? "" : territory],
    ]);
    table.className = "beatboard-outlet-popup";
    return table;
  };

  OutletLayer.prototype.indicesIn = function (bounds) {
    var columns = this.columns;
    var south = bounds.getSouth();
    var north = bounds.getNorth();
    var west = bounds.getWest();
    var east = bounds.getEast();
    var found = [];
    for (var i = 0; i < columns.count; i++) {
      var lat = columns.lat[i];
      var lng = columns.lng[i];
      if (lat >= south && lat <= north && lng >= west && lng <= east) {
        found.push(i);
      }
    }
    return found;
  };

  OutletLayer.prototype.redraw = function () {
    if (!this.columns) {
      return;
    }
    var zoom = this.map.getZoom();
    var indices = this.indicesIn(this.map.getBounds().pad(VIEW_PADDING));
    if (indices.length <= this.options.detailLimit || zoom >= maxZoomOf(this.map)) {
      this.cellGroup.clearLayers();
      this.showPoints(indices);
      this.shown = "points";
    } else {
      this.clearPoints();
      this.showCells(indices, zoom);
      this.shown = "cells";
    }
    this.map.getContainer().setAttribute("data-outlets-shown", this.shown);
    if (!this.drawnOnce) {
      this.drawnOnce = true;
      performance.mark("beatboard-outlets-drawn");
    }
  };

  // Points

  OutletLayer.prototype.pointStyle = function (index) {
    if (this.options.mode === "neglect") {
      var overdue = this.isOverdue(index);
      return {
        radius: overdue ? POINT_RADIUS_PX : POINT_RADIUS_PX - 2,
        fillColor: overdue ? this.options.overdueColour : this.options.otherColour,
      };
    }
    return {
      radius: POINT_RADIUS_PX,
      fillColor: this.options.statusColours[this.status(index)],
    };
  };

  OutletLayer.prototype.createPoint = function (index) {
    var layer = this;
    var style = this.pointStyle(index);
    var point = L.circleMarker([this.columns.lat[index], this.columns.lng[index]], {
      radius: style.radius,
      color: "#ffffff",
      weight: 1,
      opacity: 0.9,
      fillColor: style.fillColor,
      fillOpacity: 0.9,
    });
    point.feature = { type: "Feature", properties: { outlet: index } };
    point.bindTooltip(function () {
      return element("span", layer.name(index));
    });
    point.bindPopup(function () {
      return layer.details(index);
    });
    return point;
  };

  OutletLayer.prototype.clearPoints = function () {
    this.outletGroup.clearLayers();
    this.points.clear();
  };

  // Keep the points still in view, so that an open popup stays open, add the
  // new ones and restore the draw order: the payload lists outlets that need
  // action last, so they end up on top.
  OutletLayer.prototype.showPoints = function (indices) {
    var wanted = new Set(indices);
    var layer = this;
    this.points.forEach(function (point, index) {
      if (!wanted.has(index)) {
        layer.outletGroup.removeLayer(point);
        layer.points.delete(index);
      }
    });
    var added = false;
    indices.forEach(function (index) {
      if (!layer.points.has(index)) {
        var point = layer.createPoint(index);
        layer.points.set(index, point);
        layer.outletGroup.addLayer(point);
        added = true;
      }
    });
    if (added) {
      indices.forEach(function (index) {
        layer.points.get(index).bringToFront();
      });
    }
  };

  // Cells

  OutletLayer.prototype.collectCells = function (indices, zoom, cellPx) {
    var columns = this.columns;
    var scale = (256 * Math.pow(2, zoom)) / cellPx;
    var cells = new Map();
    indices.forEach(function (i) {
      var column = Math.floor(columns.x[i] * scale);
      var row = Math.floor(columns.y[i] * scale);
      var key = row * ROW_STRIDE + column;
      var cell = cells.get(key);
      if (!cell) {
        cell = {
          column: column, row: row, first: i, count: 0, overdue: 0,
          statusCounts: [0, 0, 0, 0, 0], latSum: 0, lngSum: 0,
          south: Infinity, north: -Infinity, west: Infinity, east: -Infinity,
        };
        cells.set(key, cell);
      }
      var lat = columns.lat[i];
      var lng = columns.lng[i];
      cell.count += 1;
      cell.statusCounts[columns.codes[i] & STATUS_BITS] += 1;
      cell.overdue += (columns.codes[i] & OVERDUE_FLAG) !== 0 ? 1 : 0;
      cell.latSum += lat;
      cell.lngSum += lng;
      cell.south = Math.min(cell.south, lat);
      cell.north = Math.max(cell.north, lat);
      cell.west = Math.min(cell.west, lng);
      cell.east = Math.max(cell.east, lng);
    });
    return cells;
  };

  OutletLayer.prototype.zoomInto = function (cell) {
    if (cell.south === cell.north && cell.west === cell.east) {
      this.map.setView([cell.south, cell.west], maxZoomOf(this.map));
      return;
    }
    this.map.fitBounds(
      [
        [cell.south, cell.west],
        [cell.north, cell.east],
      ],
      { padding: [24, 24] }
    );
  };

  OutletLayer.prototype.showCells = function (indices, zoom) {
    var layer = this;
    var neglect = this.options.mode === "neglect";
    var cells = this.collectCells(indices, zoom, neglect ? SQUARE_CELL_PX : BUBBLE_CELL_PX);
    this.cellGroup.clearLayers();
    cells.forEach(function (cell) {
      var shape = neglect ? layer.square(cell, zoom) : layer.bubble(cell);
      shape.cell = cell;
      shape.on("click", function () {
        layer.zoomInto(cell);
      });
      layer.cellGroup.addLayer(shape);
    });
  };

  OutletLayer.prototype.bubble = function (cell) {
    var colours = this.options.statusColours;
    var labels = this.payload.statusLabels;
    var size = Math.min(MAX_BUBBLE_PX, Math.round(26 + 8 * Math.log10(cell.count)));
    var stops = [];
    var start = 0;
    cell.statusCounts.forEach(function (count, status) {
      if (count > 0) {
        var end = start + (100 * count) / cell.count;
        stops.push(colours[status] + " " + start.toFixed(2) + "% " + end.toFixed(2) + "%");
        start = end;
      }
    });
    var ring = element(
      "div",
      undefined,
      "width:100%;height:100%;border-radius:50%;display:flex;align-items:center;" +
        "justify-content:center;box-shadow:0 1px 3px rgba(0,0,0,0.4);" +
        "background:conic-gradient(" + stops.join(",") + ")"
    );
    var inner = Math.round(size * 0.62);
    ring.appendChild(
      element(
        "span",
        shortCount(cell.count),
        "width:" + inner + "px;height:" + inner + "px;border-radius:50%;background:#fff;" +
          "display:flex;align-items:center;justify-content:center;" +
          "font:600 11px sans-serif;color:#222"
      )
    );
    var bubble = L.marker([cell.latSum / cell.count, cell.lngSum / cell.count], {
      icon: L.divIcon({ html: ring, className: "beatboard-cluster", iconSize: [size, size] }),
      keyboard: false,
    });
    bubble.bindTooltip(function () {
      var lines = [formatCount(cell.count) + " outlets"];
      cell.statusCounts.forEach(function (count, status) {
        if (count > 0) {
          lines.push(labels[status] + ": " + formatCount(count));
        }
      });
      lines.push("Click to zoom in");
      return textBlock(lines);
    });
    return bubble;
  };

  OutletLayer.prototype.square = function (cell, zoom) {
    var map = this.map;
    var share = cell.overdue / cell.count;
    var bins = this.options.shareColours;
    var bin = Math.min(bins.length - 1, Math.floor(share * bins.length));
    var northWest = map.unproject([cell.column * SQUARE_CELL_PX, cell.row * SQUARE_CELL_PX], zoom);
    var southEast = map.unproject(
      [(cell.column + 1) * SQUARE_CELL_PX, (cell.row + 1) * SQUARE_CELL_PX],
      zoom
    );
    var square = L.rectangle([northWest, southEast], {
      color: "#ffffff",
      weight: 1,
      opacity: 0.8,
      fillColor: bins[bin],
      fillOpacity: 0.75,
    });
    var neglectWindow = this.payload.neglectWindow;
    square.bindTooltip(function () {
      return textBlock([
        formatCount(cell.overdue) + " of " + formatCount(cell.count) + " outlets (" +
          Math.round(share * 100) + "%)",
        "had no visit in " + neglectWindow,
        "Click to zoom in",
      ]);
    });
    return square;
  };

  // Route

  function addRoute(map, route) {
    var group = L.featureGroup().addTo(map);
    map.getContainer().setAttribute("data-map-layer", "route");
    var visited = route.stops.filter(function (stop) {
      return stop.number !== null;
    });
    if (visited.length > 1) {
      L.polyline(
        visited.map(function (stop) {
          return [stop.lat, stop.lng];
        }),
        { color: route.lineColour, weight: 3, opacity: 0.8, interactive: false }
      ).addTo(group);
    }
    route.stops.forEach(function (stop, index) {
      var marker;
      if (stop.number === null) {
        marker = L.circleMarker([stop.lat, stop.lng], {
          radius: 7, color: route.missedColour, weight: 3, fill: true,
          fillColor: "#ffffff", fillOpacity: 0.9,
        });
      } else {
        var badge = element(
          "div",
          String(stop.number),
          "width:22px;height:22px;border-radius:50%;border:2px solid #fff;" +
            "box-shadow:0 1px 3px rgba(0,0,0,0.4);display:flex;align-items:center;" +
            "justify-content:center;font:600 11px sans-serif;color:#fff;background:" +
            stop.colour
        );
        marker = L.marker([stop.lat, stop.lng], {
          icon: L.divIcon({ html: badge, className: "beatboard-stop", iconSize: [26, 26] }),
        });
      }
      marker.feature = { type: "Feature", properties: { call: index } };
      marker.bindTooltip(function () {
        return textBlock([stop.name, stop.label]);
      });
      group.addLayer(marker);
    });
    return group;
  }

  // View

  function keepView(map, key) {
    var storageKey = "beatboard-map-view:" + key;
    try {
      var saved = JSON.parse(window.sessionStorage.getItem(storageKey));
      if (saved && isFinite(saved.lat) && isFinite(saved.lng) && isFinite(saved.zoom)) {
        map.setView([saved.lat, saved.lng], saved.zoom, { animate: false });
      }
    } catch (error) {
      // Storage may be disabled; the map then opens on its first view.
    }
    map.on("moveend", function () {
      var center = map.getCenter();
      try {
        window.sessionStorage.setItem(
          storageKey,
          JSON.stringify({ lat: center.lat, lng: center.lng, zoom: map.getZoom() })
        );
      } catch (error) {
        // As above: without storage the view is simply not kept.
      }
    });
  }

  function addOutlets(map, payload, options) {
    var layer = new OutletLayer(map, payload, options);
    layer.ready = layer.load();
    root.beatboardOutletLayer = layer;
    return layer;
  }

  root.BeatboardMap = { addOutlets: addOutlets, addRoute: addRoute, keepView: keepView };
})(window);
