// Font-size (A- A A+) and contrast controls that government pages carry. The choice is kept in
// localStorage so it follows the visitor from page to page; without JavaScript the page is
// simply shown at the browser's own settings.
(function () {
  "use strict";
  var STEPS = [87.5, 100, 112.5, 125, 150];
  var root = document.documentElement;

  function read(key, fallback) {
    try { return window.localStorage.getItem(key) || fallback; } catch (e) { return fallback; }
  }
  function write(key, value) {
    try { window.localStorage.setItem(key, value); } catch (e) { /* private mode: not kept */ }
  }
  function applyFont(index) {
    root.style.fontSize = STEPS[index] + "%";
  }
  function applyContrast(mode) {
    root.classList.toggle("high-contrast", mode === "more");
  }

  var fontIndex = parseInt(read("portal-font-step", "1"), 10);
  if (!(fontIndex >= 0 && fontIndex < STEPS.length)) { fontIndex = 1; }
  applyFont(fontIndex);
  applyContrast(read("portal-contrast", "less"));

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-font-step]").forEach(function (button) {
      button.addEventListener("click", function () {
        var step = parseInt(button.getAttribute("data-font-step"), 10);
        fontIndex = step === 0 ? 1 : Math.min(STEPS.length - 1, Math.max(0, fontIndex + step));
        applyFont(fontIndex);
        write("portal-font-step", String(fontIndex));
      });
    });
    document.querySelectorAll("[data-contrast]").forEach(function (button) {
      button.addEventListener("click", function () {
        var mode = button.getAttribute("data-contrast");
        applyContrast(mode);
        write("portal-contrast", mode);
      });
    });
  });
})();
