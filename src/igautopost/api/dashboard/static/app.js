// igautopost dashboard: small, dependency-free helpers every page uses.
// - <time datetime="..."> elements are shown in the viewer's own zone;
// - the viewer's zone is remembered in a cookie so the server can lay out days;
// - forms marked data-confirm ask before doing what cannot be undone;
// - igautopost.post(url, fields) sends a POST with the page's CSRF token.
(function () {
  "use strict";
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  const cookieZone = (document.cookie.match(/(?:^|; )igautopost_tz=([^;]*)/) || [])[1];
  if (decodeURIComponent(cookieZone || "") !== zone) {
    document.cookie = "igautopost_tz=" + zone + "; path=/; max-age=31536000; samesite=strict";
  }
  const format = new Intl.DateTimeFormat(undefined, {
    year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", timeZoneName: "short",
  });

  function localTimes(root) {
    root.querySelectorAll("time[datetime][data-local]").forEach(function (el) {
      const when = new Date(el.getAttribute("datetime"));
      if (!isNaN(when)) { el.textContent = format.format(when); el.title = el.getAttribute("datetime"); }
    });
  }

  function csrfToken() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  async function post(url, fields) {
    const body = new URLSearchParams(fields || {});
    body.set("csrf_token", csrfToken());
    return fetch(url, {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "Accept": "application/json", "X-CSRF-Token": csrfToken() },
    });
  }

  document.addEventListener("submit", function (event) {
    const form = event.target;
    const question = form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) { event.preventDefault(); }
  });

  window.igautopost = { localTimes: localTimes, post: post, csrfToken: csrfToken, zone: zone };
  localTimes(document);
})();
