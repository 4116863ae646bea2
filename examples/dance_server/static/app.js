// posecam dance: the page. No build step; served by the dance server (include_str!).
// Protocol: see examples/dance_server/README.md. In short: for each webcam frame the page sends a
// text header {"type":"frame","id","t"} (t = the dancer video's playback time) then the JPEG as a
// binary message; the server answers {"type":"result",...} with the user's keypoints and the score.
'use strict';

(() => {
  const $ = (id) => document.getElementById(id);
  const SEND_FPS = 15;          // frames per second sent to the server at most
  const MAX_IN_FLIGHT = 2;      // frames sent and not answered yet (the server drops older ones anyway)
  const SEND_WIDTH = 640;       // frames are scaled down to this width before JPEG encoding
  const JPEG_QUALITY = 0.8;
  const STALE_MS = 600;         // a skeleton older than this fades out

  // BlazePose 33-landmark skeleton (MediaPipe's POSE_CONNECTIONS without the face).
  const BONES = [
    [11, 12], [11, 13], [13, 15], [12, 14], [14, 16], [11, 23], [12, 24], [23, 24],
    [23, 25], [25, 27], [24, 26], [26, 28], [27, 29], [29, 31], [27, 31], [28, 30], [30, 32], [28, 32],
    [15, 17], [15, 19], [15, 21], [17, 19], [16, 18], [16, 20], [16, 22], [18, 20],
    [0, 1], [1, 2], [2, 3], [3, 7], [0, 4], [4, 5], [5, 6], [6, 8], [9, 10],
  ];
  const VIS_MIN = 0.5;

  const el = {
    conn: $('conn'), dancer: $('dancer'), dancerOverlay: $('dancer-overlay'), dancerFrame: $('dancer-frame'),
    dancerTime: $('dancer-time'), progress: $('progress-bar'), cam: $('cam'), camOverlay: $('cam-overlay'),
    camAnnotated: $('cam-annotated'),
    camFrame: $('cam-frame'), camMessage: $('cam-message'), countdown: $('countdown'), flash: $('flash'),
    verdict: $('verdict'), liveBar: $('live-bar'), ring: $('ring'), score: $('score'), combo: $('combo'),
    hint: $('hint'), limbs: $('limbs'), start: $('start'), stop: $('stop'), ghost: $('ghost'), stats: $('stats'),
    summary: $('summary'), grade: $('grade'), summaryTitle: $('summary-title'), summarySub: $('summary-sub'),
    plot: $('plot'), figures: $('summary-figures'), again: $('again'), closeSummary: $('close-summary'),
  };

  // Everything the tests (and curious developers) may look at: window.__dance.
  const S = window.__dance = {
    connected: false, hello: null, camReady: false, playing: false, ending: false,
    sent: 0, results: 0, errors: 0, inFlight: 0, lastResult: null, lastError: null, summary: null,
    timeline: [], latencies: [], reconnects: 0, skeletonDrawn: 0, annotatedShown: 0,
  };
  let ws = null;
  let retryMs = 500;
  let frameId = 0;
  let lastSendAt = 0;
  let combo = 0;
  let bestCombo = 0;
  let dancerRef = null;      // {fps, width, height, frames: [[[x,y,v],...] | null]}
  let summaryTimer = null;
  const sendCanvas = document.createElement('canvas');
  const sendCtx = sendCanvas.getContext('2d');
  let smoothScore = null;

  // ---------------------------------------------------------------- connection (auto-reconnect)
  function setConn(state, text) {
    el.conn.dataset.state = state;
    el.conn.textContent = text;
  }

  function connect() {
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const params = new URLSearchParams(location.search);
    const query = params.get('annotated') === '1' ? '?annotated=1' : '';
    setConn('connecting', S.reconnects ? 'reconnecting…' : 'connecting…');
    const sock = new WebSocket(`${proto}//${location.host}/client${query}`);
    sock.binaryType = 'arraybuffer';
    ws = sock;
    sock.onopen = () => {
      retryMs = 500;
      S.connected = true;
      S.inFlight = 0;
      setConn('connected', 'connected');
      updateButtons();
      // A dance in progress simply continues: frames carry the playback time, and the server
      // grades the part of the dance this connection saw.
    };
    sock.onmessage = (ev) => {
      if (typeof ev.data !== 'string') { showAnnotated(ev.data); return; }
      let msg;
      try { msg = JSON.parse(ev.data); } catch (_) { return; }
      onMessage(msg);
    };
    sock.onclose = (ev) => {
      if (ws !== sock) return;
      S.connected = false;
      S.inFlight = 0;
      updateButtons();
      const why = ev.reason ? ` (${ev.reason})` : '';
      setConn('offline', `offline${why}, retrying…`);
      if (S.ending) finishWithoutServer();
      S.reconnects += 1;
      setTimeout(connect, retryMs);
      retryMs = Math.min(retryMs * 2, 5000);
    };
    sock.onerror = () => { /* onclose follows; no alert, ever */ };
  }

  // ?annotated=1: the server's JPEG of the frame with the skeleton it drew, shown over the webcam
  // (mirrored like it) instead of the page's own overlay.
  let annotatedUrl = null;
  el.camAnnotated.onload = () => { S.annotatedShown += 1; };
  function showAnnotated(buffer) {
    const previous = annotatedUrl;
    annotatedUrl = URL.createObjectURL(new Blob([buffer], { type: 'image/jpeg' }));
    el.camAnnotated.src = annotatedUrl;
    el.camAnnotated.hidden = false;
    el.camOverlay.hidden = true;
    if (previous) URL.revokeObjectURL(previous);
  }

  function send(obj) {
    if (ws && ws.readyState === WebSocket.OPEN) { ws.send(obj); return true; }
    return false;
  }

  function onMessage(msg) {
    switch (msg.type) {
      case 'hello':
        S.hello = msg;
        buildLimbList(msg.limbs || []);
        break;
      case 'result':
        S.inFlight = Math.max(0, S.inFlight - 1);
        S.results += 1;
        S.lastResult = msg;
        S.lastResultAt = performance.now();
        onResult(msg);
        break;
      case 'error':
        S.inFlight = Math.max(0, S.inFlight - 1);
        S.errors += 1;
        S.lastError = msg;
        break;
      case 'summary':
        if (S.ending) showSummary(msg);
        break;
      default:
        break;
    }
  }

  // ---------------------------------------------------------------- webcam
  async function startCamera() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      camMessage('This browser has no camera access here. Open the page on http://localhost or over https.');
      return;
    }
    try {
      const stream = await navigator.mediaDevices.getUserMedia({
        video: { width: { ideal: 640 }, height: { ideal: 480 }, facingMode: 'user' }, audio: false,
      });
      el.cam.srcObject = stream;
      await el.cam.play().catch(() => {});
    } catch (e) {
      camMessage(`No camera: ${e.name || e}. Allow camera access and reload the page.`);
    }
  }
  el.cam.addEventListener('loadedmetadata', () => {
    const w = el.cam.videoWidth, h = el.cam.videoHeight;
    if (w && h) {
      el.camFrame.style.aspectRatio = `${w} / ${h}`;
      el.camOverlay.width = w;
      el.camOverlay.height = h;
      S.camReady = true;
      el.camMessage.hidden = true;
      updateButtons();
    }
  });
  function camMessage(text) {
    el.camMessage.textContent = text;
    el.camMessage.hidden = false;
  }

  // ---------------------------------------------------------------- dancer video + reference skeleton
  el.dancer.addEventListener('loadedmetadata', () => {
    const w = el.dancer.videoWidth, h = el.dancer.videoHeight;
    if (w && h) {
      el.dancerFrame.style.aspectRatio = `${w} / ${h}`;
      el.dancerOverlay.width = w;
      el.dancerOverlay.height = h;
    }
  });
  el.dancer.addEventListener('ended', () => { if (S.playing) finish(); });
  fetch('/game/dancer.json').then((r) => (r.ok ? r.json() : null)).then((j) => { dancerRef = j; }).catch(() => {});

  function dancerPoseAt(t) {
    if (!dancerRef || !dancerRef.frames || !dancerRef.frames.length) return null;
    const i = Math.min(dancerRef.frames.length - 1, Math.max(0, Math.round(t * dancerRef.fps)));
    return dancerRef.frames[i];
  }

  // ---------------------------------------------------------------- sending frames
  function maybeSend(now) {
    if (!S.camReady || !S.connected || S.ending) return;
    if (now - lastSendAt < 1000 / SEND_FPS || S.inFlight >= MAX_IN_FLIGHT) return;
    if (ws.bufferedAmount > 256 * 1024) return; // the network is the bottleneck: do not pile up
    const vw = el.cam.videoWidth, vh = el.cam.videoHeight;
    if (!vw || !vh) return;
    const scale = Math.min(1, SEND_WIDTH / vw);
    sendCanvas.width = Math.round(vw * scale);
    sendCanvas.height = Math.round(vh * scale);
    sendCtx.drawImage(el.cam, 0, 0, sendCanvas.width, sendCanvas.height);
    lastSendAt = now;
    S.inFlight += 1;
    const header = { type: 'frame', id: ++frameId, score: S.playing };
    if (S.playing) header.t = el.dancer.currentTime;
    sendCanvas.toBlob((blob) => {
      if (!blob || !send(JSON.stringify(header))) { S.inFlight = Math.max(0, S.inFlight - 1); return; }
      send(blob);
      S.sent += 1;
    }, 'image/jpeg', JPEG_QUALITY);
  }

  // ---------------------------------------------------------------- results
  function scoreColor(s) {
    if (s == null) return 'var(--muted)';
    return `hsl(${Math.round(Math.max(0, Math.min(1, s)) * 130)}, 80%, 55%)`;
  }

  function onResult(r) {
    if (r.latency_ms && typeof r.latency_ms.server === 'number') {
      S.latencies.push(r.latency_ms.server);
      if (S.latencies.length > 60) S.latencies.shift();
    }
    if (!S.playing || r.score == null) {
      if (!r.person) el.hint.textContent = 'No one in view: step back until your whole body shows.';
      else if (!S.playing) el.hint.textContent = 'Looking good! Press Start when ready.';
      else if (r.hint) el.hint.textContent = r.hint;
      updateLimbs(r.limbs || []);
      return;
    }
    S.timeline.push({ t: r.t, score: r.score, correct: !!r.correct });
    smoothScore = smoothScore == null ? r.score : smoothScore * 0.6 + r.score * 0.4;
    const pct = Math.round(smoothScore * 100);
    el.score.textContent = String(pct);
    el.score.style.color = scoreColor(smoothScore);
    el.ring.style.strokeDashoffset = String(326.7 * (1 - smoothScore));
    el.ring.style.stroke = scoreColor(smoothScore);
    el.liveBar.style.width = `${pct}%`;
    el.liveBar.style.background = scoreColor(smoothScore);
    if (r.correct) {
      combo += 1;
      bestCombo = Math.max(bestCombo, combo);
      el.verdict.textContent = 'Correct!';
      el.verdict.className = 'good';
      el.flash.classList.add('on');
      setTimeout(() => el.flash.classList.remove('on'), 180);
    } else {
      combo = 0;
      el.verdict.textContent = 'Keep going';
      el.verdict.className = 'bad';
    }
    el.combo.textContent = combo >= 3 ? `${combo}× combo!` : '';
    el.hint.textContent = r.hint || (r.correct ? 'Great, keep it up!' : 'Match the dancer\'s pose.');
    updateLimbs(r.limbs || []);
  }

  function buildLimbList(names) {
    el.limbs.innerHTML = '';
    for (const name of names) {
      const li = document.createElement('li');
      li.dataset.limb = name;
      li.innerHTML = `<span>${name.replace(/_/g, ' ')}</span><div class="bar"><div></div></div>`;
      el.limbs.appendChild(li);
    }
  }

  function updateLimbs(limbs) {
    for (const l of limbs) {
      let li = el.limbs.querySelector(`li[data-limb="${l.name}"]`);
      if (!li) { buildLimbList([...(S.hello && S.hello.limbs) || [], l.name]); li = el.limbs.querySelector(`li[data-limb="${l.name}"]`); }
      if (!li) continue;
      const bar = li.querySelector('.bar > div');
      const s = typeof l.score === 'number' ? l.score : 0;
      bar.style.width = `${Math.max(3, Math.round(s * 100))}%`;
      bar.style.background = l.score == null ? 'var(--muted)' : scoreColor(s);
    }
  }

  // ---------------------------------------------------------------- drawing
  function drawSkeleton(ctx, kps, sx, sy, limbColors, alpha, lineWidth) {
    ctx.save();
    ctx.globalAlpha = alpha;
    ctx.lineCap = 'round';
    ctx.lineWidth = lineWidth;
    let drawn = 0;
    // A dark outline first, so the skeleton reads on any background.
    ctx.strokeStyle = 'rgba(0,0,0,0.55)';
    ctx.lineWidth = lineWidth * 1.8;
    for (const [a, b] of BONES) {
      const p = kps[a], q = kps[b];
      if (!p || !q || p[2] < VIS_MIN || q[2] < VIS_MIN) continue;
      ctx.beginPath();
      ctx.moveTo(p[0] * sx, p[1] * sy);
      ctx.lineTo(q[0] * sx, q[1] * sy);
      ctx.stroke();
    }
    ctx.lineWidth = lineWidth;
    for (const [a, b] of BONES) {
      const p = kps[a], q = kps[b];
      if (!p || !q || p[2] < VIS_MIN || q[2] < VIS_MIN) continue;
      ctx.strokeStyle = limbColors.get(`${Math.min(a, b)}-${Math.max(a, b)}`) || 'rgba(255,255,255,0.85)';
      ctx.beginPath();
      ctx.moveTo(p[0] * sx, p[1] * sy);
      ctx.lineTo(q[0] * sx, q[1] * sy);
      ctx.stroke();
      drawn += 1;
    }
    ctx.fillStyle = '#fff';
    for (let i = 11; i < kps.length && i < 33; i++) {
      const p = kps[i];
      if (!p || p[2] < VIS_MIN) continue;
      ctx.beginPath();
      ctx.arc(p[0] * sx, p[1] * sy, lineWidth * 0.7, 0, Math.PI * 2);
      ctx.fill();
    }
    ctx.restore();
    return drawn;
  }

  function drawUser(now) {
    const c = el.camOverlay, ctx = c.getContext('2d');
    ctx.clearRect(0, 0, c.width, c.height);
    const r = S.lastResult;
    if (!r || !r.person || !r.keypoints || !r.keypoints.length || !r.width) return;
    const age = now - (S.lastResultAt || 0);
    if (age > STALE_MS * 2) return;
    const alpha = age > STALE_MS ? 1 - (age - STALE_MS) / STALE_MS : 1;
    const colors = new Map();
    for (const l of r.limbs || []) {
      if (l.score == null) continue;
      for (const [a, b] of l.bones || []) colors.set(`${Math.min(a, b)}-${Math.max(a, b)}`, scoreColor(l.score));
    }
    const lw = Math.max(3, c.width / 120);
    if (drawSkeleton(ctx, r.keypoints, c.width / r.width, c.height / r.height, colors, alpha, lw) > 0) {
      S.skeletonDrawn += 1;
    }
  }

  function drawDancer() {
    const c = el.dancerOverlay, ctx = c.getContext('2d');
    ctx.clearRect(0, 0, c.width, c.height);
    if (!el.ghost.checked || !dancerRef) return;
    const kps = dancerPoseAt(el.dancer.currentTime);
    if (!kps) return;
    const lw = Math.max(3, c.width / 110);
    drawSkeleton(ctx, kps, c.width / dancerRef.width, c.height / dancerRef.height, new Map(), 0.75, lw);
  }

  function tick(now) {
    maybeSend(now);
    drawUser(now);
    drawDancer();
    const d = el.dancer.duration || 0;
    el.dancerTime.textContent = `${el.dancer.currentTime.toFixed(1)} / ${d ? d.toFixed(1) : '–'} s`;
    el.progress.style.width = d ? `${(100 * el.dancer.currentTime) / d}%` : '0';
    requestAnimationFrame(tick);
  }

  setInterval(() => {
    const lat = S.latencies.slice().sort((a, b) => a - b);
    const p50 = lat.length ? lat[Math.floor(lat.length / 2)].toFixed(0) : '–';
    const dropped = S.lastResult ? S.lastResult.dropped : 0;
    const model = S.hello ? S.hello.model : '?';
    el.stats.textContent = `model ${model} · server ${p50} ms · sent ${S.sent} · scored ${S.results} · dropped ${dropped}`;
  }, 500);

  // ---------------------------------------------------------------- session
  function updateButtons() {
    el.start.disabled = !(S.connected && S.camReady) || S.playing || S.ending;
    el.stop.disabled = !S.playing;
  }

  function countdown(n) {
    return new Promise((resolve) => {
      el.countdown.hidden = false;
      const step = () => {
        if (n === 0) { el.countdown.hidden = true; resolve(); return; }
        el.countdown.textContent = String(n);
        n -= 1;
        setTimeout(step, 700);
      };
      step();
    });
  }

  async function start() {
    if (S.playing || S.ending) return;
    el.summary.hidden = true;
    S.playing = false;
    S.summary = null;
    S.timeline = [];
    combo = 0; bestCombo = 0; smoothScore = null;
    el.start.disabled = true;
    const params = new URLSearchParams(location.search);
    await countdown(params.has('nocountdown') ? 0 : 3);
    send(JSON.stringify({ type: 'start' }));
    el.dancer.currentTime = 0;
    S.playing = true;
    updateButtons();
    await el.dancer.play().catch(() => {});
  }

  function finish() {
    if (!S.playing) return;
    S.playing = false;
    S.ending = true;
    el.dancer.pause();
    updateButtons();
    el.hint.textContent = 'Computing your grade…';
    if (!send(JSON.stringify({ type: 'end' }))) { finishWithoutServer(); return; }
    clearTimeout(summaryTimer);
    summaryTimer = setTimeout(finishWithoutServer, 4000);
  }

  function finishWithoutServer() {
    if (!S.ending) return;
    showSummary({ type: 'summary', frames: S.timeline.length, scored: S.timeline.length, grade: null, offline: true });
  }

  function clientMean() {
    if (!S.timeline.length) return null;
    return S.timeline.reduce((a, p) => a + p.score, 0) / S.timeline.length;
  }

  function gradeFromScore(s) {
    if (s == null) return '–';
    return s >= 0.9 ? 'S' : s >= 0.8 ? 'A' : s >= 0.65 ? 'B' : s >= 0.5 ? 'C' : 'D';
  }

  function showSummary(msg) {
    clearTimeout(summaryTimer);
    S.ending = false;
    S.summary = msg;
    updateButtons();
    const mean = clientMean();
    const grade = msg.grade || gradeFromScore(msg.dtw_score != null ? msg.dtw_score : mean);
    el.grade.textContent = grade;
    el.summaryTitle.textContent = { S: 'Superstar!', A: 'Great dance!', B: 'Nice moves!', C: 'Not bad!', D: 'Keep practising!' }[grade] || 'Dance complete';
    el.summarySub.textContent = msg.message || (msg.offline ? 'The server was not reachable: figures from this page only.' : '');
    const correct = S.timeline.filter((p) => p.correct).length;
    const figs = [
      ['DTW score', msg.dtw_score != null ? `${Math.round(msg.dtw_score * 100)}` : '–'],
      ['live average', mean != null ? `${Math.round(mean * 100)}` : '–'],
      ['correct', S.timeline.length ? `${Math.round((100 * correct) / S.timeline.length)}%` : '–'],
      ['best combo', String(bestCombo)],
      ['timing', msg.lag_s != null ? `${msg.lag_s >= 0 ? 'late' : 'early'} ${Math.abs(msg.lag_s * 1000).toFixed(0)} ms` : '–'],
      ['frames scored', String(msg.scored != null ? msg.scored : S.timeline.length)],
      ['server p50', S.latencies.length ? `${S.latencies.slice().sort((a, b) => a - b)[Math.floor(S.latencies.length / 2)].toFixed(0)} ms` : '–'],
      ['model', S.hello ? S.hello.model : '–'],
      ['score', { view: 'view (3D, any angle)', robust: 'robust (2D)' }[msg.scoring] || '–'],
    ];
    el.figures.innerHTML = figs.map(([k, v]) => `<div><dt>${k}</dt><dd>${v}</dd></div>`).join('');
    el.summary.hidden = false;
    plotTimeline();
    el.hint.textContent = 'Press Dance again for another round.';
  }

  function plotTimeline() {
    const c = el.plot, ctx = c.getContext('2d');
    const W = c.width, H = c.height, pad = 30;
    ctx.clearRect(0, 0, W, H);
    const duration = el.dancer.duration || Math.max(1, ...S.timeline.map((p) => p.t));
    const x = (t) => pad + ((W - 2 * pad) * t) / duration;
    const y = (s) => H - pad - (H - 2 * pad) * s;
    ctx.strokeStyle = '#ffffff22';
    ctx.fillStyle = '#8d93ad';
    ctx.font = '12px system-ui';
    ctx.lineWidth = 1;
    for (const s of [0, 0.25, 0.5, 0.75, 1]) {
      ctx.beginPath(); ctx.moveTo(pad, y(s)); ctx.lineTo(W - pad, y(s)); ctx.stroke();
      ctx.fillText(String(Math.round(s * 100)), 4, y(s) + 4);
    }
    for (let t = 0; t <= duration; t += Math.max(1, Math.round(duration / 8))) ctx.fillText(`${t}s`, x(t) - 6, H - 8);
    const pts = S.timeline.filter((p) => typeof p.t === 'number');
    if (!pts.length) { ctx.fillText('no scored frames', W / 2 - 50, H / 2); return; }
    const grad = ctx.createLinearGradient(0, y(1), 0, y(0));
    grad.addColorStop(0, '#35e39a66'); grad.addColorStop(1, '#ff4d6d11');
    ctx.beginPath();
    ctx.moveTo(x(pts[0].t), y(0));
    for (const p of pts) ctx.lineTo(x(p.t), y(p.score));
    ctx.lineTo(x(pts[pts.length - 1].t), y(0));
    ctx.closePath();
    ctx.fillStyle = grad;
    ctx.fill();
    ctx.beginPath();
    pts.forEach((p, i) => (i ? ctx.lineTo(x(p.t), y(p.score)) : ctx.moveTo(x(p.t), y(p.score))));
    ctx.strokeStyle = '#e9ecf7';
    ctx.lineWidth = 2;
    ctx.stroke();
    for (const p of pts) {
      ctx.fillStyle = p.correct ? '#35e39a' : '#ff4d6d';
      ctx.beginPath(); ctx.arc(x(p.t), y(p.score), 3, 0, Math.PI * 2); ctx.fill();
    }
  }

  el.start.addEventListener('click', start);
  el.stop.addEventListener('click', finish);
  el.again.addEventListener('click', () => { el.summary.hidden = true; start(); });
  el.closeSummary.addEventListener('click', () => { el.summary.hidden = true; });
  document.addEventListener('keydown', (e) => {
    if (e.code === 'Space' && e.target === document.body) { e.preventDefault(); S.playing ? finish() : start(); }
  });

  connect();
  startCamera();
  requestAnimationFrame(tick);
})();
