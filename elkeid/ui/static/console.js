// Elkeid console: the live feed (Server-Sent Events) and CSRF-protected fetches.
// Every value from the server is written with textContent, never as HTML; the one exception is
// a page re-reading its own [data-fragment] parts from the server (escaped there, as on a reload).
"use strict";
(function () {
  var handlers = {};
  var source = null;

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  // A mutating fetch carries the session's CSRF token in X-CSRF-Token.
  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: {"X-CSRF-Token": csrfToken(), "Content-Type": "application/json"},
      body: JSON.stringify(body || {})
    });
  }

  // Register a handler for a live topic; the feed opens once the page has loaded.
  function on(topic, handler) {
    (handlers[topic] = handlers[topic] || []).push(handler);
  }

  function showState(text, link) {
    var el = document.querySelector("[data-live-state]");
    if (!el) { return; }
    el.textContent = text;
    if (link) {
      var a = document.createElement("a");
      a.href = link.href;
      a.textContent = link.text;
      el.appendChild(document.createTextNode(" "));
      el.appendChild(a);
    }
    el.hidden = false;
    el.dataset.liveStatus = link ? "ended" : text;
  }

  function connect() {
    var topics = Object.keys(handlers);
    if (!topics.length || !window.EventSource) { return; }
    source = new EventSource("/ui/live?topics=" + encodeURIComponent(topics.join(",")));
    source.onopen = function () { showState("live"); };
    source.onerror = function () {
      if (source.readyState === EventSource.CLOSED) {
        // The server refused to reconnect (401): the session is over.
        showState("session ended", {href: "/login?next=" + encodeURIComponent(location.pathname + location.search), text: "log in again"});
      } else {
        showState("reconnecting…");
      }
    };
    topics.forEach(function (topic) {
      source.addEventListener(topic, function (event) {
        var data;
        try { data = JSON.parse(event.data); } catch (e) { return; }
        handlers[topic].forEach(function (h) { h(data); });
      });
    });
  }

  // --- hosts: status badges, counters, "new hosts" notice --------------------------
  var STATUS_LABELS = {"online": "online", "offline": "offline", "never-seen": "never connected", "revoked": "revoked"};
  var numbers = new Intl.NumberFormat("en-US");
  var knownHosts = null;

  function hostsHandler(data) {
    var badges = {};
    document.querySelectorAll("[data-host-status]").forEach(function (el) {
      var id = el.getAttribute("data-host-status");
      (badges[id] = badges[id] || []).push(el);
    });
    if (data.snapshot || knownHosts === null) { knownHosts = {}; }
    var newcomer = false;
    (data.items || []).forEach(function (item) {
      if (!(item.id in knownHosts) && !data.snapshot) { newcomer = true; }
      knownHosts[item.id] = true;
      var status = /^[a-z-]+$/.test(item.status) ? item.status : "offline";
      (badges[item.id] || []).forEach(function (el) {
        el.textContent = STATUS_LABELS[status] || status;
        el.className = "status status-" + status;
      });
    });
    var counts = data.counts || {};
    document.querySelectorAll("[data-count]").forEach(function (el) {
      var key = el.getAttribute("data-count");
      if (typeof counts[key] === "number") { el.textContent = numbers.format(counts[key]); }
    });
    var notice = document.querySelector("[data-live-new]");
    if (newcomer && notice) { notice.hidden = false; }
  }

  // --- tasks: status, progress and counts; the results table is re-read when they move ---
  var TASK_ID = /^[0-9a-f]{32}$/;
  var TASK_STATUS = /^[a-z_]+$/;
  var DONE_STATES = ["succeeded", "failed", "timed_out", "cancelled"];
  var taskCounts = {};
  var refreshTimer = null;
  var REFRESH_GAP = 1500;

  function taskKey(status, counts) { return JSON.stringify([status, counts]); }

  // What the page was rendered with, so a snapshot that differs refreshes it.
  function knownTasks() {
    document.querySelectorAll("[data-task][data-task-state]").forEach(function (el) {
      try {
        var state = JSON.parse(el.getAttribute("data-task-state"));
        taskCounts[el.getAttribute("data-task")] = taskKey(state.status, state.counts);
      } catch (e) { /* a malformed attribute only costs one refresh */ }
    });
  }

  function tasksHandler(data) {
    (data.items || []).forEach(function (item) {
      if (!TASK_ID.test(item.id) || !item.counts) { return; }
      var key = taskKey(item.status, item.counts);
      var moved = item.id in taskCounts && taskCounts[item.id] !== key;
      taskCounts[item.id] = key;
      var scopes = document.querySelectorAll('[data-task="' + item.id + '"]');
      scopes.forEach(function (scope) {
        scope.querySelectorAll("[data-task-count]").forEach(function (el) {
          var n = item.counts[el.getAttribute("data-task-count")];
          if (typeof n === "number") { el.textContent = numbers.format(n); }
        });
        var done = DONE_STATES.reduce(function (sum, s) { return sum + (item.counts[s] || 0); }, 0);
        scope.querySelectorAll("[data-task-progress]").forEach(function (el) {
          el.setAttribute("max", String(item.total));
          el.setAttribute("value", String(done));
        });
        scope.querySelectorAll("[data-task-done]").forEach(function (el) { el.textContent = numbers.format(done); });
        if (TASK_STATUS.test(item.status)) {
          scope.querySelectorAll("[data-task-status]").forEach(function (el) {
            el.textContent = item.status;
            el.className = "task-status task-" + item.status;
          });
          if (item.status !== "running") {
            scope.querySelectorAll("[data-task-running]").forEach(function (el) { el.hidden = true; });
          }
          if (typeof item.finished_at === "number") {
            var at = new Date(item.finished_at * 1000).toISOString().slice(0, 19).replace("T", " ") + " UTC";
            scope.querySelectorAll("[data-task-finished]").forEach(function (el) { el.textContent = at; });
          }
        }
      });
      document.querySelectorAll('[data-task-ref="' + item.id + '"][data-task-count]').forEach(function (el) {
        var n = item.counts[el.getAttribute("data-task-count")];
        if (typeof n === "number") { el.textContent = numbers.format(n); }
      });
      if (moved && document.querySelector('[data-fragment-task="' + item.id + '"]')) {
        scheduleRefresh();
      }
    });
  }

  // Re-read this page and swap in its fresh [data-fragment] parts: the server's own escaped
  // rendering, as a reload would show. Marked as background, so it does not keep the session alive.
  function scheduleRefresh() {
    if (refreshTimer) { return; }
    refreshTimer = setTimeout(function () {
      fetch(location.href, {credentials: "same-origin", headers: {"X-Elkeid-Background": "1"}})
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) {
          refreshTimer = null;
          if (html === null) { return; }
          var fresh = new DOMParser().parseFromString(html, "text/html");
          document.querySelectorAll("[data-fragment]").forEach(function (el) {
            var name = el.getAttribute("data-fragment");
            var next = fresh.querySelector('[data-fragment="' + name.replace(/[^a-z-]/g, "") + '"]');
            if (next) { el.replaceWith(document.importNode(next, true)); }
          });
        })
        .catch(function () { refreshTimer = null; });
    }, REFRESH_GAP);
  }

  // --- alerts: the list or one alert re-reads its parts when the feed reports a change --
  var alertsConnected = false;
  function alertsHandler(data) {
    if (data.snapshot) {
      // A reconnect: events may have been missed while the stream was down.
      if (alertsConnected) { scheduleRefresh(); }
      alertsConnected = true;
      return;
    }
    var one = document.querySelector("[data-alert-id]");
    if (one) {
      var id = one.getAttribute("data-alert-id");
      var mine = data.kind === "repeat" ? data.dedup_key === one.getAttribute("data-dedup-key")
               : data.kind === "stored" ? (data.ids || []).map(String).indexOf(id) >= 0  // changed in the store
               : String(data.id) === id;
      if (!mine) { return; }
    }
    scheduleRefresh();
  }

  // --- forms: radio groups that show their chosen part; "tick all" boxes -------------
  function switches() {
    document.querySelectorAll("[data-switch]").forEach(function (group) {
      var name = group.getAttribute("data-switch");
      function update() {
        var checked = group.querySelector('input[name="' + name + '"]:checked');
        group.querySelectorAll("[data-when]").forEach(function (part) {
          part.hidden = !checked || part.getAttribute("data-when") !== name + "=" + checked.value;
        });
      }
      group.addEventListener("change", update);
      update();
    });
    document.querySelectorAll("[data-check-all]").forEach(function (box) {
      var name = box.getAttribute("data-check-all");
      box.addEventListener("change", function () {
        document.querySelectorAll('input[type="checkbox"][name="' + name + '"]').forEach(function (el) {
          el.checked = box.checked;
        });
      });
    });
  }

  window.elkeid = {post: post, on: on, csrfToken: csrfToken};

  document.addEventListener("DOMContentLoaded", function () {
    if (document.querySelector('[data-live~="hosts"]')) { on("hosts", hostsHandler); }
    if (document.querySelector('[data-live~="tasks"]')) { knownTasks(); on("tasks", tasksHandler); }
    if (document.querySelector('[data-live~="alerts"]')) { on("alerts", alertsHandler); }
    switches();
    connect();
  });
  window.addEventListener("pagehide", function () { if (source) { source.close(); } });
})();
