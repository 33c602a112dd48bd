// The gate's screen: shows what the kiosk pushes over /events (server-sent events).
// Every text comes from a code or the kiosk and is set with textContent, never as HTML.
"use strict";

const HEADLINES = {
  allow: ["可以通行", "GO AHEAD"],
  deny: ["禁止通行", "NO ENTRY"],
  recheck: ["请复测体温", "RE-MEASURE"],
  refer: ["发热请登记", "FEVER: REFER"],
  hold: ["请原地等候", "WAIT HERE"],
  manual: ["人工核验", "ATTENDANT CHECK"],
};
const NO_PICTURE_AFTER_MS = 3000;

const $ = (id) => document.getElementById(id);
const body = document.body;

function text(id, value) {
  $(id).textContent = value == null ? "" : String(value);
}

function renderFaults(faults) {
  const list = $("fault-list");
  list.replaceChildren(...(faults || []).map((f) => {
    const item = document.createElement("li");
    item.textContent = f;
    return item;
  }));
  $("fault").hidden = !(faults && faults.length);
}

function render(state) {
  body.dataset.seq = String(state.seq);
  renderFaults(state.faults);
  const decision = state.kind === "decision" && HEADLINES[state.decision] ? state.decision : "";
  body.dataset.kind = decision ? "decision" : "idle";
  body.dataset.decision = decision;
  $("idle-view").hidden = Boolean(decision);
  $("decision-view").hidden = !decision;
  if (!decision && state.kind === "idle") {  // the setup page's certificate, for the technician to compare
    text("setup-fingerprint-value", state.setup_fingerprint);
    $("setup-fingerprint").hidden = !state.setup_fingerprint;
  }
  if (!decision) return;
  const [zh, en] = HEADLINES[decision];
  text("headline-zh", zh);
  text("headline-en", en);
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
    $("decision-view").hidden = true;
    renderFaults([]);
  });
}
connect();
