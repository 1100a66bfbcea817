// The review page: a waveform per version (wavesurfer.js), sections and findings on the
// timeline, play/seek/loop, A/B at the same position, timestamped threaded comments,
// approvals and revision requests. Talks only to the JSON API; the session cookie is the token.
import WaveSurfer from "./vendor/wavesurfer.esm.js";
import RegionsPlugin from "./vendor/regions.esm.js";

const $ = (selector) => document.querySelector(selector);
const state = { session: null, versions: [], analysis: null, players: new Map(), active: null,
                selection: null, comments: [] };

export function formatTime(seconds, decimals = 0) {
  const minutes = Math.floor(seconds / 60);
  const rest = seconds - minutes * 60;
  const text = decimals ? rest.toFixed(decimals).padStart(3 + decimals, "0") : String(Math.floor(rest)).padStart(2, "0");
  return `${minutes}:${text}`;
}

export function parseTime(text) {
  // "42", "0:42", "1:02.5" → seconds; NaN when unreadable
  const parts = text.trim().split(":");
  if (parts.length > 2 || parts.some((p) => p === "" || isNaN(Number(p)))) return NaN;
  return parts.length === 2 ? Number(parts[0]) * 60 + Number(parts[1]) : Number(parts[0]);
}

async function api(path, options = {}) {
  // every change carries the session's CSRF token (from /api/session); JSON bodies say so
  const headers = { ...(options.headers || {}) };
  if (options.body && typeof options.body === "string") headers["Content-Type"] = "application/json";
  if (options.method && options.method !== "GET" && state.session) headers["X-CSRF-Token"] = state.session.csrf;
  const response = await fetch(path, { credentials: "same-origin", ...options, headers });
  const data = response.headers.get("content-type")?.includes("json") ? await response.json() : null;
  if (!response.ok) {
    const detail = data && (typeof data.detail === "string" ? data.detail : JSON.stringify(data.detail));
    throw new Error(detail || `${response.status} ${response.statusText}`);
  }
  return data;
}

const post = (path, body = {}, method = "POST") => api(path, { method, body: JSON.stringify(body) });

function status(text) { $("#status").textContent = text; }

function el(tag, props = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  for (const child of children) node.append(child);
  return node;
}

function player() { return state.players.get(state.active); }

// -- versions and waveforms --------------------------------------------------------------------
function lane(kind, items, duration) {
  const box = el("div", { className: `lane ${kind}` });
  for (const item of items) {
    const start = Math.max(0, item.start_s), end = Math.min(duration, item.end_s ?? item.start_s);
    if (start >= duration) continue;
    const span = el("span", { title: item.title, textContent: item.text });
    span.style.left = `${(100 * start) / duration}%`;
    if (kind === "sections") span.style.width = `${(100 * Math.max(0, end - start)) / duration}%`;
    box.append(span);
  }
  return box;
}

function versionCard(version, explanation) {
  const card = el("div", { className: "version", id: `version-${version.number}` });
  card.dataset.version = version.number;
  const approvals = version.approvals.map((a) => a.author).join(", ");
  const approve = el("button", { type: "button", className: "approve", textContent: "Approve this version",
                                 hidden: !state.session.can.approver });
  approve.addEventListener("click", async () => {
    await post(`/api/versions/${version.number}/approve`);
    await loadVersions();
    status(`version ${version.number} approved`);
  });
  card.append(
    el("h3", { textContent: `v${version.number} — ${version.message}` }),
    el("div", { className: "meta", textContent: `${version.author}, ${version.created_utc.replace("T", " ").replace("Z", " UTC")}, ${formatTime(version.duration_s)} ` },
       el("span", { className: "approved", textContent: approvals ? `approved by ${approvals}` : "" })),
    approve);
  if (explanation) card.append(el("div", { className: "explanation", textContent: explanation }));
  const { sections = [], findings = [] } = version;  // placed on this version's own timeline
  card.append(
    lane("sections", sections.map((s) => ({ ...s, text: `${s.label} ${s.role || ""}`, title: `${s.label} ${s.role || ""} ${formatTime(s.start_s)}–${formatTime(s.end_s)}` })), version.duration_s),
    lane("findings", findings.filter((f) => f.end_s - f.start_s < 0.5 * version.duration_s)
      .map((f) => ({ ...f, text: "!", title: f.message })), version.duration_s));
  const wave = el("div", { className: "wave" });
  card.append(wave);
  return { card, wave };
}

async function makePlayer(version, wave) {
  // the overview comes from the server; the audio streams only when played
  const overview = await api(`/api/versions/${version.number}/peaks`);
  const regions = RegionsPlugin.create();
  const ws = WaveSurfer.create({ container: wave, url: `/api/versions/${version.number}/audio`, height: 72,
    peaks: [overview.peaks], duration: overview.duration_s, normalize: false,
    waveColor: "#9aa7d8", progressColor: "#4a6cf7", cursorColor: "#23283a", plugins: [regions] });
  ws.regions = regions;
  ws.on("ready", () => {
    wave.dataset.ready = "1";
    if (version.number === state.active) $("#play").disabled = false;
    drawMarkers(version.number);
  });
  ws.on("interaction", () => activate(version.number, { keepTime: false }));
  ws.on("timeupdate", (t) => { if (version.number === state.active) $("#time").textContent = formatTime(t, 1); });
  ws.on("play", () => { if (version.number === state.active) $("#play").textContent = "Pause"; });
  ws.on("pause", () => { if (version.number === state.active) $("#play").textContent = "Play"; });
  regions.enableDragSelection({ color: "rgba(255, 170, 0, 0.25)" });
  regions.on("region-created", (region) => {
    if (!region.id.startsWith("region-")) return;  // comment markers are c<ID>; drag selections region-…
    for (const other of regions.getRegions()) if (other !== region && other.id.startsWith("region-")) other.remove();
    for (const [number, other] of state.players) {
      if (number !== version.number) other.regions.getRegions().filter((r) => r.id.startsWith("region-")).forEach((r) => r.remove());
    }
    state.selection = { version: version.number, start: region.start, end: region.end, region };
    $("#selection").textContent = `selected ${formatTime(region.start, 1)}–${formatTime(region.end, 1)}`;
    $("#comment-time").value = `${formatTime(region.start, 1)}-${formatTime(region.end, 1)}`;
  });
  regions.on("region-updated", (region) => {
    if (state.selection?.region !== region) return;
    Object.assign(state.selection, { start: region.start, end: region.end });
    $("#selection").textContent = `selected ${formatTime(region.start, 1)}–${formatTime(region.end, 1)}`;
    $("#comment-time").value = `${formatTime(region.start, 1)}-${formatTime(region.end, 1)}`;
  });
  regions.on("region-out", (region) => {
    if ($("#loop").checked && state.selection?.region === region) region.play();
  });
  state.players.set(version.number, ws);
  return ws;
}

function drawMarkers(number) {
  const ws = state.players.get(number);
  if (!ws || !ws.getDuration()) return;
  for (const region of ws.regions.getRegions()) if (region.id.startsWith("c")) region.remove();
  for (const comment of state.comments.filter((c) => c.version === number && c.parent_id === null)) {
    ws.regions.addRegion({ id: `c${comment.id}`, start: comment.start_s, end: comment.end_s ?? undefined,
      content: "✎", color: comment.state === "open" ? "rgba(180, 35, 24, 0.18)" : "rgba(120, 120, 120, 0.12)",
      drag: false, resize: false });
  }
}

function activate(number, { keepTime = true } = {}) {
  const previous = player();
  const next = state.players.get(number);
  if (!next || number === state.active) return;
  const playing = previous?.isPlaying();
  const time = previous ? previous.getCurrentTime() : 0;
  if (previous) previous.pause();
  if (keepTime && previous) next.setTime(Math.min(time, next.getDuration() || time));
  state.active = number;
  document.querySelectorAll(".version").forEach((card) =>
    card.classList.toggle("active", Number(card.dataset.version) === number));
  $("#active").textContent = `v${number}`;
  $("#duration").textContent = formatTime(next.getDuration() || 0);
  $("#time").textContent = formatTime(next.getCurrentTime(), 1);
  $("#play").disabled = !next.getDuration();
  if (playing) next.play();
  renderComments();
}

async function loadVersions(explanations = {}) {
  state.versions = await api("/api/versions");
  const box = $("#versions");
  for (const version of [...state.versions].reverse()) {
    const old = document.getElementById(`version-${version.number}`);
    const { card, wave } = versionCard(version, explanations[version.number]
      || old?.querySelector(".explanation")?.textContent);
    if (old) {  // keep the player, refresh the header
      card.replaceChild(old.querySelector(".wave"), wave);
      old.replaceWith(card);
    } else {
      box.prepend(card);
      await makePlayer(version, wave);
    }
  }
  // newest first
  for (const version of state.versions) box.prepend(document.getElementById(`version-${version.number}`));
  const options = state.versions.map((v) => `<option value="${v.number}">v${v.number}</option>`).join("");
  for (const [id, pick] of [["#ab-a", -2], ["#ab-b", -1]]) {
    const select = $(id), kept = select.value;
    select.innerHTML = options;
    select.value = kept || String(state.versions.at(pick >= -state.versions.length ? pick : 0).number);
  }
  if (state.active === null) activate(state.versions.at(-1).number);
  else document.getElementById(`version-${state.active}`)?.classList.add("active");
}

// -- comments ----------------------------------------------------------------------------------
function commentItem(comment, replies) {
  const item = el("li", { className: `comment ${comment.state}`, id: `comment-${comment.id}` });
  const when = comment.end_s === null ? formatTime(comment.start_s) : `${formatTime(comment.start_s)}–${formatTime(comment.end_s)}`;
  const seek = el("span", { className: "when", textContent: when, title: "play from here" });
  seek.addEventListener("click", () => { player().setTime(comment.start_s); player().play(); });
  item.append(seek, " ", el("span", { className: "by", textContent: `${comment.author} · ${comment.state}` }),
              el("div", { className: "text", textContent: comment.body }));
  const can = state.session.can;
  if (can.commenter) {
    const reply = el("button", { type: "button", textContent: "Reply" });
    reply.addEventListener("click", async () => {
      const text = prompt("Reply");
      if (text) { await post("/api/comments", { parent_id: comment.id, body: text }); await loadComments(); }
    });
    const toggle = el("button", { type: "button", className: "resolve",
                                  textContent: comment.state === "open" ? "Resolve" : "Reopen" });
    toggle.addEventListener("click", async () => {
      await post(`/api/comments/${comment.id}`, { state: comment.state === "open" ? "resolved" : "open" }, "PATCH");
      await loadComments();
    });
    item.append(reply, toggle);
  }
  if (can.approver && comment.parent_id === null) {
    const revise = el("button", { type: "button", className: "revise", textContent: "Request a revision" });
    revise.addEventListener("click", () => requestRevision(comment));
    item.append(revise);
  }
  if (replies.length) item.append(el("ol", {}, ...replies.map((r) => commentItem(r, []))));
  return item;
}

function renderComments() {
  const list = $("#comments");
  list.replaceChildren();
  const mine = state.comments.filter((c) => c.version === state.active);
  for (const comment of mine.filter((c) => c.parent_id === null)) {
    list.append(commentItem(comment, mine.filter((c) => c.parent_id === comment.id)));
  }
  if (!list.children.length) list.append(el("li", { className: "empty", textContent: "no comments yet" }));
}

async function loadComments() {
  state.comments = await api("/api/comments");
  renderComments();
  for (const number of state.players.keys()) drawMarkers(number);
}

async function submitComment(event) {
  event.preventDefault();
  const error = $("#comment-error");
  error.textContent = "";
  const [from, to] = $("#comment-time").value.split("-");
  const start = from?.trim() ? parseTime(from) : player().getCurrentTime();
  const end = to === undefined ? null : parseTime(to);
  if (isNaN(start) || (end !== null && isNaN(end))) { error.textContent = "write the time as 0:42 or 0:42-0:50"; return; }
  try {
    await post("/api/comments", { version: state.active, start_s: start, end_s: end, body: $("#comment-body").value });
  } catch (err) { error.textContent = err.message; return; }
  $("#comment-body").value = "";
  $("#comment-time").value = "";
  await loadComments();
  status(`comment added at ${formatTime(start)}`);
}

// -- revision jobs -----------------------------------------------------------------------------
async function requestRevision(comment) {
  const job = await post(`/api/comments/${comment.id}/revise`, {});
  const bar = el("progress", { max: 1, value: 0 });
  const label = el("span", { textContent: "queued" });
  const box = el("div", { className: "job", id: `job-${job.id}` },
                 el("strong", { textContent: `Revision: “${job.note}” ` }), bar, label);
  $("#jobs").prepend(box);
  // poll until the job ends (done, failed, unavailable); slower as it runs on (250 ms, growing to
  // 2 s); through a server restart (it marks the jobs it lost failed) for up to 30 s without an
  // answer; never for longer than an hour
  let wait = 250, unanswered = 0;
  const deadline = Date.now() + 3600 * 1000;
  for (;;) {
    let now;
    try {
      now = await api(`/api/jobs/${job.id}`);
      unanswered = 0;
    } catch (err) {
      unanswered += wait;
      if (unanswered > 30000) {
        box.dataset.state = "lost";
        label.textContent = `no answer about this revision (${err.message}); reload to see new versions`;
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, wait));
      wait = Math.min(2000, wait * 1.25);
      continue;
    }
    bar.value = now.progress;
    label.textContent = now.label || now.state;
    box.dataset.state = now.state;
    if (!["queued", "running"].includes(now.state)) {
      if (now.state === "done") {
        await loadVersions({ [now.result_version]: now.explanation });
        label.textContent = `version ${now.result_version} is ready`;
        status(`version ${now.result_version}: ${now.explanation.split("\n")[0]}`);
      }
      return;
    }
    if (Date.now() > deadline) {
      box.dataset.state = "lost";
      label.textContent = "still running after an hour; reload to see new versions";
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, wait));
    wait = Math.min(2000, wait * 1.25);
  }
}

// -- reference uploads -------------------------------------------------------------------------
async function loadUploads() {
  const uploads = await api("/api/uploads");
  $("#uploads").replaceChildren(...uploads.map((u) => el("li", { className: "upload" },
    el("div", { textContent: `${u.author}: ${formatTime(u.duration_s)} · ${u.sample_rate} Hz · ${u.channels} ch` }),
    el("audio", { controls: true, preload: "none", src: `/api/uploads/${u.id}/audio` }))));
}

async function uploadReference() {
  const input = $("#upload-file");
  const error = $("#upload-error");
  error.textContent = "";
  if (!input.files.length) return;
  // the file itself is the body, not a form; the server reads what it is from its content
  try {
    await api("/api/uploads", { method: "POST", body: input.files[0],
                                headers: { "Content-Type": "application/octet-stream" } });
  } catch (err) { error.textContent = err.message; }
  input.value = "";
  await loadUploads();
}

// -- start -------------------------------------------------------------------------------------
async function start() {
  window.review = state;  // for tests and the curious; filled in as the page loads
  try {
    state.session = await api("/api/session");
  } catch (err) { status(err.message); return; }
  const s = state.session;
  $("#project").textContent = s.project;
  $("#who").textContent = `${s.name} (${s.role}), link valid until ${new Date(s.expires_s * 1000).toLocaleString()}`;
  $("#comment-form").hidden = !s.can.commenter;
  state.analysis = await api("/api/analysis");
  $("#findings").replaceChildren(...state.analysis.findings.map((f) =>
    el("li", { textContent: `${formatTime(f.start_s)}–${formatTime(f.end_s)} ${f.severity}: ${f.message}` })));
  await loadVersions();
  await loadComments();
  await loadUploads();
  $("#upload-label").hidden = !s.can.commenter;
  $("#upload-file").addEventListener("change", uploadReference);
  $("#play").addEventListener("click", () => player().playPause());
  $("#ab-toggle").addEventListener("click", () => {
    const a = Number($("#ab-a").value), b = Number($("#ab-b").value);
    activate(state.active === a ? b : a);
  });
  $("#comment-now").addEventListener("click", () => { $("#comment-time").value = formatTime(player().getCurrentTime(), 1); });
  $("#comment-form").addEventListener("submit", submitComment);
  document.addEventListener("keydown", (event) => {
    if (event.code === "Space" && !["TEXTAREA", "INPUT"].includes(event.target.tagName)) {
      event.preventDefault(); player().playPause();
    }
  });
  status("ready");
}

start();
