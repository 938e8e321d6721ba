/* Sortable, filterable tables for the changelog site (scipipe changelog --format html).
 *
 * No dependencies and no requests, so the pages work from file://.  Click a column header
 * to sort (again to reverse); type in a table's filter box to keep the rows holding every
 * word.  The URL fragment sets both on load: #sort=ticket:desc&filter=afw.  Initialised
 * tables get data-ready="true" and the class js-ready.
 */
(function () {
  "use strict";

  function cellValue(row, index) {
    var cell = row.cells[index];
    if (!cell) { return ""; }
    var value = cell.getAttribute("data-sort");
    return (value !== null ? value : cell.textContent).trim().toLowerCase();
  }

  function headers(table) {
    return table.tHead ? Array.prototype.slice.call(table.tHead.rows[0].cells) : [];
  }

  function sortTable(table, key, dir) {
    var ths = headers(table);
    var index = -1;
    ths.forEach(function (th, i) { if (th.getAttribute("data-key") === key) { index = i; } });
    if (index < 0) { return false; }
    var numeric = ths[index].getAttribute("data-type") === "number";
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = cellValue(a, index);
      var y = cellValue(b, index);
      var c;
      if (numeric) {
        c = (parseFloat(x) || 0) - (parseFloat(y) || 0);
      } else {
        c = x < y ? -1 : (x > y ? 1 : 0);
      }
      return dir === "desc" ? -c : c;
    });
    rows.forEach(function (row) { body.appendChild(row); });
    ths.forEach(function (th, i) {
      if (i === index) {
        th.setAttribute("aria-sort", dir === "desc" ? "descending" : "ascending");
      } else if (th.hasAttribute("aria-sort")) {
        th.removeAttribute("aria-sort");
      }
    });
    table.setAttribute("data-sort-key", key);
    table.setAttribute("data-sort-dir", dir);
    return true;
  }

  function filterTable(table, text) {
    var terms = text.toLowerCase().split(/\s+/).filter(Boolean);
    var rows = Array.prototype.slice.call(table.tBodies[0].rows);
    var shown = 0;
    rows.forEach(function (row) {
      var haystack = row.textContent.toLowerCase();
      var keep = terms.every(function (term) { return haystack.indexOf(term) >= 0; });
      row.hidden = !keep;
      if (keep) { shown += 1; }
    });
    table.setAttribute("data-filter", text);
    var count = document.querySelector('.table-count[data-table="' + table.id + '"]');
    if (count) { count.textContent = shown + " of " + rows.length + " shown"; }
  }

  function readHash() {
    var params = {};
    window.location.hash.replace(/^#/, "").split("&").forEach(function (part) {
      var eq = part.indexOf("=");
      if (eq > 0) {
        try {
          params[part.slice(0, eq)] = decodeURIComponent(part.slice(eq + 1).replace(/\+/g, " "));
        } catch (e) { /* a malformed fragment is ignored */ }
      }
    });
    return params;
  }

  function writeHash(params) {
    var parts = [];
    Object.keys(params).sort().forEach(function (k) {
      if (params[k]) { parts.push(k + "=" + encodeURIComponent(params[k])); }
    });
    try {
      history.replaceState(null, "", parts.length ? "#" + parts.join("&") : window.location.pathname);
    } catch (e) { /* some file:// setups refuse; the page still works */ }
  }

  function markStale() {
    var stamp = document.querySelector("time.generated[data-stale-after]");
    if (!stamp) { return; }
    var when = Date.parse(stamp.getAttribute("datetime"));
    var limit = parseFloat(stamp.getAttribute("data-stale-after")) * 1000;
    if (!isNaN(when) && Date.now() - when > limit) {
      stamp.classList.add("stale");
      stamp.title = "this page has not been regenerated for more than a day";
    }
  }

  function init() {
    var tables = Array.prototype.slice.call(document.querySelectorAll("table.sortable"));
    tables.forEach(function (table) {
      headers(table).forEach(function (th) {
        var key = th.getAttribute("data-key");
        if (!key) { return; }
        var button = document.createElement("button");
        button.type = "button";
        while (th.firstChild) { button.appendChild(th.firstChild); }
        th.appendChild(button);
        button.addEventListener("click", function () {
          var dir = table.getAttribute("data-sort-key") === key &&
            table.getAttribute("data-sort-dir") === "asc" ? "desc" : "asc";
          sortTable(table, key, dir);
          var params = readHash();
          params.sort = key + ":" + dir;
          writeHash(params);
        });
      });
      table.classList.add("js-ready");
      table.setAttribute("data-ready", "true");
    });
    var inputs = Array.prototype.slice.call(document.querySelectorAll("input.table-filter"));
    inputs.forEach(function (input) {
      var table = document.getElementById(input.getAttribute("data-table"));
      if (!table) { return; }
      input.addEventListener("input", function () {
        filterTable(table, input.value);
        var params = readHash();
        params.filter = input.value;
        writeHash(params);
      });
      filterTable(table, "");
    });
    var params = readHash();
    if (params.sort) {
      var spec = params.sort.split(":");
      var dir = spec[1] === "desc" ? "desc" : "asc";
      tables.some(function (table) { return sortTable(table, spec[0], dir); });
    }
    if (params.filter && inputs.length) {
      var main = document.getElementById(inputs[0].getAttribute("data-table"));
      inputs[0].value = params.filter;
      if (main) { filterTable(main, params.filter); }
    }
    markStale();
    document.documentElement.setAttribute("data-changelog-ready", "true");
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
}());
