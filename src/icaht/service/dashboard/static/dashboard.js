// icaht dashboard: progressive enhancement only (every page works without JavaScript).
(function () {
  "use strict";

  // Dose labels come in sets laid out for plots of given widths (meta.label_plot_px, see
  // chart/lanes.py): show the widest set that fits the plot (the narrowest in the print view).
  function showDoseLabels(holder, print) {
    var indices = [];
    var widths = [];
    holder.data.forEach(function (trace, i) {
      if (trace.meta && trace.meta.label_plot_px) { indices.push(i); widths.push(trace.meta.label_plot_px); }
    });
    if (!indices.length) { return Promise.resolve(); }
    var plot = holder._fullLayout._size.w;
    var fitting = widths.filter(function (w) { return !print && w <= plot; });
    var chosen = fitting.length ? Math.max.apply(null, fitting) : Math.min.apply(null, widths);
    var visible = widths.map(function (w) { return w === chosen; });
    var shown = indices.map(function (i) { return holder.data[i].visible === true; });
    if (visible.every(function (v, k) { return v === shown[k]; })) { return Promise.resolve(); }
    return window.Plotly.restyle(holder, { visible: visible }, indices);
  }

  function drawChart() {
    var holder = document.getElementById("chart");
    var source = document.getElementById("chart-data");
    if (!holder || !source || !window.Plotly) { return; }
    var figure = JSON.parse(source.textContent);
    var print = document.body.classList.contains("print-view");
    window.Plotly.newPlot(holder, figure.data, figure.layout, {
      responsive: true, displaylogo: false, staticPlot: false,
      modeBarButtonsToRemove: ["select2d", "lasso2d", "autoScale2d"]
    }).then(function () {
      return showDoseLabels(holder, print);
    }).then(function () {
      holder.on("plotly_relayout", function () { showDoseLabels(holder, print); });
      holder.setAttribute("data-ready", "true");
    });
  }

  function syncAsOf() {
    var range = document.getElementById("as_of_range");
    var number = document.getElementById("as_of");
    var form = document.getElementById("asof-form");
    if (!range || !number || !form) { return; }
    // Follow the slider while it moves; submit only on release (pointer) or Enter, never on
    // every arrow key.
    function submit() { number.value = range.value; form.submit(); }
    range.addEventListener("input", function () { number.value = range.value; });
    range.addEventListener("pointerup", submit);
    range.addEventListener("keydown", function (e) { if (e.key === "Enter") { e.preventDefault(); submit(); } });
    number.addEventListener("input", function () { range.value = number.value; });
  }

  function filterUnits() {
    var analyte = document.getElementById("lab-analyte");
    var unit = document.getElementById("lab-unit");
    if (!analyte || !unit) { return; }
    function apply() {
      var groups = unit.querySelectorAll("optgroup");
      var firstVisible = null;
      var selectedVisible = false;
      groups.forEach(function (group) {
        var show = group.getAttribute("data-analyte") === analyte.value;
        group.hidden = !show;
        group.disabled = !show;
        group.querySelectorAll("option").forEach(function (opt) {
          if (show && !firstVisible) { firstVisible = opt; }
          if (show && opt.selected) { selectedVisible = true; }
        });
      });
      if (!selectedVisible && firstVisible) { firstVisible.selected = true; }
    }
    analyte.addEventListener("change", apply);
    apply();
  }

  function eventFields() {
    var kind = document.getElementById("ev-kind");
    if (!kind) { return; }
    function apply() {
      document.querySelectorAll(".ev-field").forEach(function (field) {
        var kinds = (field.getAttribute("data-kinds") || "").split(" ");
        var show = kinds.indexOf(kind.value) >= 0;
        field.hidden = !show;
        field.querySelectorAll("input, select").forEach(function (el) { el.disabled = !show; });
      });
    }
    kind.addEventListener("change", apply);
    apply();
  }

  function printButtons() {
    document.querySelectorAll("[data-action=print]").forEach(function (button) {
      button.addEventListener("click", function () { window.print(); });
    });
  }

  function showErrors() {
    // After a rejected form the page opens on its errors (listed at the top).
    var errors = document.getElementById("page-errors");
    if (errors) { errors.focus(); errors.scrollIntoView({ block: "start" }); }
  }

  document.addEventListener("DOMContentLoaded", function () {
    showErrors();
    syncAsOf();
    filterUnits();
    eventFields();
    printButtons();
    drawChart();
  });
})();
