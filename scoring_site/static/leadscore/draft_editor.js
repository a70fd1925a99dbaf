// The draft editor is one form: rows are added from a <template> (the formset's empty form)
// and removed by ticking their hidden DELETE box, so a single Save sends every row at once.
(function () {
  function editor() { return document.querySelector("[data-draft-editor]"); }

  function markUnsaved(form) {
    form.dataset.dirty = "1";
    const note = form.querySelector("[data-unsaved]");
    if (note) note.hidden = false;
  }

  document.addEventListener("click", function (event) {
    const form = editor();
    if (!form) return;
    if (event.target.closest("[data-add-rule]")) {
      const total = form.querySelector("[name=rules-TOTAL_FORMS]");
      const index = Number(total.value);
      const html = document.getElementById("rule-template").innerHTML.replace(/__prefix__/g, String(index));
      const rows = document.getElementById("rule-rows");
      rows.insertAdjacentHTML("beforeend", html);
      const row = rows.lastElementChild;
      row.querySelector("[data-row-number]").textContent = String(index + 1);
      total.value = String(index + 1);
      document.getElementById("no-rules").hidden = true;
      if (window.htmx) window.htmx.process(row);
      markUnsaved(form);
      const first = row.querySelector("input:not([type=hidden]), select");
      if (first) first.focus();
    }
    const remove = event.target.closest("[data-remove-rule]");
    if (remove) {
      const row = remove.closest("[data-rule-row]");
      row.querySelector("input[name$='-DELETE']").checked = true;
      row.hidden = true;
      markUnsaved(form);
    }
  });

  document.addEventListener("input", function (event) {
    const form = editor();
    if (form && form.contains(event.target)) markUnsaved(form);
  });

  document.addEventListener("submit", function (event) {
    if (event.target === editor()) delete event.target.dataset.dirty;
  });

  window.addEventListener("beforeunload", function (event) {
    // Leaving with unsaved rows would drop them silently: the browser asks first.
    const form = editor();
    if (form && form.dataset.dirty) event.preventDefault();
  });
})();
