// The live page of `importer run --status-port`: asks /status.json every second and shows it.
// Everything from the run is put in as text, never as markup.
"use strict";
(function () {
  var PHASES = {
    sending: "Sending",
    rate_limited: "Waiting on the rate limit",
    stopping: "Stopping",
    ended: "Ended"
  };
  var SVG = "http://www.w3.org/2000/svg";
  var ERROR_KEYS = ["source_id", "part", "stage", "code", "message", "location"];
  var ended = false;

  function text(id, value) {
    var node = document.getElementById(id);
    if (node) { node.textContent = value; }
  }

  function duration(seconds) {
    if (seconds === null || seconds === undefined) { return "—"; }
    var whole = Math.round(seconds);
    var units = [[Math.floor(whole / 3600), "h"], [Math.floor((whole % 3600) / 60), "min"],
                 [whole % 60, "s"]];
    while (units.length > 1 && units[0][0] === 0) { units.shift(); }
    return units.slice(0, 2).map(function (u) { return u[0] + " " + u[1]; }).join(" ");
  }

  function row(cells, header) {
    var tr = document.createElement("tr");
    cells.forEach(function (value, i) {
      var cell = document.createElement(i === 0 && header ? "th" : "td");
      if (i === 0 && header) { cell.setAttribute("scope", "row"); }
      if (i > 0 && header) { cell.className = "num"; }
      cell.textContent = value === null || value === undefined ? "" : String(value);
      tr.appendChild(cell);
    });
    return tr;
  }

  function replaceRows(id, rows) {
    var body = document.getElementById(id);
    if (!body) { return; }
    while (body.firstChild) { body.removeChild(body.firstChild); }
    rows.forEach(function (tr) { body.appendChild(tr); });
  }

  function chart(units) {
    var svg = document.getElementById("chart");
    if (!svg) { return; }
    while (svg.firstChild) { svg.removeChild(svg.firstChild); }
    var width = 560, height = 200, bottom = 180, top = 12;
    var most = Math.max.apply(null, units.concat([1]));
    var shown = units.slice(-60);
    var step = (width - 40) / Math.max(shown.length, 10);
    shown.forEach(function (value, i) {
      var rect = document.createElementNS(SVG, "rect");
      var h = (bottom - top) * value / most;
      rect.setAttribute("class", "bar");
      rect.setAttribute("x", String(36 + i * step));
      rect.setAttribute("y", String(bottom - h));
      rect.setAttribute("width", String(Math.max(step - 2, 1)));
      rect.setAttribute("height", String(h));
      svg.appendChild(rect);
    });
    var axis = document.createElementNS(SVG, "line");
    axis.setAttribute("class", "axis");
    axis.setAttribute("x1", "34"); axis.setAttribute("x2", String(width));
    axis.setAttribute("y1", String(bottom)); axis.setAttribute("y2", String(bottom));
    svg.appendChild(axis);
    var label = document.createElementNS(SVG, "text");
    label.setAttribute("x", "0"); label.setAttribute("y", String(top + 4));
    label.textContent = String(Math.round(most));
    svg.appendChild(label);
    var zero = document.createElementNS(SVG, "text");
    zero.setAttribute("x", "0"); zero.setAttribute("y", String(bottom));
    zero.textContent = "0";
    svg.appendChild(zero);
  }

  function show(status) {
    var phase = document.getElementById("phase");
    var word = PHASES[status.phase] || status.phase;
    if (status.phase === "ended") { word += " (exit " + status.exit_code + ")"; }
    phase.textContent = word;
    phase.className = "phase phase-" + status.phase +
      (status.phase === "ended" && status.exit_code !== 0 ? " failed" : "");
    var total = status.total;
    text("done", status.done + " of " + (total === null ? "?" : total));
    ["imported", "failed", "in_doubt", "throttled", "retries", "downloads_waiting"]
      .forEach(function (key) { text(key, String(status[key])); });
    text("eta_s", duration(status.eta_s));
    var bar = document.getElementById("bar");
    bar.max = total ? total : Math.max(status.done, 1);
    bar.value = status.done;
    replaceRows("minutes", status.units_per_minute.map(function (value, i) {
      return row([i + 1, value], true);
    }));
    chart(status.units_per_minute);
    var errors = status.last_errors.map(function (entry) {
      return row(ERROR_KEYS.map(function (key) { return entry[key]; }), false);
    });
    if (!errors.length) {
      var none = document.createElement("tr"), cell = document.createElement("td");
      cell.colSpan = ERROR_KEYS.length; cell.textContent = "No errors.";
      none.appendChild(cell); errors = [none];
    }
    replaceRows("errors", errors);
    ended = status.phase === "ended";
  }

  function poll() {
    fetch("/status.json", { cache: "no-store" })
      .then(function (response) { return response.json(); })
      .then(function (status) {
        document.getElementById("stale").hidden = true;
        show(status);
        if (!ended) { setTimeout(poll, 1000); }
      })
      .catch(function () {
        document.getElementById("stale").hidden = false;
      });
  }

  chart([]);
  poll();
})();
