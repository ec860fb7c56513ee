// The console's few lines of script (everything works without them): move focus to the
// error summary when a form comes back with problems, so that screen readers announce it;
// on a phone, fold the queue's filters away until asked for (unless some are in use), so
// the records come first.
(function () {
  "use strict";
  var summary = document.querySelector("[data-autofocus]");
  if (summary) { summary.focus(); }
  var filters = document.querySelector("details.filters-panel[data-active='0']");
  if (filters && window.matchMedia("(max-width: 47.99rem)").matches) {
    filters.open = false;
  }
})();
