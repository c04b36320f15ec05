"""The PyTorch peer of `dial train` for the throughput benchmark (bench/asr/run).

Same corpus, same features (Kaldi fbank via torchaudio, global CMVN), same length-sorted batches, same model
(speech/asr/model.cc mirrored layer for layer: conv2d subsampling, Conformer or LSTM encoder, CTC head; the
parameter count is printed so the run can check it equals dial's), same loss (CTC summed / batch), Adam with
the same warmup-cosine schedule, grad clipping, same thread count. Only the training epochs are timed (feature
extraction is not), as in dial's utterances/s figure. Prints one JSON line.

Usage: /usr/bin/python3 train_torch.py --data CORPUS --epochs 2 --threads 2 [model keys as --key value]
"""
import argparse
import json
import math
import os
import random
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchaudio


def read_set(path):
    wavs, texts = {}, {}
    for line in open(os.path.join(path, "wav.scp")):
        k, v = line.strip().split(maxsplit=1)
        wavs[k] = v if os.path.isabs(v) else os.path.join(path, v)
    for line in open(os.path.join(path, "text")):
        parts = line.strip().split(maxsplit=1)
        texts[parts[0]] = parts[1] if len(parts) > 1 else ""
    return [(k, wavs[k], texts[k]) for k in sorted(wavs) if texts.get(k, "").strip()]


def fbank(path, n_mels):
    wav, rate = torchaudio.load(path)
    return torchaudio.compliance.kaldi.fbank(wav * 32768, num_mel_bins=n_mels, sample_frequency=rate,
                                             dither=0.0, energy_floor=0.0)


def sinusoids(positions, d):
    div = torch.exp(torch.arange(0, d, 2, dtype=torch.float32) * (-math.log(10000.0) / d))
    angles = positions.unsqueeze(1) * div.unsqueeze(0)
    return torch.stack([torch.sin(angles), torch.cos(angles)], -1).view(positions.size(0), d)


def length_mask(lens, t):
    return torch.arange(t).unsqueeze(0) < lens.unsqueeze(1)


def rel_shift(x):
    b, h, t, p = x.shape
    padded = torch.cat([torch.zeros(b, h, t, 1), x], -1).view(b, h, p + 1, t)
    return padded[:, :, 1:].reshape(b, h, t, p)[:, :, :, : p // 2 + 1]


class ConvSubsampling(nn.Module):
    # Two 3x3 stride-2 convolutions of `c` channels, then a linear map to d (dial's subsampling_channels, 32 by
    # default: with d channels the second convolution dominates a CPU step).
    def __init__(self, idim, c, d):
        super().__init__()
        self.conv0 = nn.Conv2d(1, c, 3, 2)
        self.conv1 = nn.Conv2d(c, c, 3, 2)
        f = ((idim - 3) // 2 + 1 - 3) // 2 + 1
        self.out = nn.Linear(c * f, d)

    def forward(self, x):
        y = F.relu(self.conv1(F.relu(self.conv0(x.unsqueeze(1)))))
        b, c, t, f = y.shape
        return self.out(y.transpose(1, 2).reshape(b, t, c * f))


class RelMha(nn.Module):
    def __init__(self, d, h, dropout):
        super().__init__()
        self.h, self.dk = h, d // h
        self.linear_q, self.linear_k = nn.Linear(d, d), nn.Linear(d, d)
        self.linear_v, self.linear_out = nn.Linear(d, d), nn.Linear(d, d)
        self.linear_pos = nn.Linear(d, d, bias=False)
        self.pos_bias_u = nn.Parameter(torch.empty(h, self.dk))
        self.pos_bias_v = nn.Parameter(torch.empty(h, self.dk))
        nn.init.xavier_uniform_(self.pos_bias_u)
        nn.init.xavier_uniform_(self.pos_bias_v)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x, key_mask, pos_emb):
        b = x.size(0)
        q = self.linear_q(x).view(b, -1, self.h, self.dk)
        k = self.linear_k(x).view(b, -1, self.h, self.dk).transpose(1, 2)
        v = self.linear_v(x).view(b, -1, self.h, self.dk).transpose(1, 2)
        p = self.linear_pos(pos_emb).view(1, -1, self.h, self.dk).transpose(1, 2)
        content = torch.matmul((q + self.pos_bias_u).transpose(1, 2), k.transpose(-2, -1))
        position = rel_shift(torch.matmul((q + self.pos_bias_v).transpose(1, 2), p.transpose(-2, -1)))
        scores = (content + position) / math.sqrt(self.dk)
        blocked = key_mask.logical_not().unsqueeze(1)
        attn = torch.softmax(scores.masked_fill(blocked, torch.finfo(torch.float32).min), -1).masked_fill(blocked, 0.0)
        ctx = torch.matmul(self.dropout(attn), v)
        return self.linear_out(ctx.transpose(1, 2).reshape(b, -1, self.h * self.dk))


class FeedForward(nn.Module):
    def __init__(self, d, ff, dropout):
        super().__init__()
        self.w_1, self.w_2, self.dropout = nn.Linear(d, ff), nn.Linear(ff, d), nn.Dropout(dropout)

    def forward(self, x):
        return self.w_2(self.dropout(F.silu(self.w_1(x))))


class ConvModule(nn.Module):
    def __init__(self, d, k):
        super().__init__()
        self.pointwise_conv1 = nn.Conv1d(d, 2 * d, 1)
        self.depthwise_conv = nn.Conv1d(d, d, k, padding=(k - 1) // 2, groups=d)
        self.norm = nn.BatchNorm1d(d)
        self.pointwise_conv2 = nn.Conv1d(d, d, 1)

    def forward(self, x, pad):
        y = x.transpose(1, 2).masked_fill(pad, 0.0)
        y = F.glu(self.pointwise_conv1(y), 1).masked_fill(pad, 0.0)
        y = self.norm(self.depthwise_conv(y))
        y = self.pointwise_conv2(F.silu(y)).masked_fill(pad, 0.0)
        return y.transpose(1, 2)


class ConformerLayer(nn.Module):
    def __init__(self, a):
        super().__init__()
        self.ff_macaron = FeedForward(a.d_model, a.ff_dim, a.dropout)
        self.attn = RelMha(a.d_model, a.attention_heads, 0.0)
        self.conv = ConvModule(a.d_model, a.conv_kernel_size)
        self.ff = FeedForward(a.d_model, a.ff_dim, a.dropout)
        self.norms = nn.ModuleList([nn.LayerNorm(a.d_model) for _ in range(4)])
        self.drops = nn.ModuleList([nn.Dropout(a.dropout) for _ in range(4)])
        self.norm_final = nn.LayerNorm(a.d_model)

    def forward(self, x, key_mask, pad, pos_emb):
        x = x + 0.5 * self.drops[0](self.ff_macaron(self.norms[0](x)))
        x = x + self.drops[1](self.attn(self.norms[1](x), key_mask, pos_emb))
        x = x + self.drops[2](self.conv(self.norms[2](x), pad))
        x = x + 0.5 * self.drops[3](self.ff(self.norms[3](x)))
        return self.norm_final(x)


class Model(nn.Module):
    def __init__(self, a, vocab):
        super().__init__()
        self.a = a
        self.subsampling = ConvSubsampling(a.n_mels, a.subsampling_channels, a.d_model)
        self.dropout = nn.Dropout(a.dropout)
        if a.encoder == "conformer":
            self.layers = nn.ModuleList([ConformerLayer(a) for _ in range(a.num_layers)])
            self.after_norm = nn.LayerNorm(a.d_model)
        else:
            self.rnn = nn.LSTM(a.d_model, a.d_model // 2, num_layers=a.num_layers, bidirectional=True,
                               batch_first=True, dropout=a.dropout if a.num_layers > 1 else 0.0)
        self.ctc = nn.Linear(a.d_model, vocab)

    def forward(self, feats, lens):
        x = self.subsampling(feats)
        conv = lambda t, k, s: torch.where(t < k, torch.zeros_like(t), torch.div(t - k, s, rounding_mode="floor") + 1)
        lens = conv(conv(lens, 3, 2), 3, 2).clamp_max(x.size(1))
        if self.a.encoder == "conformer":
            t = x.size(1)
            key_mask = length_mask(lens, t).unsqueeze(1)
            pad = key_mask.logical_not()
            pos_emb = self.dropout(sinusoids(torch.arange(t - 1, -t, -1, dtype=torch.float32), self.a.d_model).unsqueeze(0))
            y = self.dropout(x * math.sqrt(self.a.d_model))
            for layer in self.layers:
                y = layer(y, key_mask, pad, pos_emb)
            y = self.after_norm(y)
        else:
            packed = nn.utils.rnn.pack_padded_sequence(self.dropout(x), lens.clamp_min(1), batch_first=True,
                                                       enforce_sorted=False)
            y, _ = self.rnn(packed)
            y, _ = nn.utils.rnn.pad_packed_sequence(y, batch_first=True, total_length=x.size(1))
        return torch.log_softmax(self.ctc(y), -1), lens


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data", required=True)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch_size", type=int, default=16)
    p.add_argument("--n_mels", type=int, default=80)
    p.add_argument("--encoder", default="conformer")
    p.add_argument("--num_layers", type=int, default=4)
    p.add_argument("--d_model", type=int, default=144)
    p.add_argument("--subsampling_channels", type=int, default=32)
    p.add_argument("--attention_heads", type=int, default=4)
    p.add_argument("--ff_dim", type=int, default=576)
    p.add_argument("--conv_kernel_size", type=int, default=15)
    p.add_argument("--dropout", type=float, default=0.1)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--warmup_steps", type=int, default=100)
    p.add_argument("--grad_clip", type=float, default=5.0)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.set_num_interop_threads(1)
    torch.manual_seed(a.seed)

    utts = read_set(os.path.join(a.data, "train"))
    feats = [fbank(w, a.n_mels) for _, w, _ in utts]
    allf = torch.cat(feats)
    mean, std = allf.mean(0), allf.std(0, unbiased=False).clamp_min(1e-10)
    feats = [(f - mean) / std for f in feats]
    texts = [" ".join(t.lower().split()) for _, _, t in utts]
    chars = sorted({c for t in texts for c in t})
    ids = {c: i + 2 for i, c in enumerate(chars)}
    vocab = len(chars) + 3
    tokens = [torch.tensor([ids[c] for c in t]) for t in texts]
    order = sorted(range(len(utts)), key=lambda i: (feats[i].size(0), utts[i][0]))
    batches = [order[i:i + a.batch_size] for i in range(0, len(order), a.batch_size)]

    model = Model(a, vocab)
    n_params = sum(p.numel() for p in model.parameters())
    opt = torch.optim.Adam(model.parameters(), lr=a.lr, betas=(0.9, 0.98), eps=1e-9, weight_decay=1e-6)
    total = len(batches) * a.epochs
    min_ratio = 0.01

    def lr_at(step):  # warmup_cosine as speech/asr/optim.h: linear warmup to the peak, cosine to min_lr_ratio·peak
        if a.warmup_steps > 0 and step <= a.warmup_steps:
            return a.lr * step / a.warmup_steps
        prog = min(1.0, (step - a.warmup_steps) / max(1, total - a.warmup_steps))
        return a.lr * (min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * prog)))

    rng = random.Random(a.seed)
    step = 0
    epoch_rates = []
    for epoch in range(a.epochs):
        model.train()
        rng.shuffle(batches)
        start = time.perf_counter()
        n = 0
        for batch in batches:
            x = nn.utils.rnn.pad_sequence([feats[i] for i in batch], batch_first=True)
            xl = torch.tensor([feats[i].size(0) for i in batch])
            y = nn.utils.rnn.pad_sequence([tokens[i] for i in batch], batch_first=True, padding_value=-1)
            yl = torch.tensor([tokens[i].numel() for i in batch])
            logp, lens = model(x, xl)
            loss = F.ctc_loss(logp.transpose(0, 1), y.clamp_min(0), lens, yl, blank=0, reduction="sum",
                              zero_infinity=True) / len(batch)
            step += 1
            for g in opt.param_groups:
                g["lr"] = lr_at(step)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), a.grad_clip)
            opt.step()
            n += len(batch)
        epoch_rates.append(n / (time.perf_counter() - start))
    print(json.dumps({"utterances_per_second": epoch_rates[-1], "epoch_rates": epoch_rates,
                      "num_parameters": n_params, "n_utterances": len(utts), "loss": loss.item()}))


if __name__ == "__main__":
    main()
