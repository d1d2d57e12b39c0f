/* eventsapi's live pages (issue 17): follow the change stream and refresh what it changes.
 *
 * Loaded as a file (the pages' CSP allows no inline script) by the pages that show events,
 * with the stream's URL in data-stream (it starts after the change log's position read
 * before the page's events were, so nothing committed since is missed) and, on an event's
 * page, the event's id in data-event: only that event's changes then count. On a change
 * that counts, the page is fetched again (with the visitor's cookies, as a reload would)
 * and each element marked data-live is given the new page's content of the element of the
 * same id. A part where the visitor is typing is left as it is, so nothing typed is lost;
 * the focus stays on the link or button it was on. Without JavaScript (or EventSource),
 * the page is as fresh as its last load.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  var stream = script && script.getAttribute("data-stream");
  if (!stream || !window.EventSource || !window.fetch || !window.DOMParser) {
    return;
  }
  var only = script.getAttribute("data-event");
  var TYPES = [
    "event.created", "event.updated", "event.deleted", "event.restored", "event.purged",
    "registration.confirmed", "registration.waitlisted", "registration.promoted",
    "registration.cancelled"
  ];
  var QUIET_MS = 250; // changes that come together (a cancel and its promotion): one fetch
  var GAP_MS = 1000; // and on a busy service, at most one fetch a second
  var done = 0;
  var busy = false;
  var again = false;
  var timer = null;

  function concerns(message) {
    if (!only) {
      return true;
    }
    try {
      return JSON.parse(message.data).id === only;
    } catch (error) {
      return false;
    }
  }

  function typing(part) {
    var fields = part.querySelectorAll("input, textarea, select");
    for (var i = 0; i < fields.length; i += 1) {
      var field = fields[i];
      if (field === document.activeElement && field.type !== "submit") {
        return true;
      }
      if (field.type !== "hidden" && "defaultValue" in field && field.value !== field.defaultValue) {
        return true;
      }
    }
    return false;
  }

  function focusKey(part) {
    var active = document.activeElement;
    if (!active || !part.contains(active)) {
      return null;
    }
    return { id: active.id, href: active.getAttribute("href"), text: active.textContent };
  }

  function refocus(part, key) {
    var candidates = part.querySelectorAll("a, button");
    for (var i = 0; i < candidates.length; i += 1) {
      var found = candidates[i];
      if ((key.id && found.id === key.id) ||
          (!key.id && found.getAttribute("href") === key.href && found.textContent === key.text)) {
        found.focus();
        return;
      }
    }
  }

  function swap(fresh) {
    var changed = false;
    var parts = document.querySelectorAll("[data-live]");
    for (var i = 0; i < parts.length; i += 1) {
      var part = parts[i];
      var next = part.id && fresh.getElementById(part.id);
      if (!next || typing(part) || next.innerHTML === part.innerHTML) {
        continue;
      }
      var key = focusKey(part);
      part.replaceChildren.apply(part, Array.prototype.map.call(
        next.childNodes, function (node) { return document.importNode(node, true); }));
      if (key) {
        refocus(part, key);
      }
      if (window.htmx) {
        window.htmx.process(part);
      }
      changed = true;
    }
    return changed;
  }

  function note(text) {
    var live = document.getElementById("live-note");
    if (live) {
      live.textContent = text;
    }
  }

  function refresh() {
    timer = null;
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    var address = window.location.href;
    fetch(address, {
      headers: { Accept: "text/html" },
      credentials: "same-origin",
      cache: "no-store"
    }).then(function (response) {
      return response.ok ? response.text() : null;
    }).then(function (text) {
      if (text !== null && window.location.href !== address) {
        again = true; // the filters changed meanwhile (htmx): that page is out of date
      } else if (text !== null && swap(new DOMParser().parseFromString(text, "text/html"))) {
        note("Updated at " + new Date().toLocaleTimeString() + ".");
      }
    }).catch(function () {
      // The next change, or a reload, tries again.
    }).then(function () {
      busy = false;
      done = Date.now();
      if (again) {
        again = false;
        schedule();
      }
    });
  }

  function schedule() {
    if (timer === null) {
      timer = window.setTimeout(refresh, Math.max(QUIET_MS, done + GAP_MS - Date.now()));
    }
  }

  var source = null;

  function follow() {
    source = new EventSource(stream);
    TYPES.forEach(function (type) {
      source.addEventListener(type, function (message) {
        if (!concerns(message)) {
          return;
        }
        if (only && (type === "event.deleted" || type === "event.purged")) {
          // Its page is a 404 now: say so, and leave what is shown as it was.
          note("This event has been deleted.");
          return;
        }
        schedule();
      });
    });
  }

  // A stream the server refused (too many from this address, turned off) is not retried
  // by EventSource; the page still works by reload. Leaving closes it, so that it does not
  // hold one of this address's streams while the page sits in the back/forward cache;
  // coming back opens it again from the page's own position (what changed meanwhile is
  // sent again, and refreshes the page).
  window.addEventListener("pagehide", function () {
    if (source) {
      source.close();
      source = null;
    }
  });
  window.addEventListener("pageshow", function (shown) {
    if (shown.persisted && !source) {
      follow();
    }
  });
  follow();
}());
