// The alerts page: polls the JSON list every few seconds and redraws the table, so new alerts
// appear without reloading; acknowledging posts the note with the page's CSRF token.
// Everything from the records is set as text, never as markup.
//
// An officer looking away still learns of a new alert: the page's title counts the open ones,
// a tone sounds when "Sound on" is switched on (a click on the switch starts the browser's audio,
// as browsers require; the choice is remembered in this browser), a desktop notification shows
// when the officer allowed it, and "connection lost" shows while the collector cannot be reached.
(function () {
  "use strict";
  const table = document.getElementById("alerts");
  if (!table) return;
  const body = table.tBodies[0];
  const words = JSON.parse(document.getElementById("words").textContent);
  const live = document.getElementById("live");
  const EVERY_MS = 2000;
  const SOUND_KEY = "gate-console-sound";
  const NOTIFY_KEY = "gate-console-notify";
  const title = document.title;
  const lostBanner = document.getElementById("connection-lost");
  const soundSwitch = document.getElementById("sound");
  const notifySwitch = document.getElementById("notify");
  const notifyState = document.getElementById("notify-state");
  let last = "";
  let seen = null;  // the record ids of the open alerts already announced (null: not yet polled)
  let audio = null;

  function stored(key) {
    try { return window.localStorage.getItem(key) === "on"; } catch (e) { return false; }
  }

  function store(key, on) {
    try { window.localStorage.setItem(key, on ? "on" : "off"); } catch (e) { /* private mode */ }
  }

  function count(name) {
    document.body.dataset[name] = String(Number(document.body.dataset[name] || 0) + 1);
  }

  function showSound() {
    const on = stored(SOUND_KEY);
    soundSwitch.setAttribute("aria-pressed", on ? "true" : "false");
    soundSwitch.textContent = on ? words.sound_on : words.sound_off;
    soundSwitch.classList.toggle("on", on);
  }

  function tone() {  // two short beeps, loud enough for a busy office
    if (!audio) return;
    if (audio.state === "suspended") audio.resume();
    const now = audio.currentTime;
    for (const start of [0, 0.35]) {
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.frequency.value = 880;
      gain.gain.setValueAtTime(0.0001, now + start);
      gain.gain.exponentialRampToValueAtTime(0.4, now + start + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, now + start + 0.25);
      osc.connect(gain).connect(audio.destination);
      osc.start(now + start);
      osc.stop(now + start + 0.3);
    }
    count("sounded");
  }

  soundSwitch.addEventListener("click", () => {
    const on = !stored(SOUND_KEY);
    store(SOUND_KEY, on);
    if (on && !audio) {
      const Context = window.AudioContext || window.webkitAudioContext;
      if (Context) audio = new Context();  // made in the click: browsers allow sound from here on
    }
    showSound();
  });

  function showNotify() {
    if (!("Notification" in window)) {
      notifySwitch.hidden = true; notifyState.textContent = words.notify_unsupported; return;
    }
    const on = stored(NOTIFY_KEY) && Notification.permission === "granted";
    notifySwitch.setAttribute("aria-pressed", on ? "true" : "false");
    notifySwitch.textContent = on ? words.notify_on : words.notify_off;
    notifySwitch.classList.toggle("on", on);
    notifyState.textContent = Notification.permission === "denied" ? words.notify_denied : "";
  }

  notifySwitch.addEventListener("click", async () => {
    if (!("Notification" in window)) return;
    if (stored(NOTIFY_KEY) && Notification.permission === "granted") {
      store(NOTIFY_KEY, false);
    } else {
      const answer = Notification.permission === "granted" ? "granted" : await Notification.requestPermission();
      store(NOTIFY_KEY, answer === "granted");
    }
    showNotify();
  });

  function notify(a) {
    if (!("Notification" in window) || Notification.permission !== "granted" || !stored(NOTIFY_KEY)) return;
    try {
      new Notification(words.new_alert + ": " + a.decision_text, {
        body: [a.said, a.venue_id, a.device_id].filter(Boolean).join(" · "), tag: a.record_id});
      count("notified");
    } catch (e) { /* a browser that only notifies from a service worker */ }
  }

  function announce(alerts) {  // the title's count; a sound and a notification for new open ones
    const open = alerts.filter((a) => !a.acknowledged_at);
    document.title = open.length ? "(" + open.length + ") " + title : title;
    const ids = new Set(open.map((a) => a.record_id));
    if (seen !== null) {
      const fresh = open.filter((a) => !seen.has(a.record_id));
      if (fresh.length) {
        if (stored(SOUND_KEY)) tone();
        for (const a of fresh) notify(a);
        count("announced");
      }
    }
    seen = ids;
  }

  function connection(ok) {
    lostBanner.hidden = ok;
    live.classList.toggle("lost", !ok);
    live.title = ok ? "" : words.offline;
  }

  function csrf() {
    const field = document.querySelector("input[name=csrfmiddlewaretoken]");
    return field ? field.value : "";
  }

  function cell(row, text, cls) {
    const td = row.insertCell();
    if (cls) td.className = cls;
    if (text !== undefined && text !== null) td.textContent = text;
    return td;
  }

  function local(iso) {  // "2026-11-23T16:15:02.123000+08:00" -> "2026-11-23 16:15:02"
    return iso ? iso.slice(0, 10) + " " + iso.slice(11, 19) : "";
  }

  function ackForm(id) {
    const form = document.createElement("form");
    form.className = "ack-form";
    form.method = "post";
    form.action = table.dataset.ack.replace("RECORD", encodeURIComponent(id));
    const note = document.createElement("input");
    note.name = "note"; note.maxLength = 2000; note.placeholder = words.placeholder;
    const button = document.createElement("button");
    button.type = "submit"; button.textContent = words.acknowledge;
    form.append(note, button);
    return form;
  }

  function draw(alerts) {
    const rows = [];
    for (const a of alerts) {
      const tr = document.createElement("tr");
      tr.dataset.record = a.record_id;
      tr.className = "d-" + (words.lights[a.decision] || "none") + (a.acknowledged_at ? " done" : "") + (a.paged ? " paged" : "");
      cell(tr, local(a.scanned_at));
      const decision = cell(tr);
      const span = document.createElement("span");
      span.className = "decision"; span.dataset.decision = a.decision; span.textContent = a.decision_text;
      decision.append(span);
      if (a.paged) {
        const tag = document.createElement("span");
        tag.className = "tag"; tag.textContent = words.paged;
        decision.append(" ", tag);
      }
      const reasons = cell(tr);
      const said = document.createElement("span");
      said.className = "said"; said.textContent = a.said;
      const codes = document.createElement("div");
      codes.className = "mono codes";
      codes.setAttribute("translate", "no");
      for (const code of a.reasons) {
        const abbr = document.createElement("abbr");
        abbr.title = a.reason_meanings[code] || code; abbr.textContent = code;
        codes.append(abbr, " ");
      }
      reasons.append(said, codes);
      cell(tr, a.temperature_c === null ? "—" : a.temperature_c.toFixed(1) + " °C", "num");
      cell(tr, a.venue_id, "id").setAttribute("translate", "no");
      cell(tr, a.device_id, "id").setAttribute("translate", "no");
      const handled = cell(tr);
      if (a.acknowledged_at) {
        const ack = document.createElement("span");
        ack.className = "ack";
        const who = document.createElement("span");
        who.setAttribute("translate", "no"); who.textContent = a.acknowledged_by;
        ack.append(who, " · " + local(a.acknowledged_at));
        handled.append(ack);
        if (a.note) {
          const note = document.createElement("div");
          note.className = "note"; note.textContent = a.note; note.setAttribute("translate", "no");
          handled.append(note);
        }
      } else {
        handled.append(ackForm(a.record_id));
      }
      rows.push(tr);
    }
    if (!rows.length) {
      const tr = document.createElement("tr");
      tr.className = "none";
      cell(tr, words.none, "empty").colSpan = 7;
      rows.push(tr);
    }
    // keep a note being typed: do not redraw while an input has the focus and text
    const typing = document.activeElement && document.activeElement.name === "note" && document.activeElement.value;
    if (!typing) body.replaceChildren(...rows);
  }

  async function poll() {
    try {
      const answer = await fetch(table.dataset.source, {headers: {"Accept": "application/json"},
                                                        credentials: "same-origin"});
      if (answer.status === 401) { window.location.reload(); return; }
      if (!answer.ok) throw new Error(String(answer.status));
      const text = await answer.text();
      if (text !== last) {
        last = text;
        const alerts = JSON.parse(text).alerts;
        draw(alerts);
        announce(alerts);
      }
      connection(true);
      count("polled");
    } catch (error) {
      connection(false);
      count("failed");
    }
    setTimeout(poll, EVERY_MS);
  }

  body.addEventListener("submit", async (event) => {
    const form = event.target.closest("form.ack-form");
    if (!form) return;
    event.preventDefault();
    const data = new FormData(form);
    const answer = await fetch(form.action, {method: "POST", body: data, credentials: "same-origin",
                                             headers: {"X-CSRFToken": csrf(), "Accept": "application/json"}});
    if (answer.ok) { form.closest("tr").classList.add("done"); form.querySelector("input").value = ""; }
    else {  // someone was first, or the note was refused: say so under the form
      const why = document.createElement("div");
      why.className = "error"; why.textContent = await answer.text();
      form.after(why);
    }
    last = "";  // redraw from the next answer, whoever acknowledged it
  });

  showSound();
  showNotify();
  poll();
})();
