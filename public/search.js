/*
 * The search page's keyboard movement (src/search/pages-search.tsx). The page works without
 * this file; it adds:
 *
 *   ↓ in the search box          first result
 *   ↓ / j, ↑ / k                 next / previous result (↑ on the first goes back to the box)
 *   Home / End                   first / last result
 *   Escape in the results        back to the search box
 *   Enter                        opens the focused result (a plain link)
 *
 * and keeps aria-invalid on the fields in step with the error messages htmx swaps in.
 * No inline handlers, no eval (CSP: script-src 'self').
 */
(function () {
  "use strict";

  // Looked up on every use: htmx's history restore (Back) replaces the page's elements.
  function searchBox() {
    return document.getElementById("search-q");
  }
  if (!searchBox()) return;

  function hits() {
    return Array.prototype.slice.call(document.querySelectorAll("#search-results [data-hit]"));
  }

  function go(el) {
    if (!el) return false;
    el.focus();
    el.scrollIntoView({ block: "nearest" });
    return true;
  }

  document.addEventListener("keydown", function (e) {
    if (e.altKey || e.ctrlKey || e.metaKey || e.isComposing) return;
    var el = document.activeElement;
    var box = searchBox();
    if (!box) return;
    if (el === box) {
      if (e.key === "ArrowDown" && go(hits()[0])) e.preventDefault();
      return;
    }
    var list = hits();
    var i = list.indexOf(el);
    if (i < 0) return;
    var handled = true;
    switch (e.key) {
      case "ArrowDown":
      case "j":
        go(list[i + 1]);
        break;
      case "ArrowUp":
      case "k":
        if (i === 0) box.focus();
        else go(list[i - 1]);
        break;
      case "Home":
        go(list[0]);
        break;
      case "End":
        go(list[list.length - 1]);
        break;
      case "Escape":
        box.focus();
        box.select();
        break;
      default:
        handled = false;
    }
    if (handled) e.preventDefault();
  });

  // Field errors arrive out of band; the fields' aria-invalid follows them.
  var fields = { "search-q": "search-q-error", "search-project": "search-project-error", "search-path": "search-path-error" };
  function syncInvalid() {
    Object.keys(fields).forEach(function (id) {
      var input = document.getElementById(id);
      var error = document.getElementById(fields[id]);
      if (!input || !error) return;
      var bad = !error.hidden && error.textContent.trim() !== "";
      if (bad) input.setAttribute("aria-invalid", "true");
      else input.removeAttribute("aria-invalid");
      var wrap = input.closest(".field");
      if (wrap) wrap.classList.toggle("has-error", bad);
    });
  }

  document.body.addEventListener("htmx:afterSettle", function (e) {
    syncInvalid();
    // After "Next page" the focus was on a link that is gone: continue at the first new result.
    var from = e.detail && e.detail.requestConfig && e.detail.requestConfig.elt;
    if (from && from.hasAttribute && from.hasAttribute("data-pager")) {
      var box = searchBox();
      if (!go(hits()[0]) && box) box.focus();
    }
  });
})();
