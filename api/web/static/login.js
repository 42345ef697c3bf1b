// Signing in from a link to a moment (/calls/5#t=30): the server never sees the #t=30 part, so the
// form carries it on to the page the visitor is sent back to.
(function () {
  "use strict";
  var form = document.querySelector("form[action='/login']");
  if (!form || !location.hash) return;
  form.addEventListener("submit", function () {
    var next = form.querySelector("input[name=next]");
    if (next && next.value.indexOf("#") < 0) next.value += location.hash;
  });
})();
