#!/usr/bin/python3
"""PyTorch reference for `emotion-train bench`: the fer-classic net in
PyTorch (Debian's python3-torch, CPU), measured the way the engine is:
best time per call over a few seconds, random weights and inputs.
A benchmark helper only; nothing in the product runs Python.
usage: bench_torch.py [THREADS] [SECONDS]"""
import sys
import time

import torch
from torch import nn

threads = int(sys.argv[1]) if len(sys.argv) > 1 else 1
seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 3.0
torch.set_num_threads(threads)

net = nn.Sequential(
    nn.Conv2d(1, 32, 3), nn.ReLU(),
    nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Dropout(0.25),
    nn.Conv2d(64, 128, 3), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(128, 128, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Dropout(0.25),
    nn.Flatten(),
    nn.Linear(2048, 1024), nn.ReLU(), nn.Dropout(0.5),
    nn.Linear(1024, 512), nn.ReLU(),
    nn.Linear(512, 7),
)
opt = torch.optim.SGD(net.parameters(), lr=1e-4, momentum=0.9, nesterov=True)
loss_fn = nn.CrossEntropyLoss()


def best(fn, min_iters):
    t_end = time.perf_counter() + seconds
    best_t, i = 1e30, 0
    while i < min_iters or time.perf_counter() < t_end:
        t0 = time.perf_counter()
        fn()
        best_t = min(best_t, time.perf_counter() - t0)
        i += 1
    return best_t


x1 = torch.rand(1, 1, 48, 48)
x64 = torch.rand(64, 1, 48, 48)
y64 = torch.arange(64) % 7


def infer(x):
    with torch.no_grad():
        net(x)


def train():
    opt.zero_grad()
    loss_fn(net(x64), y64).backward()
    opt.step()


net.eval()
t1 = best(lambda: infer(x1), 20)
tb = best(lambda: infer(x64), 3)
net.train()
tt = best(train, 3)
print(f"torch_version={torch.__version__}")
print(f"torch_threads={threads}")
print(f"torch_params={sum(p.numel() for p in net.parameters())}")
print(f"torch_infer_batch1_us={t1 * 1e6:.1f}")
print(f"torch_infer_batch64_img_per_s={64 / tb:.1f}")
print(f"torch_train_batch64_img_per_s={64 / tt:.1f}")
