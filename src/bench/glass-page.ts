/**
 * Injected into every bench page (Playwright addInitScript): a canvas camera
 * that draws the time (Date.now(), 20 bits of ms) as black/white blocks on
 * its top rows, twice (the second row inverted, so a style that shifts colours
 * cannot flip a bit), and a reader that decodes it from a video element at
 * each frame the page shows: glass-to-glass latency on one clock.
 */
export const GLASS_PAGE_SCRIPT = String.raw`(() => {
  const BITS = 20, MASK = (1 << BITS) - 1;
  const glass = { samples: [], draws: 0 };
  window.__glass = glass;
  function size(constraints) {
    const v = constraints && constraints.video;
    const pick = (x, d) => typeof x === 'number' ? x : (x && (x.ideal || x.exact)) || d;
    return { width: pick(v && v.width, 640), height: pick(v && v.height, 360) };
  }
  function makeStream(constraints) {
    const { width, height } = size(constraints);
    const canvas = document.createElement('canvas');
    canvas.width = width; canvas.height = height;
    const ctx = canvas.getContext('2d');
    const block = width / BITS;
    let t = 0;
    setInterval(() => {
      const code = Date.now() & MASK;
      ctx.fillStyle = 'hsl(' + ((t++ * 4) % 360) + ' 55% 45%)';
      ctx.fillRect(0, 2 * block, width, height - 2 * block);
      ctx.fillStyle = '#eee';
      ctx.fillRect((t * 5) % width, height / 2, width / 6, height / 4);
      for (let i = 0; i < BITS; i++) {
        const bit = (code >> i) & 1;
        ctx.fillStyle = bit ? '#fff' : '#000'; ctx.fillRect(i * block, 0, block, block);
        ctx.fillStyle = bit ? '#000' : '#fff'; ctx.fillRect(i * block, block, block, block);
      }
      glass.draws++;
    }, 10);
    return canvas.captureStream(30);
  }
  navigator.mediaDevices.getUserMedia = async (constraints) => makeStream(constraints);
  window.__glassStream = makeStream;
  window.__glassRead = (video) => {
    const c = document.createElement('canvas');
    c.width = BITS; c.height = 2;
    const ctx = c.getContext('2d', { willReadFrequently: true });
    const tick = () => {
      if (video.videoWidth) {
        const block = video.videoWidth / BITS;
        ctx.drawImage(video, 0, 0, video.videoWidth, 2 * block, 0, 0, BITS, 2);
        const d = ctx.getImageData(0, 0, BITS, 2).data;
        let code = 0;
        for (let i = 0; i < BITS; i++) {
          const a = d[i * 4] + d[i * 4 + 1] + d[i * 4 + 2];
          const b = d[(BITS + i) * 4] + d[(BITS + i) * 4 + 1] + d[(BITS + i) * 4 + 2];
          if (a > b) code |= 1 << i;
        }
        const latency = ((Date.now() & MASK) - code + MASK + 1) & MASK;
        if (latency < 5000) glass.samples.push(latency);
      }
      video.requestVideoFrameCallback(tick);
    };
    video.requestVideoFrameCallback(tick);
  };
  window.__glassPublish = async () => {
    const pc = new RTCPeerConnection({ iceServers: [] });
    pc.addTransceiver(makeStream({ video: { width: 640, height: 360 } }).getVideoTracks()[0], { direction: 'sendonly' });
    await pc.setLocalDescription(await pc.createOffer());
    await new Promise((r) => { if (pc.iceGatheringState === 'complete') r(); else pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && r(); setTimeout(r, 2000); });
    const res = await fetch('/whip', { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: pc.localDescription.sdp });
    if (res.status !== 201) throw new Error('WHIP answered ' + res.status);
    await pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
    window.__glassPc = pc;
  };
})();`;
