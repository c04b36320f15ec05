#!/usr/bin/python3
"""Fbank throughput: dial vs torchaudio.compliance.kaldi.fbank, same audio, same options, same machine.

Usage: fbank_bench.py SPEECH_FBANK_TOOL WORKDIR [SECONDS]
Audio: espeak-ng speech (tones + noise if espeak-ng is missing) at 16 kHz, repeated to SECONDS (default 600).
Options: 25/10 ms, povey, pre-emphasis 0.97, DC removal, 80 mel bins, snip_edges, dither 0 (recipe defaults).
Throughput = seconds of audio per second of compute, warm-up excluded, feature extraction only (file read
excluded). dial runs one thread; torchaudio runs with 1 thread and with its default thread count.
"""
import os
import shutil
import subprocess
import sys
import time
import wave

import numpy as np
import torch
import torchaudio
import torchaudio.compliance.kaldi as kaldi

RATE = 16000
REPEATS = 3


def make_audio(work, seconds):
    espeak = shutil.which("espeak-ng")
    if espeak:
        raw = os.path.join(work, "bench_espeak.wav")
        subprocess.run([espeak, "-v", "en-us", "-w", raw,
                        "Benchmarking the filterbank on synthetic read speech, one two three four five."],
                       check=True, capture_output=True)
        with wave.open(raw, "rb") as w:
            src = w.getframerate()
            x = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32)
        x = torchaudio.functional.resample(torch.from_numpy(x), src, RATE).numpy()
    else:
        t = np.arange(RATE * 5) / RATE
        x = 8000 * np.sin(2 * np.pi * 440 * t) + 500 * np.random.default_rng(0).standard_normal(len(t))
    reps = int(np.ceil(seconds * RATE / len(x)))
    x = np.tile(x, reps)[: int(seconds * RATE)]
    x = np.clip(np.round(x), -32768, 32767).astype("<i2")
    path = os.path.join(work, "bench.wav")
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(x.tobytes())
    return path, x


def torch_throughput(x, threads):
    torch.set_num_threads(threads)
    wav = torch.from_numpy(x.astype(np.float32)).unsqueeze(0)
    kw = dict(num_mel_bins=80, sample_frequency=float(RATE), dither=0.0, energy_floor=0.0)
    kaldi.fbank(wav[:, : RATE * 10], **kw)  # warm-up
    t0 = time.perf_counter()
    for _ in range(REPEATS):
        kaldi.fbank(wav, **kw)
    return len(x) / RATE * REPEATS / (time.perf_counter() - t0)


def dial_throughput(tool, path, work):
    out = subprocess.run([tool, path, os.path.join(work, "bench_out.bin"), "--repeat", str(REPEATS),
                          "n_mels=80", "energy_floor=0"], check=True, capture_output=True, text=True).stdout
    fields = dict(kv.split("=") for kv in out.split())
    return float(fields["audio_s"]) * int(fields["repeat"]) / float(fields["compute_s"])


def main():
    tool, work = sys.argv[1], sys.argv[2]
    seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 600.0
    os.makedirs(work, exist_ok=True)
    path, x = make_audio(work, seconds)
    ours = dial_throughput(tool, path, work)
    t1 = torch_throughput(x, 1)
    default_threads = os.cpu_count() or 1
    tn = torch_throughput(x, default_threads)
    print(f"audio: {seconds:.0f} s at {RATE} Hz, 80 mel bins, 25/10 ms povey, snip_edges, dither 0; "
          f"torch {torch.__version__}, torchaudio {torchaudio.__version__}, {os.cpu_count()} CPUs")
    print(f"dial (1 thread):                 {ours:10.0f} s audio / s compute")
    print(f"torchaudio kaldi.fbank 1 thread: {t1:10.0f} s audio / s compute   dial is {ours / t1:.1f}x faster")
    print(f"torchaudio kaldi.fbank {default_threads} threads: {tn:10.0f} s audio / s compute   "
          f"dial is {ours / tn:.1f}x faster")
    return 0


if __name__ == "__main__":
    sys.exit(main())
