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
    form.querySelectorAll("[data-required-modes]").forEach(function (el) {
      var needed = el.dataset.requiredModes.split(" ").indexOf(mode) >= 0;
      el.required = needed;
      var row = el.closest(".field");
      if (row) { row.classList.toggle("required", needed); }
    });
  }
  form.querySelectorAll("input[name=mode]").forEach(function (el) { el.addEventListener("change", sync); });
  sync();

  // Product: search as you type (suggestions from the catalog), then the product's photos fill Source photo.
  var productField = form.elements.product;
  var options = document.getElementById("product-options");
  var photoSelect = form.elements.source_photo;
  if (productField && options && form.dataset.searchUrl) {
    var searchTimer = null;
    var known = {};
    function suggest() {
      fetch(form.dataset.searchUrl + "?q=" + encodeURIComponent(productField.value), { credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (data) {
          options.innerHTML = "";
          data.results.forEach(function (p) {
            known[p.sku] = true;
            var option = document.createElement("option");
            option.value = p.sku;
            option.label = p.name;
            options.appendChild(option);
          });
          if (known[productField.value]) { loadPhotos(); }
        });
    }
    function loadPhotos() {
      if (!photoSelect || !productField.value || photoSelect.dataset.loadedFor === productField.value) { return; }
      var sku = productField.value;
      var url = form.dataset.photosUrl.replace("SKU", encodeURIComponent(sku));
      fetch(url, { credentials: "same-origin" })
        .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
        .then(function (data) {
          photoSelect.dataset.loadedFor = sku;
          var chosen = photoSelect.value;
          photoSelect.innerHTML = "";
          var empty = document.createElement("option");
          empty.value = "";
          empty.textContent = data.photos.length ? "---------" : gettext("(this product has no photo yet: upload one)");
          photoSelect.appendChild(empty);
          data.photos.forEach(function (photo) {
            var option = document.createElement("option");
            option.value = photo.id;
            option.textContent = photo.label;
            if (String(photo.id) === chosen || data.photos.length === 1) { option.selected = true; }
            photoSelect.appendChild(option);
          });
        })
        .catch(function () {});
    }
    productField.addEventListener("input", function () {
      window.clearTimeout(searchTimer);
      // A SKU picked from the suggestions (or typed in full) fills Source photo at once, not when the field loses focus.
      if (known[productField.value]) { loadPhotos(); }
      searchTimer = window.setTimeout(suggest, 200);
    });
    productField.addEventListener("change", loadPhotos);
  }

  // Token counters under the prompts (as A1111's "n/75"), counted by the server with the served model's tokenizer.
  ["prompt", "negative_prompt"].forEach(function (name) {
    var field = form.elements[name];
    if (!field || !form.dataset.tokensUrl) { return; }
    var counter = document.createElement("small");
    counter.className = "token-count";
    counter.id = "token-count-" + name;
    counter.setAttribute("aria-live", "polite");
    field.insertAdjacentElement("afterend", counter);
    var timer = null;
    function update() {
      var mode = form.elements.mode ? form.elements.mode.value : "";
      fetch(form.dataset.tokensUrl + "?text=" + encodeURIComponent(field.value) + "&mode=" + encodeURIComponent(mode), { credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (data) {
          if (!data.available) { counter.textContent = ""; return; }
          counter.textContent = interpolate(gettext("%(count)s/%(limit)s tokens"), { count: data.count, limit: data.limit }, true) +
            (data.over ? interpolate(gettext(": CLIP reads the first %(limit)s; ignored: “%(ignored)s”"),
                                     { limit: data.limit, ignored: data.ignored.slice(0, 120) + (data.ignored.length > 120 ? "…" : "") }, true) : "");
          var unknown = name === "prompt" && data.unknown && data.unknown.length ? data.unknown : [];
          if (unknown.length) {
            counter.textContent += interpolate(gettext(" · not known to the embedded model: %(words)s"),
                                               { words: unknown.slice(0, 12).join(", ") + (unknown.length > 12 ? "…" : "") }, true);
          }
          if (name === "prompt" && data.read_as) {
            counter.textContent += interpolate(gettext(" · the embedded model reads it as “%(caption)s”"), { caption: data.read_as }, true);
          }
          counter.classList.toggle("over", data.over);
          counter.classList.toggle("unknown", unknown.length > 0);
        })
        .catch(function () { counter.textContent = ""; });
    }
    field.addEventListener("input", function () { window.clearTimeout(timer); timer = window.setTimeout(update, 250); });
    if (name === "prompt") {  // a scene is given the prompt as typed: what the counter says follows the mode
      Array.prototype.forEach.call(form.querySelectorAll("input[name=mode]"), function (radio) { radio.addEventListener("change", update); });
    }
    update();
  });

  // What the pipeline starts from (img2img: the photo as Photo fit puts it on the canvas; a scene: the product
  // placed, with its shadow), drawn by the server with the job's own code; and a size that follows the photo's shape.
  var preview = document.getElementById("start-preview");
  var note = document.getElementById("start-preview-note");
  var match = document.getElementById("match-photo");
  if (preview && form.dataset.previewUrl) {
    var previewTimer = null;
    var photoSize = null;
    var previewUrl = null;
    function refresh() {
      var checked = form.querySelector("input[name=mode]:checked");
      var photo = form.elements.source_photo;
      var row = preview.closest(".field");
      if (!checked || !photo || row.hidden) { return; }
      if (!photo.value) {
        preview.hidden = true;
        match.hidden = true;
        note.textContent = gettext("Choose a source photo to see it on the job's canvas.");
        return;
      }
      var params = new URLSearchParams({ mode: checked.value, source_photo: photo.value });
      form.querySelectorAll("[data-modes]").forEach(function (el) {
        if (el === preview || !el.name || el.dataset.modes.split(" ").indexOf(checked.value) < 0 || el.value === "") { return; }
        params.set(el.name, el.value);
      });
      ["width", "height"].forEach(function (name) { if (form.elements[name].value) { params.set(name, form.elements[name].value); } });
      fetch(form.dataset.previewUrl + "?" + params.toString(), { credentials: "same-origin" })
        .then(function (r) {
          if (!r.ok) { return r.text().then(function (text) { throw new Error(text); }); }
          var size = (r.headers.get("X-Photo-Size") || "").split("x");
          photoSize = size.length === 2 ? [parseInt(size[0], 10), parseInt(size[1], 10)] : null;
          return r.blob();
        })
        .then(function (blob) {
          if (previewUrl) { URL.revokeObjectURL(previewUrl); }
          previewUrl = URL.createObjectURL(blob);
          preview.src = previewUrl;
          preview.hidden = false;
          note.textContent = form.elements.width.value + "x" + form.elements.height.value + " px" +
            (photoSize ? interpolate(gettext(" from a %(width)sx%(height)s px photo"), { width: photoSize[0], height: photoSize[1] }, true) : "");
          match.hidden = !photoSize;
        })
        .catch(function (error) { preview.hidden = true; match.hidden = true; note.textContent = error.message; });
    }
    function later(delay) { window.clearTimeout(previewTimer); previewTimer = window.setTimeout(refresh, delay); }
    form.addEventListener("input", function (event) { if (event.target.name !== "prompt" && event.target.name !== "negative_prompt") { later(300); } });
    form.addEventListener("change", function () { later(50); });
    if (photoSelect) { new MutationObserver(function () { later(50); }).observe(photoSelect, { childList: true }); }
    match.addEventListener("click", function () {
      if (!photoSize) { return; }
      // the longer side stays as it is; the other follows the photo, both multiples of 8
      var longer = Math.max(parseInt(form.elements.width.value, 10) || 512, parseInt(form.elements.height.value, 10) || 512);
      var ratio = photoSize[0] / photoSize[1];
      var width = ratio >= 1 ? longer : Math.max(64, Math.round(longer * ratio / 8) * 8);
      var height = ratio >= 1 ? Math.max(64, Math.round(longer / ratio / 8) * 8) : longer;
      form.elements.width.value = width;
      form.elements.height.value = height;
      later(0);
    });
    refresh();
  }
})();
