// The call page: the transcript, the timeline and every [data-seek] control drive one <audio>;
// while it plays, the current turn is highlighted (and followed, unless the user turns that off).
(function () {
  "use strict";
  var player = document.getElementById("player");
  if (!player) return;
  var turns = Array.prototype.slice.call(document.querySelectorAll("#turns .turn"));
  var starts = turns.map(function (el) { return parseFloat(el.dataset.start); });
  var ends = turns.map(function (el) { return parseFloat(el.dataset.end); });
  var timeline = document.getElementById("timeline");
  var duration = timeline ? parseFloat(timeline.dataset.duration) || 1 : 1;
  var playhead = document.getElementById("playhead");
  var follow = document.getElementById("follow");
  var current = -1;

  function mmss(t) {
    t = Math.max(0, Math.floor(t));
    var m = Math.floor(t / 60), s = t % 60;
    return (m < 10 ? "0" : "") + m + ":" + (s < 10 ? "0" : "") + s;
  }

  function seek(t, play) {
    player.currentTime = Math.max(0, t);
    if (play) {
      var p = player.play();
      if (p && p.catch) p.catch(function () { /* autoplay refused: the seek still stands */ });
    }
    highlight(t);
  }

  // the last turn that starts at or before t (turns are in time order)
  function turnAt(t) {
    var lo = 0, hi = starts.length - 1, found = -1;
    while (lo <= hi) {
      var mid = (lo + hi) >> 1;
      if (starts[mid] <= t + 0.05) { found = mid; lo = mid + 1; } else { hi = mid - 1; }
    }
    return found >= 0 && t <= ends[found] + 1.0 ? found : -1;
  }

  function highlight(t) {
    var i = turnAt(t);
    if (playhead) {
      var x = Math.min(100, 100 * t / duration);
      playhead.setAttribute("x1", x);
      playhead.setAttribute("x2", x);
    }
    if (i === current) return;
    if (current >= 0) turns[current].classList.remove("current");
    current = i;
    if (i >= 0) {
      turns[i].classList.add("current");
      if (follow && follow.checked && !player.paused) {
        turns[i].scrollIntoView({ block: "nearest", behavior: "smooth" });
      }
    }
    var at = document.getElementById("comment-at-label");
    if (at) at.textContent = mmss(t);
  }

  turns.forEach(function (el) {
    el.addEventListener("click", function (ev) {
      if (window.getSelection && String(window.getSelection()).length) return; // selecting text, not seeking
      seek(parseFloat(el.dataset.start), true);
    });
    el.addEventListener("keydown", function (ev) {
      if (ev.key === "Enter") seek(parseFloat(el.dataset.start), true);
    });
  });

  document.addEventListener("click", function (ev) {
    var target = ev.target.closest ? ev.target.closest("[data-seek]") : null;
    if (target) { ev.preventDefault(); seek(parseFloat(target.dataset.seek), true); }
  });

  if (timeline) {
    var svg = timeline.querySelector("svg");
    svg.addEventListener("click", function (ev) {
      if (ev.target.dataset && ev.target.dataset.seek) return; // a bar: its own start
      var box = svg.getBoundingClientRect();
      seek(duration * (ev.clientX - box.left) / box.width, true);
    });
  }

  player.addEventListener("timeupdate", function () { highlight(player.currentTime); });
  player.addEventListener("seeked", function () { highlight(player.currentTime); });

  var speed = document.getElementById("speed");
  if (speed) speed.addEventListener("change", function () { player.playbackRate = parseFloat(speed.value); });

  var form = document.getElementById("comment-form");
  var lineAt = null; // a transcript line picked to comment on
  if (form) form.addEventListener("submit", function () {
    var now = document.getElementById("comment-at-now");
    var at = lineAt !== null ? lineAt : (now && now.checked ? player.currentTime : null);
    document.getElementById("comment-at").value = at === null ? "" : at.toFixed(2);
  });

  // 💬 on a line: the comment is about that line (shown under it once posted)
  document.querySelectorAll(".comment-line").forEach(function (button) {
    button.addEventListener("click", function (ev) {
      ev.stopPropagation();
      lineAt = parseFloat(button.dataset.at);
      var now = document.getElementById("comment-at-now");
      if (now) now.checked = false;
      var label = document.getElementById("comment-at-label");
      if (label) label.textContent = mmss(lineAt);
      var text = document.getElementById("comment-at-text");
      if (text) text.textContent = text.dataset.line || text.textContent;
      form.classList.add("on-line");
      var area = form.querySelector("textarea");
      area.focus();
      form.scrollIntoView({ block: "center" });
    });
  });

  // 🔗 on a line: its link (copied where the browser allows), and the page goes there
  document.querySelectorAll(".moment-link").forEach(function (link) {
    link.addEventListener("click", function (ev) {
      ev.stopPropagation();
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(link.href).catch(function () { /* the link still opens */ });
      }
    });
  });

  // the pinned top bar and player cover the top of the page: what a link or a saved form points at
  // (#item-x after an override, #comments, #acknowledgement) is scrolled to just below them
  function pinnedHeight() {
    var bar = document.querySelector(".topbar");
    var card = document.getElementById("player-card");
    return (bar ? bar.offsetHeight : 0) + (card ? card.offsetHeight : 0) + 12;
  }
  document.documentElement.style.setProperty("--pinned", pinnedHeight() + "px");
  function showAnchor() {
    if (!/^#(item-|comments|acknowledgement)/.test(location.hash)) return;
    var target = document.getElementById(decodeURIComponent(location.hash.slice(1)));
    if (!target) return;
    var top = target.getBoundingClientRect().top + window.pageYOffset - pinnedHeight();
    window.scrollTo(0, Math.max(0, top));
  }
  window.addEventListener("hashchange", showAnchor);
  window.addEventListener("load", showAnchor);
  showAnchor();

  // deep links: #t=12.5 seeks there (on load and when the hash changes); #item-x scrolls as usual
  function applyHash() {
    var match = /#t=([\d.]+)/.exec(location.hash);
    if (!match) return;
    var t = parseFloat(match[1]);
    seek(t, false);
    var i = turnAt(t);
    if (i >= 0) turns[i].scrollIntoView({ block: "center" });
  }
  window.addEventListener("hashchange", applyHash);
  applyHash();
})();
