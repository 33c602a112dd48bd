// The alerts page: polls the JSON list every few seconds and redraws the table, so new alerts
// appear without reloading; acknowledging posts the note with the page's CSRF token.
// Everything from the records is set as text, never as markup.
(function () {
  "use strict";
  const table = document.getElementById("alerts");
  if (!table) return;
  const body = table.tBodies[0];
  const words = JSON.parse(document.getElementById("words").textContent);
  const live = document.getElementById("live");
  const EVERY_MS = 2000;
  let last = "";

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
      tr.className = "d-" + a.decision + (a.acknowledged_at ? " done" : "") + (a.paged ? " paged" : "");
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
      for (const code of a.reasons) {
        const abbr = document.createElement("abbr");
        abbr.title = a.reason_meanings[code] || code; abbr.textContent = code;
        codes.append(abbr, " ");
      }
      reasons.append(said, codes);
      cell(tr, a.temperature_c === null ? "—" : a.temperature_c.toFixed(1) + " °C", "num");
      cell(tr, a.venue_id);
      cell(tr, a.device_id, "mono");
      const handled = cell(tr);
      if (a.acknowledged_at) {
        const ack = document.createElement("span");
        ack.className = "ack"; ack.textContent = a.acknowledged_by + " · " + local(a.acknowledged_at);
        handled.append(ack);
        if (a.note) {
          const note = document.createElement("div");
          note.className = "note"; note.textContent = a.note;
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
      if (text !== last) { last = text; draw(JSON.parse(text).alerts); }
      live.classList.remove("lost"); live.title = "";
      document.body.dataset.polled = String(Number(document.body.dataset.polled || 0) + 1);
    } catch (error) {
      live.classList.add("lost"); live.title = words.offline;
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

  poll();
})();
