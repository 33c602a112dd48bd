// The gate's setup page: sign in, then the settings form, the live camera view, the
// thermometer and its calibration, the output tests and the doctor's report.
// Every text is set with textContent, never as HTML.
// A GET the technician asked for (a button) is marked X-Setup-Asked: it keeps service mode on;
// the page's timed polling is not marked and does not (spec/setup.md "Service mode").
"use strict";

const $ = (id) => document.getElementById(id);
let csrf = null;
let loaded = null; // the configuration as last loaded: section -> key -> value
const timers = [];

const LABELS = {
  "device.id": "闸机编号 · Device id",
  "venue.id": "场所编号 · Venue id",
  "venue.type": "场所类型 · Venue type",
  "venue.community_codes": "小区代码 · Community codes",
  "venue.yellow_residents_only": "黄码仅限本小区居民 · Yellow for residents only",
  "venue.itinerary_check": "行程核验 · Itinerary check",
  "venue.strict_clock": "严格时钟 · Strict clock",
  "temperature.fever_c": "发热阈值 °C · Fever threshold",
  "temperature.recheck_window_s": "复测窗口 s · Re-measure window",
  "temperature.required": "必须测温 · Temperature required",
  "temperature.sensor": "测温探头 · Sensor",
  "temperature.offset_c": "测温偏移 °C · Offset",
  "camera.source": "摄像头 · Camera source",
  "io.relay_pin": "继电器引脚 · Relay pin",
  "collector.url": "数据中心地址 · Collector URL",
};
const SECTION_LABELS = {
  device: "设备 · Device", venue: "场所 · Venue", temperature: "测温 · Temperature",
  trust: "信任列表 · Trust", camera: "摄像头 · Camera", io: "接线 · Wiring (BCM pins)",
  store: "记录 · Records", collector: "数据中心 · Collector",
};

const OPEN_SECTIONS = ["device", "venue", "temperature"];

function text(id, value) { $(id).textContent = value == null ? "—" : String(value); }

async function api(method, path, body, asked) {
  const headers = { "Accept": "application/json" };
  if (asked) headers["X-Setup-Asked"] = "1";
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && csrf) headers["X-CSRF-Token"] = csrf;
  const answer = await fetch(path, { method, headers, credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body) });
  let data = {};
  try { data = await answer.json(); } catch (e) { data = {}; }
  if (answer.status === 401 && path !== "/setup/api/login") signedOut();
  return { status: answer.status, data };
}

// -- signing in ---------------------------------------------------------------------------

function signedIn(token) {
  csrf = token;
  document.body.dataset.signedIn = "yes";
  $("login").hidden = true;
  $("app").hidden = false;
  $("logout").hidden = false;
  loadConfig();
  startView();
  refreshDoctor();
  timers.push(setInterval(refreshKiosk, 2000), setInterval(refreshStats, 1000),
              setInterval(refreshThermometer, 2000), setInterval(refreshDoctor, 30000));
  refreshKiosk();
  refreshThermometer();
}

function signedOut() {
  csrf = null;
  timers.splice(0).forEach(clearInterval);
  document.body.dataset.signedIn = "no";
  $("app").hidden = true;
  $("logout").hidden = true;
  $("login").hidden = false;
  $("view").removeAttribute("src");
}

$("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  text("login-error", "");
  const { status, data } = await api("POST", "/setup/api/login", { password: $("password").value });
  $("password").value = "";
  if (status === 200) return signedIn(data.csrf_token);
  if (status === 429) return text("login-error", `登录已锁定 · Sign-in locked: ${data.error}`);
  text("login-error", `密码错误 · ${data.error || "wrong password"}`);
});

$("logout").addEventListener("click", async () => {
  await api("POST", "/setup/api/logout", {});
  signedOut();
});

// -- the settings form --------------------------------------------------------------------

// booleans in words (the value sent stays true/false); an I2C address as it is written on the
// part (0x5A, not 90: TOML reads 0x5A back as the same number)
const BOOL_WORDS = { true: "是 · yes", false: "否 · no" };

function hex(value) {
  return "0x" + value.toString(16).toUpperCase().padStart(2, "0");
}

function inputFor(field) {
  let input;
  if (field.kind === "choice" || field.kind === "bool") {
    input = document.createElement("select");
    const options = field.kind === "bool" ? ["true", "false"] : field.choices;
    for (const choice of options) {
      const option = document.createElement("option");
      option.value = choice;
      option.textContent = field.kind === "bool" ? BOOL_WORDS[choice] : choice;
      input.append(option);
    }
    input.value = String(field.value);
  } else {
    input = document.createElement("input");
    input.value = field.kind === "codes" ? (field.value || []).join(", ")
      : field.hex && Number.isInteger(field.value) ? hex(field.value) : String(field.value);
    if (["int", "float"].includes(field.kind)) input.inputMode = "decimal";
  }
  input.id = "f-" + field.key;
  input.name = field.key;
  input.dataset.kind = field.kind;
  input.dataset.original = input.value;
  return input;
}

function valueOf(input) {
  const raw = input.value.trim();
  switch (input.dataset.kind) {
    case "bool": return raw === "true";
    case "codes": return raw ? raw.split(/[,，\s]+/).filter(Boolean) : [];
    case "int": case "float": case "pin": case "exposure": return raw; // typed by the gate, as `gate config set`
    default: return input.value;
  }
}

async function loadConfig() {
  const { status, data } = await api("GET", "/setup/api/config");
  if (status !== 200) return text("config-result", data.error);
  loaded = data;
  const form = $("config-form");
  const sections = {};
  const parts = [];
  for (const field of data.fields) {
    const section = field.key.split(".")[0];
    if (!sections[section]) {
      // the venue and the thermometer open; the rest folded away on a phone's small screen
      const set = document.createElement("details");
      set.open = OPEN_SECTIONS.includes(section);
      const legend = document.createElement("summary");
      legend.textContent = SECTION_LABELS[section] || section;
      set.append(legend);
      sections[section] = set;
      parts.push(set);
    }
    const label = document.createElement("label");
    label.htmlFor = "f-" + field.key;
    label.textContent = LABELS[field.key] || field.key;
    sections[section].append(label, inputFor(field));
  }
  const save = document.createElement("button");
  save.type = "submit";
  save.id = "save";
  save.textContent = "保存并应用 · Save and apply";
  form.replaceChildren(...parts, save);
}

$("config-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("config-errors").replaceChildren();
  text("config-result", "");
  const changes = {};
  for (const input of $("config-form").querySelectorAll("input, select")) {
    if (input.value !== input.dataset.original) changes[input.name] = valueOf(input);
  }
  if (!Object.keys(changes).length) return text("config-result", "没有改动 · Nothing changed");
  $("save").disabled = true;
  const { status, data } = await api("POST", "/setup/api/config", { set: changes });
  $("save").disabled = false;
  if (status === 400) {
    $("config-errors").replaceChildren(...data.errors.map((line) => {
      const item = document.createElement("li");
      item.textContent = line;
      return item;
    }));
    return;
  }
  if (status !== 200) return text("config-result", data.error);
  await loadConfig();
  const applied = data.applied || {};
  const notes = (applied.notes || []).length ? ` (${applied.notes.join("; ")})` : "";
  if (applied.ok) text("config-result", `已保存并生效 · Saved and in force: ${data.changed.join(", ")}${notes}`);
  else if (applied.errors) text("config-result", `已保存，但闸机拒绝 · Saved, but the gate refused it: ${applied.errors.join("; ")}`);
  else text("config-result", `已保存 · Saved: ${applied.message || "the gate will apply it"}`);
});

// -- the kiosk, the camera and the thermometer ----------------------------------------------

async function refreshKiosk() {
  const { data } = await api("GET", "/setup/api/kiosk");
  const badge = $("kiosk-state");
  badge.className = "badge " + (data.running ? "up" : "down");
  badge.textContent = data.running ? "闸机运行中 · Gate running" : "闸机未运行 · Gate not running";
  renderService(data.running ? data.service : null);
  if (!data.running) {
    text("view-message", `没有运行中的闸机程序 · ${data.message || "no kiosk is running"}`);
  } else if ($("view-message").textContent) {
    text("view-message", "");
    startView();
  }
}

function startView() {
  const view = $("view");
  view.onerror = () => text("view-message", "摄像头画面不可用 · No camera view (is the gate running?)");
  view.onload = () => { view.dataset.loaded = "yes"; };
  view.src = "/setup/camera.mjpg?t=" + Date.now();
}

async function refreshStats() {
  const { status, data } = await api("GET", "/setup/api/camera");
  if (status !== 200) return;
  text("camera-fps", data.camera_fps);
  text("view-fps", data.view_fps);
  text("decode-rate", data.decode_rate == null ? null : Math.round(data.decode_rate * 100) + " %");
  $("codes").replaceChildren(...data.codes.filter((c) => c.valid).map((c) => {
    const item = document.createElement("li");
    const format = document.createElement("span");
    format.className = "format";
    format.textContent = c.format || "—";  // JKM1, DCC, SHC (credentials.md), JKMV1; — for another text
    const body = document.createElement("span");
    body.className = "text";
    body.textContent = c.text;
    item.append(format, " ", body);
    return item;
  }));
}

const degrees = (v) => (typeof v === "number" ? v.toFixed(2) + " °C" : null);

async function refreshThermometer() {
  const { status, data } = await api("GET", "/setup/api/thermometer");
  if (status !== 200) return;
  text("t-object", degrees(data.object_c));
  text("t-final", degrees(data.temperature_c));
  text("t-ambient", degrees(data.ambient_c));
  text("t-offset", degrees(data.offset_c));
}

$("calibrate-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const reference = parseFloat($("reference").value);
  const { status, data } = await api("POST", "/setup/api/thermometer/calibrate", { reference_c: reference });
  const out = $("calibrate-result");
  out.className = status === 200 ? "ok" : "error";
  if (status === 200) {
    out.textContent = `偏移已设为 · Offset set to ${data.offset_c} °C (原 was ${data.previous_offset_c} °C; 原始读数 raw ${data.object_c} °C)`;
    refreshThermometer();
    loadConfig();
  } else {
    out.textContent = data.errors ? data.errors.join("; ") : data.error;
  }
});

// -- service mode ------------------------------------------------------------------------------

function renderService(service) {
  const on = Boolean(service && service.on);
  const button = $("service-toggle");
  button.dataset.on = on ? "yes" : "no";
  button.textContent = on ? "恢复通行 · Put the gate back in service" : "暂停通行，开始维护 · Take the gate out of service";
  const minutes = on && typeof service.left_s === "number" ? Math.ceil(service.left_s / 60) : null;
  text("service-state", on ? `维护中，闸机不核验通行 · Out of service: the gate decides no scan (${minutes} min left)`
    : "正常通行 · In service");
  $("service-state").className = on ? "error" : "ok";
}

$("service-toggle").addEventListener("click", async () => {
  const on = $("service-toggle").dataset.on !== "yes";
  const { status, data } = await api("POST", "/setup/api/service", { on });
  if (status === 200) return renderService(data);
  text("service-state", data.error);
});

// -- the output tests and the doctor ---------------------------------------------------------

for (const button of document.querySelectorAll("#tests button[data-part]")) {
  button.addEventListener("click", async () => {
    const { status, data } = await api("POST", `/setup/api/test/${button.dataset.part}`, {});
    const out = $("test-result");
    out.className = status === 200 ? "ok" : "error";
    out.textContent = status === 200 ? `完成 · ${data.done}` :
      status === 409 ? `正在核验通行，请稍后或开启维护模式 · ${data.error}` : data.error;
  });
}

async function refreshDoctor(asked) {
  const { status, data } = await api("GET", "/setup/api/doctor", undefined, asked === true);
  if (status !== 200) return;
  $("doctor-list").replaceChildren(...data.checks.map((check) => {
    const item = document.createElement("li");
    item.dataset.level = check.level;
    item.textContent = `${check.level}  ${check.name}: ${check.message}`;
    return item;
  }));
}
$("doctor-refresh").addEventListener("click", () => refreshDoctor(true));

// -- a page opened with a live session picks it up -------------------------------------------

(async () => {
  const { status, data } = await api("GET", "/setup/api/session");
  if (status === 200) signedIn(data.csrf_token);
  else text("kiosk-state", "未登录 · Signed out");
})();
