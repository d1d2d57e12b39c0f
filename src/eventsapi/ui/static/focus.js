/* eventsapi's forms (issue 17): a form sent back with its errors puts the focus on what
 * says what went wrong, so that a keyboard or screen-reader user starts there, not at the
 * top of the page.
 *
 * Loaded as a file (the pages' CSP allows no inline script), only by a page that shows an
 * error summary or the edit form's conflict: that element is marked data-focus-on-load
 * (and tabindex="-1", so that it can take the focus without joining the Tab order). From
 * it, Tab goes to the summary's links, each of which takes the focus to its field. A page
 * that puts the focus on a field itself (the sign-in's steps: one field each, its error
 * beside it) keeps its autofocus: focusing anything first would cancel it. Without
 * JavaScript the page reads as before, from the top.
 */
(function () {
  "use strict";
  if (document.querySelector("[autofocus]")) {
    return;
  }
  var target = document.querySelector("[data-focus-on-load]");
  if (target) {
    target.focus();
  }
}());
