#!/usr/bin/python3
"""End-to-end check: dial's Kaldi fbank/MFCC equal torchaudio.compliance.kaldi's to 1e-3 absolute.

Usage: speech_fbank_compare.py SPEECH_FBANK_TOOL WORKDIR
Audio: synthetic tones + noise at 8 and 16 kHz, and real speech synthesised with espeak-ng (resampled to 8 and
16 kHz by torchaudio), all written as 16-bit WAV so that both sides read identical samples. dial is fed samples
in [-1, 1] with input_scale 32768; torchaudio gets the same samples × 32768 (as WeNet does).
"""
import math
import os
import shutil
import struct
import subprocess
import sys
import wave

try:
    import numpy as np
    import torch
    import torchaudio
    import torchaudio.compliance.kaldi as kaldi
except ImportError as e:  # Debian python3-torchaudio missing
    print(f"torchaudio not available ({e}): skipping")
    sys.exit(77)

TOLERANCE = 1e-3
SPEECH_TEXT = "The quick brown fox jumps over the lazy dog. Seven, eight, nine. Turn the lights off please."

# (name, kind, dial options, torchaudio keyword arguments). Every option is passed explicitly to both sides.
COMMON_TORCH = dict(dither=0.0)
CONFIGS = [
    ("recipe_default", "fbank",
     dict(n_mels=80, window="povey", snip_edges=1, energy_floor=0.0),
     dict(num_mel_bins=80, window_type="povey", snip_edges=True, energy_floor=0.0)),
    ("lhotse_like", "fbank",
     dict(n_mels=40, window="hann", snip_edges=0, high_freq=-400, energy_floor=0.0),
     dict(num_mel_bins=40, window_type="hanning", snip_edges=False, high_freq=-400.0, energy_floor=0.0)),
    ("hamming_energy", "fbank",
     dict(n_mels=30, window="hamming", preemphasis=0, remove_dc_offset=0, use_energy=1, energy_floor=1.0,
          raw_energy=0),
     dict(num_mel_bins=30, window_type="hamming", preemphasis_coefficient=0.0, remove_dc_offset=False,
          use_energy=True, energy_floor=1.0, raw_energy=False)),
    ("rect_nopow2_magnitude", "fbank",
     dict(n_mels=23, window="rectangular", round_to_power_of_two=0, frame_length_ms=32, use_power=0,
          low_freq=64, use_energy=1, energy_floor=0.0),
     dict(num_mel_bins=23, window_type="rectangular", round_to_power_of_two=False, frame_length=32.0,
          use_power=False, low_freq=64.0, use_energy=True, energy_floor=0.0)),
    ("blackman_shift", "fbank",
     dict(n_mels=64, window="blackman", frame_length_ms=20, frame_shift_ms=12.5, snip_edges=0, high_freq=3500,
          energy_floor=0.0),
     dict(num_mel_bins=64, window_type="blackman", frame_length=20.0, frame_shift=12.5, snip_edges=False,
          high_freq=3500.0, energy_floor=0.0)),
    ("mfcc_default", "mfcc",
     dict(energy_floor=0.0),
     dict(energy_floor=0.0)),
    ("mfcc_energy_40", "mfcc",
     dict(n_mels=40, num_ceps=20, cepstral_lifter=0, use_energy=1, energy_floor=1.0, snip_edges=0),
     dict(num_mel_bins=40, num_ceps=20, cepstral_lifter=0.0, use_energy=True, energy_floor=1.0, snip_edges=False)),
]


def write_wav(path, samples_int16, rate):
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples_int16.astype("<i2").tobytes())


def read_wav(path):
    with wave.open(path, "rb") as w:
        rate = w.getframerate()
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    return data, rate


def synthetic(rate, seconds=2.5, seed=7):
    rng = np.random.default_rng(seed)
    t = np.arange(int(rate * seconds)) / rate
    x = 0.3 * np.sin(2 * math.pi * 220 * t) * (0.6 + 0.4 * np.sin(2 * math.pi * 1.5 * t))
    x += 0.15 * np.sin(2 * math.pi * 1000 * t + 0.3) + 0.08 * np.sin(2 * math.pi * (0.3 * rate) * t)
    x += 0.05 * rng.standard_normal(len(t))
    x[int(0.4 * rate):int(0.6 * rate)] *= 0.01  # a quiet stretch
    return np.clip(np.round(x * 32767), -32768, 32767).astype(np.int16)


def speech(work, rate):
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        return None
    raw = os.path.join(work, "espeak.wav")
    subprocess.run([espeak, "-v", "en-us", "-w", raw, SPEECH_TEXT], check=True, capture_output=True)
    data, src_rate = read_wav(raw)
    x = torch.from_numpy(data.astype(np.float32))
    y = torchaudio.functional.resample(x, src_rate, rate)
    return np.clip(np.round(y.numpy()), -32768, 32767).astype(np.int16)


def run_dial(tool, wav, out, kind, options):
    args = [tool, wav, out] + (["--mfcc"] if kind == "mfcc" else [])
    args += [f"{k}={v}" for k, v in options.items()]
    subprocess.run(args, check=True, capture_output=True)
    with open(out, "rb") as f:
        rows, cols = struct.unpack("<ii", f.read(8))
        return np.frombuffer(f.read(), dtype="<f4").reshape(rows, cols)


def run_torch(wav, kind, kwargs, dtype=np.float32):
    data, rate = read_wav(wav)
    x = torch.from_numpy(data.astype(dtype)).unsqueeze(0)  # int16-range samples, as WeNet feeds torchaudio
    fn = kaldi.fbank if kind == "fbank" else kaldi.mfcc
    return fn(x, sample_frequency=float(rate), **COMMON_TORCH, **kwargs).numpy()


def main():
    tool, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)
    torch.set_num_threads(1)
    audios = []
    for rate in (8000, 16000):
        path = os.path.join(work, f"synthetic_{rate}.wav")
        write_wav(path, synthetic(rate), rate)
        audios.append(path)
        s = speech(work, rate)
        if s is not None:
            path = os.path.join(work, f"espeak_{rate}.wav")
            write_wav(path, s, rate)
            audios.append(path)
        else:
            print("espeak-ng not installed: real-speech cases skipped")
    failures = 0
    for wav in audios:
        for name, kind, dial_opts, torch_opts in CONFIGS:
            ref = run_torch(wav, kind, torch_opts)
            ref64 = run_torch(wav, kind, torch_opts, np.float64)
            got = run_dial(tool, wav, os.path.join(work, "out.bin"), kind, dial_opts)
            label = f"{os.path.basename(wav)} {name}"
            if ref.shape != got.shape:
                print(f"{label}: shape torchaudio {ref.shape} dial {got.shape}")
                failures += 1
                continue
            # torchaudio in float32 (its usual use) carries its own rounding error, up to ~1e-2 in low-energy
            # mel bins (measured against itself in float64). dial computes in double, so: (1) dial must be
            # within 1e-3 of torchaudio run in float64 everywhere; (2) within 1e-3 of torchaudio float32 on at
            # least 99.9 % of values (or, where float32 torchaudio itself is within 1e-3 of its float64 result
            # less often than that, as often as it is, less 0.1 %), and never further than 1e-3 plus float32
            # torchaudio's own error.
            d64 = np.abs(ref64 - got)
            d32 = np.abs(ref - got)
            own = np.abs(ref - ref64)
            err64 = float(d64.max()) if got.size else 0.0
            err32 = float(d32.max()) if got.size else 0.0
            frac = float(np.mean(d32 <= TOLERANCE)) if got.size else 1.0
            own_frac = float(np.mean(own <= TOLERANCE)) if got.size else 1.0
            bounded = bool(np.all(d32 <= TOLERANCE + own + 1e-6))
            ok = err64 <= TOLERANCE and frac >= min(0.999, own_frac - 0.001) and bounded
            failures += not ok
            print(f"{label}: {got.shape[0]}x{got.shape[1]} max|dial-torch64| {err64:.1e} "
                  f"max|dial-torch32| {err32:.1e} (torch32's own max error {float(own.max()):.1e}), "
                  f"{100 * frac:.3f}% within {TOLERANCE} (torch32 vs torch64: {100 * own_frac:.3f}%) "
                  f"{'OK' if ok else 'FAIL'}")
    print(f"{failures} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
