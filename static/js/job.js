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
  // The words come from the page's language (Django's JavaScript catalogue, /jsi18n/).
  function say(format, values) { return interpolate(format, values, true); }
  function loading(w) {
    var name = w.model === "stable-diffusion-v1-5/stable-diffusion-v1-5" ? "SD v1.5" : w.model;
    if (w.state === "downloading") {
      return w.total
        ? say(gettext("queued: the worker is downloading %(name)s: %(done)s of %(total)s GB"), { name: name, done: gb(w.done), total: gb(w.total) })
        : say(gettext("queued: the worker is downloading %(name)s: %(done)s GB"), { name: name, done: gb(w.done) });
    }
    var doing = { starting: gettext("starting"), loading: say(gettext("loading %(name)s"), { name: name }),
                  warming: say(gettext("warming up %(name)s"), { name: name }) }[w.state] || w.state;
    return say(gettext("queued: the worker is %(doing)s; the job starts when it is ready"), { doing: doing });
  }
  function poll() {
    fetch(box.dataset.url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
      .then(function (p) {
        bar.value = p.fraction;
        status.textContent = p.status_label;
        status.className = "badge " + p.status;
        status.dataset.status = p.status;
        if (placeholder) {
          placeholder.textContent = p.status === "running" ? say(gettext("Generating… %(percent)s"), { percent: Math.round(p.fraction * 100) + "%" }) : p.status_label;
        }
        if (p.status === "running" && !p.total) {
          text.textContent = say(gettext("starting · elapsed %(elapsed)s"), { elapsed: fmt(p.elapsed) });
        } else if (p.status === "running") {
          text.textContent = say(gettext("step %(step)s of %(total)s · elapsed %(elapsed)s · ETA %(eta)s"),
                                 { step: p.step, total: p.total, elapsed: fmt(p.elapsed), eta: fmt(p.eta) });
        } else if (p.status === "queued") {
          if (p.workers_online === 0 && p.workers_loading && p.workers_loading.length) {
            var w = p.workers_loading[0];
            text.textContent = loading(w);
            if (w.state === "downloading" && w.total) { bar.value = Math.min(1, w.done / w.total); }
          } else if (p.workers_online === 0) {
            text.textContent = p.model
              ? say(gettext("queued: no worker serves %(model)s (start one with: SDSTUDIO_MODEL=%(model)s python manage.py rqworker generation)"), { model: p.model })
              : gettext("queued: no worker is running (start one with: python manage.py rqworker generation)");
          } else if (p.workers_online === null) {
            text.textContent = gettext("queued: the queue (Redis) cannot be reached; the job will be sent when it is back");
          } else {
            text.textContent = say(gettext("queued: waiting for a worker (%(online)s online)"), { online: p.workers_online });
          }
        } else {
          text.textContent = p.status_label + (p.error ? ": " + p.error : "");
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
    button.textContent = hidden ? gettext("Show the image") : gettext("Blur the image");
  });
})();
