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
      }).then(function (html) {
        if (html === null) { return; }
        // Keep keyboard focus where it was: remember the focused element by id or position, restore it after.
        var active = document.activeElement, key = null;
        if (active && live.contains(active)) {
          key = active.id ? "#" + active.id : null;
          if (!key) { var all = live.querySelectorAll("a, button, input, select, textarea, [tabindex]"); key = Array.prototype.indexOf.call(all, active); }
        }
        live.innerHTML = html;
        if (key !== null) {
          var again = typeof key === "string" ? live.querySelector(key) : live.querySelectorAll("a, button, input, select, textarea, [tabindex]")[key];
          if (again) { again.focus({preventScroll: true}); }
        }
        var note = document.getElementById("queue-updated");
        if (note) { note.textContent = "Updated " + new Date().toLocaleTimeString(); }
      });
    }, seconds * 1000);
  }

  // Forms marked data-keep remember what was typed (in this tab only) until the server shows a
  // signed-in page after the submit, so a session that expired mid-typing loses nothing.
  function keepDrafts() {
    var signedIn = document.body.dataset.signedIn === "1";
    var store = window.sessionStorage;
    Object.keys(store).forEach(function (name) {
      if (name.indexOf("sent:") !== 0) { return; }
      var draft = name.slice(5);
      if (!signedIn) { store.removeItem(name); store.setItem("restore:" + draft, "1"); }
      else if (!document.querySelector('form[data-keep="' + draft + '"]')) { store.removeItem(name); store.removeItem("draft:" + draft); }
    });
    Array.prototype.forEach.call(document.querySelectorAll("form[data-keep]"), function (form) {
      var key = form.dataset.keep;
      var saved = store.getItem("draft:" + key);
      if (store.getItem("sent:" + key)) { store.removeItem("sent:" + key); store.removeItem("draft:" + key); saved = null; }
      if (saved && store.getItem("restore:" + key)) {
        var values = JSON.parse(saved);
        Object.keys(values).forEach(function (n) { var field = form.elements[n]; if (field && field.type !== "hidden") { field.value = values[n]; } });
        var details = form.closest("details"); if (details) { details.open = true; }
        var note = document.createElement("p"); note.className = "flash"; note.setAttribute("role", "status");
        note.textContent = "You were signed out; what you typed is kept below. Check it and send again.";
        form.insertBefore(note, form.firstChild);
      }
      store.removeItem("restore:" + key);
      form.addEventListener("input", function () {
        var values = {};
        Array.prototype.forEach.call(form.querySelectorAll("textarea, input[type=text], input[type=date], input[type=time]"), function (f) { values[f.name] = f.value; });
        store.setItem("draft:" + key, JSON.stringify(values));
      });
      form.addEventListener("submit", function () { store.setItem("sent:" + key, "1"); });
    });
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
    var print = document.getElementById("print-page");
    if (print) { print.addEventListener("click", function () { window.print(); }); }
    try { keepDrafts(); } catch (e) { /* storage may be off: forms still work */ }
  });
})();
