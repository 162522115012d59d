// QR cross-device sign-in, desktop side: ask the gateway every ~2 s whether the phone confirmed
// (the status endpoint answers only the browser that shows the code), then complete the sign-in
// with the page's own form. Without JavaScript the person presses that button themselves.
(function () {
  document.addEventListener("DOMContentLoaded", function () {
    var box = document.getElementById("qr-login");
    if (!box || !box.getAttribute("data-status-url")) return;
    var statusUrl = box.getAttribute("data-status-url");
    var interval = parseInt(box.getAttribute("data-poll-ms") || "2000", 10);
    var text = document.getElementById("qr-status");
    var form = document.getElementById("qr-complete");
    var refresh = document.getElementById("qr-refresh");
    var lifetime = document.getElementById("qr-lifetime");
    var image = box.querySelector(".qr-image");
    var finished = false;

    function show(message) {
      if (message && text.textContent !== message) text.textContent = message;
    }
    function stop(message) {
      finished = true;
      show(message);
      box.classList.add("qr-ended");
      if (image) image.setAttribute("aria-hidden", "true");
      form.hidden = true;
      if (lifetime) lifetime.hidden = true;
      refresh.hidden = false;
    }
    function handle(body) {
      if (finished) return;
      if (body.status === "pending" || body.status === "scanned") {
        show(body.message);
        window.setTimeout(poll, interval);
      } else if (body.status === "approved") {
        finished = true;
        show(body.message);
        form.submit();
      } else {
        stop(body.message);
      }
    }
    function poll() {
      if (finished) return;
      fetch(statusUrl, { credentials: "same-origin", cache: "no-store",
                         headers: { "Accept": "application/json" } })
        .then(function (response) { return response.json(); })
        .then(handle)
        .catch(function () { window.setTimeout(poll, interval * 2); });  // network hiccup: retry
    }
    window.setTimeout(poll, interval);
  });
})();
