// Keeps a background job's page current: asks for the job's status every second, moves the
// progress bar, and reloads the page once the job has finished so that it shows the download.
// The page works without this script (its "check again" link).
(function () {
  "use strict";
  var box = document.querySelector("[data-job-status]");
  if (!box || !window.fetch) {
    return;
  }
  var url = box.getAttribute("data-job-status");
  var bar = document.getElementById("job-progress");
  var text = document.getElementById("job-percent");
  function tick() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) {
        if (!r.ok) {
          throw new Error(String(r.status));
        }
        return r.json();
      })
      .then(function (s) {
        if (s.finished) {
          window.location.reload();
          return;
        }
        bar.value = s.percent;
        bar.textContent = s.percent + " %";
        text.textContent = s.percent + " %";
        window.setTimeout(tick, 1000);
      })
      .catch(function () {
        window.setTimeout(tick, 5000);
      });
  }
  window.setTimeout(tick, 1000);
})();
