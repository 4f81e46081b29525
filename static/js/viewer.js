// Job page viewer: the output at its size, with the source (as the model saw it), the difference to it and a scene's
// kept outline one click away, and a 2x loupe that shows the same spot of the output and the source together.
(function () {
  "use strict";
  var stage = document.getElementById("viewer-stage");
  var tabs = document.getElementById("view-tabs");
  if (!stage || !tabs) { return; }
  var output = document.getElementById("output-image");
  var layers = { source: "reference-image", difference: "difference-image", outline: "outline-image" };
  tabs.querySelectorAll("button[data-view]").forEach(function (button) {
    button.addEventListener("click", function () {
      var view = button.dataset.view;
      Object.keys(layers).forEach(function (name) {
        var el = document.getElementById(layers[name]);
        if (el) { el.hidden = name !== view; }
      });
      tabs.querySelectorAll("button[data-view]").forEach(function (other) {
        var on = other === button;
        other.classList.toggle("active", on);
        other.setAttribute("aria-pressed", on ? "true" : "false");
      });
    });
  });

  var loupe = document.getElementById("loupe");
  var toggle = document.getElementById("loupe-toggle");
  var reference = document.getElementById("reference-image");
  if (!loupe || !toggle || !reference) { return; }
  var ZOOM = 2;
  function draw(canvas, image, x, y) {
    var context = canvas.getContext("2d");
    var size = canvas.width / ZOOM;
    context.imageSmoothingEnabled = false;
    context.fillStyle = "#888";
    context.fillRect(0, 0, canvas.width, canvas.height);
    context.drawImage(image, x - size / 2, y - size / 2, size, size, 0, 0, canvas.width, canvas.height);
  }
  function show(event) {
    if (!toggle.checked || !output.naturalWidth) { return; }
    var box = output.getBoundingClientRect();
    var x = Math.round((event.clientX - box.left) * output.naturalWidth / box.width);
    var y = Math.round((event.clientY - box.top) * output.naturalHeight / box.height);
    if (x < 0 || y < 0 || x >= output.naturalWidth || y >= output.naturalHeight) { return; }
    draw(document.getElementById("loupe-output"), output, x, y);
    if (reference.complete && reference.naturalWidth) { draw(document.getElementById("loupe-source"), reference, x, y); }
    loupe.dataset.spot = x + "," + y;
  }
  toggle.addEventListener("change", function () { loupe.hidden = !toggle.checked; });
  stage.addEventListener("pointermove", show);
  stage.addEventListener("pointerdown", show);
})();
