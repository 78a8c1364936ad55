// The queue's live updates (live.py): an EventSource on the table's data-events URL. Each
// "post" event carries the post's row, rendered by the server: it replaces the row shown,
// or, for a post the page did not list that matches its status filter, goes in at its
// place by publish time. A published post's permalink comes in a later event (the engine
// reads it a few seconds after publishing). The browser reconnects by itself when a
// stream ends.
(function () {
  "use strict";
  const table = document.getElementById("queue");
  if (!table || !window.EventSource) { return; }
  const body = table.tBodies[0];
  const statusFilter = table.getAttribute("data-status-filter") || "";
  const notice = document.getElementById("queue-live");

  function rowFrom(html) {
    const holder = document.createElement("tbody");
    holder.innerHTML = html.trim();
    return holder.firstElementChild;
  }

  function place(row) {
    const when = row.getAttribute("data-publish-at");
    const later = Array.prototype.find.call(body.rows, function (other) {
      const at = other.getAttribute("data-publish-at");
      return at && new Date(at) > new Date(when);
    });
    const empty = body.querySelector("tr.empty");
    if (empty) { empty.remove(); }
    body.insertBefore(row, later || null);
  }

  const source = new EventSource(table.getAttribute("data-events"), { withCredentials: true });
  source.addEventListener("post", function (event) {
    const change = JSON.parse(event.data);
    const row = rowFrom(change.html);
    const shown = document.getElementById("post-" + change.id);
    if (shown) {
      const before = shown.getAttribute("data-status");
      const linked = shown.querySelector("a.permalink");
      shown.replaceWith(row);
      if (notice && before !== change.status) {
        notice.textContent = "Post " + change.id + " is now " + change.status + ".";
      } else if (notice && !linked && row.querySelector("a.permalink")) {
        notice.textContent = "Post " + change.id + " has its link on Instagram.";
      }
    } else if (!statusFilter || statusFilter === change.status) {
      place(row);
    } else {
      return;
    }
    if (window.igautopost) { window.igautopost.localTimes(row); }
  });
})();
