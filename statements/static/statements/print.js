// The printable statement's "Print or save as PDF" button (a file, not inline script, so that a
// Content-Security-Policy without 'unsafe-inline' still lets it work).
document.addEventListener("DOMContentLoaded", function () {
  var button = document.getElementById("print-statement");
  if (button) {
    button.addEventListener("click", function () { window.print(); });
  }
});
