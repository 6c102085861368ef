// Bulk actions on a table: <input data-check-all="ids"> ticks every box named "ids";
// <button data-confirm="…"> asks first; <form data-progress="…"> says it is working.
(function () {
  "use strict";
  document.addEventListener("change", function (event) {
    var name = event.target.dataset && event.target.dataset.checkAll;
    if (!name) return;
    var form = event.target.form || document;
    form.querySelectorAll('input[type="checkbox"][name="' + name + '"]').forEach(function (box) {
      box.checked = event.target.checked;
    });
  });
  document.addEventListener("submit", function (event) {
    var button = event.submitter;
    if (button && button.dataset.confirm && !window.confirm(button.dataset.confirm)) {
      event.preventDefault();
      return;
    }
    var form = event.target;
    if (form.dataset.progress) {
      form.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
      var note = document.createElement("div");
      note.className = "progress mt-3";
      note.setAttribute("role", "progressbar");
      note.setAttribute("aria-label", form.dataset.progress);
      note.innerHTML = '<div class="progress-bar progress-bar-striped progress-bar-animated w-100"></div>';
      form.appendChild(note);
      var text = document.createElement("p");
      text.className = "small text-muted mt-1";
      text.textContent = form.dataset.progress;
      form.appendChild(text);
    }
  });
})();
