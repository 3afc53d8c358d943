// The vidtype page: send a file or a URL to /v1/classify (or /v1/jobs), draw the answer; watch a live stream.
// Plain JavaScript, no build step, no external resources. Everything from the server is inserted as text.
"use strict";

const $ = (id) => document.getElementById(id);
const CLASS_COLOURS = ["animation", "gaming", "natural", "flat"];

function colour(label) {
  const name = CLASS_COLOURS.includes(label) ? label : "unknown";
  return getComputedStyle(document.documentElement).getPropertyValue(`--${name}`).trim();
}

function el(tag, props = {}, children = []) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "style") Object.assign(node.style, v);
    else if (k === "text") node.textContent = v;
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c);
  return node;
}

function headers() {
  const token = $("token") && $("token").value.trim();
  return token ? { Authorization: `Bearer ${token}` } : {};
}

function status(message, isError = false) {
  $("status").textContent = message;
  $("status").className = isError ? "error" : "";
}

function options() {
  const o = { thumbnails: "1" };
  if ($("opt-frames").value) o.frames = $("opt-frames").value;
  if ($("opt-tta").checked) o.tta = "1";
  if ($("opt-timeline").value) o.timeline = $("opt-timeline").value;
  return o;
}

async function errorText(resp) {
  try {
    const body = await resp.json();
    return `${body.error.message} (${body.error.code}, HTTP ${resp.status})`;
  } catch (e) {
    return `HTTP ${resp.status}`;
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function send(body, isJson) {
  const asJob = $("opt-job").checked;
  const init = { method: "POST", headers: headers(), body };
  if (isJson) init.headers["Content-Type"] = "application/json";
  status(asJob ? "Submitting the job…" : "Classifying…");
  $("result").hidden = true;
  const t0 = performance.now();
  try {
    let resp = await fetch(asJob ? "/v1/jobs" : "/v1/classify", init);
    if (!resp.ok) return status(await errorText(resp), true);
    let result = await resp.json();
    if (asJob) {
      const where = result.status_url;
      for (;;) {
        await sleep(1000);
        resp = await fetch(where, { headers: headers() });
        if (!resp.ok) return status(await errorText(resp), true);
        const job = await resp.json();
        status(`Job ${job.id.slice(0, 8)}: ${job.state}…`);
        if (job.state === "failed") return status(`${job.error.message} (${job.error.code})`, true);
        if (job.state === "done") { result = job.result; break; }
      }
    }
    status(`Done in ${((performance.now() - t0) / 1000).toFixed(1)} s.`);
    show(result);
  } catch (e) {
    status(`The request failed: ${e}`, true);
  }
}

function classifyFile(file) {
  const form = new FormData();
  form.append("file", file, file.name);
  for (const [k, v] of Object.entries(options())) form.append(k, v);
  send(form, false);
}

function show(r) {
  $("result").hidden = false;
  $("label").textContent = r.label;
  $("label").style.color = colour(r.label);
  $("confidence").textContent = `${(100 * r.confidence).toFixed(0)} % · ${r.path}`;
  $("trust-bar").style.width = `${(100 * r.trust).toFixed(0)}%`;
  $("trust-value").textContent = r.trust.toFixed(2);

  const probs = $("probabilities");
  probs.replaceChildren();
  for (const [name, p] of Object.entries(r.probabilities)) {
    const fill = el("div", { class: "fill", style: { width: `${(100 * p).toFixed(1)}%`, background: colour(name) } });
    probs.append(el("div", { class: "prob", "data-class": name }, [
      el("span", { text: name }), el("div", { class: "bar" }, [fill]),
      el("span", { class: "value", text: `${(100 * p).toFixed(1)} %` }),
    ]));
  }

  const strip = $("frame-strip");
  strip.replaceChildren();
  const maxAttention = Math.max(1e-9, ...r.frames.map((f) => f.attention || 0));
  for (const f of r.frames) {
    const share = f.attention != null ? f.attention / maxAttention : 0;
    const picture = f.thumbnail && f.thumbnail.startsWith("data:image/jpeg;base64,")
      ? el("img", { src: f.thumbnail, alt: `frame at ${f.time_s} s` })
      : el("div", { class: "blank" });
    const node = el("div", { class: f.rejected ? "frame rejected" : "frame" }, [picture]);
    if (f.rejected) {
      node.title = `${f.time_s.toFixed(2)} s: rejected (${f.rejected})`;
      node.append(el("div", { class: "reason", text: f.rejected }));
    } else {
      picture.style.opacity = (0.3 + 0.7 * share).toFixed(2);
      picture.style.borderColor = `rgba(25, 113, 194, ${share.toFixed(2)})`;
      node.title = `${f.time_s.toFixed(2)} s: attention ${f.attention.toFixed(3)}`;
      node.append(el("div", { class: "attn", style: { width: `${Math.max(4, 100 * share).toFixed(0)}%` } }));
    }
    node.append(el("div", { text: `${f.time_s.toFixed(1)} s` }));
    strip.append(node);
  }

  const segments = r.segments || [];
  $("timeline-block").hidden = segments.length === 0;
  const bar = $("timeline");
  const rows = $("segments").querySelector("tbody");
  bar.replaceChildren();
  rows.replaceChildren();
  const total = segments.length ? segments[segments.length - 1].end_s - segments[0].start_s : 1;
  for (const s of segments) {
    const width = (100 * (s.end_s - s.start_s)) / total;
    bar.append(el("div", {
      class: "segment", title: `${s.start_s}–${s.end_s} s: ${s.label} (${s.confidence.toFixed(2)})`,
      style: { width: `${width}%`, background: colour(s.label), opacity: (0.45 + 0.55 * s.trust).toFixed(2) },
      text: s.label,
    }));
    rows.append(el("tr", {}, [s.start_s.toFixed(1), s.end_s.toFixed(1), s.label, s.confidence.toFixed(2), s.trust.toFixed(2)]
      .map((t) => el("td", { text: t }))));
  }

  const v = r.video || {};
  $("facts").textContent = `${v.width}×${v.height}, ${v.duration_s} s, ${v.codec}` +
    (v.fps ? `, ${v.fps.toFixed(2)} fps` : "") + ` · model ${r.model.name} ${r.model.version}` +
    ` · ${r.timings_ms.total} ms` + (r.request_id ? ` · request ${r.request_id}` : "");
}

// ---------------------------------------------------------------- live streams (SSE read through fetch, so that
// the Authorization header can be sent; EventSource cannot send headers)

let streamAbort = null;

async function watchStream(src) {
  stopStream();
  const ctrl = new AbortController();
  streamAbort = ctrl;
  $("stream-start").disabled = true;
  $("stream-stop").disabled = false;
  $("stream-log").replaceChildren();
  $("stream-now").hidden = false;
  $("stream-label").textContent = "…";
  $("stream-facts").textContent = "connecting";
  try {
    const resp = await fetch(`/v1/stream?src=${encodeURIComponent(src)}`, { headers: headers(), signal: ctrl.signal });
    if (!resp.ok) { $("stream-facts").textContent = await errorText(resp); return; }
    const reader = resp.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        onEvent(buffer.slice(0, cut));
        buffer = buffer.slice(cut + 2);
      }
    }
  } catch (e) {
    if (e.name !== "AbortError") $("stream-facts").textContent = `stream failed: ${e}`;
  } finally {
    if (streamAbort === ctrl) streamAbort = null;
    $("stream-start").disabled = false;
    $("stream-stop").disabled = true;
  }
}

function onEvent(block) {
  let event = "message", data = "";
  for (const line of block.split("\n")) {
    if (line.startsWith("event:")) event = line.slice(6).trim();
    else if (line.startsWith("data:")) data += line.slice(5).trim();
  }
  if (!data) return;
  const d = JSON.parse(data);
  if (event === "update") {
    $("stream-label").textContent = d.label;
    $("stream-label").style.color = colour(d.label);
    $("stream-facts").textContent = `${(100 * d.confidence).toFixed(0)} %, trust ${d.trust.toFixed(2)}, ` +
      `at ${d.time_s.toFixed(1)} s, latency ${d.latency_s.toFixed(2)} s`;
    $("stream-log").prepend(el("li", { text: `${d.time_s.toFixed(1)} s  ${d.label}  trust ${d.trust.toFixed(2)}` }));
  } else if (event === "error") {
    $("stream-facts").textContent = `${d.message} (${d.code})`;
  } else if (event === "end") {
    $("stream-facts").textContent += " · stream ended";
  }
}

function stopStream() {
  if (streamAbort) streamAbort.abort();
}

// ---------------------------------------------------------------- wiring

const drop = $("drop");
["dragenter", "dragover"].forEach((t) => drop.addEventListener(t, (e) => { e.preventDefault(); drop.classList.add("over"); }));
["dragleave", "drop"].forEach((t) => drop.addEventListener(t, (e) => { e.preventDefault(); drop.classList.remove("over"); }));
drop.addEventListener("drop", (e) => { if (e.dataTransfer.files.length) classifyFile(e.dataTransfer.files[0]); });
$("file").addEventListener("change", (e) => { if (e.target.files.length) classifyFile(e.target.files[0]); });
$("url-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const url = $("url").value.trim();
  if (url) send(JSON.stringify({ url, ...options() }), true);
});
$("stream-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const src = $("stream-url").value.trim();
  if (src) watchStream(src);
});
$("stream-stop").addEventListener("click", stopStream);

fetch("/v1/model", { headers: headers() }).then((r) => (r.ok ? r.json() : null)).then((m) => {
  if (m) $("model").textContent = `model ${m.name} ${m.version} · classes ${m.classes.join(", ")}`;
}).catch(() => {});
