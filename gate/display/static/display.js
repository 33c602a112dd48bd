// The gate's screen: shows what the kiosk pushes over /events (server-sent events).
// Every text comes from a code or the kiosk and is set with textContent, never as HTML.
"use strict";

// The page knows no decisions: the server sends each decision with its headline and the
// panel's colour class (gate.vocabulary).
const NO_PICTURE_AFTER_MS = 3000;

const $ = (id) => document.getElementById(id);
const body = document.body;

function text(id, value) {
  $(id).textContent = value == null ? "" : String(value);
}

// Faults arrive as codes with their lines from the gate's one fault vocabulary (gate/faults.py).
function renderFaults(lines, shut) {
  const list = $("fault-list");
  list.replaceChildren(...(lines || []).map((f) => {
    const item = document.createElement("li");
    item.textContent = f.zh + " · " + f.en;
    item.dataset.code = f.code;
    return item;
  }));
  $("fault").hidden = !(lines && lines.length);
  body.dataset.gateShut = shut ? "1" : "";
  $("shut-prompt").hidden = !shut;
}

// A venue card's step (confirm with the seconds left, applied, refused): its lines come from the
// kiosk (gate.directives); the countdown runs here from the seconds the kiosk sent.
let cardDeadline = 0;
function renderCountdown() {
  const left = Math.max(0, Math.ceil((cardDeadline - Date.now()) / 1000));
  text("card-seconds", left);
  text("card-seconds-en", left);
}
setInterval(() => { if (body.dataset.card === "confirm") renderCountdown(); }, 250);

function renderCard(card) {
  body.dataset.card = card ? String(card.stage) : "";
  $("card-view").hidden = !card;
  if (!card) return;
  text("card-zh", card.zh);
  text("card-en", card.en);
  const venue = card.venue;
  $("card-venue").hidden = !venue;
  if (venue) {
    text("card-venue-id", venue.id);
    text("card-venue-type", venue.type);
    text("card-communities", (venue.community_codes || []).join(", ") || "—");
  }
  const waiting = card.stage === "confirm" && typeof card.seconds_left === "number";
  $("card-countdown").hidden = !waiting;
  if (waiting) {
    cardDeadline = Date.now() + card.seconds_left * 1000;
    renderCountdown();
  }
}

function render(state) {
  body.dataset.seq = String(state.seq);
  renderFaults(state.fault_lines, state.gate_shut);
  const card = state.kind === "venue_card" ? state : null;
  const decision = state.kind === "decision" && state.panel_class ? String(state.decision) : "";
  body.dataset.kind = card ? "venue_card" : decision ? "decision" : "idle";
  body.dataset.decision = decision;
  $("panel").className = decision ? String(state.panel_class) : card ? "card-" + String(card.stage) : "";
  renderCard(card);
  $("idle-view").hidden = Boolean(decision || card);
  $("decision-view").hidden = !decision;
  if (!decision && state.kind === "idle") {  // the setup page's certificate, for the technician to compare
    text("setup-fingerprint-value", state.setup_fingerprint);
    $("setup-fingerprint").hidden = !state.setup_fingerprint;
    const bulletin = state.bulletin;  // the bulletin in force (directives.md) and its note
    text("bulletin-version", bulletin ? "v" + bulletin.version : "");
    text("bulletin-note", bulletin ? bulletin.note : "");
    $("bulletin").hidden = !bulletin;
    const damaged = document.querySelector('#fault-list li[data-code="store_corrupt"]');
    if (damaged && state.store_recovered) {  // how many undelivered records came back (issue 16)
      damaged.textContent += " · 已恢复 " + state.store_recovered + " 条记录 / " + state.store_recovered + " records recovered";
    }
  }
  if (!decision) return;
  text("headline-zh", state.headline_zh);
  text("headline-en", state.headline_en);
  text("message-zh", state.message_zh);
  text("message-en", state.message_en);
  const t = state.temperature_c;
  text("temperature", typeof t === "number" && isFinite(t) ? t.toFixed(1) + " °C" : "— °C");
  text("name", state.name);
  text("reasons", (state.reasons || []).join(" · "));
}

// The live view: a "frame" event says a new /frame.jpg is there; fetch one at a time.
let frameLoading = false;
let frameWanted = null;
let lastFrameAt = 0;
const live = $("live");

function loadFrame(n) {
  if (frameLoading) {
    frameWanted = n;
    return;
  }
  frameLoading = true;
  live.src = "/frame.jpg?n=" + encodeURIComponent(n);
}

function frameDone(ok) {
  frameLoading = false;
  if (ok) lastFrameAt = Date.now();
  if (frameWanted !== null) {
    const n = frameWanted;
    frameWanted = null;
    loadFrame(n);
  }
}
live.addEventListener("load", () => frameDone(true));
live.addEventListener("error", () => frameDone(false));
setInterval(() => {
  body.classList.toggle("no-picture", Date.now() - lastFrameAt > NO_PICTURE_AFTER_MS);
}, 500);
body.classList.add("no-picture");

function connect() {
  const events = new EventSource("/events");
  events.addEventListener("state", (e) => render(JSON.parse(e.data)));
  events.addEventListener("frame", (e) => loadFrame(JSON.parse(e.data).n));
  events.addEventListener("error", () => {
    // The kiosk is gone or restarting: never leave an old decision on the screen.
    body.dataset.kind = "connecting";
    body.dataset.decision = "";
    $("panel").className = "";
    $("decision-view").hidden = true;
    renderCard(null);
    renderFaults([]);
  });
}
connect();
