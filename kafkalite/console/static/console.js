// kafkalite console: live updates without a reload.
//
// Every few seconds, while the tab is visible, the page fetches its own URL again and swaps
// each element that has both an id and the data-live attribute for its fresh copy (offsets,
// lag, the trace). Nothing else changes: forms, links and the scroll position stay, and a
// part that holds the keyboard focus is left alone until the focus moves. Without this
// script the pages are the same, only still; the button pauses and resumes the updates.
(function () {
  "use strict";
  var PERIOD_MS = 2000;
  var paused = false;
  var busy = false;

  function liveParts() {
    return document.querySelectorAll("[data-live][id]");
  }

  function say(text) {
    var status = document.getElementById("live-status");
    if (status) status.textContent = text;
  }

  function refresh() {
    if (paused || busy || document.hidden || liveParts().length === 0) return;
    busy = true;
    fetch(window.location.href, { headers: { Accept: "text/html" }, cache: "no-store" })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.text();
      })
      .then(function (text) {
        var fresh = new DOMParser().parseFromString(text, "text/html");
        liveParts().forEach(function (part) {
          var next = fresh.getElementById(part.id);
          if (!next || next.innerHTML === part.innerHTML) return;
          if (part.contains(document.activeElement)) return;
          part.replaceWith(document.importNode(next, true));
        });
        say("live · updated " + new Date().toLocaleTimeString());
      })
      .catch(function (error) {
        say("live · update failed (" + error.message + "), retrying");
      })
      .then(function () {
        busy = false;
      });
  }

  function setUp() {
    if (liveParts().length === 0) return;
    var bar = document.createElement("p");
    bar.className = "live";
    var status = document.createElement("span");
    status.id = "live-status";
    status.setAttribute("role", "status");
    status.textContent = "live";
    var button = document.createElement("button");
    button.type = "button";
    button.textContent = "Pause updates";
    button.addEventListener("click", function () {
      paused = !paused;
      button.textContent = paused ? "Resume updates" : "Pause updates";
      say(paused ? "paused" : "live");
      if (!paused) refresh();
    });
    bar.appendChild(status);
    bar.appendChild(document.createTextNode(" "));
    bar.appendChild(button);
    var main = document.getElementById("main");
    if (main) main.insertBefore(bar, main.children[1] || null);
    window.setInterval(refresh, PERIOD_MS);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setUp);
  } else {
    setUp();
  }
})();
