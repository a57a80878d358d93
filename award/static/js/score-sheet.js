/*
 * The score sheet (評分表), enhanced: the weighted total follows the marks as the judge types, and a
 * mark at the lowest or highest score points at the comment it needs.
 *
 * Plain ES2017, no build step; loaded with <script defer> (no inline script: CSP script-src 'self').
 * Display only: the server recomputes the total with the scoring engine on every save, and its
 * figure is the one that counts. Without this script the sheet works the same, minus the live total.
 *
 * Page contract (templates/judging/sheets/sheet.html):
 *   <form id="score-form"> with input.mark-input[data-weight][data-max][data-min][data-comment=<textarea id>]
 *   and <output id="live-total">; the comment's hint is <p id="<textarea id>-hint">.
 * Total = Σ weight × mark / max over the marks typed so far, rounded half-up to 2 decimals.
 */
(function () {
  "use strict";

  var form = document.getElementById("score-form");
  var output = document.getElementById("live-total");
  if (!form || !output) return;
  var inputs = Array.prototype.slice.call(form.querySelectorAll("input.mark-input"));

  // Full-width digits and points (８５．５) as typed with a Chinese input method.
  function normalise(text) {
    return String(text || "").replace(/[\uFF10-\uFF19]/g, function (d) {
      return String.fromCharCode(d.charCodeAt(0) - 0xFF10 + 48);
    }).replace(/\uFF0E/g, ".").replace(/\s+/g, "");
  }

  function markOf(input) {
    var text = normalise(input.value);
    if (!/^(\d+(\.\d*)?|\.\d+)$/.test(text)) return null;
    var value = Number(text);
    var low = Number(input.dataset.min), high = Number(input.dataset.max);
    if (!isFinite(value) || value < low || value > high) return null;
    return value;
  }

  function roundHalfUp(value, places) {
    var factor = Math.pow(10, places);
    return Math.round((value + Number.EPSILON) * factor) / factor;
  }

  function update() {
    var total = 0;
    inputs.forEach(function (input) {
      var mark = markOf(input);
      if (mark !== null) total += Number(input.dataset.weight) * mark / Number(input.dataset.max);
      flagExtreme(input, mark);
    });
    output.value = roundHalfUp(total, 2).toFixed(2).replace(/\.?0+$/, "") || "0";
  }

  function flagExtreme(input, mark) {
    var hint = document.getElementById(input.dataset.comment + "-hint");
    var comment = document.getElementById(input.dataset.comment);
    if (!hint || !comment) return;
    var extreme = mark !== null && (mark === Number(input.dataset.min) || mark === Number(input.dataset.max));
    hint.classList.toggle("needs-comment", extreme && comment.value.trim() === "");
  }

  form.addEventListener("input", update);
  update();
})();
