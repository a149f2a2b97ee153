// cnncalc report: level switch, colouring, table sort/filter, chart readout. No network, no libraries.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("cnncalc-data").textContent);
  var LOW = [255, 255, 255], HIGH = [232, 89, 12];
  function hex(n) { return (n < 16 ? "0" : "") + n.toString(16); }
  function fill(value, largest) {  // the same white-to-orange scale as render/diagram.py's fill()
    var t = largest > 0 && value > 0 ? Math.sqrt(value / largest) : 0;
    return "#" + LOW.map(function (a, i) { return hex(Math.round(a + (HIGH[i] - a) * t)); }).join("");
  }
  function all(selector, root) { return Array.prototype.slice.call((root || document).querySelectorAll(selector)); }
  function bytes(n) {
    var units = [[Math.pow(1024, 4), "TiB"], [Math.pow(1024, 3), "GiB"], [1048576, "MiB"], [1024, "KiB"]];
    for (var i = 0; i < units.length; i++) {
      if (Math.abs(n) >= units[i][0]) return (n / units[i][0]).toFixed(1) + " " + units[i][1];
    }
    return n.toLocaleString("en-US") + " B";
  }

  // ---- colour by MACs, memory or nothing
  function colour(metric) {
    all("svg.cnn-graph").forEach(function (svg) {
      var nodes = all(".node", svg);
      var key = metric === "macs" ? "macs" : "mem";
      var values = nodes.map(function (g) { return metric === "none" ? 0 : Number(g.getAttribute("data-" + key)); });
      var largest = Math.max.apply(null, values.concat([0]));
      nodes.forEach(function (g, i) { g.querySelector("rect").setAttribute("fill", fill(values[i], largest)); });
    });
  }
  all("input[name=metric]").forEach(function (input) {
    input.addEventListener("change", function () { if (input.checked) colour(input.value); });
  });

  // ---- collapse levels
  var select = document.getElementById("level");
  function showLevel(level) {
    all(".views .view").forEach(function (view) { view.hidden = Number(view.getAttribute("data-level")) !== level; });
    select.value = String(level);
  }
  function current() { return document.querySelector('.views .view:not([hidden])'); }
  function reveal(selector) {
    var el = current() && current().querySelector(selector);
    if (el && el.scrollIntoView) el.scrollIntoView({block: "center", inline: "center"});
    return el;
  }
  select.addEventListener("change", function () { showLevel(Number(select.value)); });

  // ---- selection between graph and table
  function selectRow(index, scroll) {
    all("tr.selected, .node.selected").forEach(function (el) { el.classList.remove("selected"); });
    var tr = document.getElementById("row" + index);
    if (tr) { tr.classList.add("selected"); if (scroll) tr.scrollIntoView({block: "nearest"}); }
    all('.node[data-row="' + index + '"]').forEach(function (g) { g.classList.add("selected"); });
  }
  document.querySelector(".views").addEventListener("click", function (event) {
    var label = event.target.closest(".cluster");
    if (label) {
      var block = label.getAttribute("data-block");
      showLevel(Number(label.getAttribute("data-depth")) - 1);
      reveal('.node[data-block="' + block + '"]');
      return;
    }
    var node = event.target.closest(".node");
    if (!node) return;
    if (node.hasAttribute("data-block")) {
      var id = node.getAttribute("data-block");
      var depth = Number(data.depths[id]);
      showLevel(Math.min(depth, data.full));
      reveal('.cluster[data-block="' + id + '"]');
      return;
    }
    selectRow(node.getAttribute("data-row"), true);
  });
  document.querySelector("#layers-table tbody").addEventListener("click", function (event) {
    var tr = event.target.closest("tr");
    if (!tr) return;
    selectRow(tr.getAttribute("data-row"), false);
    reveal('.node[data-row="' + tr.getAttribute("data-row") + '"]');
  });

  // ---- table: sort by a header, filter by text
  var table = document.getElementById("layers-table");
  var body = table.tBodies[0];
  all("th", table.tHead).forEach(function (th, column) {
    function sort() {
      var descending = th.getAttribute("aria-sort") === "ascending";
      all("th", table.tHead).forEach(function (other) { other.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", descending ? "descending" : "ascending");
      var numeric = th.getAttribute("data-type") === "num";
      var rows = all("tr", body).map(function (tr, i) {
        var cell = tr.cells[column];
        var key = numeric ? Number(cell.getAttribute("data-v") || 0) : cell.textContent.toLowerCase();
        return [key, Number(tr.getAttribute("data-row")), tr];
      });
      rows.sort(function (a, b) {
        var order = a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
        return (descending ? -order : order) || a[1] - b[1];
      });
      rows.forEach(function (row) { body.appendChild(row[2]); });
    }
    th.addEventListener("click", sort);
    th.addEventListener("keydown", function (event) { if (event.key === "Enter" || event.key === " ") sort(); });
  });
  var filter = document.getElementById("filter");
  var shown = document.getElementById("shown");
  function applyFilter() {
    var words = filter.value.toLowerCase().split(/\s+/).filter(Boolean);
    var count = 0;
    all("tr", body).forEach(function (tr) {
      var text = (tr.getAttribute("title") + " " + tr.textContent).toLowerCase();
      var keep = words.every(function (w) { return text.indexOf(w) >= 0; });
      tr.hidden = !keep;
      if (keep) count++;
    });
    shown.textContent = count + " of " + body.rows.length + " layers";
  }
  filter.addEventListener("input", applyFilter);
  applyFilter();

  // ---- chart readout
  var chart = document.getElementById("memory-chart");
  var readout = document.getElementById("readout");
  var cursor = document.getElementById("cursor");
  var points = data.timeline.points;
  if (chart && points.length) {
    chart.addEventListener("mousemove", function (event) {
      var box = chart.getBoundingClientRect();
      var width = Number(chart.getAttribute("width"));
      var x = (event.clientX - box.left) * width / box.width;
      var left = 64, span = width - 64 - 12;
      var i = Math.max(0, Math.min(points.length - 1, Math.round((x - left) / span * (points.length - 1))));
      var p = points[i];
      var phase = typeof p[0] === "number" ? data.timeline.phases[p[0]] : p[0];
      var layer = typeof p[1] === "number" ? data.names[p[1]] : p[1];
      var at = left + span * i / Math.max(points.length - 1, 1);
      cursor.setAttribute("x1", at); cursor.setAttribute("x2", at); cursor.setAttribute("visibility", "visible");
      readout.textContent = "step " + i + ": " + phase + ", " + layer + " \u2014 live " + bytes(p[2]) +
        (p[3] ? " + scratch " + bytes(p[3]) : "") + (i === data.timeline.peak ? " (the peak)" : "");
    });
  }
  document.body.setAttribute("data-ready", "1");
})();
