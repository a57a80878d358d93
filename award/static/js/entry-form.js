/*
 * The entry form (參獎申請書), enhanced: live character counters, autosave, an offline copy kept
 * on this device, and a choice instead of an overwrite when someone else saved in the meantime.
 *
 * Plain ES2017, no build step; loaded with <script defer> (no inline script: CSP script-src 'self').
 * Without it the form still works: "Save draft" posts the whole form.
 *
 * Server contract (award/entries/views.py):
 *   <form id="entry-form" data-autosave-url data-entry-id> with hidden csrf_token and draft_version;
 *   textarea[data-char-limit] followed by p.char-count[data-for=<textarea id>].
 *   POST data-autosave-url, form-encoded, X-CSRFToken header. Fields left out are left unchanged
 *   (an unticked checkbox is "not ticked", as in any HTML form), so only changed text is sent.
 *   200 {ok, draft_version, saved_at} · 409 {conflict, draft_version, server: {field: value}, message}
 *   · 400 {errors: {field: [messages]}, message} · 401/403/404 {message}.
 *
 * Texts: data-msg-* attributes on #entry-form (translated by the template); else Traditional Chinese.
 */
(function () {
  "use strict";

  var form = document.getElementById("entry-form");
  if (!form || !window.fetch) return;

  var DEBOUNCE_MS = 3000; // after the last keystroke
  var MAX_WAIT_MS = 20000; // however long someone types without a pause
  var RETRY_MS = [2000, 5000, 10000, 20000, 30000, 60000]; // network failures: back off, then every minute
  var KEEPALIVE_MAX = 60000; // browsers refuse keepalive bodies over 64 KiB
  var SKIP = { csrf_token: true, draft_version: true, action: true };
  var TAIPEI_OFFSET_MS = 8 * 3600 * 1000; // Taiwan keeps UTC+8 all year

  var DEFAULTS = {
    saved: "已於 {time}（臺北時間）儲存",
    saving: "儲存中…",
    unsaved: "有尚未儲存的變更，稍後自動儲存",
    offline: "離線：已暫存在本機，連線恢復後自動送出",
    retry: "暫時無法儲存：已暫存在本機，稍後自動重試",
    restored: "已還原您在這台裝置上暫存、尚未送出的內容，並自動送出。",
    failed: "未能儲存。",
    invalid: "未能儲存：請修正標示的欄位。",
    conflict: "此表單已被他人更新",
    conflictHelp: "在您開啟此頁之後，有人（另一個分頁或貴機關的其他聯絡人）儲存了這份參獎案。下列欄位與您的內容不同；在您選擇之前，不會覆蓋任何內容。",
    yours: "您的文字",
    theirs: "他人儲存的文字",
    keepMine: "保留我的版本",
    takeTheirs: "採用他人的版本",
    keptMine: "正在以您的版本儲存…",
    tookTheirs: "已採用他人儲存的版本。",
    ticked: "已勾選",
    notTicked: "未勾選",
    over: "超過 {over} 字",
    notSaved: "以下欄位尚未儲存：{fields}",
    count: "{label}：{used} / {limit}"
  };

  function msg(name, vars) {
    var key = "msg" + name.charAt(0).toUpperCase() + name.slice(1);
    var text = form.dataset[key] || DEFAULTS[name] || "";
    return text.replace(/\{(\w+)\}/g, function (all, v) {
      return vars && vars[v] !== undefined ? String(vars[v]) : all;
    });
  }

  var entryId = form.dataset.entryId || "";
  var autosaveUrl = form.dataset.autosaveUrl || "";
  var versionInput = form.querySelector('input[name="draft_version"]');
  var csrfInput = form.querySelector('input[name="csrf_token"]');
  var STORAGE_KEY = "award-entry-draft-" + entryId;

  // --- the form's values ------------------------------------------------------------------------

  function controls() {
    return Array.prototype.filter.call(form.elements, function (el) {
      if (!el.name || el.disabled || SKIP[el.name]) return false;
      if (el.tagName === "TEXTAREA" || el.tagName === "SELECT") return true;
      return el.tagName === "INPUT" && !/^(hidden|submit|button|reset|image|file|password)$/.test(el.type);
    });
  }

  function readValues() {
    var values = {};
    controls().forEach(function (el) {
      if (el.type === "checkbox") values[el.name] = el.checked;
      else if (el.type === "radio") { if (el.checked) values[el.name] = el.value; }
      else values[el.name] = el.value;
    });
    return values;
  }

  function writeValues(values) {
    controls().forEach(function (el) {
      if (!Object.prototype.hasOwnProperty.call(values, el.name)) return;
      var value = values[el.name];
      if (el.type === "checkbox") el.checked = !!value;
      else if (el.type === "radio") el.checked = el.value === value;
      else el.value = value === null || value === undefined ? "" : String(value);
    });
    counters.forEach(function (c) { updateCounter(c, false); });
  }

  function control(name) {
    return controls().filter(function (el) { return el.name === name; })[0] || null;
  }

  // As the server keeps text: "\r\n" and "\r" are one "\n"; single lines are trimmed.
  function canon(value) {
    if (typeof value === "boolean") return value;
    return String(value === null || value === undefined ? "" : value).replace(/\r\n?/g, "\n").trim();
  }

  function differs(a, b, names) {
    return (names || Object.keys(a)).some(function (name) { return canon(a[name]) !== canon(b[name]); });
  }

  // --- character counters -----------------------------------------------------------------------

  function countChars(text) {
    return Array.from(String(text).replace(/\r\n?/g, "\n")).length; // code points, as Python's len()
  }

  // One visually hidden live region announces a count after a pause in typing (a region updated on
  // every keystroke would make a screen reader talk over the typing).
  var announcer = document.createElement("p");
  announcer.className = "visually-hidden";
  announcer.setAttribute("aria-live", "polite");
  form.appendChild(announcer);
  var announceTimer = null;

  function labelText(el) {
    var label = el.id ? document.querySelector('label[for="' + cssEscape(el.id) + '"]') : null;
    return label ? label.textContent.trim() : el.name;
  }

  function cssEscape(value) {
    return window.CSS && CSS.escape ? CSS.escape(value) : String(value).replace(/["\\]/g, "\\$&");
  }

  var counters = Array.prototype.map.call(document.querySelectorAll("textarea[data-char-limit]"), function (area) {
    var out = area.id ? document.querySelector('.char-count[data-for="' + cssEscape(area.id) + '"]') : null;
    if (!out) {
      out = document.createElement("p");
      out.className = "char-count";
      if (area.id) out.setAttribute("data-for", area.id);
      area.insertAdjacentElement("afterend", out);
    }
    out.setAttribute("aria-live", "off"); // the announcer speaks instead (see above)
    return { area: area, out: out, limit: parseInt(area.getAttribute("data-char-limit"), 10) || 0,
             serverInvalid: area.getAttribute("aria-invalid") === "true", wasOver: null };
  });

  function updateCounter(c, typed) {
    var used = countChars(c.area.value);
    var over = c.limit > 0 && used > c.limit;
    c.out.textContent = used + " / " + c.limit + (over ? " — " + msg("over", { over: used - c.limit }) : "");
    c.out.classList.toggle("over-limit", over);
    c.area.classList.toggle("over-limit", over);
    if (over) c.area.setAttribute("aria-invalid", "true");
    else if (!c.serverInvalid && !c.area.hasAttribute("data-autosave-invalid")) c.area.removeAttribute("aria-invalid");
    if (typed) {
      var text = msg("count", { label: labelText(c.area), used: used, limit: c.limit }) +
        (over ? " — " + msg("over", { over: used - c.limit }) : "");
      clearTimeout(announceTimer);
      if (c.wasOver !== null && over !== c.wasOver) announcer.textContent = text; // crossing the limit: say so now
      else announceTimer = setTimeout(function () { announcer.textContent = text; }, 1500);
    }
    c.wasOver = over;
  }

  counters.forEach(function (c) { updateCounter(c, false); });

  // --- the status line next to the buttons --------------------------------------------------------

  var statusEl = document.getElementById("autosave-status");
  if (!statusEl) {
    statusEl = document.createElement("p");
    statusEl.id = "autosave-status";
    statusEl.className = "autosave-status hint";
    statusEl.setAttribute("role", "status");
    var firstButton = document.querySelector('[type="submit"][form="' + cssEscape(form.id) + '"]') ||
      form.querySelector('[type="submit"]');
    // Inside the buttons' container, so it stays beside them when that bar is sticky.
    var actions = firstButton ? firstButton.parentElement : null;
    if (actions && actions !== form && actions.tagName !== "FORM") actions.appendChild(statusEl);
    else if (firstButton) firstButton.insertAdjacentElement("afterend", statusEl);
    else form.appendChild(statusEl);
  }

  // "Unsaved changes" or "not saved: …" no longer hold once everything matches the saved text.
  function clearStaleStatus() {
    if (/^(pending|partial|error)$/.test(statusEl.getAttribute("data-state") || "")) setStatus("", "");
  }

  function setStatus(text, state) {
    if (statusEl.textContent !== text) statusEl.textContent = text;
    statusEl.setAttribute("data-state", state || "");
  }

  function taipei(iso) {
    var text = String(iso || "").replace(/(\.\d{3})\d+/, "$1");
    if (text && !/(Z|[+-]\d\d:?\d\d)$/.test(text)) text += "Z"; // the server speaks UTC
    var date = text ? new Date(text) : new Date();
    if (isNaN(date.getTime())) date = new Date();
    var t = new Date(date.getTime() + TAIPEI_OFFSET_MS);
    function pad(n) { return (n < 10 ? "0" : "") + n; }
    return {
      time: pad(t.getUTCHours()) + ":" + pad(t.getUTCMinutes()),
      full: t.getUTCFullYear() + "-" + pad(t.getUTCMonth() + 1) + "-" + pad(t.getUTCDate()) + " " +
        pad(t.getUTCHours()) + ":" + pad(t.getUTCMinutes()) + ":" + pad(t.getUTCSeconds())
    };
  }

  // --- the copy on this device --------------------------------------------------------------------

  var lastSent = null; // {base, values} of the save in flight: tells a later page load whether it landed

  function storeDraft(values) {
    try {
      localStorage.setItem(STORAGE_KEY, JSON.stringify({
        base: conflictOpen ? conflictBase : Number(versionInput.value), values: values,
        at: new Date().toISOString(), sent: lastSent
      }));
    } catch (e) { /* storage full or disabled: the autosave still works */ }
  }

  function readDraft() {
    try {
      var record = JSON.parse(localStorage.getItem(STORAGE_KEY) || "null");
      return record && typeof record.values === "object" ? record : null;
    } catch (e) { return null; }
  }

  function clearDraft() {
    try { localStorage.removeItem(STORAGE_KEY); } catch (e) { /* nothing to clear */ }
  }

  // --- autosave -----------------------------------------------------------------------------------

  // What the server has (as far as this page knows). On a page the server re-rendered after a refused
  // save, the fields hold the user's text rather than the saved one: then everything counts as changed.
  var refusedPage = !!document.getElementById("form-message");
  var saved = refusedPage ? {} : readValues();
  // The server's own conflict page (a full-form save that came too late) asks the user to choose;
  // autosave waits for that choice (the "Save draft" button) rather than make it for them.
  var paused = !!document.getElementById("conflict");
  var conflictOpen = false;
  var submitting = false;
  var inFlight = null;
  var again = false;
  var debounceTimer = null;
  var firstChangeAt = 0;
  var retryTimer = null;
  var retryIndex = 0;

  // Fields the server refused (400), or over their limit here, keep their text on the page and on this
  // device but are left out of saves until they change: one half-typed e-mail address or over-long
  // section must not hold back everything else. name -> {value: the refused text, messages: [...]}
  var held = {};
  var refusals = 0; // 400s in a row: a guard against resending for ever

  function has(object, name) { return Object.prototype.hasOwnProperty.call(object, name); }

  function changed(values, name) { return !has(saved, name) || canon(values[name]) !== canon(saved[name]); }

  function isDirty(values) {
    return Object.keys(values).some(function (name) { return changed(values, name); });
  }

  function counterFor(name) {
    return counters.filter(function (c) { return c.area.name === name; })[0] || null;
  }

  function overBy(values, name) {
    var c = counterFor(name);
    return c && c.limit > 0 ? Math.max(0, countChars(values[name]) - c.limit) : 0;
  }

  // A held field changed back to the saved text needs no saving: forget the refusal and its marking.
  function settleHeld(values) {
    Object.keys(held).forEach(function (name) {
      if (!changed(values, name)) { delete held[name]; clearFieldError(name); }
    });
  }

  function isHeld(values, name) {
    if (typeof values[name] === "boolean") return false;
    return (has(held, name) && held[name].value === canon(values[name])) || overBy(values, name) > 0;
  }

  function sendable(values) {
    return Object.keys(values).filter(function (name) { return changed(values, name) && !isHeld(values, name); });
  }

  function heldBack(values) {
    return Object.keys(values).filter(function (name) { return changed(values, name) && isHeld(values, name); });
  }

  function describeHeld(values) {
    return heldBack(values).map(function (name) {
      var field = control(name);
      var why = overBy(values, name) > 0 ? msg("over", { over: overBy(values, name) })
        : (held[name] ? held[name].messages.join(" ") : "");
      return (field ? labelText(field) : name) + (why ? "（" + why + "）" : "");
    }).join("；");
  }

  // The status after a save (time given) or instead of one, naming the fields not saved.
  function showSavedOrHeld(values, time) {
    var list = describeHeld(values);
    var text = time ? msg("saved", { time: time }) : "";
    if (list) text = (text ? text + " " : "") + msg("notSaved", { fields: list });
    setStatus(text, list ? (time ? "partial" : "error") : "saved");
  }

  function schedule(delay) {
    var now = Date.now();
    if (!firstChangeAt) firstChangeAt = now;
    clearTimeout(debounceTimer);
    var wait = Math.max(0, Math.min(delay === undefined ? DEBOUNCE_MS : delay, firstChangeAt + MAX_WAIT_MS - now));
    debounceTimer = setTimeout(function () { save(); }, wait);
  }

  function retryLater(text) {
    setStatus(text, "offline");
    clearTimeout(retryTimer);
    var delay = RETRY_MS[Math.min(retryIndex, RETRY_MS.length - 1)];
    retryIndex += 1;
    retryTimer = setTimeout(function () { save(); }, delay);
  }

  function buildBody(values) {
    var body = new URLSearchParams();
    if (csrfInput) body.set("csrf_token", csrfInput.value);
    body.set("draft_version", versionInput.value);
    var sent = {};
    var names = sendable(values);
    Object.keys(values).forEach(function (name) {
      var value = values[name];
      if (typeof value === "boolean") { // always sent as it is: absent means "not ticked"
        var box = control(name);
        if (value) body.set(name, box && box.value && box.value !== "on" ? box.value : "y");
        sent[name] = value;
      } else if (names.indexOf(name) >= 0) {
        body.set(name, value);
        sent[name] = value;
      }
    });
    return { body: body, sent: sent };
  }

  function post(body, keepalive) {
    var text = body.toString();
    var init = {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/x-www-form-urlencoded;charset=UTF-8", "Accept": "application/json",
                 "X-CSRFToken": csrfInput ? csrfInput.value : "", "X-Requested-With": "fetch" },
      body: text,
      // keepalive lets a save started as the page closes finish; small bodies only (64 KiB quota)
      keepalive: !!keepalive && text.length < KEEPALIVE_MAX
    };
    return fetch(autosaveUrl, init);
  }

  function save(options) {
    clearTimeout(debounceTimer);
    debounceTimer = null;
    firstChangeAt = 0;
    if (paused || conflictOpen || submitting || !autosaveUrl || !versionInput) return Promise.resolve();
    if (inFlight) { again = true; return inFlight; }
    var values = readValues();
    settleHeld(values);
    if (!isDirty(values)) { clearDraft(); clearStaleStatus(); return Promise.resolve(); }
    storeDraft(values);
    if (!sendable(values).length) { showSavedOrHeld(values, null); return Promise.resolve(); }
    if (navigator.onLine === false) { retryLater(msg("offline")); return Promise.resolve(); }
    clearTimeout(retryTimer);
    var built = buildBody(values);
    var keepalive = !(options && options.keepalive === false);
    lastSent = { base: Number(versionInput.value), values: built.sent };
    storeDraft(values);
    setStatus(msg("saving"), "saving");
    inFlight = post(built.body, keepalive)
      .then(function (response) { return handle(response, values, built.sent); },
            function () { lastSent = null; retryLater(msg("offline")); })
      .then(done, function (error) { done(); throw error; });
    return inFlight;
  }

  function done() {
    inFlight = null;
    if (again) { again = false; if (!conflictOpen && sendable(readValues()).length) schedule(300); }
  }

  function handle(response, values, sent) {
    return response.json().then(function (data) { return data; }, function () { return null; }).then(function (data) {
      if (response.ok && data && data.ok) {
        lastSent = null;
        retryIndex = 0;
        refusals = 0;
        versionInput.value = String(data.draft_version);
        saved = Object.assign({}, saved, sent);
        Object.keys(sent).forEach(function (name) { delete held[name]; clearFieldError(name); });
        var now = readValues();
        settleHeld(now);
        if (sendable(now).length) { storeDraft(now); schedule(); } else if (isDirty(now)) storeDraft(now);
        else clearDraft();
        var when = taipei(data.saved_at);
        showSavedOrHeld(now, when.time);
        var last = document.getElementById("last-saved");
        if (last) last.textContent = when.full;
        return;
      }
      lastSent = null;
      if (response.status === 409 && data && data.conflict) { openConflict(data, readValues()); return; }
      if (response.status === 400 && data && data.errors) { refused(data, values, sent); return; }
      if (response.status >= 400 && response.status < 500 && data) { // session ended, closed, not allowed
        setStatus((data.message || msg("failed")), "error");
        return;
      }
      retryLater(msg("retry")); // 5xx, a proxy's page, anything unexpected: try again later
    });
  }

  // --- refused input (400): hold those fields back, save the rest -----------------------------------

  function clearFieldError(name) {
    var field = control(name);
    if (!field || !field.hasAttribute("data-autosave-invalid")) return;
    field.removeAttribute("data-autosave-invalid");
    var c = counterFor(name);
    if (c) updateCounter(c, false);
    else field.removeAttribute("aria-invalid");
  }

  function refused(data, values, sent) {
    var newlyHeld = 0;
    Object.keys(data.errors).forEach(function (name) {
      if (!has(sent, name) || typeof values[name] === "boolean") return;
      held[name] = { value: canon(values[name]), messages: [].concat(data.errors[name]).map(String) };
      newlyHeld += 1;
      var field = control(name);
      if (field) { field.setAttribute("aria-invalid", "true"); field.setAttribute("data-autosave-invalid", ""); }
    });
    refusals += 1;
    var now = readValues();
    if (newlyHeld && refusals < 4 && sendable(now).length) { schedule(0); return; } // the rest, at once
    if (newlyHeld) { showSavedOrHeld(now, null); return; }
    setStatus(data.message || msg("invalid"), "error"); // refused for a reason not tied to a field we sent
  }

  // --- conflict: someone else saved first -----------------------------------------------------------

  var panel = null;
  var conflictBase = null; // while the panel is open: the version the fields' text was based on

  function openConflict(data, mine) {
    var theirs = data.server || {};
    var names = Object.keys(theirs).filter(function (name) {
      return Object.prototype.hasOwnProperty.call(mine, name) && canon(mine[name]) !== canon(theirs[name]);
    });
    if (!names.length) { // they saved what we have: nothing to choose, carry on from their version
      versionInput.value = String(data.draft_version);
      saved = Object.assign({}, mine, theirs);
      setStatus(msg("saved", { time: taipei(null).time }), "saved");
      if (isDirty(readValues())) schedule(300); else clearDraft();
      return;
    }
    conflictBase = data.base !== undefined ? Number(data.base) : Number(versionInput.value);
    conflictOpen = true;
    clearTimeout(debounceTimer);
    clearTimeout(retryTimer);
    setStatus(msg("conflict"), "conflict");
    closePanel();

    panel = document.createElement("section");
    panel.id = "conflict-panel";
    panel.className = "error-summary conflict-panel";
    panel.tabIndex = -1;
    panel.setAttribute("aria-labelledby", "conflict-panel-heading");
    var alert = el("div", { role: "alert" });
    alert.appendChild(el("h2", { id: "conflict-panel-heading" }, msg("conflict")));
    alert.appendChild(el("p", {}, data.message || msg("conflictHelp")));
    panel.appendChild(alert);

    names.forEach(function (name) {
      var field = control(name);
      var box = el("div", { "class": "conflict-field", "data-field": name });
      box.appendChild(el("h3", { "class": "h3" }, field ? labelText(field) : name));
      var grid = el("div", { "class": "grid-2" });
      grid.appendChild(side("mine", name, mine[name], msg("yours")));
      grid.appendChild(side("theirs", name, theirs[name], msg("theirs")));
      box.appendChild(grid);
      panel.appendChild(box);
    });

    var actions = el("div", { "class": "actions" });
    var keep = el("button", { type: "button", id: "conflict-keep-mine" }, msg("keepMine"));
    var take = el("button", { type: "button", id: "conflict-take-theirs", "class": "button-secondary" },
                  msg("takeTheirs"));
    actions.appendChild(keep);
    actions.appendChild(take);
    panel.appendChild(actions);

    keep.addEventListener("click", function () {
      versionInput.value = String(data.draft_version);
      saved = Object.assign({}, theirs);
      finishConflict(names, msg("keptMine"), "saving");
      save();
    });
    take.addEventListener("click", function () {
      versionInput.value = String(data.draft_version);
      writeValues(theirs);
      saved = Object.assign({}, theirs);
      settleHeld(readValues());
      clearDraft();
      finishConflict(names, msg("tookTheirs"), "saved");
    });

    form.parentNode.insertBefore(panel, form);
    panel.focus();
  }

  function side(which, name, value, caption) {
    var wrap = el("div", { "class": "field conflict-" + which });
    var id = "conflict-" + which + "-" + name;
    if (typeof value === "boolean") {
      wrap.appendChild(el("p", { id: id }, caption + "：" + (value ? msg("ticked") : msg("notTicked"))));
      return wrap;
    }
    var text = value === null || value === undefined ? "" : String(value);
    wrap.appendChild(el("label", { "for": id }, caption));
    var rows = Math.min(10, Math.max(2, text.split("\n").length + 1));
    var area = el("textarea", { id: id, readonly: "", rows: String(rows) });
    area.value = text;
    wrap.appendChild(area);
    return wrap;
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) { node.setAttribute(name, attrs[name]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function closePanel() {
    if (panel && panel.parentNode) panel.parentNode.removeChild(panel);
    panel = null;
  }

  function finishConflict(names, text, state) {
    conflictOpen = false;
    closePanel();
    setStatus(text, state);
    var first = control(names[0]);
    if (first && first.focus) first.focus();
  }

  // --- events -------------------------------------------------------------------------------------

  function onEdit(event) {
    var target = event.target;
    if (!target || target.form !== form || !target.name || SKIP[target.name]) return;
    var c = counters.filter(function (x) { return x.area === target; })[0];
    if (c) updateCounter(c, event.type === "input");
    var values = readValues();
    storeDraft(values);
    if (paused || conflictOpen || submitting) return;
    settleHeld(values);
    if (!isDirty(values)) { clearStaleStatus(); return; } // typed back to what is saved
    if (navigator.onLine === false) setStatus(msg("offline"), "offline");
    else if (!inFlight) setStatus(msg("unsaved"), "pending");
    schedule();
  }

  document.addEventListener("input", onEdit);
  document.addEventListener("change", onEdit);

  window.addEventListener("online", function () {
    retryIndex = 0;
    if (isDirty(readValues())) save();
  });
  window.addEventListener("offline", function () {
    if (!conflictOpen && !paused && isDirty(readValues())) setStatus(msg("offline"), "offline");
  });

  function flushOnLeave() {
    if (paused || conflictOpen || submitting) return;
    if (!isDirty(readValues())) return;
    if (inFlight) { again = true; return; } // keepalive: the save in flight finishes anyway
    save({ keepalive: true });
  }
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") flushOnLeave();
  });
  window.addEventListener("pagehide", flushOnLeave);

  // "Save draft" / "Save and submit" post the whole form. Let a save in flight finish first, so the
  // form carries the new draft_version rather than collide with our own autosave.
  form.addEventListener("submit", function (event) {
    clearTimeout(debounceTimer);
    clearTimeout(retryTimer);
    if (inFlight) {
      event.preventDefault();
      var submitter = event.submitter || null;
      var resubmit = function () {
        if (conflictOpen) return;
        if (form.requestSubmit) form.requestSubmit(submitter);
        else if (submitter) submitter.click();
        else form.submit();
      };
      inFlight.then(resubmit, resubmit);
      return;
    }
    submitting = true; // no autosave while the page is leaving with the whole form
    window.setTimeout(function () { submitting = false; }, 30000); // the post failed and the page stayed
  });

  // For uploads.js: wait until what was typed has been saved (or kept on this device) before leaving.
  window.awardEntryForm = {
    flush: function () {
      if (paused || conflictOpen) return Promise.resolve();
      var pending = inFlight || Promise.resolve();
      return pending.then(function () { return isDirty(readValues()) ? save() : undefined; });
    }
  };

  // --- on load: an unsent copy on this device? -----------------------------------------------------

  // A lasting notice above the form (the status line below moves on to "saving", "saved" …).
  function showRestored() {
    var note = document.getElementById("draft-restored");
    if (!note) {
      note = el("p", { id: "draft-restored", "class": "flash flash-success", role: "status" });
      form.parentNode.insertBefore(note, form);
    }
    note.textContent = msg("restored");
  }

  (function restore() {
    var record = readDraft();
    if (!record || paused || !versionInput) return;
    var server = readValues();
    var version = Number(versionInput && versionInput.value);
    var names = Object.keys(record.values).filter(function (n) {
      return Object.prototype.hasOwnProperty.call(server, n);
    });
    if (!differs(record.values, server, names)) { clearDraft(); return; }
    var base = Number(record.base);
    // The copy's last save may have reached the server after all (the page closed before the answer).
    var sent = record.sent;
    if (base !== version && sent && Number(sent.base) + 1 === version && sent.values &&
        !differs(sent.values, server, Object.keys(sent.values))) base = version;
    var mine = {};
    names.forEach(function (n) { mine[n] = record.values[n]; });
    if (base === version) {
      writeValues(mine);
      showRestored();
      save();
    } else {
      // Saved elsewhere since this copy was made: put the copy back and let the person choose, as
      // on a conflict (the fields then hold "mine", the panel shows both).
      writeValues(mine);
      openConflict({ draft_version: version, server: server, base: base }, readValues());
    }
  })();
})();
