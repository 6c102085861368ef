// Review list: "select all" for the bulk approval and return, and a confirmation before
// either is sent (the one-row approve and return forms are sent by htmx, without one).
// Delegated on the document so it keeps working after htmx swaps the table.
(function () {
  "use strict";
  document.addEventListener("change", function (event) {
    var all = event.target.closest("[data-select-all]");
    if (!all) { return; }
    var form = all.closest("form");
    form.querySelectorAll('input[type="checkbox"][name="' + all.dataset.selectAll + '"]').forEach(function (box) {
      box.checked = all.checked;
    });
  });
  document.addEventListener("submit", function (event) {
    var button = event.submitter || event.target.querySelector("[data-confirm]");
    if (!button || !button.dataset || !button.dataset.confirm) { return; }
    var chosen = event.target.querySelectorAll('input[name="visit"]:checked').length;
    if (!chosen) {
      event.preventDefault();
      window.alert(button.dataset.none || "请先勾选要审核通过的记录。");
      return;
    }
    if (!window.confirm(button.dataset.confirm.replace("所选", "所选 " + chosen + " 条"))) {
      event.preventDefault();
    }
  });
})();
