// Live progress on the job page: polls the progress endpoint until the job ends, then reloads once to show the output.
(function () {
  "use strict";
  var box = document.getElementById("progress");
  if (!box || box.dataset.finished === "1") { return; }
  var bar = document.getElementById("progress-bar");
  var text = document.getElementById("progress-text");
  var status = document.getElementById("job-status");
  var placeholder = document.getElementById("output-placeholder");
  function fmt(seconds) { return seconds === null ? "–" : seconds.toFixed(1) + " s"; }
  function gb(bytes) { return (bytes / 1e9).toFixed(1); }
  // A starting worker of the job's model: "the worker is downloading SD v1.5: 1.2 of 2.1 GB".
  function loading(w) {
    var name = w.model === "stable-diffusion-v1-5/stable-diffusion-v1-5" ? "SD v1.5" : w.model;
    if (w.state === "downloading") {
      return "queued: the worker is downloading " + name + ": " + gb(w.done) + (w.total ? " of " + gb(w.total) : "") + " GB";
    }
    var doing = { starting: "starting", loading: "loading " + name, warming: "warming up " + name }[w.state] || w.state;
    return "queued: the worker is " + doing + "; the job starts when it is ready";
  }
  function poll() {
    fetch(box.dataset.url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
      .then(function (p) {
        bar.value = p.fraction;
        status.textContent = p.status;
        status.className = "badge " + p.status;
        if (placeholder) { placeholder.textContent = p.status === "running" ? "Generating… " + Math.round(p.fraction * 100) + "%" : p.status; }
        if (p.status === "running" && !p.total) {
          text.textContent = "starting · elapsed " + fmt(p.elapsed);
        } else if (p.status === "running") {
          text.textContent = "step " + p.step + " of " + p.total + " · elapsed " + fmt(p.elapsed) + " · ETA " + fmt(p.eta);
        } else if (p.status === "queued") {
          if (p.workers_online === 0 && p.workers_loading && p.workers_loading.length) {
            var w = p.workers_loading[0];
            text.textContent = loading(w);
            if (w.state === "downloading" && w.total) { bar.value = Math.min(1, w.done / w.total); }
          } else if (p.workers_online === 0) {
            text.textContent = p.model
              ? "queued: no worker serves " + p.model + " (start one with: SDSTUDIO_MODEL=" + p.model + " python manage.py rqworker generation)"
              : "queued: no worker is running (start one with: python manage.py rqworker generation)";
          } else if (p.workers_online === null) {
            text.textContent = "queued: the queue (Redis) cannot be reached; the job will be sent when it is back";
          } else {
            text.textContent = "queued: waiting for a worker (" + p.workers_online + " online)";
          }
        } else {
          text.textContent = p.status + (p.error ? ": " + p.error : "");
        }
        if (p.finished) { window.location.reload(); return; }
        window.setTimeout(poll, 700);
      })
      .catch(function () { window.setTimeout(poll, 2000); });
  }
  poll();
})();

// A flagged output is blurred until the reviewer asks to see it.
(function () {
  "use strict";
  var button = document.getElementById("reveal-output");
  var image = document.getElementById("output-image");
  if (!button || !image) { return; }
  button.addEventListener("click", function () {
    var hidden = image.classList.toggle("flagged");
    button.textContent = hidden ? "Show the image" : "Blur the image";
  });
})();
