/*
 * Wove's progressive enhancement. Every page works without this file; it adds
 * conveniences only. No framework, no inline handlers, no eval (CSP: script-src 'self').
 *
 *   [data-copy="text"] / [data-copy-target="#id"]  copy to the clipboard
 *   form[data-confirm="question"]                    ask before a destructive submit
 *   input[data-confirm-match="name"]                 enable the form's submit only when typed exactly
 *   input[data-filter="#list"]                       filter the list's items (its children) by their text
 *   "/"                                              focus the page's filter or search box
 *   .tree                                            arrow-key navigation of the file tree
 *   time[data-relative]                              keep "5 minutes ago" current
 */
(function () {
  "use strict";

  // htmx: never evaluate strings as code and never run scripts in swapped HTML;
  // the indicator styles live in app.css (an injected <style> is not needed).
  if (window.htmx) {
    window.htmx.config.allowEval = false;
    window.htmx.config.allowScriptTags = false;
    window.htmx.config.includeIndicatorStyles = false;
    window.htmx.config.selfRequestsOnly = true;
  }

  /** Runs `fn` for elements matching `selector` now and in content htmx swaps in later. */
  function each(selector, fn) {
    var done = new WeakSet();
    var once = function (el) {
      if (done.has(el)) return;
      done.add(el);
      fn(el);
    };
    var run = function (root) {
      if (root.matches && root.matches(selector)) once(root);
      if (root.querySelectorAll) root.querySelectorAll(selector).forEach(once);
    };
    run(document);
    document.addEventListener("htmx:load", function (e) {
      run(e.target);
    });
  }

  function announce(el, text) {
    var live = document.getElementById("wove-live");
    if (!live) {
      live = document.createElement("div");
      live.id = "wove-live";
      live.className = "visually-hidden";
      live.setAttribute("aria-live", "polite");
      document.body.appendChild(live);
    }
    live.textContent = text;
    if (el) {
      var original = el.getAttribute("data-label") || el.textContent;
      el.setAttribute("data-label", original);
      el.textContent = text;
      clearTimeout(el._woveTimer);
      el._woveTimer = setTimeout(function () {
        el.textContent = original;
      }, 1600);
    }
  }

  // ---- Copy to clipboard ----
  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(text);
    return new Promise(function (resolve, reject) {
      var area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.style.position = "fixed";
      area.style.opacity = "0";
      document.body.appendChild(area);
      area.select();
      var ok = false;
      try {
        ok = document.execCommand("copy");
      } catch (e) {
        ok = false;
      }
      document.body.removeChild(area);
      ok ? resolve() : reject(new Error("copy failed"));
    });
  }

  document.addEventListener("click", function (e) {
    var btn = e.target.closest && e.target.closest("[data-copy], [data-copy-target]");
    if (!btn) return;
    e.preventDefault();
    var text = btn.getAttribute("data-copy");
    var sel = btn.getAttribute("data-copy-target");
    if (sel) {
      var src = document.querySelector(sel);
      text = src ? ("value" in src && src.value !== undefined ? src.value : src.textContent) : "";
    }
    copyText(text || "").then(
      function () {
        announce(btn, "Copied");
      },
      function () {
        announce(btn, "Press Ctrl+C to copy");
      },
    );
  });

  // ---- Confirm destructive forms ----
  document.addEventListener(
    "submit",
    function (e) {
      var form = e.target;
      if (!(form instanceof HTMLFormElement)) return;
      var question = form.getAttribute("data-confirm");
      if (question && !window.confirm(question)) {
        e.preventDefault();
        e.stopImmediatePropagation();
      }
    },
    true,
  );

  each("input[data-confirm-match]", function (input) {
    var form = input.form;
    if (!form) return;
    var buttons = form.querySelectorAll('button[type="submit"], button:not([type])');
    var sync = function () {
      var ok = input.value === input.getAttribute("data-confirm-match");
      buttons.forEach(function (b) {
        b.disabled = !ok;
      });
    };
    input.addEventListener("input", sync);
    sync();
  });

  // ---- Filter lists as you type ----
  function normalise(s) {
    return (s || "").toLowerCase().trim();
  }
  each("input[data-filter]", function (input) {
    var list = document.querySelector(input.getAttribute("data-filter"));
    if (!list) return;
    var emptyNote = document.querySelector(input.getAttribute("data-filter-empty") || "[data-filter-empty]");
    var apply = function () {
      var q = normalise(input.value);
      var shown = 0;
      Array.prototype.forEach.call(list.children, function (item) {
        var hit = q === "" || normalise(item.textContent).indexOf(q) !== -1;
        item.hidden = !hit;
        if (hit) shown++;
      });
      if (emptyNote) emptyNote.hidden = shown !== 0;
    };
    input.addEventListener("input", apply);
    input.addEventListener("keydown", function (e) {
      if (e.key === "Escape" && input.value) {
        input.value = "";
        apply();
      } else if (e.key === "Escape") {
        input.blur();
      }
    });
    apply();
  });

  // ---- "/" focuses the filter or search box ----
  function typing(el) {
    if (!el) return false;
    var tag = el.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || el.isContentEditable;
  }
  document.addEventListener("keydown", function (e) {
    if (e.key !== "/" || e.ctrlKey || e.metaKey || e.altKey || typing(document.activeElement)) return;
    var box = document.querySelector('input[data-filter], input[type="search"]');
    if (!box) return;
    e.preventDefault();
    box.focus();
    box.select();
  });

  // ---- File tree: arrow keys (details/summary + links; works without JS as plain disclosure) ----
  function visibleItems(tree) {
    return Array.prototype.filter.call(tree.querySelectorAll("a, summary"), function (el) {
      for (var d = el.parentElement.closest("details"); d && tree.contains(d); d = d.parentElement.closest("details")) {
        // An item is hidden when any enclosing <details> other than its own is closed.
        if (!d.open && d.querySelector("summary") !== el) return false;
      }
      return true;
    });
  }
  document.addEventListener("keydown", function (e) {
    var el = document.activeElement;
    var tree = el && el.closest && el.closest(".tree");
    if (!tree || (el.tagName !== "A" && el.tagName !== "SUMMARY")) return;
    if (e.altKey || e.ctrlKey || e.metaKey) return;
    var items = visibleItems(tree);
    var i = items.indexOf(el);
    var details = el.tagName === "SUMMARY" ? el.parentElement : null;
    var go = function (target) {
      if (target) {
        e.preventDefault();
        target.focus();
      }
    };
    switch (e.key) {
      case "ArrowDown":
        go(items[i + 1]);
        break;
      case "ArrowUp":
        go(items[i - 1]);
        break;
      case "Home":
        go(items[0]);
        break;
      case "End":
        go(items[items.length - 1]);
        break;
      case "ArrowRight":
        if (details && !details.open) {
          e.preventDefault();
          details.open = true;
        } else if (details) go(items[i + 1]);
        break;
      case "ArrowLeft":
        if (details && details.open) {
          e.preventDefault();
          details.open = false;
        } else {
          var parent = el.parentElement.closest("details");
          if (details) parent = details.parentElement.closest("details");
          if (parent && tree.contains(parent)) go(parent.querySelector("summary"));
        }
        break;
    }
  });

  // ---- A link to a closed <details> (e.g. "Add file" → #new-file) opens it ----
  function openTarget() {
    var id = decodeURIComponent(location.hash.slice(1));
    var el = id && document.getElementById(id);
    if (el && el.tagName === "DETAILS" && !el.open) {
      el.open = true;
      var first = el.querySelector("input:not([type=hidden]), textarea, select");
      // After the browser's own jump to the fragment, which would otherwise take focus back.
      if (first) setTimeout(function () { first.focus(); }, 0);
    }
  }
  openTarget();
  window.addEventListener("hashchange", openTarget);

  // ---- Relative times ----
  var UNITS = [
    ["year", 31536000],
    ["month", 2592000],
    ["week", 604800],
    ["day", 86400],
    ["hour", 3600],
    ["minute", 60],
  ];
  var rtf = window.Intl && Intl.RelativeTimeFormat ? new Intl.RelativeTimeFormat("en", { numeric: "auto" }) : null;
  function relative(date) {
    var s = (date.getTime() - Date.now()) / 1000;
    if (Math.abs(s) < 45) return "just now";
    for (var k = 0; k < UNITS.length; k++) {
      var u = UNITS[k];
      if (Math.abs(s) >= u[1] || u[0] === "minute") {
        var n = Math.round(s / u[1]);
        return rtf ? rtf.format(n, u[0]) : Math.abs(n) + " " + u[0] + (Math.abs(n) === 1 ? "" : "s") + (n < 0 ? " ago" : "");
      }
    }
    return "";
  }
  function refreshTimes(root) {
    (root || document).querySelectorAll("time[data-relative]").forEach(function (t) {
      var d = new Date(t.getAttribute("datetime"));
      if (!isNaN(d.getTime())) t.textContent = relative(d);
    });
  }
  refreshTimes();
  setInterval(refreshTimes, 60000);
  document.addEventListener("htmx:load", function (e) {
    refreshTimes(e.target);
  });
})();
