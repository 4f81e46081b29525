// Keyboard scoring: 0/1/2 score the highlighted criterion, Alt+1..5 jump to one; n/p move through the review queue.
(function () {
  "use strict";
  var form = document.getElementById("rubric-form");
  if (!form) { return; }
  var names = ["prompt_adherence", "visual_realism", "artifacts", "ecommerce_usability", "reproducibility"];
  var current = 0;
  function focus() {
    form.querySelectorAll(".field").forEach(function (el) { el.classList.remove("active"); });
    var row = form.querySelector(".field-" + names[current]);
    if (row) { row.classList.add("active"); }
  }
  document.addEventListener("keydown", function (event) {
    if (event.target.tagName === "TEXTAREA" || event.target.tagName === "INPUT" && event.target.type === "text") { return; }
    if (event.key >= "1" && event.key <= "5" && event.altKey) { current = Number(event.key) - 1; focus(); return; }
    if (event.key === "n" || event.key === "p") {
      var link = document.getElementById(event.key === "n" ? "queue-next" : "queue-previous");
      if (link) { window.location.href = link.href; }
      return;
    }
    if (event.key === "0" || event.key === "1" || event.key === "2") {
      var input = form.querySelector("input[name=" + names[current] + "][value='" + event.key + "']");
      if (input) { input.checked = true; current = Math.min(current + 1, names.length - 1); focus(); }
    }
  });
  focus();
})();
