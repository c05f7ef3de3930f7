import { createPeerConnection, createVideoSink } from '../transport/webrtc/wrtc.js';

/** A WHEP viewer in this process (node-webrtc) that counts the frames it receives; for the soak and fan-out benchmarks. */
export interface WhepViewer {
  readonly frames: () => number;
  /** Closes the peer and DELETEs the WHEP resource. */
  readonly close: () => Promise<void>;
}

export async function whepViewer(base: string): Promise<WhepViewer> {
  const pc = createPeerConnection();
  let frames = 0;
  pc.addTransceiver('video', { direction: 'recvonly' });
  pc.ontrack = ({ track }) => {
    const sink = createVideoSink(track);
    sink.onframe = () => void frames++;
  };
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise<void>((r) => {
    if (pc.iceGatheringState === 'complete') return r();
    const timer = setTimeout(r, 2000);
    pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && (clearTimeout(timer), r());
  });
  const res = await fetch(`${base}/whep`, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: pc.localDescription!.sdp });
  if (res.status !== 201) {
    pc.close();
    throw new Error(`WHEP answered ${res.status}: ${await res.text()}`);
  }
  const location = res.headers.get('location');
  await pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
  return {
    frames: () => frames,
    close: async () => {
      pc.close();
      if (location) await fetch(`${base}${location}`, { method: 'DELETE' }).catch(() => undefined);
    },
  };
}
