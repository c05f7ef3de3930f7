// stylecast page logic: one module for `/` (controls) and `/obs` (video only).
// Exposes window.stylecast for automation (tests, OBS scripting).
// Server messages are checked with the server's own protocol module.
import { parseServerMessage } from '/protocol.js';

const params = new URLSearchParams(location.search);
const token = params.get('token');
const isObs = document.body.dataset.obs === '1';
const $ = (id) => document.getElementById(id);
const input = $('input');
const output = $('output');

const state = {
  welcome: null, stats: null, errors: [], notes: [], style: null, broadcastStyle: null, cameraStyle: null, mode: null, wantMode: null, connected: false, reconnecting: false, reconnects: 0,
  frames: { input: 0, output: 0 },
  // Paintings uploaded to this server (ids) in slots a and b, with the mix the sliders set.
  painting: { a: null, b: null, blend: 0.5, strength: 1 },
};
let ws = null;
let pc = null;
let mse = null;
let pendingAnswer = null;

function setStatus(text, isError = false) {
  const el = $('status');
  if (el) { el.textContent = text; el.classList.toggle('error', isError); }
  if (isError) state.errors.push(text);
  showOverlay();
}

/** /obs: the status shows only while the picture is not playing, so OBS captures a clean frame. */
function showOverlay() {
  const el = isObs ? $('status') : null;
  if (!el) return;
  const playing = state.connected && state.mode !== null && !output.paused && output.readyState >= 2 && state.frames.output > 0;
  el.hidden = playing;
}
for (const event of ['playing', 'waiting', 'pause', 'emptied']) output.addEventListener(event, () => showOverlay());

function withToken(path) {
  return token ? `${path}${path.includes('?') ? '&' : '?'}token=${encodeURIComponent(token)}` : path;
}

function countFrames(video, key) {
  if (!('requestVideoFrameCallback' in HTMLVideoElement.prototype)) return;
  const tick = () => { state.frames[key]++; video.requestVideoFrameCallback(tick); };
  video.requestVideoFrameCallback(tick);
}
countFrames(input, 'input');
countFrames(output, 'output');

function connect() {
  return new Promise((resolve, reject) => {
    const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${withToken('/ws')}`;
    ws = new WebSocket(url);
    ws.onopen = () => { state.connected = true; };
    ws.onclose = () => {
      const wasUp = state.connected;
      state.connected = false;
      if (wasUp || state.reconnecting) reconnectLater();
      else setStatus('disconnected', true);
    };
    ws.onerror = () => {
      reject(new Error('WebSocket failed'));
      if (!state.welcome) void explainRefusal();
    };
    ws.onmessage = (event) => {
      const parsed = parseServerMessage(String(event.data));
      if (!parsed.ok) { setStatus(`bad message from the server: ${parsed.reason}`, true); return; }
      const msg = parsed.value;
      if (msg.type === 'welcome') {
        const healed = state.reconnecting;
        state.reconnecting = false;
        reconnectDelayMs = 500;
        state.welcome = msg;
        state.style = msg.style;
        state.broadcastStyle = msg.style;
        fillStyles(msg.styles, msg.style);
        showStrokes(msg.strokeScale ?? 1);
        showColour(msg.keepColour ?? 0);
        setupPainting(msg);
        setStatus(`connected (server source: ${msg.source})`);
        resolve();
        if (healed) {
          state.reconnects++;
          // The server restarted or the network came back: resume what this page was doing.
          if (state.wantMode) start(state.wantMode).catch(() => undefined);
        }
      } else if (msg.type === 'answer') {
        pendingAnswer?.resolve(msg);
      } else if (msg.type === 'stats') {
        state.stats = msg;
        renderStats(msg);
        explainSilence(msg);
      } else if (msg.type === 'style') {
        if (msg.target === 'broadcast') state.broadcastStyle = msg.id;
        else state.cameraStyle = msg.id;
        // The list shows what this page watches: its camera's style in camera mode, else the broadcast's.
        if (msg.target === 'broadcast' && state.mode === 'camera') return;
        state.style = msg.id;
        const select = $('style');
        if (select) select.value = msg.id;
        if (msg.painting) showMix(msg.painting);
        if (msg.strokeScale !== undefined) showStrokes(msg.strokeScale);
      } else if (msg.type === 'colour') {
        // The slider shows what this page watches: its camera's in camera mode, else the broadcast's.
        if (msg.target === 'broadcast' && state.mode === 'camera') return;
        showColour(msg.keep);
      } else if (msg.type === 'error') {
        setStatus(`${msg.code}: ${msg.message}`, true);
        pendingAnswer?.reject(new Error(msg.message));
      }
    };
  });
}

/** Why the control socket was refused, in words: a browser only reports that it failed. */
async function explainRefusal() {
  const response = await fetch(withToken('/api/styles')).catch(() => null);
  if (response?.status === 401) {
    setStatus(token
      ? 'the token in this page\'s URL is wrong: open the URL that `stylecast serve` printed'
      : 'this server needs its token: open the URL that `stylecast serve` printed (it ends in ?token=...)', true);
  } else if (response?.status === 403) {
    setStatus('this server refuses pages from this address (see --allow-origin)', true);
  } else if (!response) {
    setStatus('cannot reach the server', true);
  }
}

let silentSeconds = 0;

/** A server stream with no frames coming in: say why, rather than "running" over a black picture. */
function explainSilence(msg) {
  if (state.mode !== 'view' && state.mode !== 'ws') { silentSeconds = 0; return; }
  const b = msg.broadcast;
  silentSeconds = b.fpsIn > 0 ? 0 : silentSeconds + 1;
  const running = `running: ${state.mode}`;
  if (silentSeconds >= 3) {
    setStatus(b.source === 'browser'
      ? `${running}: nothing to show yet: this server takes its picture from a publisher; choose "My camera", or publish to /whip (OBS 30+: Settings, Stream, WHIP)`
      : `${running}: the server's source (${b.source}) sends no frames; it is retried`);
  } else if (silentSeconds === 0 && ($('status')?.textContent ?? '').startsWith(`${running}: `)) {
    setStatus(running);
  }
}

let reconnectDelayMs = 500;
let reconnectTimer = null;

/** After a lost connection: try again with backoff (0.5 s doubling to 8 s), saying so, until the server answers. */
function reconnectLater() {
  if (reconnectTimer) return;
  state.reconnecting = true;
  if (pc) { pc.close(); pc = null; }
  if (mse) { mse.socket.onclose = null; mse.socket.close(); mse = null; }
  setStatus(`disconnected: reconnecting in ${(reconnectDelayMs / 1000).toFixed(1)} s…`, true);
  reconnectTimer = setTimeout(() => {
    reconnectTimer = null;
    reconnectDelayMs = Math.min(8000, reconnectDelayMs * 2);
    connect().catch(() => undefined);
  }, reconnectDelayMs);
}

function fillStyles(styles, current) {
  const select = $('style');
  if (!select) return;
  select.replaceChildren(...styles.map((s) => new Option(s.title, s.id, false, s.id === current)));
  select.onchange = () => setStyle(select.value);
}

/** The stroke-size slider: the server re-runs the model at the matching working size (the next frames show it). */
function showStrokes(scale) {
  const input = $('strokes');
  if (!input) return;
  input.value = String(scale);
  $('strokes-value').textContent = `${scale}×`;
  let timer = null;
  input.oninput = () => {
    $('strokes-value').textContent = `${input.value}×`;
    // A new working size restarts the decoder: only the position where the drag rests is sent.
    clearTimeout(timer);
    timer = setTimeout(() => { if (ws?.readyState === 1) send({ type: 'strokes', scale: Number(input.value) }); }, 250);
  };
}

/** The colour slider: how much of the picture's own colour stays; no model reload, so every move is sent (at most every 100 ms). */
function showColour(keep) {
  const input = $('colour');
  if (!input) return;
  const label = (value) => (value === 0 ? 'painting' : value === 1 ? 'picture' : `${Math.round(value * 100)}% picture`);
  input.value = String(keep);
  $('colour-value').textContent = label(keep);
  let timer = null;
  input.oninput = () => {
    $('colour-value').textContent = label(Number(input.value));
    clearTimeout(timer);
    timer = setTimeout(() => { if (ws?.readyState === 1) send({ type: 'colour', keep: Number(input.value) }); }, 100);
  };
}

function send(message) {
  ws.send(JSON.stringify(message));
}

function setStyle(id) {
  send({ type: 'style', id });
}

// ---- any painting: upload to /api/painting, then mix by ids over /ws ----------

function setupPainting(welcome) {
  const panel = $('painting');
  if (!panel || !welcome.paintings) return;
  panel.hidden = false;
  if (welcome.painting) showMix(welcome.painting);
  const gallery = $('gallery');
  if (gallery) {
    gallery.replaceChildren(...(welcome.paintings.gallery ?? []).map((item) => {
      const button = document.createElement('button');
      button.type = 'button';
      button.dataset.id = item.id;
      button.title = `${item.title}, ${item.artist}, ${item.year}: paint with it (slot A; shift-click: slot B)`;
      const img = document.createElement('img');
      img.src = withToken(`/gallery/${item.id}.jpg`);
      img.alt = item.title;
      button.append(img);
      button.onclick = (event) => pickGalleryPainting(item.id, event.shiftKey ? 'b' : 'a').catch(() => undefined);
      return button;
    }));
  }
  for (const slot of ['a', 'b']) {
    $(`painting-${slot}`).onchange = (event) => {
      const file = event.target.files?.[0];
      if (file) uploadPainting(file, slot).catch(() => undefined);
    };
  }
  const slider = (id, key) => {
    let timer = null;
    $(id).oninput = () => {
      state.painting[key] = Number($(id).value);
      $(`${id}-value`).textContent = $(id).value;
      // At most ~10 messages a second while dragging; the last position always goes.
      if (!timer) timer = setTimeout(() => { timer = null; sendMix(); }, 100);
    };
  };
  slider('strength', 'strength');
  slider('blend', 'blend');
  const drop = document.querySelector('main');
  drop.ondragover = (event) => { event.preventDefault(); drop.classList.add('dropping'); };
  drop.ondragleave = () => drop.classList.remove('dropping');
  drop.ondrop = (event) => {
    event.preventDefault();
    drop.classList.remove('dropping');
    const file = event.dataTransfer?.files?.[0];
    if (file) uploadPainting(file, state.painting.a && !state.painting.b ? 'b' : 'a').catch(() => undefined);
  };
}

function showMix(mix) {
  Object.assign(state.painting, mix);
  for (const key of ['strength', 'blend']) {
    if (!$(key)) continue;
    $(key).value = String(mix[key]);
    $(`${key}-value`).textContent = String(mix[key]);
  }
  if ($('blend')) $('blend').disabled = !mix.b;
}

function sendMix() {
  const { a, b, blend, strength } = state.painting;
  if (a && ws?.readyState === 1) send({ type: 'paint', a, b, blend, strength });
}

/** Uploads a painting into slot a or b and paints with it; a bad file gets the server's one-line reason and the stream goes on. */
async function uploadPainting(file, slot = 'a') {
  const max = state.welcome?.paintings?.maxBytes ?? 10 * 1024 * 1024;
  if (file.size > max) {
    setStatus(`the painting is ${(file.size / 1048576).toFixed(1)} MB; the limit is ${(max / 1048576).toFixed(0)} MB`, true);
    throw new Error('too large');
  }
  setStatus(`reading the painting ${file.name ?? ''}…`);
  const response = await fetch(withToken('/api/painting'), { method: 'POST', headers: { 'Content-Type': file.type || 'application/octet-stream' }, body: file });
  if (!response.ok) {
    setStatus(`painting refused: ${(await response.text()).trim()}`, true);
    throw new Error(`upload failed: ${response.status}`);
  }
  const { id } = await response.json();
  usePainting(id, slot, URL.createObjectURL(file));
  setStatus(`painting ${slot.toUpperCase()} in use`);
  return id;
}

/** Paints with a shipped painting from the gallery (read once on the server) in slot a or b. */
async function pickGalleryPainting(galleryId, slot = 'a') {
  const item = state.welcome?.paintings?.gallery?.find((g) => g.id === galleryId);
  if (!item) throw new Error(`no gallery painting ${galleryId}`);
  setStatus(`reading ${item.title}…`);
  const response = await fetch(withToken(`/api/gallery/${galleryId}`), { method: 'POST' });
  if (!response.ok) {
    setStatus(`painting refused: ${(await response.text()).trim()}`, true);
    throw new Error(`gallery pick failed: ${response.status}`);
  }
  const { id } = await response.json();
  usePainting(id, slot, withToken(`/gallery/${galleryId}.jpg`));
  setStatus(`painting ${slot.toUpperCase()}: ${item.title} (${item.artist})`);
  return id;
}

/** Puts a painting the server has read into a slot and paints with the new mix. */
function usePainting(id, slot, thumbSrc) {
  state.painting[slot] = id;
  if (slot === 'b' && !state.painting.a) { state.painting.a = id; state.painting.b = null; }
  const thumb = $(`thumb-${slot}`);
  if (thumb) thumb.src = thumbSrc;
  if ($('blend')) $('blend').disabled = !state.painting.b;
  for (const button of document.querySelectorAll('#gallery button')) button.classList.toggle('chosen', [state.painting.a, state.painting.b].includes(`g-${button.dataset.id}`));
  sendMix();
}

/** Sets the mix from code (tests, OBS scripting): any of strength, blend. */
function setMix(change) {
  showMix({ ...state.painting, ...change });
  sendMix();
}

async function gathered(peer) {
  if (peer.iceGatheringState === 'complete') return;
  await new Promise((resolve) => {
    const timer = setTimeout(resolve, 2000);
    peer.addEventListener('icegatheringstatechange', () => {
      if (peer.iceGatheringState === 'complete') { clearTimeout(timer); resolve(); }
    });
  });
}

async function negotiate(peer, mode, preview) {
  await peer.setLocalDescription(await peer.createOffer());
  await gathered(peer);
  const answer = await new Promise((resolve, reject) => {
    pendingAnswer = { resolve, reject };
    send({ type: 'offer', mode, sdp: peer.localDescription.sdp, preview });
  });
  pendingAnswer = null;
  await peer.setRemoteDescription({ type: 'answer', sdp: answer.sdp });
}

async function startCamera() {
  const size = state.welcome?.captureSize ?? { width: 640, height: 360 };
  if (!navigator.mediaDevices?.getUserMedia) {
    // Browsers give cameras only to secure pages: https, or http on this machine's own loopback.
    const message = 'the camera needs a secure page: open this page over https, or as http://127.0.0.1 on the machine running stylecast';
    setStatus(message, true);
    throw new Error(message);
  }
  const camera = await navigator.mediaDevices.getUserMedia({ video: { width: size.width, height: size.height }, audio: false });
  input.srcObject = camera;
  pc = new RTCPeerConnection({ iceServers: [] });
  pc.addTransceiver(camera.getVideoTracks()[0], { direction: 'sendrecv', streams: [camera] });
  pc.ontrack = (event) => { output.srcObject = new MediaStream([event.track]); };
  await negotiate(pc, 'camera', false);
}

async function startView(preview) {
  pc = new RTCPeerConnection({ iceServers: [] });
  pc.addTransceiver('video', { direction: 'recvonly' });
  if (preview) pc.addTransceiver('video', { direction: 'recvonly' });
  let n = 0;
  pc.ontrack = (event) => {
    const target = n++ === 0 ? output : input;
    target.srcObject = new MediaStream([event.track]);
  };
  await negotiate(pc, 'view', preview);
}

function startWebSocketVideo() {
  const media = new MediaSource();
  output.src = URL.createObjectURL(media);
  const socket = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${withToken('/live.mp4')}`);
  socket.binaryType = 'arraybuffer';
  const queue = [];
  let buffer = null;
  const pump = () => {
    if (!buffer || buffer.updating || queue.length === 0) return;
    buffer.appendBuffer(queue.shift());
  };
  media.addEventListener('sourceopen', () => {
    buffer = media.addSourceBuffer('video/mp4; codecs="avc1.42E01E"');
    buffer.mode = 'segments';
    buffer.addEventListener('updateend', () => {
      const ranges = buffer.buffered;
      if (ranges.length) {
        const end = ranges.end(ranges.length - 1);
        // Stay at the live edge: jump when more than ~0.15 s behind.
        if (end - output.currentTime > 0.15) output.currentTime = Math.max(ranges.start(ranges.length - 1), end - 0.05);
        if (!buffer.updating && output.currentTime - ranges.start(0) > 10) buffer.remove(ranges.start(0), output.currentTime - 5);
      }
      pump();
    });
    pump();
  });
  socket.onmessage = (event) => { queue.push(event.data); pump(); };
  socket.onclose = () => setStatus('video socket closed', true);
  output.play().catch(() => undefined);
  mse = { socket, media };
}

async function start(mode) {
  stop();
  state.mode = mode;
  state.wantMode = mode;
  setStatus(`starting ${mode}…`);
  try {
    if (mode === 'camera') await startCamera();
    else if (mode === 'view') await startView(!isObs);
    else if (mode === 'ws') startWebSocketVideo();
    else throw new Error(`unknown mode ${mode}`);
    const caption = $('input-caption');
    if (caption) caption.textContent = mode === 'ws' ? 'Input: not shown in WebSocket mode (the fallback carries only the stylized stream)' : 'Input';
    setStatus(`running: ${mode}`);
    if ($('start')) { $('start').disabled = true; $('stop').disabled = false; }
  } catch (error) {
    setStatus(`could not start: ${error.message}`, true);
    throw error;
  }
}

function stop() {
  if (pc) { pc.close(); pc = null; if (ws?.readyState === 1) send({ type: 'stop' }); }
  if (mse) { mse.socket.onclose = null; mse.socket.close(); mse = null; }
  for (const v of [input, output]) {
    if (v.srcObject) { for (const t of v.srcObject.getTracks()) t.stop(); v.srcObject = null; }
  }
  if ($('start')) { $('start').disabled = false; $('stop').disabled = true; }
  state.wantMode = null;
  if (state.mode) { state.mode = null; setStatus('stopped'); }
  // The camera's own style ends with it: the list shows the broadcast's again.
  state.cameraStyle = null;
  if (state.broadcastStyle) {
    state.style = state.broadcastStyle;
    if ($('style')) $('style').value = state.broadcastStyle;
  }
}

const fmt = (v, digits = 1) => (v === null || v === undefined ? '–' : typeof v === 'number' ? v.toFixed(digits) : String(v));
function renderStats(msg) {
  const body = document.querySelector('#stats tbody');
  if (!body) return;
  const s = msg.camera ?? msg.broadcast;
  const rows = [
    ['stream', msg.camera ? 'your camera' : `server (${msg.broadcast.source})`],
    ['style', msg.camera ? (state.cameraStyle ?? msg.style) : msg.style],
    ['fps in / out', `${fmt(s.fpsIn)} / ${fmt(s.fpsOut)}`],
    ['inference', `${fmt(s.inferenceMs)} ms`],
    ['server-side latency p50 / p95 (frame in to stylized out; glass to glass adds capture, network and display)', `${fmt(s.latencyP50Ms, 0)} / ${fmt(s.latencyP95Ms, 0)} ms`],
    ['dropped frames since start (stale / failed)', `${fmt(s.dropped, 0)} / ${fmt(s.failed, 0)}${s.restarts ? `, ${s.restarts} restart(s)` : ''}`],
    ['flicker (8-bit levels of change where the input is still)', fmt(s.flicker, 2)],
    ['execution provider', s.provider],
    ['viewers (WebRTC / fMP4: WebSocket + HTTP)', `${msg.broadcast.webrtcViewers} / ${msg.broadcast.fmp4Viewers}`],
  ];
  const janus = msg.server.janus;
  if (janus) rows.push(['Janus (room, state)', `${janus.room}, ${janus.state}${janus.lastError && janus.state !== 'publishing' ? `: ${janus.lastError}` : ''}`]);
  body.replaceChildren(...rows.map(([k, v]) => {
    const tr = document.createElement('tr');
    tr.append(Object.assign(document.createElement('td'), { textContent: k }), Object.assign(document.createElement('td'), { textContent: v }));
    return tr;
  }));
}

/** Mean RGB of a video element's current picture (32x32 sample), or null before the first frame. */
function meanColor(which) {
  const video = which === 'input' ? input : output;
  if (!video.videoWidth) return null;
  const canvas = document.createElement('canvas');
  canvas.width = 32; canvas.height = 32;
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  ctx.drawImage(video, 0, 0, 32, 32);
  const data = ctx.getImageData(0, 0, 32, 32).data;
  const sum = [0, 0, 0];
  for (let i = 0; i < data.length; i += 4) { sum[0] += data[i]; sum[1] += data[i + 1]; sum[2] += data[i + 2]; }
  return sum.map((v) => v / (data.length / 4));
}

/** 32x32 RGB samples of both videos, for comparing input and output pixel by pixel. */
function samples() {
  const grab = (video) => {
    if (!video.videoWidth) return null;
    const canvas = document.createElement('canvas');
    canvas.width = 32; canvas.height = 32;
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    ctx.drawImage(video, 0, 0, 32, 32);
    return Array.from(ctx.getImageData(0, 0, 32, 32).data);
  };
  return { input: grab(input), output: grab(output) };
}

/** Video frames decoded by this page's peer connection (WebRTC stats; counts in background tabs too). */
async function decodedFrames() {
  if (!pc) return 0;
  let n = 0;
  (await pc.getStats()).forEach((r) => { if (r.type === 'inbound-rtp' && r.kind === 'video') n += r.framesDecoded ?? 0; });
  return n;
}

const ready = connect();
window.stylecast = { state, ready, start, stop, setStyle, meanColor, samples, decodedFrames, uploadPainting, pickGalleryPainting, setMix };

if ($('start')) {
  $('start').onclick = () => start($('mode').value).catch(() => undefined);
  $('stop').onclick = () => stop();
  $('obs-url').textContent = `${location.origin}/obs?source=view`;
  $('live-url').textContent = withToken(`${location.origin}/live.mp4`);
}

if (isObs || params.has('autostart')) {
  ready.then(async () => {
    const source = params.get('source') ?? 'view';
    const transport = params.get('transport') ?? 'webrtc';
    await start(source === 'camera' ? 'camera' : transport === 'ws' ? 'ws' : 'view');
    // style=X applies to this page's own camera session; a viewer URL does not
    // switch the broadcast (every viewer shares it): it only says when it differs.
    const wanted = params.get('style');
    if (wanted && source === 'camera') setStyle(wanted);
    else if (wanted && wanted !== state.style) {
      const note = `this stream runs "${state.style}", not "${wanted}": a viewer URL does not switch the broadcast; choose the style on the control page`;
      state.notes.push(note);
      setStatus(note);
    }
  }).catch((error) => setStatus(String(error), true));
}
