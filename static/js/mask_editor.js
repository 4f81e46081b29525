// Mask editor: drag a box around the product or click points on it (+) or on the scene (-) and the server finds it
// (GrabCut); paint the product (kept pixels) over the photo, erase, undo, start from the automatic mask, save.
// The canvas holds the mask at the photo's own size (opaque = product); CSS shows it translucent over the photo.
(function () {
  "use strict";
  var root = document.getElementById("mask-editor");
  var canvas = document.getElementById("mask-canvas");
  if (!root || !canvas) { return; }
  var ctx = canvas.getContext("2d", { willReadFrequently: true });
  var TINT = "rgb(255, 0, 128)";
  var canEdit = root.dataset.canEdit === "1";
  var status = document.getElementById("mask-status");
  var undoButton = document.getElementById("mask-undo");
  var brush = document.getElementById("mask-brush");
  var undoStack = [];
  // The hints since the box was dragged (or since the mask was last replaced): each request sends all of them, so
  // every earlier point stays a constraint; an undo restores them with the pixels.
  var session = { box: null, add: [], remove: [] };
  function copySession(from) { return { box: from.box, add: from.add.slice(), remove: from.remove.slice() }; }
  // The session's points, marked on the photo (+ green on the product, - red on the scene).
  function showPoints() {
    Array.prototype.forEach.call(root.querySelectorAll(".mask-point"), function (marker) { marker.remove(); });
    ["add", "remove"].forEach(function (kind) {
      session[kind].forEach(function (value) {
        var xy = value.split(",");
        var marker = document.createElement("span");
        marker.className = "mask-point " + kind;
        marker.textContent = kind === "add" ? "+" : "\u2212";
        marker.style.left = (100 * Number(xy[0]) / canvas.width) + "%";
        marker.style.top = (100 * Number(xy[1]) / canvas.height) + "%";
        canvas.parentElement.appendChild(marker);
      });
    });
  }
  function setSession(next) {
    session = next;
    showPoints();
    if (session.box) {
      var corners = session.box.split(",").map(Number);
      showBox({ x: corners[0], y: corners[1] }, { x: corners[2], y: corners[3] });
    } else if (boxOutline) {
      boxOutline.hidden = true;
    }
  }
  var drawing = false;
  var last = null;
  var dirty = false;

  function say(text, isError) {
    if (!status) { return; }
    status.textContent = text;
    status.className = isError ? "error" : "";
  }

  function remember() {
    undoStack.push({ pixels: ctx.getImageData(0, 0, canvas.width, canvas.height), session: copySession(session) });
    if (undoStack.length > 30) { undoStack.shift(); }
    if (undoButton) { undoButton.disabled = false; }
  }

  function undo() {
    var previous = undoStack.pop();
    if (previous) { ctx.putImageData(previous.pixels, 0, 0); setSession(previous.session); dirty = true; say("Undone."); }
    if (undoButton) { undoButton.disabled = undoStack.length === 0; }
  }

  // A white-on-black mask PNG becomes opaque tint where white.
  function load(url, recordUndo, loaded) {
    var image = new Image();
    image.onload = function () {
      var scratch = document.createElement("canvas");
      scratch.width = canvas.width;
      scratch.height = canvas.height;
      var s = scratch.getContext("2d");
      s.drawImage(image, 0, 0, canvas.width, canvas.height);
      var source = s.getImageData(0, 0, canvas.width, canvas.height).data;
      var out = ctx.createImageData(canvas.width, canvas.height);
      for (var i = 0; i < source.length; i += 4) {
        if (source[i] >= 128) { out.data[i] = 255; out.data[i + 1] = 0; out.data[i + 2] = 128; out.data[i + 3] = 255; }
      }
      if (recordUndo) { remember(); }
      ctx.putImageData(out, 0, 0);
      root.dataset.loaded = "1";
      if (loaded) { loaded(); }
    };
    image.onerror = function () { say(gettext("Could not load the mask."), true); root.dataset.loaded = "1"; };
    image.src = url.indexOf("blob:") === 0 ? url : url + (url.indexOf("?") < 0 ? "?" : "&") + "t=" + Date.now();
  }

  function point(event) {
    var rect = canvas.getBoundingClientRect();
    return {
      x: (event.clientX - rect.left) * canvas.width / rect.width,
      y: (event.clientY - rect.top) * canvas.height / rect.height,
    };
  }

  function tool() {
    var checked = root.querySelector("input[name=mask-tool]:checked");
    return checked ? checked.value : "paint";
  }

  function stroke(from, to) {
    ctx.save();
    ctx.globalCompositeOperation = tool() === "erase" ? "destination-out" : "source-over";
    ctx.strokeStyle = TINT;
    ctx.fillStyle = TINT;
    ctx.lineWidth = Number(brush ? brush.value : 24);
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    ctx.beginPath();
    ctx.moveTo(from.x, from.y);
    ctx.lineTo(to.x + 0.01, to.y);
    ctx.stroke();
    ctx.restore();
    dirty = true;
  }

  if (root.dataset.hasMask === "1") { load(root.dataset.maskUrl, false); } else { root.dataset.loaded = "1"; }
  if (!canEdit) { return; }
  if (brush) { brush.value = Math.max(4, Math.round(canvas.width * 0.04)); brush.max = Math.max(40, Math.round(canvas.width / 4)); }

  var stage = canvas.parentElement;
  var boxStart = null;
  var boxOutline = null;
  var busy = false;

  function currentMaskBlob(done) {
    var pixels = ctx.getImageData(0, 0, canvas.width, canvas.height);
    var scratch = document.createElement("canvas");
    scratch.width = canvas.width;
    scratch.height = canvas.height;
    var s = scratch.getContext("2d");
    var out = s.createImageData(canvas.width, canvas.height);
    for (var i = 0; i < pixels.data.length; i += 4) {
      var v = pixels.data[i + 3] >= 128 ? 255 : 0;
      out.data[i] = v; out.data[i + 1] = v; out.data[i + 2] = v; out.data[i + 3] = 255;
    }
    s.putImageData(out, 0, 0);
    scratch.toBlob(done, "image/png");
  }

  function csrf() {
    var token = root.querySelector("input[name=csrfmiddlewaretoken]");
    return token ? token.value : "";
  }

  // Ask the server to find the product from the hints; the answer replaces the canvas (one undo step) and the
  // hints become ``next`` (the session they belong to).
  function hint(fields, withMask, next) {
    if (busy) { return; }
    busy = true;
    root.dataset.finding = "1";
    say(gettext("Finding the product…"));
    function send(blob) {
      var body = new FormData();
      Object.keys(fields).forEach(function (key) {
        [].concat(fields[key]).forEach(function (value) { body.append(key, value); });
      });
      if (blob) { body.append("mask", blob, "mask.png"); }
      fetch(root.dataset.hintsUrl, { method: "POST", body: body, credentials: "same-origin", headers: { "X-CSRFToken": csrf() } })
        .then(function (response) {
          if (!response.ok) { return response.json().then(function (data) { throw new Error(data.error || gettext("The hint was refused.")); }); }
          return response.blob();
        })
        .then(function (png) {
          var url = URL.createObjectURL(png);
          load(url, true, function () { URL.revokeObjectURL(url); setSession(next); });
          dirty = true;
          var count = next.add.length + next.remove.length;
          say(count ? interpolate(ngettext("Found with %(count)s point: only the mask near it changed; Undo takes it back.",
                                           "Found with %(count)s points: only the mask near the last one changed; Undo takes it back.", count),
                                  { count: count }, true)
                    : gettext("Found: check the pink pixels, refine with Add or Remove, then save."));
        })
        .catch(function (error) { say(error.message, true); setSession(session); })
        .then(function () { busy = false; root.dataset.finding = "0"; });
    }
    if (withMask) { currentMaskBlob(send); } else { send(null); }
  }

  // The box outline, in percent of the photo so it stays on the product whatever the page's width.
  function showBox(from, to) {
    if (!boxOutline) { boxOutline = document.createElement("div"); boxOutline.className = "mask-box"; boxOutline.id = "mask-box"; stage.appendChild(boxOutline); }
    boxOutline.style.left = 100 * Math.min(from.x, to.x) / canvas.width + "%";
    boxOutline.style.top = 100 * Math.min(from.y, to.y) / canvas.height + "%";
    boxOutline.style.width = 100 * Math.abs(to.x - from.x) / canvas.width + "%";
    boxOutline.style.height = 100 * Math.abs(to.y - from.y) / canvas.height + "%";
    boxOutline.hidden = false;
  }

  canvas.addEventListener("pointerdown", function (event) {
    event.preventDefault();
    var where = point(event);
    var current = tool();
    if (current === "add" || current === "remove") {
      var clicked = Math.round(where.x) + "," + Math.round(where.y);
      var next = copySession(session);
      next[current].push(clicked);
      var fields = { add: next.add, remove: next.remove, focus: clicked };
      if (next.box) { fields.box = next.box; }
      hint(fields, true, next);
      return;
    }
    canvas.setPointerCapture(event.pointerId);
    if (current === "box") { boxStart = where; showBox(where, where); return; }
    remember();
    drawing = true;
    last = where;
    stroke(last, last);
  });
  canvas.addEventListener("pointermove", function (event) {
    if (boxStart) { showBox(boxStart, point(event)); return; }
    if (!drawing) { return; }
    var next = point(event);
    stroke(last, next);
    last = next;
  });
  function end(event) {
    if (boxStart && event && event.type === "pointerup") {
      var to = point(event);
      var box = [Math.min(boxStart.x, to.x), Math.min(boxStart.y, to.y), Math.max(boxStart.x, to.x), Math.max(boxStart.y, to.y)]
        .map(function (v, i) { return Math.round(Math.max(0, Math.min(i % 2 ? canvas.height : canvas.width, v))); });
      hint({ box: box.join(",") }, false, { box: box.join(","), add: [], remove: [] });
    }
    boxStart = null;
    drawing = false;
    last = null;
  }
  canvas.addEventListener("pointerup", end);
  canvas.addEventListener("pointercancel", end);

  if (undoButton) { undoButton.addEventListener("click", undo); }
  document.addEventListener("keydown", function (event) {
    if ((event.ctrlKey || event.metaKey) && event.key === "z") { event.preventDefault(); undo(); }
  });
  document.getElementById("mask-automatic").addEventListener("click", function () {
    say(gettext("Finding the product…"));
    load(root.dataset.maskUrl + "?automatic=1", true, function () { setSession({ box: null, add: [], remove: [] }); });
    dirty = true;
    say(gettext("Automatic mask loaded: check it, then save."));
  });
  document.getElementById("mask-clear").addEventListener("click", function () {
    remember();
    setSession({ box: null, add: [], remove: [] });
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    dirty = true;
  });
  document.getElementById("mask-save").addEventListener("click", function () {
    say("Saving…");
    currentMaskBlob(function (blob) {
      var body = new FormData();
      body.append("mask", blob, "mask.png");
      fetch(root.dataset.maskUrl, {
        method: "POST", body: body, credentials: "same-origin",
        headers: { "X-CSRFToken": csrf() },
      }).then(function (response) {
        return response.json().then(function (data) { return { ok: response.ok, data: data }; });
      }).then(function (result) {
        if (result.ok) {
          dirty = false;
          var source = document.getElementById("mask-source");
          if (source) { source.textContent = result.data.mask_source; }
          say(gettext("Saved. New scene jobs from this photo keep these pixels."));
        } else {
          say(result.data.error || gettext("The mask was not saved."), true);
        }
      }).catch(function () { say(gettext("The mask was not saved: the server could not be reached. Try again."), true); });
    });
  });
  window.addEventListener("beforeunload", function (event) {
    if (dirty) { event.preventDefault(); event.returnValue = ""; }
  });
})();
