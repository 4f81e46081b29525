// Job form: the brief's baseline preset, and each mode's own fields (data-modes) shown only for that mode.
(function () {
  "use strict";
  var form = document.getElementById("job-form");
  if (!form) { return; }
  var preset = document.getElementById("preset-baseline");
  function set(name, value) { var el = form.elements[name]; if (el) { el.value = value; } }
  if (preset) {
    preset.addEventListener("click", function () {
      set("num_inference_steps", preset.dataset.steps);
      set("guidance_scale", preset.dataset.guidance);
      set("scheduler", preset.dataset.scheduler);
      set("width", preset.dataset.width);
      set("height", preset.dataset.height);
      set("seed", preset.dataset.seed);
    });
  }
  function sync() {
    var checked = form.querySelector("input[name=mode]:checked");
    var mode = checked ? checked.value : "";
    form.querySelectorAll("[data-modes]").forEach(function (el) {
      var row = el.closest(".field");
      if (row) { row.hidden = el.dataset.modes.split(" ").indexOf(mode) < 0; }
    });
  }
  form.querySelectorAll("input[name=mode]").forEach(function (el) { el.addEventListener("change", sync); });
  sync();
})();
