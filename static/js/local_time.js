// Times in the reader's own time zone. The server writes every time once, in UTC
// (backups/templatetags/formatting.py `when`):
//   <time datetime="2026-12-02T14:05:00Z" title="2 Dec 2026, 14:05 UTC">2 Dec 2026, 14:05 UTC</time>
// and this rewrites the text to the browser's zone ("2 Dec 2026, 15:05 CET"), keeping the UTC
// time on hover (the title). Without JavaScript the UTC text stays, which is still right.
// A file of its own: the Content-Security-Policy runs no inline script.
(() => {
  "use strict";

  const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  // en-GB names a zone as "CET", "BST", or "GMT+9" where it has no short name, and UTC as "UTC".
  const ZONE = new Intl.DateTimeFormat("en-GB", { timeZoneName: "short" });
  const pad = (n) => String(n).padStart(2, "0");

  function localText(moment) {
    const zone = ZONE.formatToParts(moment).find((part) => part.type === "timeZoneName");
    return (
      `${moment.getDate()} ${MONTHS[moment.getMonth()]} ${moment.getFullYear()}, ` +
      `${pad(moment.getHours())}:${pad(moment.getMinutes())} ${zone ? zone.value : ""}`
    ).trim();
  }

  function rewrite(root) {
    if (!root || !root.querySelectorAll) return;
    const times = root.matches && root.matches("time[datetime]") ? [root] : [];
    times.push(...root.querySelectorAll("time[datetime]"));
    for (const time of times) {
      const moment = new Date(time.getAttribute("datetime"));
      if (!Number.isNaN(moment.getTime())) time.textContent = localText(moment);
    }
  }

  // htmx fires htmx:load on each piece of content it swaps in (the polled fragments).
  document.addEventListener("htmx:load", (event) => rewrite(event.target));
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", () => rewrite(document));
  } else {
    rewrite(document);
  }
})();
