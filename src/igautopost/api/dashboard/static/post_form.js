// The new-post form's live counters: the caption's characters, hashtags and @-mentions
// against Instagram's limits, counted as igautopost.validation counts them (characters are
// code points; a hashtag is # and word characters not after a letter or &; a mention is @
// and letters, digits, dots or underscores not after a letter or dot).
(function () {
  "use strict";
  const caption = document.getElementById("caption");
  if (!caption) { return; }
  const HASHTAG = /(?<![\p{L}\p{N}_&])#[\p{L}\p{N}\p{M}_]+/gu;
  const MENTION = /(?<![\p{L}\p{N}_.])@[A-Za-z0-9._]+/gu;
  const counters = [
    ["caption-chars", function (text) { return Array.from(text).length; }, " characters"],
    ["caption-hashtags", function (text) { return (text.match(HASHTAG) || []).length; }, "hashtags: "],
    ["caption-mentions", function (text) { return (text.match(MENTION) || []).length; }, "mentions: "],
  ];

  function update() {
    const text = caption.value;
    counters.forEach(function (entry) {
      const el = document.getElementById(entry[0]);
      if (!el) { return; }
      const limit = Number(el.getAttribute("data-limit"));
      const count = entry[1](text);
      el.textContent = entry[2].endsWith(": ")
        ? entry[2] + count + " / " + limit
        : count + " / " + limit + entry[2];
      el.classList.toggle("error", count > limit);
    });
  }

  caption.addEventListener("input", update);
  update();
})();
