/*
 * The Deploy view (src/deploy/pages-deploy-view.tsx) on the project's Deploy page and in the
 * IDE's Deploy panel. The view works without this file (the log so far and a refresh link);
 * this adds:
 *
 *   [data-deploy-log][data-stream]  the log streamed live (Server-Sent Events: `line`, `status`,
 *                                   `end`), following the newest line until you scroll up; the
 *                                   status badge, the spoken status and the live URL kept current
 *   [data-deploy-part]              the address, Deploy button and history re-fetched when the
 *                                   status changes
 *   #ide-deploy-toggle / #ide-deploy  the IDE's Deploy panel: opens beside the editor (a drawer
 *                                   on narrow screens), loads the view with htmx, Escape closes
 *
 * No inline handlers, no eval (CSP: script-src 'self'); log text goes in as text nodes only.
 */
(function () {
  "use strict";

  var PROBLEM_LINE = /^(deployment failed|error|restart failed|cannot deploy)\b/i;
  var LABEL = { queued: "Queued", building: "Building", starting: "Starting", live: "Live", failed: "Failed", stopped: "Stopped", superseded: "Replaced" };
  var SPOKEN = {
    queued: "is queued",
    building: "is building",
    starting: "is starting",
    live: "is live",
    failed: "failed",
    stopped: "was stopped",
    superseded: "was replaced",
  };
  /** Lines kept in the page; older ones are dropped from view (the raw log keeps them all). */
  var MAX_DOM_LINES = 5000;

  /** Runs `fn` for elements matching `selector` now and in content swapped in later. */
  function each(selector, fn) {
    var done = new WeakSet();
    var run = function (root) {
      var found = [];
      if (root.matches && root.matches(selector)) found.push(root);
      if (root.querySelectorAll) found = found.concat(Array.prototype.slice.call(root.querySelectorAll(selector)));
      found.forEach(function (el) {
        if (done.has(el)) return;
        done.add(el);
        fn(el);
      });
    };
    run(document);
    document.addEventListener("htmx:load", function (e) {
      run(e.target);
    });
    return run;
  }

  // ---- Streams: closed when their log leaves the page ----
  var streams = new Set();
  function closeGone() {
    streams.forEach(function (s) {
      if (!s.box.isConnected) s.close();
    });
  }
  setInterval(closeGone, 5000);
  document.addEventListener("htmx:afterSwap", closeGone);

  // ---- Re-fetching the parts of the view around the log ----
  var refreshTimers = new WeakMap();
  function refreshParts(view) {
    if (!view || !view.isConnected) return;
    clearTimeout(refreshTimers.get(view));
    refreshTimers.set(
      view,
      setTimeout(function () {
        var url = view.getAttribute("data-refresh-url");
        if (!url) return;
        fetch(url, { headers: { "HX-Request": "true" }, credentials: "same-origin" })
          .then(function (r) {
            return r.ok ? r.text() : null;
          })
          .then(function (text) {
            if (text === null || !view.isConnected) return;
            var tpl = document.createElement("template");
            tpl.innerHTML = text; // server-rendered, escaped markup of our own view
            tpl.content.querySelectorAll("[data-deploy-part][id]").forEach(function (fresh) {
              var old = view.querySelector("#" + CSS.escape(fresh.id));
              if (!old) return;
              var focused = old.contains(document.activeElement) ? focusKey(document.activeElement) : null;
              old.replaceWith(fresh);
              if (window.htmx) window.htmx.process(fresh);
              if (focused) refocus(fresh, focused);
            });
          })
          .catch(function () {
            // Offline for a moment: the next status change tries again.
          });
      }, 150),
    );
  }

  /** Something to find the focused control by after its markup was replaced. */
  function focusKey(el) {
    if (el.id) return "#" + CSS.escape(el.id);
    var form = el.closest && el.closest("form[action]");
    if (form) return 'form[action="' + CSS.escape(form.getAttribute("action")) + '"] button';
    var label = el.getAttribute && el.getAttribute("aria-label");
    return label ? '[aria-label="' + CSS.escape(label) + '"]' : null;
  }
  function refocus(root, key) {
    var el = (root.matches && root.matches(key) && root) || root.querySelector(key) || root.parentElement.querySelector(key);
    if (el) el.focus();
  }

  // ---- The log viewer ----
  function startLog(box) {
    var view = box.closest("[data-deploy-view]");
    var lines = box.querySelector("[data-deploy-lines]");
    var followButton = box.querySelector("[data-deploy-follow]");
    var note = box.querySelector("[data-deploy-stream-note]");
    var refreshLink = box.querySelector("[data-deploy-refresh]");
    var empty = box.querySelector("[data-deploy-empty]");
    var number = (box.querySelector("h2, h3") || {}).textContent || "The deployment";
    var last = Number(box.getAttribute("data-last-line")) || 0;
    var follow = true;
    var pending = [];
    var flushing = false;

    var atBottom = function () {
      return lines.scrollHeight - lines.scrollTop - lines.clientHeight < 24;
    };
    var toBottom = function () {
      lines.scrollTop = lines.scrollHeight;
    };
    lines.addEventListener("scroll", function () {
      follow = atBottom();
      followButton.hidden = follow;
    });
    followButton.addEventListener("click", function () {
      follow = true;
      followButton.hidden = true;
      toBottom();
      lines.focus();
    });
    toBottom();

    var url = box.getAttribute("data-stream");
    if (!url || !window.EventSource) return;

    var flush = function () {
      flushing = false;
      if (pending.length === 0) return;
      var frag = document.createDocumentFragment();
      pending.forEach(function (l) {
        var span = document.createElement("span");
        span.className = PROBLEM_LINE.test(l.text) ? "deploy-line problem" : "deploy-line";
        span.textContent = l.text + "\n";
        frag.appendChild(span);
      });
      pending = [];
      lines.appendChild(frag);
      var extra = lines.childElementCount - MAX_DOM_LINES;
      for (; extra > 0; extra--) lines.removeChild(lines.firstElementChild);
      if (empty) empty.hidden = true;
      if (follow) toBottom();
    };
    var schedule = function () {
      if (flushing) return;
      flushing = true;
      // One DOM update per frame however fast a build prints; a hidden tab catches up when shown.
      if (document.visibilityState === "visible") requestAnimationFrame(flush);
      else setTimeout(flush, 250);
    };

    var es = new EventSource(url);
    var stream = {
      box: box,
      close: function () {
        es.close();
        streams.delete(stream);
      },
    };
    streams.add(stream);
    box._deployStream = stream;
    if (refreshLink) refreshLink.hidden = true;
    note.textContent = "Following the log live.";

    // The stream reports changes from the moment it opened; one that happened between the
    // page being rendered and the stream opening (queued → building) is fetched here.
    var statusUrl = url.replace(/\/logs$/, "");
    var statusEvents = 0;
    es.addEventListener("open", function () {
      note.textContent = "Following the log live.";
      var seenBefore = statusEvents;
      fetch(statusUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) {
          return r.ok ? r.json() : null;
        })
        .then(function (d) {
          // A status event that came meanwhile is newer than this answer.
          if (!d || !box.isConnected || statusEvents !== seenBefore || d.status === box.getAttribute("data-status")) return;
          showStatus(box, d, number);
          refreshParts(view);
        })
        .catch(function () {});
    });
    es.addEventListener("line", function (e) {
      if (!box.isConnected) return stream.close();
      var l = JSON.parse(e.data);
      // A reconnect replays the log from its start: skip what is already shown.
      if (typeof l.n !== "number" || l.n <= last) return;
      last = l.n;
      pending.push(l);
      schedule();
    });
    es.addEventListener("status", function (e) {
      if (!box.isConnected) return stream.close();
      statusEvents++;
      showStatus(box, JSON.parse(e.data), number);
      refreshParts(view);
    });
    es.addEventListener("end", function () {
      stream.close();
      flush();
      note.textContent = "The log is complete.";
      refreshParts(view);
    });
    es.addEventListener("error", function () {
      if (es.readyState === EventSource.CLOSED) {
        stream.close();
        note.textContent = "Live updates stopped.";
        if (refreshLink) refreshLink.hidden = false;
      } else {
        note.textContent = "Connection lost; reconnecting…";
      }
    });
  }

  /** A `status` event: the badge, the spoken status, the live address and the failure reason. */
  function showStatus(box, d, number) {
    var before = box.getAttribute("data-status");
    box.setAttribute("data-status", d.status);
    var badge = box.querySelector(".deploy-status");
    if (badge) {
      badge.setAttribute("data-status", d.status);
      var text = badge.querySelector(".deploy-status-text");
      if (text) text.textContent = LABEL[d.status] || d.status;
    }
    if (before !== d.status) {
      var spoken = box.querySelector("[data-deploy-announce]");
      if (spoken) spoken.textContent = number.trim() + " " + (SPOKEN[d.status] || d.status) + (d.status === "live" && d.url ? " at " + d.url : "") + ".";
    }
    var liveLine = box.querySelector("[data-deploy-live-line]");
    var link = box.querySelector("#deploy-live-url");
    if (liveLine && link) {
      if (d.status === "live" && d.url) {
        link.href = d.url;
        link.textContent = d.url;
        liveLine.hidden = false;
      } else {
        liveLine.hidden = true;
      }
    }
    var why = box.querySelector("[data-deploy-error]");
    if (why) {
      why.textContent = d.error || "";
      why.parentElement.hidden = !d.error;
    }
  }

  each("[data-deploy-log]", startLog);

  // ---- htmx in the view: refusals (409, 503) come back as the view with the reason; show it ----
  document.addEventListener("htmx:beforeSwap", function (e) {
    var target = e.detail.target;
    var xhr = e.detail.xhr;
    if (!target || target.id !== "deploy-view" || !xhr || xhr.status < 400) return;
    if ((xhr.responseText || "").indexOf('id="deploy-view"') !== -1) {
      e.detail.shouldSwap = true;
      e.detail.isError = false;
    }
  });
  function sayFailure(target, text) {
    if (!target || target.id !== "deploy-view") return;
    var p = target.querySelector("[data-deploy-failure]");
    if (!p) {
      p = document.createElement("p");
      p.className = "flash error";
      p.setAttribute("role", "alert");
      p.setAttribute("data-deploy-failure", "");
      target.insertBefore(p, target.firstChild);
    }
    p.textContent = text;
  }
  document.addEventListener("htmx:responseError", function (e) {
    var xhr = e.detail.xhr;
    if ((xhr.responseText || "").indexOf('id="deploy-view"') !== -1) return;
    sayFailure(e.detail.target, "That did not work (HTTP " + xhr.status + "). Reload the page and try again.");
  });
  document.addEventListener("htmx:sendError", function (e) {
    sayFailure(e.detail.target, "Wove could not be reached. Check your connection and try again.");
  });
  // After the view was replaced, focus returns to the control that was used (or the log).
  var lastFocus = null;
  document.addEventListener("htmx:beforeRequest", function (e) {
    var target = e.detail.target;
    lastFocus = target && target.id === "deploy-view" && target.contains(document.activeElement) ? focusKey(document.activeElement) : null;
  });
  document.addEventListener("htmx:afterSettle", function (e) {
    var target = e.detail.target;
    if (!lastFocus || !target || target.id !== "deploy-view") return;
    var view = document.getElementById("deploy-view");
    var el = view && (view.querySelector(lastFocus) || view.querySelector("#deploy-log-lines") || view.querySelector("h2, h3"));
    lastFocus = null;
    if (el) {
      if (!el.hasAttribute("tabindex") && !/^(A|BUTTON|INPUT|SELECT|TEXTAREA)$/.test(el.tagName)) el.setAttribute("tabindex", "-1");
      el.focus();
    }
  });

  // ---- The IDE's Deploy panel ----
  var toggle = document.getElementById("ide-deploy-toggle");
  var panel = document.getElementById("ide-deploy");
  if (!toggle || !panel) return;
  var body = document.getElementById("ide-deploy-body");
  var closeButton = document.getElementById("ide-deploy-close");
  var ide = document.getElementById("ide");
  var open = false;

  toggle.setAttribute("role", "button");
  toggle.setAttribute("aria-controls", "ide-deploy");
  toggle.setAttribute("aria-expanded", "false");

  function loading() {
    var p = document.createElement("p");
    p.className = "muted small";
    p.textContent = "Loading…";
    body.replaceChildren(p);
  }
  function load() {
    loading();
    var src = panel.getAttribute("data-src");
    if (window.htmx) {
      window.htmx.ajax("GET", src, { target: body, swap: "innerHTML" }).catch(function () {
        sayPanelError();
      });
    } else {
      sayPanelError();
    }
  }
  function sayPanelError() {
    var p = document.createElement("p");
    p.className = "flash error";
    p.setAttribute("role", "alert");
    p.textContent = "The Deploy panel could not be loaded. ";
    var a = document.createElement("a");
    a.href = toggle.getAttribute("href");
    a.textContent = "Open the Deploy page";
    p.appendChild(a);
    body.replaceChildren(p);
  }
  function show() {
    open = true;
    panel.hidden = false;
    if (ide) ide.classList.add("ide-deploy-open");
    toggle.setAttribute("aria-expanded", "true");
    load();
    closeButton.focus();
  }
  function hide(returnFocus) {
    open = false;
    // Streams stop with the panel; opening it again loads the view afresh.
    body.querySelectorAll("[data-deploy-log]").forEach(function (box) {
      if (box._deployStream) box._deployStream.close();
    });
    loading();
    panel.hidden = true;
    if (ide) ide.classList.remove("ide-deploy-open");
    toggle.setAttribute("aria-expanded", "false");
    if (returnFocus) toggle.focus();
  }

  toggle.addEventListener("click", function (e) {
    // Ctrl/⌘-click still opens the Deploy page in a new tab.
    if (e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
    e.preventDefault();
    if (open) hide(true);
    else show();
  });
  toggle.addEventListener("keydown", function (e) {
    if (e.key === " ") {
      e.preventDefault();
      toggle.click();
    }
  });
  closeButton.addEventListener("click", function () {
    hide(true);
  });
  panel.addEventListener("keydown", function (e) {
    if (e.key !== "Escape" || e.defaultPrevented) return;
    e.preventDefault();
    hide(true);
  });
})();
