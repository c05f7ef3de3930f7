import { describe, expect, it } from 'vitest';
import { FrameChunker } from '../../dist/media/ffmpeg/chunker.js';
import { audioArgs, containerFor } from '../../dist/media/ffmpeg/formats.js';
import { decoderArgs } from '../../dist/media/ffmpeg/decoder.js';
import { encoderArgs } from '../../dist/media/ffmpeg/encoder.js';
import { isStillImage, parseRate } from '../../dist/media/ffmpeg/probe.js';

describe('FrameChunker', () => {
  it('cuts arbitrary chunks into whole frames and keeps the remainder', () => {
    const chunker = new FrameChunker(4);
    expect(chunker.push(new Uint8Array([1, 2, 3]))).toEqual([]);
    const frames = chunker.push(new Uint8Array([4, 5, 6, 7, 8, 9, 10]));
    expect(frames.map((f) => [...f])).toEqual([[1, 2, 3, 4], [5, 6, 7, 8]]);
    expect(chunker.pendingBytes).toBe(2);
    expect(() => new FrameChunker(0)).toThrow(RangeError);
  });

  it('hands out a new buffer per frame (frames are owned by their consumer)', () => {
    const chunker = new FrameChunker(2);
    const [a, b] = chunker.push(new Uint8Array([1, 2, 3, 4]));
    expect(a).not.toBe(b);
    expect([...a!]).toEqual([1, 2]);
  });
});

describe('containers and audio', () => {
  it('picks the codec from the extension and rejects unknown ones', () => {
    expect(containerFor('a.mp4').muxer).toBe('mp4');
    expect(containerFor('A.WEBM').muxer).toBe('webm');
    expect(containerFor('x.mov').videoArgs).toContain('libx264');
    expect(() => containerFor('x.avi')).toThrow(/unsupported output extension ".avi"/);
    expect(() => containerFor('noext')).toThrow(/\(none\)/);
  });

  it('copies audio where the container allows, else re-encodes', () => {
    expect(audioArgs(containerFor('a.mp4'), 'aac')).toEqual(['-c:a', 'copy']);
    expect(audioArgs(containerFor('a.webm'), 'aac')).toContain('libopus');
    expect(audioArgs(containerFor('a.webm'), 'opus')).toEqual(['-c:a', 'copy']);
    expect(audioArgs(containerFor('a.mp4'), 'pcm_s16le')).toContain('aac');
    expect(audioArgs(containerFor('a.mp4'), null)).toEqual([]);
  });

  it('builds decoder and encoder command lines', () => {
    const dec = decoderArgs({ input: 'in.mp4', size: { width: 64, height: 48 }, fps: { num: 30000, den: 1001 } });
    expect(dec.join(' ')).toContain('fps=30000/1001,scale=64:48');
    const enc = encoderArgs({ output: 'o.mp4', size: { width: 65, height: 49 }, fps: { num: 25, den: 1 }, audioSource: 'in.mp4', audioCodec: 'aac' }, 'tmp');
    expect(enc).toContain('1:a:0?');
    expect(enc.join(' ')).toContain('crop=trunc(iw/2)*2');
    expect(enc.at(-1)).toBe('tmp');
  });

  it('parses frame rates', () => {
    expect(parseRate('30000/1001')).toEqual([30000, 1001]);
    expect(parseRate('0/0')).toBeNull();
    expect(parseRate(undefined)).toBeNull();
    expect(parseRate('25')).toEqual([25, 1]);
  });
});

describe('isStillImage', () => {
  it('a picture through an image demuxer, whether or not it states a frame count; not a video or an image sequence', () => {
    expect(isStillImage({ formatName: 'png_pipe', estimatedFrames: null })).toBe(true);
    expect(isStillImage({ formatName: 'image2', estimatedFrames: 1 })).toBe(true);
    expect(isStillImage({ formatName: 'mov,mp4,m4a,3gp,3g2,mj2', estimatedFrames: 1 })).toBe(false);
    expect(isStillImage({ formatName: 'image2', estimatedFrames: 30 })).toBe(false);
  });
});
