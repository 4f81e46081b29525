// Review keys: 0/1/2 score the highlighted criterion (then the next), Alt+1..5 jump to a criterion, s saves the scores,
// a approves, r puts the cursor in the reason (Ctrl+Enter there rejects), n/p move through the review queue.
(function () {
  "use strict";
  var form = document.getElementById("rubric-form");
  var decision = document.getElementById("decision-form");
  if (!form && !decision) { return; }
  var names = ["prompt_adherence", "visual_realism", "artifacts", "ecommerce_usability", "reproducibility"];
  var current = 0;
  function focus() {
    if (!form) { return; }
    form.querySelectorAll(".field").forEach(function (el) { el.classList.remove("active"); });
    var row = form.querySelector(".field-" + names[current]);
    if (row) { row.classList.add("active"); }
  }
  function click(id) { var el = document.getElementById(id); if (el) { el.click(); } }
  document.addEventListener("keydown", function (event) {
    var typing = event.target.tagName === "TEXTAREA" || (event.target.tagName === "INPUT" && event.target.type === "text");
    if (typing) {
      if (event.target.id === "id_reason" && event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        click("reject-button");
      } else if (event.key === "Escape") {
        event.target.blur();
      }
      return;
    }
    if (event.ctrlKey || event.metaKey) { return; }
    if (event.key >= "1" && event.key <= "5" && event.altKey) { current = Number(event.key) - 1; focus(); return; }
    if (event.key === "n" || event.key === "p") {
      var link = document.getElementById(event.key === "n" ? "queue-next" : "queue-previous");
      if (link) { window.location.href = link.href; }
      return;
    }
    if (event.key === "s" && form) { event.preventDefault(); form.requestSubmit(); return; }
    if (event.key === "a" && decision) { event.preventDefault(); click("approve-button"); return; }
    if (event.key === "r" && decision) {
      event.preventDefault();
      var reason = document.getElementById("id_reason");
      if (reason) { reason.focus(); }
      return;
    }
    if (form && (event.key === "0" || event.key === "1" || event.key === "2")) {
      var input = form.querySelector("input[name=" + names[current] + "][value='" + event.key + "']");
      if (input) { input.checked = true; current = Math.min(current + 1, names.length - 1); focus(); }
    }
  });
  focus();
})();
