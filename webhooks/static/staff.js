// Small progressive enhancements; every page works without them.
(function () {
  "use strict";
  var token = document.querySelector('meta[name="csrf-token"]');

  function preview(form) {
    var status = document.getElementById("preview-status");
    var box = document.getElementById("preview");
    var list = document.getElementById("preview-sessions");
    var data = {
      intake_id: form.dataset.intake, protocol: form.protocol.value, date: form.date.value,
      time: form.time.value, sessions: form.sessions.value, interval_weeks: form.interval_weeks.value
    };
    var option = form.protocol.selectedOptions[0];
    document.getElementById("sessions-hint").textContent = option ? "(" + option.dataset.sessions + ")" : "";
    document.getElementById("interval-hint").textContent = option ? "(" + option.dataset.interval + ")" : "";
    if (!data.date) { status.textContent = "Choose a date to see the plan."; box.innerHTML = ""; list.innerHTML = ""; return; }
    fetch(form.dataset.preview, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": token.content},
      body: JSON.stringify(data)
    }).then(function (r) { return r.json(); }).then(function (body) {
      if (body.error) { status.textContent = body.error; status.className = "flash error"; return; }
      status.className = "muted";
      status.textContent = body.sessions.length + " sessions, " + body.messages + " messages (" + body.segments + " SMS segments plus the confirmation).";
      list.innerHTML = "";
      body.sessions.forEach(function (s) { var li = document.createElement("li"); li.textContent = s; list.appendChild(li); });
      var rules = document.getElementById("preview-rules");
      if (rules) {
        rules.innerHTML = "";
        (body.aftercare || []).forEach(function (a) { var li = document.createElement("li"); li.textContent = "Session " + a.session + " aftercare " + a.when + ": " + a.rule; rules.appendChild(li); });
      }
      box.innerHTML = body.svg;
    }).catch(function () { status.textContent = "Preview unavailable right now."; });
  }

  function refresh(live) {
    var seconds = parseInt(live.dataset.refresh, 10) || 10;
    setInterval(function () {
      // Do not swap the table under someone who is pressing a button.
      if (live.contains(document.activeElement) && document.activeElement.tagName === "BUTTON") { return; }
      fetch(live.dataset.src, {credentials: "same-origin"}).then(function (r) {
        if (r.redirected || !r.ok) { window.location.reload(); return null; }
        return r.text();
      }).then(function (html) { if (html !== null) { live.innerHTML = html; } });
    }, seconds * 1000);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("plan-form");
    if (form) {
      var timer;
      form.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(function () { preview(form); }, 250); });
      form.addEventListener("change", function () { preview(form); });
      preview(form);
    }
    var live = document.getElementById("queue-live");
    if (live) { refresh(live); }
  });
})();
