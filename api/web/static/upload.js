// The upload page: send the form to the API with the sign-in cookie, then open the new call's page.
(function () {
  "use strict";
  var form = document.getElementById("upload-form");
  if (!form) return;
  var status = document.getElementById("upload-status");
  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var data = new FormData(form);
    var local = data.get("started_local");
    data.delete("started_local");
    if (local) data.set("started_at", new Date(local).toISOString()); // the browser's zone -> UTC
    var button = form.querySelector("button[type=submit]");
    button.disabled = true;
    status.textContent = status.dataset.sending;
    fetch(form.action, { method: "POST", body: data, credentials: "same-origin" })
      .then(function (r) { return r.json().then(function (body) { return { ok: r.ok, body: body }; }); })
      .then(function (res) {
        if (!res.ok) throw new Error(res.body.detail || "error");
        location.href = "/calls/" + res.body.id;
      })
      .catch(function (err) {
        status.textContent = status.dataset.failed + " " + err.message;
        button.disabled = false;
      });
  });
})();
