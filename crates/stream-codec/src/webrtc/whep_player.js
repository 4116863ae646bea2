// WHEP player: plays a WHEP endpoint's H.264 stream in a <video> element (no dependencies).
// Served by stream_codec::webrtc::WHEP_PLAYER_JS; used by the camera relay's status page and the
// whep_demo example.
//
//   const player = new WhepPlayer(videoElement, '/whep');
//   await player.start();          // POST the offer, apply the answer
//   player.stats                   // { state, frames, fps, kbps, jitterBufferMs, displayLatencyMs, ... }
//   await player.stop();           // DELETE the session
(function () {
  'use strict';

  class WhepPlayer {
    constructor(video, url, options) {
      this.video = video;
      this.url = url || '/whep';
      this.headers = (options && options.headers) || {};
      this.pc = null;
      this.location = null;
      this.stats = { state: 'idle', frames: 0, fps: 0, kbps: 0, jitterBufferMs: null,
        displayLatencyMs: null, width: 0, height: 0, framesDecoded: 0, framesDropped: 0,
        packetsLost: 0, error: null };
      this._frameTimes = [];
      this._lastBytes = null;
      this._timer = null;
      this._stopped = false;
    }

    static supported() {
      return typeof RTCPeerConnection === 'function' &&
        typeof RTCRtpReceiver !== 'undefined' &&
        (!RTCRtpReceiver.getCapabilities ||
          (RTCRtpReceiver.getCapabilities('video') || { codecs: [] }).codecs
            .some((c) => /h264/i.test(c.mimeType)));
    }

    async start() {
      this._stopped = false;
      this.stats.state = 'connecting';
      const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
      this.pc = pc;
      const transceiver = pc.addTransceiver('video', { direction: 'recvonly' });
      if (transceiver.setCodecPreferences && RTCRtpReceiver.getCapabilities) {
        const codecs = RTCRtpReceiver.getCapabilities('video').codecs;
        const h264 = codecs.filter((c) => /h264/i.test(c.mimeType));
        const rest = codecs.filter((c) => !/h264/i.test(c.mimeType));
        if (h264.length) transceiver.setCodecPreferences(h264.concat(rest));
      }
      pc.ontrack = (e) => {
        this.video.srcObject = e.streams && e.streams[0] ? e.streams[0] : new MediaStream([e.track]);
        this.video.muted = true;
        const p = this.video.play();
        if (p && p.catch) p.catch(() => {});
      };
      pc.onconnectionstatechange = () => {
        const s = pc.connectionState;
        if (s === 'connected') this.stats.state = 'playing';
        if (s === 'failed' || s === 'closed' || s === 'disconnected') this.stats.state = s;
      };
      const offer = await pc.createOffer();
      await pc.setLocalDescription(offer);
      const response = await fetch(this.url, {
        method: 'POST',
        headers: Object.assign({ 'Content-Type': 'application/sdp' }, this.headers),
        body: pc.localDescription.sdp,
      });
      if (response.status !== 201) {
        const reason = await response.text();
        this.stats.state = 'failed';
        this.stats.error = response.status + ' ' + reason;
        pc.close();
        throw new Error('WHEP offer refused: ' + this.stats.error);
      }
      const location = response.headers.get('Location');
      this.location = location ? new URL(location, new URL(this.url, window.location.href)).href : null;
      await pc.setRemoteDescription({ type: 'answer', sdp: await response.text() });
      this._countFrames();
      this._timer = setInterval(() => this._poll(), 1000);
    }

    _countFrames() {
      const video = this.video;
      if (!video.requestVideoFrameCallback) return;
      const onFrame = (now, meta) => {
        if (this._stopped) return;
        this.stats.frames += 1;
        this._frameTimes.push(now);
        while (this._frameTimes.length && now - this._frameTimes[0] > 2000) this._frameTimes.shift();
        if (meta && meta.receiveTime && meta.expectedDisplayTime) {
          this.stats.displayLatencyMs = meta.expectedDisplayTime - meta.receiveTime;
        }
        this.stats.width = meta ? meta.width : video.videoWidth;
        this.stats.height = meta ? meta.height : video.videoHeight;
        video.requestVideoFrameCallback(onFrame);
      };
      video.requestVideoFrameCallback(onFrame);
    }

    async _poll() {
      if (!this.pc) return;
      const n = this._frameTimes.length;
      this.stats.fps = n > 1 ? (n - 1) * 1000 / (this._frameTimes[n - 1] - this._frameTimes[0]) : 0;
      const report = await this.pc.getStats();
      report.forEach((s) => {
        if (s.type !== 'inbound-rtp' || s.kind !== 'video') return;
        const t = s.timestamp;
        if (this._lastBytes) {
          const dt = (t - this._lastBytes.t) / 1000;
          if (dt > 0) this.stats.kbps = (s.bytesReceived - this._lastBytes.bytes) * 8 / dt / 1000;
        }
        this._lastBytes = { t, bytes: s.bytesReceived };
        if (s.jitterBufferEmittedCount) {
          this.stats.jitterBufferMs = 1000 * s.jitterBufferDelay / s.jitterBufferEmittedCount;
        }
        this.stats.framesDecoded = s.framesDecoded || 0;
        this.stats.framesDropped = s.framesDropped || 0;
        this.stats.packetsLost = s.packetsLost || 0;
        this.stats.codec = s.decoderImplementation || '';
      });
    }

    async stop() {
      this._stopped = true;
      if (this._timer) clearInterval(this._timer);
      this._timer = null;
      if (this.location) {
        try { await fetch(this.location, { method: 'DELETE', headers: this.headers }); } catch (e) { /* gone */ }
      }
      this.location = null;
      if (this.pc) this.pc.close();
      this.pc = null;
      this.video.srcObject = null;
      this.stats.state = 'idle';
    }
  }

  window.WhepPlayer = WhepPlayer;
})();
