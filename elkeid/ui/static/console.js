// Elkeid console: the live feed (Server-Sent Events) and CSRF-protected fetches.
// Every value from the server is written with textContent, never as HTML.
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

  window.elkeid = {post: post, on: on, csrfToken: csrfToken};

  document.addEventListener("DOMContentLoaded", function () {
    if (document.querySelector('[data-live~="hosts"]')) { on("hosts", hostsHandler); }
    connect();
  });
  window.addEventListener("pagehide", function () { if (source) { source.close(); } });
})();
