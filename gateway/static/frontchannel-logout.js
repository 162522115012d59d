// Front-Channel Logout 1.0 §3: the logged-out page loads each client's frontchannel_logout_uri
// in a hidden iframe, then continues to the post_logout_redirect_uri once every frame has
// loaded, or after a few seconds at most (a client that does not answer must not hold the
// person on this page). Without JavaScript the "Continue" link does the same.
(function () {
  var TIMEOUT_MS = 5000;
  // Deferred: the document is parsed when this runs, and the frames may still be loading.
  (function () {
    var box = document.querySelector("[data-frontchannel-logout]");
    if (!box) return;
    var target = box.getAttribute("data-continue");
    var frames = box.querySelectorAll("iframe");
    var waiting = frames.length;
    var done = false;
    function finish() {
      if (done) return;
      done = true;
      box.setAttribute("data-done", "true");
      if (target) window.location.replace(target);
    }
    frames.forEach(function (frame) {
      frame.addEventListener("load", function () {
        waiting -= 1;
        if (waiting <= 0) finish();
      });
      frame.addEventListener("error", function () {
        waiting -= 1;
        if (waiting <= 0) finish();
      });
    });
    if (waiting === 0) finish();
    setTimeout(finish, TIMEOUT_MS);
  })();
})();
