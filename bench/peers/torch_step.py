"""The paper's training step in PyTorch on the CPU: a peer for `npm run bench:peers`.

A faithful version of the paper's public code (frt03/grok_mod_poly model.py, after Nanda
et al.): 1-layer Transformer, no LayerNorm, no positional embedding, no biases, computed
for all 3 positions as that code does; full-batch AdamW (lr 1e-3, wd 1, betas 0.9/0.98)
on the 2822 training pairs of (a+b) mod 97, loss in float64 from float32 logits.

Usage: torch_step.py THREADS STEPS [last]  -> prints one JSON line {"threads", "ms_per_step", ...}
With `last`, the algorithm-fair variant: the same model and loss, but only what the last
position's logits need (keys and values of all 3 positions, the query, MLP and unembedding
of the last only), as our fast path computes.
Run it with MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=1000000000000 (see bench/peers.ts).
"""
import json
import random
import sys
import time

import numpy as np
import torch

P, D_MODEL, N_HEADS, D_HEAD, D_MLP, FRAC = 97, 128, 4, 32, 512, 0.3
D_VOCAB = P + 5


class Transformer(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.W_E = torch.nn.Parameter(torch.randn(D_MODEL, D_VOCAB) / np.sqrt(D_VOCAB))
        self.W_K = torch.nn.Parameter(torch.randn(N_HEADS, D_HEAD, D_MODEL) / np.sqrt(D_MODEL))
        self.W_Q = torch.nn.Parameter(torch.randn(N_HEADS, D_HEAD, D_MODEL) / np.sqrt(D_MODEL))
        self.W_V = torch.nn.Parameter(torch.randn(N_HEADS, D_HEAD, D_MODEL) / np.sqrt(D_MODEL))
        self.W_O = torch.nn.Parameter(torch.randn(D_MODEL, N_HEADS * D_HEAD) / np.sqrt(D_MODEL))
        self.W_in = torch.nn.Parameter(torch.randn(D_MLP, D_MODEL) / np.sqrt(D_MODEL))
        self.W_out = torch.nn.Parameter(torch.randn(D_MODEL, D_MLP) / np.sqrt(D_MODEL))
        self.W_U = torch.nn.Parameter(torch.randn(D_MODEL, D_VOCAB) / np.sqrt(D_VOCAB))
        self.register_buffer("mask", torch.tril(torch.ones((3, 3))))

    def forward(self, x):
        x = torch.einsum("dbp->bpd", self.W_E[:, x])
        k = torch.einsum("ihd,bpd->biph", self.W_K, x)
        q = torch.einsum("ihd,bpd->biph", self.W_Q, x)
        v = torch.einsum("ihd,bpd->biph", self.W_V, x)
        scores = torch.einsum("biph,biqh->biqp", k, q)
        masked = torch.tril(scores) - 1e10 * (1 - self.mask)
        attn = torch.softmax(masked / np.sqrt(D_HEAD), dim=-1)
        z = torch.einsum("biph,biqp->biqh", v, attn)
        z_flat = z.permute(0, 2, 1, 3).reshape(z.shape[0], 3, N_HEADS * D_HEAD)
        x = x + torch.einsum("df,bqf->bqd", self.W_O, z_flat)
        x = x + torch.einsum("dm,bpm->bpd", self.W_out, torch.relu(torch.einsum("md,bpd->bpm", self.W_in, x)))
        return x @ self.W_U

    def forward_last(self, x):
        """forward(x)[:, -1], computing only what it depends on (the causal mask lets the last
        query see all three keys)."""
        x = torch.einsum("dbp->bpd", self.W_E[:, x])
        k = torch.einsum("ihd,bpd->biph", self.W_K, x)
        v = torch.einsum("ihd,bpd->biph", self.W_V, x)
        q = torch.einsum("ihd,bd->bih", self.W_Q, x[:, -1])
        attn = torch.softmax(torch.einsum("biph,bih->bip", k, q) / np.sqrt(D_HEAD), dim=-1)
        z_flat = torch.einsum("biph,bip->bih", v, attn).reshape(x.shape[0], N_HEADS * D_HEAD)
        r = x[:, -1] + z_flat @ self.W_O.T
        r = r + torch.relu(r @ self.W_in.T) @ self.W_out.T
        return r @ self.W_U


def main():
    threads, steps = int(sys.argv[1]), int(sys.argv[2])
    last = len(sys.argv) > 3 and sys.argv[3] == "last"
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    pairs = [(a, b) for a in range(P) for b in range(P)]
    random.seed(0)
    random.shuffle(pairs)
    train = pairs[: int(FRAC * len(pairs))]
    tokens = torch.tensor([[a, P + 1, b] for a, b in train])
    labels = torch.tensor([(a + b) % P for a, b in train])
    model = Transformer()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1.0, betas=(0.9, 0.98))

    def step():
        logits = (model.forward_last(tokens) if last else model(tokens)[:, -1]).to(torch.float64)
        loss = torch.nn.functional.cross_entropy(logits, labels)
        loss.backward()
        opt.step()
        opt.zero_grad()
        return loss

    for _ in range(3):
        step()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    times.sort()
    # Which BLAS really runs (Debian's torch links the libblas.so.3 alternative).
    blas = sorted({line.split()[-1] for line in open("/proc/self/maps") if "blas" in line.lower()})
    print(json.dumps({"peer": "pytorch-last" if last else "pytorch", "threads": threads, "torch": torch.__version__, "blas": blas,
                      "ms_per_step": 1000 * times[len(times) // 2]}))


if __name__ == "__main__":
    main()
