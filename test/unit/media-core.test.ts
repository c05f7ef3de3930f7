import { resolve } from 'node:path';
import { imageHeader } from '../../dist/media/image-header.js';
import { openInputArgs } from '../../dist/media/ffmpeg/inputs.js';
import { describe, expect, it } from 'vitest';
import { FrameChunker } from '../../dist/media/ffmpeg/chunker.js';
import { audioArgs, containerFor } from '../../dist/media/ffmpeg/formats.js';
import { decoderArgs } from '../../dist/media/ffmpeg/decoder.js';
import { encoderArgs } from '../../dist/media/ffmpeg/encoder.js';
import { isStillImage, parseRate } from '../../dist/media/ffmpeg/probe.js';
import { chooseVideoCodecs, parseVideoCodecPolicy, probeReason } from '../../dist/media/ffmpeg/gpu-codecs.js';

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

describe('imageHeader (type and size from the first bytes)', () => {
  const png = (w: number, h: number) => {
    const b = Buffer.alloc(33);
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(b);
    b.writeUInt32BE(13, 8); b.write('IHDR', 12); b.writeUInt32BE(w, 16); b.writeUInt32BE(h, 20);
    return new Uint8Array(b);
  };
  it('reads PNG, JPEG (after an APP segment), WebP (VP8, VP8L, VP8X) and BMP sizes', () => {
    expect(imageHeader(png(16000, 12))).toEqual({ type: 'png', width: 16000, height: 12 });
    const app = [0xff, 0xe0, 0x00, 0x06, 1, 2, 3, 4];
    const sof = [0xff, 0xc0, 0x00, 0x11, 8, 0x01, 0x2c, 0x02, 0x58, 3];
    expect(imageHeader(new Uint8Array([0xff, 0xd8, ...app, ...sof, 0, 0, 0]))).toEqual({ type: 'jpeg', width: 600, height: 300 });
    const riff = (chunk: string, body: number[]) => new Uint8Array([...Buffer.from('RIFF'), 0, 0, 0, 0, ...Buffer.from('WEBP'), ...Buffer.from(chunk), 0, 0, 0, 0, ...body]);
    expect(imageHeader(riff('VP8 ', [0, 0, 0, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01, 0, 0]))).toEqual({ type: 'webp', width: 640, height: 480 });
    const vp8l = (w: number, h: number) => { const bits = (w - 1) | ((h - 1) << 14); return [0x2f, bits & 255, (bits >> 8) & 255, (bits >> 16) & 255, (bits >>> 24) & 255, 0, 0, 0, 0]; };
    expect(imageHeader(riff('VP8L', vp8l(100, 50)))).toEqual({ type: 'webp', width: 100, height: 50 });
    expect(imageHeader(riff('VP8X', [0, 0, 0, 0, 0x3f, 0x1f, 0, 0x3f, 0x1f, 0, 0]))).toEqual({ type: 'webp', width: 8000, height: 8000 });
    const bmp = Buffer.alloc(30); bmp.write('BM'); bmp.writeInt32LE(320, 18); bmp.writeInt32LE(-200, 22);
    expect(imageHeader(new Uint8Array(bmp))).toEqual({ type: 'bmp', width: 320, height: 200 });
  });
  it('says null for anything else, and an unknown size when the header stops short', () => {
    expect(imageHeader(new Uint8Array(Buffer.from('#EXTM3U\n')))).toBeNull();
    expect(imageHeader(new Uint8Array(0))).toBeNull();
    expect(imageHeader(png(1, 1).subarray(0, 10))).toEqual({ type: 'png', width: null, height: null });
    expect(imageHeader(new Uint8Array([0xff, 0xd8, 0xff, 0xda, 0, 2]))).toEqual({ type: 'jpeg', width: null, height: null });
  });
});

describe('the ffmpeg input policy', () => {
  it('local names open as absolute file: paths with media demuxers only; URLs with their own protocols; other schemes refused', () => {
    const local = openInputArgs('concat:a.png|b.png');
    expect(local.slice(0, 2)).toEqual(['-protocol_whitelist', 'file']);
    expect(local[2]).toBe('-format_whitelist');
    expect(local[3]).not.toMatch(/hls|concat|dash|image2pipe/);
    expect(local.at(-1)).toBe(`file:${resolve('concat:a.png|b.png')}`);
    expect(openInputArgs('x.png', { format: 'png_pipe' }).slice(2, 4)).toEqual(['-f', 'png_pipe']);
    expect(openInputArgs('https://example.com/a.m3u8')).toEqual(['-protocol_whitelist', 'http,https,tcp,tls,crypto', '-i', 'https://example.com/a.m3u8']);
    expect(() => openInputArgs('file:///etc/passwd')).toThrow(/does not open file:\/\/ URLs/);
    expect(() => openInputArgs('gopher://x')).toThrow(/does not open gopher:\/\/ URLs/);
  });
});

describe('video codecs on the GPU or the CPU (chooseVideoCodecs, with fake probes)', () => {
  const probes = (encoder: string | null, decoder: string | null) => {
    const asked: string[] = [];
    return {
      asked,
      probe: {
        encoder: async (name: string) => { asked.push(name); return encoder; },
        decoder: async (name: string) => { asked.push(name); return decoder; },
      },
    };
  };

  it('a model on the CPU keeps the CPU codecs without probing; cpu always does', async () => {
    const { asked, probe } = probes(null, null);
    expect(await chooseVideoCodecs({ policy: 'auto', modelOnGpu: false, sourceCodec: 'h264' }, probe)).toMatchObject({ encoder: 'libx264', decoder: null });
    expect(await chooseVideoCodecs({ policy: 'cpu', modelOnGpu: true, sourceCodec: 'h264' }, probe)).toMatchObject({ encoder: 'libx264', decoder: null });
    expect(asked).toEqual([]);
  });

  it('a model on a GPU takes NVENC and NVDEC where they work, each half on its own, saying why', async () => {
    const both = await chooseVideoCodecs({ policy: 'auto', modelOnGpu: true, sourceCodec: 'hevc' }, probes(null, null).probe);
    expect(both).toEqual({ encoder: 'h264_nvenc', decoder: 'hevc_cuvid', reasons: ['h264_nvenc (NVENC)', 'hevc_cuvid (NVDEC)'] });
    // A data-centre GPU: NVDEC, no NVENC.
    const decodeOnly = await chooseVideoCodecs({ policy: 'auto', modelOnGpu: true, sourceCodec: 'h264' }, probes('No capable devices found', null).probe);
    expect(decodeOnly).toMatchObject({ encoder: 'libx264', decoder: 'h264_cuvid' });
    expect(decodeOnly.reasons[0]).toBe('libx264 (h264_nvenc unavailable: No capable devices found)');
    const { asked, probe } = probes(null, null);
    const prores = await chooseVideoCodecs({ policy: 'auto', modelOnGpu: true, sourceCodec: 'prores' }, probe);
    expect(prores).toMatchObject({ encoder: 'h264_nvenc', decoder: null, reasons: ['h264_nvenc (NVENC)', 'the CPU decoder (NVDEC has no prores decoder)'] });
    expect(asked).toEqual(['h264_nvenc']);
  });

  it('gpu insists: a GPU codec that does not work is a clear error', async () => {
    await expect(chooseVideoCodecs({ policy: 'gpu', modelOnGpu: false, sourceCodec: 'h264' }, probes('Cannot load libcuda.so.1', null).probe))
      .rejects.toMatchObject({ code: 'DEVICE_UNAVAILABLE', message: '--video-codecs gpu: NVENC (h264_nvenc) does not work here: Cannot load libcuda.so.1' });
    await expect(chooseVideoCodecs({ policy: 'gpu', modelOnGpu: true, sourceCodec: 'h264' }, probes(null, 'Cannot load libnvcuvid.so.1').probe))
      .rejects.toThrow(/NVDEC \(h264_cuvid\) does not work here: Cannot load libnvcuvid\.so\.1/);
    expect(() => parseVideoCodecPolicy('nvidia')).toThrow(/--video-codecs takes auto, gpu, cpu, not "nvidia"/);
  });

  it('probe reasons are ffmpeg\'s telling line; the choice reaches the decoder and encoder arguments', () => {
    expect(probeReason('[h264_nvenc @ 0x55e7] Cannot load libcuda.so.1\nError initializing output stream 0:0 -- Error while opening encoder\n', 1)).toBe('Cannot load libcuda.so.1');
    expect(probeReason('', 1)).toBe('ffmpeg exit code 1');
    const dec = decoderArgs({ input: 'in.mp4', size: { width: 64, height: 48 }, videoDecoder: 'h264_cuvid' });
    expect(dec.indexOf('h264_cuvid')).toBeLessThan(dec.indexOf('-i'));
    expect(dec[dec.indexOf('h264_cuvid') - 1]).toBe('-c:v');
    const options = { size: { width: 64, height: 48 }, fps: { num: 25, den: 1 }, audioSource: null, audioCodec: null, h264Encoder: 'h264_nvenc' as const };
    expect(encoderArgs({ ...options, output: 'o.mp4' }, 'tmp')).toEqual(expect.arrayContaining(['h264_nvenc', '-cq', '19']));
    expect(encoderArgs({ ...options, output: 'o.mp4' }, 'tmp')).not.toContain('libx264');
    // NVENC is H.264 only: a WebM stays VP9.
    expect(encoderArgs({ ...options, output: 'o.webm' }, 'tmp')).toContain('libvpx-vp9');
  });
});
