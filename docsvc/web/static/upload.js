// Upload form pre-fill: when the clerk chooses a PDF, ask the server to read its metadata
// (POST /upload/extract, nothing stored) and fill the fields that are still empty. The
// filled fields are highlighted and carry the confidence; the clerk checks them and saves.
"use strict";
(function () {
  const form = document.getElementById("upload-form");
  if (!form) return;
  const input = form.querySelector("input[name=file]");
  const status = document.getElementById("prefill-status");
  const fill = (name, value, info) => {
    const el = form.querySelector("[name=" + name + "]");
    if (!el || value === null || value === undefined) return false;
    const text = String(value);
    if (el.tagName === "SELECT") {
      const option = Array.from(el.options).find((o) => o.value === text || o.text === text);
      if (!option || (el.value && el.value !== el.dataset.default)) return false;
      el.value = option.value;
    } else {
      if (el.value.trim() && el.value !== el.dataset.default) return false;
      el.value = text;
    }
    el.classList.add("suggested");
    el.title = "≈ " + info.confidence + (info.page ? " · p. " + info.page : "");
    return true;
  };
  input.addEventListener("change", async () => {
    if (!input.files.length) return;
    const body = new FormData();
    body.append("file", input.files[0]);
    body.append("csrf_token", form.querySelector("input[name=csrf_token]").value);
    let answer;
    try {
      const response = await fetch(form.dataset.extractUrl, {method: "POST", body: body,
        headers: {"X-CSRFToken": body.get("csrf_token")}, credentials: "same-origin"});
      answer = await response.json();
    } catch (e) {
      answer = {fields: {}, reason: String(e)};
    }
    let filled = 0;
    for (const [name, info] of Object.entries(answer.fields || {})) {
      let value = info.value;
      if (name === "recipients") {
        // the recipients are ticked in the directory picker, and only when none is ticked yet
        const boxes = Array.from(form.querySelectorAll("input[type=checkbox][name=recipient]"));
        if (boxes.some((b) => b.checked)) continue;
        for (const r of info.value || []) {
          const box = boxes.find((b) => b.value === (r.value || {}).organ_id && !b.disabled);
          if (box) { box.checked = true; box.closest("label").classList.add("suggested"); filled += 1; }
        }
        continue;
      } else if (name === "references") {
        continue;
      }
      if (fill(name, value, info)) filled += 1;
    }
    status.textContent = filled
      ? status.dataset.done.replace("{n}", filled)
      : status.dataset.none.replace("{reason}", answer.reason || "-");
  });
})();
