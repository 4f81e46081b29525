// Job form: the brief's baseline preset, and img2img-only fields shown only for img2img.
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
    var img2img = checked && checked.value === "img2img";
    ["source_photo", "upload", "strength"].forEach(function (name) {
      var row = form.querySelector(".field-" + name);
      if (row) { row.hidden = !img2img; }
    });
  }
  form.querySelectorAll("input[name=mode]").forEach(function (el) { el.addEventListener("change", sync); });
  sync();
})();
