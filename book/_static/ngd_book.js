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
  // Wide formulas on a narrow screen. A display equation wider than the column
  // scrolls sideways in its own box (CSS), and an inline formula wider than its line
  // becomes a scroll box too (.ngd-wide-math). A scroll box whose content overflows
  // must be reachable from the keyboard (axe: scrollable-region-focusable), so
  // exactly those boxes get tabindex=0; formulas that fit stay out of the Tab order.
  // Redone after MathJax typesets, when its fonts have loaded and on resize. Each
  // pass reads all sizes before it changes anything (two layouts, not one per
  // formula).
  function markWideMath() {
    const article = document.querySelector(".bd-article") || document.body;
    const inline = [...article.querySelectorAll("mjx-container:not([display='true'])")];
    inline.forEach((el) => el.classList.remove("ngd-wide-math"));
    const tooWide = inline.filter((el) => {
      const line = el.parentElement && el.parentElement.getBoundingClientRect().width;
      return line && el.getBoundingClientRect().width > line + 1;
    });
    tooWide.forEach((el) => el.classList.add("ngd-wide-math"));
    // MathJax's display containers scroll themselves (its own style sheet).
    const boxes = [...article.querySelectorAll(
      "div.math, mjx-container[display='true'], mjx-container.ngd-wide-math")];
    const overflows = boxes.map((el) => el.scrollWidth > el.clientWidth);  // as axe does
    boxes.forEach((el, i) => {
      if (overflows[i] && !el.hasAttribute("data-ngd-scroll")) {
        el.setAttribute("data-ngd-scroll", el.getAttribute("tabindex") ?? "");
        el.setAttribute("tabindex", "0");
      } else if (!overflows[i] && el.hasAttribute("data-ngd-scroll")) {
        const before = el.getAttribute("data-ngd-scroll");
        if (before) el.setAttribute("tabindex", before); else el.removeAttribute("tabindex");
        el.removeAttribute("data-ngd-scroll");
      }
    });
  }
  const mathjax = window.MathJax;
  if (mathjax && mathjax.startup && mathjax.startup.promise) {
    mathjax.startup.promise.then(markWideMath);
  } else if (mathjax) {  // the configuration object: MathJax itself loads after us
    mathjax.startup = mathjax.startup || {};
    const ready = mathjax.startup.pageReady;
    mathjax.startup.pageReady = () =>
      (ready ? ready() : window.MathJax.startup.defaultPageReady()).then(markWideMath);
  }
  // MathJax's web fonts arrive after it typesets and widen some formulas.
  if (document.fonts && document.fonts.ready) {
    document.fonts.ready.then(() => setTimeout(markWideMath, 0));
  }
  window.addEventListener("load", () => setTimeout(markWideMath, 0));
  let resizing = 0;
  window.addEventListener("resize", () => {
    clearTimeout(resizing);
    resizing = setTimeout(markWideMath, 150);
  });

  // Search result snippets: Sphinx takes them from the page's text, where each
  // formula is still its TeX source, e.g. \(\nabla f(\theta)\). They show the
  // formula as plain symbols instead (Greek letters and common operators; other
  // commands, braces and delimiters dropped).
  const SYMBOLS = {
    alpha: "α", beta: "β", gamma: "γ", delta: "δ", epsilon: "ε", varepsilon: "ε",
    eta: "η", theta: "θ", kappa: "κ", lambda: "λ", mu: "μ", nu: "ν", pi: "π",
    rho: "ρ", sigma: "σ", tau: "τ", phi: "φ", psi: "ψ", omega: "ω", Delta: "Δ",
    Sigma: "Σ", Theta: "Θ", Lambda: "Λ", Omega: "Ω", nabla: "∇", partial: "∂",
    top: "⊤", infty: "∞", approx: "≈", le: "≤", leq: "≤", ge: "≥", geq: "≥",
    neq: "≠", cdot: "·", times: "×", sum: "Σ", int: "∫", sqrt: "√", in: "∈",
    to: "→", sim: "∼", mid: "|", lVert: "‖", rVert: "‖", Vert: "‖", ell: "ℓ",
  };
  function texToText(tex) {
    return tex
      .replace(/\\[()\[\]]/g, " ")
      .replace(/\\[td]?frac\s*(\d)\s*(\d)/g, "$1/$2")  // \tfrac12 -> 1/2
      .replace(/\\[td]?frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}/g,
        (m, a, b) => `${a.length > 1 ? `(${a})` : a}/${b.length > 1 ? `(${b})` : b}`)
      .replace(/\\\|/g, "‖")
      .replace(/\\([A-Za-z]+)/g, (m, name) => SYMBOLS[name] ?? "")
      .replace(/\\[,;:! ]/g, " ")
      .replace(/[{}$]/g, "")
      .replace(/\s+/g, " ")
      .trim();
  }
  if (typeof Search !== "undefined" && Search.htmlToText) {  // search.html only
    const toText = Search.htmlToText;
    Search.htmlToText = (htmlString, anchor) => {
      const doc = new DOMParser().parseFromString(htmlString, "text/html");
      doc.querySelectorAll(".math .headerlink").forEach((el) => el.remove());
      doc.querySelectorAll(".math").forEach((el) => {
        el.textContent = ` ${texToText(el.textContent)} `;
      });
      return toText(doc.documentElement.outerHTML, anchor);
    };
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
