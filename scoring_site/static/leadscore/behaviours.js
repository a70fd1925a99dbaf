// Page behaviours as plain listeners (the Content-Security-Policy forbids eval, which
// htmx's hx-on attributes need).
document.addEventListener("htmx:beforeSwap", function (event) {
  // Forms marked data-swap-errors show the server's 400 explanation in place.
  if (event.detail.xhr.status === 400 && event.detail.elt.closest("[data-swap-errors]")) {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
});

document.addEventListener("submit", function (event) {
  // "Save as segment" keeps the lead list's current filters (not the page number).
  const form = event.target;
  const source = form.dataset.filtersFrom && document.getElementById(form.dataset.filtersFrom);
  if (!source) return;
  const params = new URLSearchParams();
  for (const [key, value] of new FormData(source)) {
    if (value !== "" && key !== "page") params.append(key, value);
  }
  form.querySelector("[name=query]").value = params.toString();
});

document.addEventListener("submit", function (event) {
  // Forms that destroy something (delete a segment) ask first.
  const question = event.target.dataset.confirm;
  if (question && !window.confirm(question)) event.preventDefault();
});

document.addEventListener("change", function (event) {
  // "Select all" ticks every row checkbox of its name on the page (the lead list's bulk actions).
  const name = event.target.dataset && event.target.dataset.selectAll;
  if (!name) return;
  for (const box of document.querySelectorAll(`input[type=checkbox][name="${name}"]`)) {
    box.checked = event.target.checked;
  }
});

document.addEventListener("submit", function (event) {
  // After htmx filtering the address bar holds the current filters: bulk actions return there.
  const back = event.target.querySelector("input[name=back][data-from-location]");
  if (back) back.value = window.location.search.replace(/^\?/, "");
});
