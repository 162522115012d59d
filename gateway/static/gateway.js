// Display controls every government page offers (A- A A+, contrast), remembered per browser,
// and progress feedback on submit so nobody presses "Sign in" twice.
(function () {
  var root = document.documentElement;
  var scale = parseInt(localStorage.getItem("gw-font") || "0", 10);
  function apply() { root.style.fontSize = (100 + scale * 12.5) + "%"; }
  if (localStorage.getItem("gw-contrast") === "1") root.classList.add("contrast");
  apply();
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-font]").forEach(function (button) {
      button.addEventListener("click", function () {
        var step = parseInt(button.getAttribute("data-font"), 10);
        scale = step === 0 ? 0 : Math.max(-2, Math.min(4, scale + step));
        localStorage.setItem("gw-font", String(scale));
        apply();
      });
    });
    document.querySelectorAll("[data-contrast]").forEach(function (button) {
      button.addEventListener("click", function () {
        var on = root.classList.toggle("contrast");
        localStorage.setItem("gw-contrast", on ? "1" : "0");
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
