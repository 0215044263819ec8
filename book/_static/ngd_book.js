/* Page fixes for the book (added to every page by book/_ext/ngd_book_html.py).
   Each one answers a serious finding of axe-core in tests/test_browser.py. */
(function () {
  "use strict";
  // label-content-name-mismatch: a theme button whose aria-label does not contain
  // the text it shows ("Search" on a button that reads "Search Ctrl+K") is named by
  // what it shows; its title stays as the description.
  function nameButtonsByTheirText() {
    document.querySelectorAll("button[aria-label], a[aria-label]").forEach((el) => {
      const shown = (el.innerText || "").replace(/\s+/g, " ").trim();
      const label = el.getAttribute("aria-label").replace(/\s+/g, " ").trim();
      if (shown && !label.toLowerCase().includes(shown.toLowerCase())) {
        el.removeAttribute("aria-label");
      }
    });
  }
  function run() {
    nameButtonsByTheirText();
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", run);
  } else {
    run();
  }
  // The theme's scripts (deferred) add tooltips and labels after DOMContentLoaded.
  window.addEventListener("load", () => setTimeout(run, 0));
})();
