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
 *
 * Leaving the page (a link, closing the tab, switching to another tab) with changes not yet saved
 * saves them as a draft: the form's own POST with the header X-Award-Autosave: 1 and keepalive, so it
 * survives the page's unloading; the server answers JSON {ok, version}. The page's version follows, so
 * a later "Save draft" is no conflict; a page restored from the back/forward cache reloads. A
 * submission is never made this way.
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

  // --- saving on leave ------------------------------------------------------------------------------

  var versionInput = form.querySelector("input[name=version]");
  var target = form.getAttribute("action"); // not form.action: the buttons named "action" shadow it
  var submitting = false, inFlight = null, sentOnLeave = false;

  function draftData() {
    var data = new URLSearchParams(new FormData(form));
    data.delete("confirm_final");
    data.delete("action");
    return data;
  }
  var savedText = draftData().toString();

  function saveOnLeave() {
    if (submitting || inFlight || !window.fetch) return;
    var data = draftData();
    var text = data.toString();
    if (text === savedText) return;
    savedText = text;
    sentOnLeave = true;
    inFlight = fetch(target, {
      method: "POST", body: data, keepalive: true, credentials: "same-origin",
      headers: { "X-Award-Autosave": "1", "Accept": "application/json" }
    }).then(function (response) {
      return response.json().then(function (body) {
        if (body && body.ok && versionInput) versionInput.value = String(body.version);
        else savedText = null; // not saved: the form keeps the text, the next leave tries again
      });
    }).catch(function () { savedText = null; }).then(function () { inFlight = null; });
  }

  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") saveOnLeave();
  });
  window.addEventListener("pagehide", saveOnLeave);
  window.addEventListener("pageshow", function (event) {
    if (event.persisted && sentOnLeave) window.location.reload(); // show what the server now holds
  });

  // "Save draft" / "Submit" post the whole form: let a save on leave finish first (its new version).
  form.addEventListener("submit", function (event) {
    if (inFlight) {
      event.preventDefault();
      var submitter = event.submitter || null;
      inFlight.then(function () {
        if (form.requestSubmit) form.requestSubmit(submitter); else form.submit();
      });
      return;
    }
    submitting = true;
    window.setTimeout(function () { submitting = false; }, 30000); // the post failed and the page stayed
  });
})();
