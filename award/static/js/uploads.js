/*
 * Resumable attachment uploads (tus 1.0) for links that drop: Penghu, Kinmen, Matsu, Green Island,
 * Orchid Island, Liuqiu. Small chunks, so a drop loses little; retries through long drops; a reloaded
 * page or a woken laptop resumes from the last stored byte once the same file is chosen again.
 *
 * Loaded with <script defer>. The vendored tus-js-client (85 KB) is fetched only when needed: when
 * the person reaches for the file input (or chooses a file), from ../vendor/tus-js-client/tus.min.js
 * beside this script (or #tus-upload's data-tus-src); a page where nothing is uploaded never pays for
 * it. If window.tus is already there (a <script> tag for it), that one is used. Without script, or in
 * a browser tus does not support, the plain multipart form (#attachment-form) stays, and works.
 *
 * Server contract: <div id="tus-upload" data-endpoint data-entry-id data-max-bytes hidden> holding
 * #tus-file, #tus-progress, #tus-status. tus endpoint: CSRF token in X-CSRFToken, metadata entry_id
 * and filename; the finishing response carries X-Award-Attachment-Id; a refused file gets 422 with
 * X-Award-Error (URL-quoted) and a JSON body {ok: false, message}.
 *
 * Texts: data-msg-* attributes on #tus-upload, translated by templates/entries/_attachments.html
 * (data-msg-too-big is read as msg("tooBig"), and so on); a text missing there falls back to the
 * Traditional Chinese DEFAULTS below. Add a new message to both places.
 */
(function () {
  "use strict";

  var box = document.getElementById("tus-upload");
  // What tus-js-client needs (it checks the same before it uploads): slicing files, XHR, storage.
  var capable = !!(window.XMLHttpRequest && window.Blob && Blob.prototype.slice && window.Promise &&
                   window.localStorage !== undefined);
  if (!box || !capable || (window.tus && !window.tus.isSupported)) return;
  var script = document.currentScript;
  var tusSrc = box.dataset.tusSrc ||
    (script && script.src ? new URL("../vendor/tus-js-client/tus.min.js", script.src).href : "");
  if (!window.tus && !tusSrc) return;

  var CHUNK_SIZE = 1024 * 1024; // 1 MiB: a dropped link loses at most this much
  var RETRY_DELAYS = [0, 1000, 3000, 5000, 10000, 20000, 30000, 60000];
  var LATER_MS = 30000; // after tus's own retries: try again every 30 s while the page is open
  var MB = 1024 * 1024;

  var DEFAULTS = {
    starting: "準備上傳…",
    progress: "上傳中：{percent}%（{done} / {total} MB）",
    resuming: "從上次中斷處繼續上傳…",
    offline: "離線：上傳已暫停，連線恢復後會從中斷處自動繼續（已傳 {done} / {total} MB）",
    online: "已恢復連線，繼續上傳…",
    retry: "連線不穩，{seconds} 秒後從中斷處重試…",
    done: "上傳完成，正在更新附件清單…",
    tooBig: "檔案太大：每個檔案最多 {max} MB。",
    failed: "上傳失敗：{message}",
    failedUnknown: "伺服器未接受這個檔案。",
    pending: "有未完成的上傳（{name}）：再選一次同一個檔案，就會從中斷處繼續。",
    cancel: "取消上傳",
    cancelled: "已取消上傳。",
    loadFailed: "無法載入上傳程式（連線中斷？）。連線恢復後請再選一次檔案。"
  };

  function msg(name, vars) {
    var key = "msg" + name.charAt(0).toUpperCase() + name.slice(1);
    var text = box.dataset[key] || DEFAULTS[name] || "";
    return text.replace(/\{(\w+)\}/g, function (all, v) {
      return vars && vars[v] !== undefined ? String(vars[v]) : all;
    });
  }

  var input = document.getElementById("tus-file");
  var bar = document.getElementById("tus-progress");
  var statusEl = document.getElementById("tus-status");
  var fallback = document.getElementById("attachment-form");
  var endpoint = box.dataset.endpoint;
  var entryId = box.dataset.entryId || "";
  var maxBytes = Number(box.dataset.maxBytes) || 0;
  if (!input || !endpoint) return;

  box.hidden = false;
  if (fallback) fallback.hidden = true;

  var cancelButton = document.createElement("button");
  cancelButton.type = "button";
  cancelButton.id = "tus-cancel";
  cancelButton.className = "button-small button-secondary";
  cancelButton.textContent = msg("cancel");
  showCancel(false);
  (statusEl || input).insertAdjacentElement("afterend", cancelButton);

  var upload = null;
  var fingerprint = null;
  var attachmentId = null;
  var waitingForOnline = false;
  var laterTimer = null;
  var lastSpoken = { percent: -100, at: 0 };
  var bytes = { done: 0, total: 0 };

  // (the stylesheet gives buttons a display, which beats the hidden attribute)
  function showCancel(on) {
    cancelButton.hidden = !on;
    cancelButton.style.display = on ? "" : "none";
  }

  function csrfToken() {
    var field = document.querySelector('#attachment-form input[name="csrf_token"]') ||
      document.querySelector('input[name="csrf_token"]');
    return field ? field.value : "";
  }

  function setStatus(text, state) {
    if (!statusEl) return;
    if (statusEl.textContent !== text) statusEl.textContent = text;
    statusEl.setAttribute("data-state", state || "");
  }

  function mb(n) { return (n / MB).toFixed(1); }

  // --- a previous upload not finished? (the page was closed, the laptop slept) ----------------------

  var PREFIX = "tus::award-" + entryId + "-";

  function storedUploads(prefix) {
    var found = [];
    try {
      for (var i = 0; i < localStorage.length; i++) {
        var key = localStorage.key(i);
        if (key && key.indexOf(prefix) === 0) found.push(key);
      }
    } catch (e) { /* storage disabled */ }
    return found;
  }

  (function announcePending() {
    var names = storedUploads(PREFIX).map(function (key) {
      try {
        var meta = (JSON.parse(localStorage.getItem(key)) || {}).metadata || {};
        return meta.filename || "";
      } catch (e) { return ""; }
    }).filter(Boolean);
    if (names.length) setStatus(msg("pending", { name: names.join("、") }), "pending");
  })();

  function forgetStored() {
    if (!fingerprint) return;
    storedUploads("tus::" + fingerprint + "::").forEach(function (key) {
      try { localStorage.removeItem(key); } catch (e) { /* gone already */ }
    });
  }

  // --- the upload -----------------------------------------------------------------------------------

  function reset() {
    upload = null;
    waitingForOnline = false;
    clearTimeout(laterTimer);
    input.disabled = false;
    input.value = "";
    showCancel(false);
  }

  function serverMessage(response) {
    if (!response) return "";
    var header = response.getHeader("X-Award-Error");
    if (header) {
      try { return decodeURIComponent(header.replace(/\+/g, " ")); } catch (e) { return header; }
    }
    try {
      var body = JSON.parse(response.getBody() || "null");
      if (body && body.message) return String(body.message);
    } catch (e) { /* not JSON */ }
    return "";
  }

  function restart() {
    if (!upload) return;
    clearTimeout(laterTimer);
    waitingForOnline = false;
    var current = upload;
    // abort() stops a pending retry timer too, so two request chains never run at once
    current.abort(false).then(function () { if (upload === current) current.start(); },
                              function () { if (upload === current) current.start(); });
  }

  // --- the tus client, fetched on demand ------------------------------------------------------------

  var loading = null;

  function loadTus() {
    if (window.tus) return Promise.resolve(window.tus);
    if (loading) return loading;
    loading = new Promise(function (resolve, reject) {
      var tag = document.createElement("script");
      tag.src = tusSrc;
      tag.async = true;
      tag.onload = function () { window.tus ? resolve(window.tus) : reject(new Error("no tus")); };
      tag.onerror = function () {
        if (tag.parentNode) tag.parentNode.removeChild(tag);
        reject(new Error("tus-js-client did not load"));
      };
      document.head.appendChild(tag);
    });
    loading.then(null, function () { loading = null; }); // try again next time
    return loading;
  }

  function chosen(file) {
    if (maxBytes && file.size > maxBytes) {
      setStatus(msg("tooBig", { max: mb(maxBytes) }), "error");
      input.value = "";
      return;
    }
    input.disabled = true;
    setStatus(msg("starting"), "uploading");
    loadTus().then(function (tus) {
      if (!tus.isSupported) { // an old browser after all: back to the plain form
        box.hidden = true;
        if (fallback) fallback.hidden = false;
        return;
      }
      start(file, tus);
    }, function () {
      input.disabled = false;
      input.value = "";
      setStatus(msg("loadFailed"), "error");
    });
  }

  function start(file, tus) {
    if (upload) upload.abort(false);
    attachmentId = null;
    bytes = { done: 0, total: file.size };
    lastSpoken = { percent: -100, at: 0 };
    fingerprint = ["award", entryId, file.name, file.type, file.size, file.lastModified, endpoint].join("-");
    input.disabled = true;
    showCancel(true);
    if (bar) bar.value = 0;
    setStatus(msg("starting"), "uploading");

    var current = new tus.Upload(file, {
      endpoint: endpoint,
      chunkSize: CHUNK_SIZE,
      retryDelays: RETRY_DELAYS,
      metadata: { entry_id: String(entryId), filename: file.name },
      headers: { "X-CSRFToken": csrfToken() },
      storeFingerprintForResuming: true,
      removeFingerprintOnSuccess: true,
      fingerprint: function () { return Promise.resolve(fingerprint); },
      onProgress: function (sent, total) { progress(sent, total); },
      onAfterResponse: function (request, response) {
        var id = response.getHeader("X-Award-Attachment-Id");
        if (id) attachmentId = id;
      },
      onSuccess: function () { if (upload === current) finished(); },
      onError: function (error) { if (upload === current) failed(error); }
    });
    upload = current;
    current.findPreviousUploads().then(function (previous) {
      if (upload !== current) return;
      if (previous.length) {
        previous.sort(function (a, b) { return String(b.creationTime).localeCompare(String(a.creationTime)); });
        current.resumeFromPreviousUpload(previous[0]);
        setStatus(msg("resuming"), "uploading");
      }
      if (navigator.onLine === false) { offline(); return; }
      current.start();
    }, function () { if (upload === current) current.start(); });
  }

  function progress(sent, total) {
    bytes = { done: sent, total: total };
    var percent = total ? Math.floor((sent / total) * 100) : 0;
    if (bar) bar.value = percent;
    // The status is a live region: speak every 10 % or every 5 s, not on every chunk.
    var now = Date.now();
    if (percent >= lastSpoken.percent + 10 || now - lastSpoken.at > 5000 || percent === 100) {
      lastSpoken = { percent: percent, at: now };
      setStatus(msg("progress", { percent: percent, done: mb(sent), total: mb(total) }), "uploading");
    }
  }

  function finished() {
    if (bar) bar.value = 100;
    setStatus(msg("done"), "done");
    showCancel(false);
    forgetStored();
    // Reload so the server-rendered list shows the file; first let the entry form save what was typed.
    var form = window.awardEntryForm;
    var saving = form && form.flush ? form.flush() : Promise.resolve();
    var timeout = new Promise(function (resolve) { setTimeout(resolve, 5000); });
    var go = function () {
      var target = window.location.pathname + (attachmentId ? "?uploaded=" + encodeURIComponent(attachmentId) +
        "#attachment-" + encodeURIComponent(attachmentId) : "?uploaded=1#attachments");
      window.location.assign(target); // a GET, even if this page was the answer to a POST
    };
    Promise.race([saving, timeout]).then(go, go);
  }

  function offline() {
    waitingForOnline = true;
    setStatus(msg("offline", { done: mb(bytes.done), total: mb(bytes.total) }), "offline");
  }

  function failed(error) {
    var response = error && error.originalResponse;
    var status = response ? response.getStatus() : 0;
    if (status >= 400 && status < 500 && status !== 409 && status !== 423 && status !== 429 && status !== 460) {
      // Refused (422: type, damaged file …; 413: too large; 403: session or token): tell why, do not
      // retry. After a 401/403 the bytes stay on the server: log in again, choose the file, it resumes.
      var message = serverMessage(response) || msg("failedUnknown");
      if (status !== 401 && status !== 403) forgetStored();
      reset();
      if (bar) bar.value = 0;
      setStatus(msg("failed", { message: message }), "error");
      return;
    }
    if (navigator.onLine === false) { offline(); return; } // the "online" event resumes it
    // Online but failing (server restarting, link flapping): tus's own retries are used up.
    clearTimeout(laterTimer);
    setStatus(msg("retry", { seconds: Math.round(LATER_MS / 1000) }), "offline");
    laterTimer = setTimeout(restart, LATER_MS);
  }

  input.addEventListener("change", function () {
    var file = input.files && input.files[0];
    if (file) chosen(file);
  });
  // Fetch the client once the upload box comes into view, or the file input is reached for (while the
  // file dialog is open): by the time a file is chosen it is usually there, even if the link drops.
  function preload() { loadTus().then(null, function () { /* tried again on the file's choice */ }); }
  ["pointerdown", "focus", "dragenter"].forEach(function (type) { input.addEventListener(type, preload); });
  if (window.IntersectionObserver && !window.tus) {
    var watcher = new IntersectionObserver(function (seen) {
      if (seen.some(function (e) { return e.isIntersecting; })) { watcher.disconnect(); preload(); }
    });
    watcher.observe(box);
  }

  cancelButton.addEventListener("click", function () {
    var current = upload;
    reset();
    if (bar) bar.value = 0;
    setStatus(msg("cancelled"), "");
    if (current) current.abort(true).then(null, function () { /* the server cleans up expired uploads */ });
    forgetStored();
  });

  window.addEventListener("offline", function () {
    if (upload) offline(); // tus's request fails by itself; we resume on "online"
  });
  window.addEventListener("online", function () {
    if (!upload) return;
    setStatus(msg("online"), "uploading");
    restart();
  });
})();
