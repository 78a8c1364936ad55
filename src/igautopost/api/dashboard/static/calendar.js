// igautopost calendar: drag a post's card onto another day to move it there at the same time
// of day (in the zone the page was laid out in), or in the week view onto an hour slot to move
// it to that day and hour keeping its minutes (08:15 dropped on 14:00 is 14:15), through POST
// /posts/{id}/reschedule. A slot's drop sends the local time with the zone's offset at the
// slot's start (data-offset, from the server): in an hour that happens twice that is the
// first one; an hour the clocks skipped (data-skipped) takes no drop. The card moves at once; if the server refuses (409 while the post is being published, 400 for
// a time in the past...), it goes back and the server's words are shown. Keyboard users open
// the card's link instead: the post's page has the reschedule form.
(function () {
  "use strict";
  const calendar = document.getElementById("calendar");
  if (!calendar) { return; }
  const message = document.getElementById("cal-message");
  const zone = calendar.getAttribute("data-zone");
  let dragged = null;

  // The server laid the days out in the zone it was told (cookie set by app.js): the first
  // visit has no cookie yet, so reload once in the browser's own zone.
  const askedZone = new URLSearchParams(location.search).get("tz");
  if (!askedZone && window.igautopost && igautopost.zone !== zone && !sessionStorage.getItem("igautopost-cal-zone")) {
    sessionStorage.setItem("igautopost-cal-zone", igautopost.zone);
    location.reload();
    return;
  }

  function say(text, isError) {
    message.textContent = text;
    message.classList.toggle("cal-error", Boolean(isError));
  }

  function dayOf(element) { return element && element.closest(".cal-day[data-date]"); }
  function slotOf(element) { return element && element.closest(".cal-slot[data-slot]"); }

  // Where a drop lands: in the week view an hour slot (the card's own hour of that day when
  // dropped on the day's heading), in the month view a day.
  function targetOf(element, card) {
    const slot = slotOf(element);
    if (slot) { return slot; }
    const day = dayOf(element);
    if (day && day.querySelector(".cal-slot") && card) {
      const hour = String(parseInt(card.getAttribute("data-local-time").slice(0, 2), 10));
      return day.querySelector(".cal-slot[data-hour='" + hour + "']") || day;
    }
    return day;
  }

  // A card goes among the day's cards in time order (before the "+K more" link, if any).
  function place(item, day) {
    let list = day.querySelector(".cal-posts");
    if (!list) {  // an empty hour slot has no list yet
      list = document.createElement("ul");
      list.className = "cal-posts";
      day.insertBefore(list, day.querySelector(".cal-more"));
    }
    const time = item.querySelector(".cal-post").getAttribute("data-local-time");
    const after = Array.prototype.find.call(list.children, function (other) {
      return other !== item && other.querySelector(".cal-post").getAttribute("data-local-time") > time;
    });
    list.insertBefore(item, after || null);
  }

  function timeText(card, publishAt) {
    card.setAttribute("data-publish-at", publishAt);
    const shown = card.querySelector(".cal-time");
    if (shown) { shown.setAttribute("datetime", publishAt); }
  }

  function localTime(card, text) {
    card.setAttribute("data-local-time", text);
    const shown = card.querySelector(".cal-time");
    if (shown) { shown.textContent = text.slice(0, 5); }
  }

  async function move(card, target) {
    const item = card.closest(".cal-item");
    const home = { list: item.parentNode, next: item.nextSibling };
    const before = card.getAttribute("data-local-time");
    const slot = target.hasAttribute("data-slot") ? target : null;
    const date = dayOf(target).getAttribute("data-date");
    let publishAt = date + "T" + before;
    if (slot) {
      const hour = slot.getAttribute("data-slot").slice(11, 13);
      if (slot.hasAttribute("data-skipped")) {
        say("Post " + card.getAttribute("data-post-id") + " was not moved: " + hour + ":00 does not exist on " + date + " in " + zone + " (the clocks went forward): pick another hour.", true);
        return;
      }
      localTime(card, hour + before.slice(2));  // keeps the minutes (and seconds)
      publishAt = date + "T" + card.getAttribute("data-local-time") + slot.getAttribute("data-offset");
    }
    place(item, target);
    card.classList.add("cal-moving");
    say("Moving post " + card.getAttribute("data-post-id") + " to " + date + "…", false);
    let answer = null;
    let body = {};
    try {
      const url = "/posts/" + card.getAttribute("data-post-id") + "/reschedule?tz=" + encodeURIComponent(zone);
      answer = await igautopost.post(url, { publish_at: publishAt });
      const text = await answer.text();
      try { body = JSON.parse(text); } catch (e) { body = { error: text }; }
    } catch (e) {
      body = { error: "The server could not be reached: " + e.message };
    }
    card.classList.remove("cal-moving");
    if (answer && answer.ok) {
      if (body.publish_at) { timeText(card, body.publish_at); }
      if (body.status) { card.setAttribute("data-status", body.status); }
      say("Post " + card.getAttribute("data-post-id") + " now publishes on " + date + " at " + card.getAttribute("data-local-time").slice(0, 5) + ".", false);
      return;
    }
    localTime(card, before);
    home.list.insertBefore(item, home.next && home.next.parentNode === home.list ? home.next : null);
    const why = (answer && answer.status === 401) ? "Your session has ended: log in again." : (body.error || body.detail || ("refused (" + (answer ? answer.status : "no answer") + ")"));
    say("Post " + card.getAttribute("data-post-id") + " was not moved: " + why, true);
    card.focus();
  }

  calendar.addEventListener("dragstart", function (event) {
    const card = event.target.closest && event.target.closest(".cal-post");
    if (!card || card.getAttribute("draggable") !== "true") { return; }
    dragged = card;
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.getAttribute("data-post-id"));
  });

  calendar.addEventListener("dragend", function () {
    dragged = null;
    calendar.querySelectorAll(".cal-drop-target").forEach(function (el) { el.classList.remove("cal-drop-target"); });
  });

  calendar.addEventListener("dragover", function (event) {
    const day = targetOf(event.target, dragged);
    if (!dragged || !day) { return; }
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    if (!day.classList.contains("cal-drop-target")) {
      calendar.querySelectorAll(".cal-drop-target").forEach(function (el) { el.classList.remove("cal-drop-target"); });
      day.classList.add("cal-drop-target");
    }
  });

  calendar.addEventListener("drop", function (event) {
    const card = dragged;
    const day = targetOf(event.target, card);
    if (!card || !day) { return; }
    event.preventDefault();
    day.classList.remove("cal-drop-target");
    if (day === (slotOf(card) || dayOf(card))) { return; }
    move(card, day);
  });

  // An image the browser cannot load (a URL gone, offline) shows the placeholder instead.
  // (One that failed before this script ran is found by its empty natural size.)
  const placeholder = document.getElementById("cal-placeholder");
  function unavailable(img) {
    const thumb = img.closest(".cal-thumb");
    if (thumb && placeholder) { thumb.replaceWith(placeholder.content.cloneNode(true)); }
  }
  calendar.addEventListener("error", function (event) {
    if (event.target.tagName === "IMG") { unavailable(event.target); }
  }, true);
  calendar.querySelectorAll(".cal-thumb img").forEach(function (img) {
    if (img.complete && img.naturalWidth === 0 && img.getAttribute("src")) { unavailable(img); }
  });

  window.igautopostCalendar = { move: move };
})();
