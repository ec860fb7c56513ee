// The console's few lines of script (everything works without them): move focus to the
// error summary when a form comes back with problems, so that screen readers announce it.
(function () {
  "use strict";
  var summary = document.querySelector("[data-autofocus]");
  if (summary) { summary.focus(); }
})();
