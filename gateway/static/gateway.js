// Display controls every government page offers (A- A A+, contrast), remembered per browser,
// and progress feedback on submit so nobody presses "Sign in" twice.
// Sizes are CSS rules keyed on data-text-size (CSP style-src 'self': no inline styles).
(function () {
  var root = document.documentElement;
  function stored(key) {
    try { return localStorage.getItem(key); } catch (e) { return null; }  // storage may be off
  }
  function store(key, value) {
    try { localStorage.setItem(key, value); } catch (e) { /* not remembered, still applied */ }
  }
  var scale = parseInt(stored("gw-font") || "0", 10);
  if (isNaN(scale)) scale = 0;
  function apply() {
    if (scale === 0) root.removeAttribute("data-text-size");
    else root.setAttribute("data-text-size", String(scale));
  }
  if (stored("gw-contrast") === "1") root.classList.add("contrast");
  apply();
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-font]").forEach(function (button) {
      button.addEventListener("click", function () {
        var step = parseInt(button.getAttribute("data-font"), 10);
        scale = step === 0 ? 0 : Math.max(-2, Math.min(4, scale + step));
        store("gw-font", String(scale));
        apply();
      });
    });
    document.querySelectorAll("[data-contrast]").forEach(function (button) {
      button.setAttribute("aria-pressed", root.classList.contains("contrast") ? "true" : "false");
      button.addEventListener("click", function () {
        var on = root.classList.toggle("contrast");
        button.setAttribute("aria-pressed", on ? "true" : "false");
        store("gw-contrast", on ? "1" : "0");
      });
    });
    document.querySelectorAll("form").forEach(function (form) {
      form.addEventListener("submit", function () {
        var button = form.querySelector("button[data-busy]");
        if (button) { button.textContent = button.getAttribute("data-busy"); setTimeout(function () { button.disabled = true; }, 0); }
      });
    });
  });
})();
