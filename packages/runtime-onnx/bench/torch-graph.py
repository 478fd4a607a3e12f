#!/usr/bin/python3
"""The torch.onnx graph of an attend decoder-lm checkpoint, for bench/infer.mjs.

Builds the same GPT in PyTorch in nanoGPT's layout (one c_attn Linear for Q, K and V, the
explicit causal-mask attention path, GELU MLP, pre-norm blocks, a final LayerNorm and the LM
head tied to the token table), copies the checkpoint's weights into it and exports it with
torch.onnx.export (opset 17, dynamic batch and sequence): input_ids [B, T] -> logits [B, T, V].

    /usr/bin/python3 torch-graph.py CHECKPOINT_DIR OUT.onnx

CHECKPOINT_DIR holds attend's config.json and model.safetensors (Linear weights [out, in], as
PyTorch stores them). Only the architecture nanoGPT has is accepted: learned positions,
scaled_dot attention, pre-norm, gelu or gelu_new, no local window, tied embeddings. Prints one
JSON line: the torch version and the graph's size.
"""

import json
import math
import os
import struct
import sys

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F


def fail(message):
    print(f"torch-graph.py: {message}", file=sys.stderr)
    sys.exit(2)


def read_safetensors(path):
    """Tensor name -> float32 numpy array (safetensors: u64 header length, JSON header, data)."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] != "F32":
            fail(f"{path}: {name} is {info['dtype']}, expected F32")
        start, end = info["data_offsets"]
        out[name] = np.frombuffer(data[start:end], dtype="<f4").reshape(info["shape"]).copy()
    return out


class Block(nn.Module):
    def __init__(self, d, heads, d_ff, eps, approximate, context):
        super().__init__()
        self.heads = heads
        self.ln_1 = nn.LayerNorm(d, eps=eps)
        self.c_attn = nn.Linear(d, 3 * d)
        self.c_proj = nn.Linear(d, d)
        self.ln_2 = nn.LayerNorm(d, eps=eps)
        self.c_fc = nn.Linear(d, d_ff)
        self.mlp_proj = nn.Linear(d_ff, d)
        self.approximate = approximate
        self.register_buffer("bias", torch.tril(torch.ones(context, context)).view(1, 1, context, context))

    def attention(self, x):
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(C, dim=2)
        q = q.view(B, T, self.heads, C // self.heads).transpose(1, 2)
        k = k.view(B, T, self.heads, C // self.heads).transpose(1, 2)
        v = v.view(B, T, self.heads, C // self.heads).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(C // self.heads))
        att = att.masked_fill(self.bias[:, :, :T, :T] == 0, float("-inf"))
        y = F.softmax(att, dim=-1) @ v
        return self.c_proj(y.transpose(1, 2).contiguous().view(B, T, C))

    def forward(self, x):
        x = x + self.attention(self.ln_1(x))
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate=self.approximate))


class GPT(nn.Module):
    def __init__(self, c):
        super().__init__()
        d = c["dModel"]
        self.scale = math.sqrt(d) if c["scaleEmbedding"] else 1.0
        self.wte = nn.Embedding(c["vocabSize"], d)
        self.wpe = nn.Embedding(c["maxSeqLen"], d)
        approximate = "tanh" if c["activation"] == "gelu_new" else "none"
        self.h = nn.ModuleList(Block(d, c["numHeads"], c["dFf"], c["layerNormEps"], approximate, c["maxSeqLen"]) for _ in range(c["numDecoderLayers"]))
        self.ln_f = nn.LayerNorm(d, eps=c["layerNormEps"])

    def forward(self, idx):
        pos = torch.arange(0, idx.size(1), dtype=torch.long, device=idx.device)
        x = self.wte(idx) * self.scale + self.wpe(pos)
        for block in self.h:
            x = block(x)
        return self.ln_f(x) @ self.wte.weight.t()


def load(model, w):
    t = lambda name: torch.from_numpy(w.pop(name))
    with torch.no_grad():
        model.wte.weight.copy_(t("embed_tokens.weight"))
        model.wpe.weight.copy_(t("decoder.embed_positions.weight"))
        for i, block in enumerate(model.h):
            p = f"decoder.layers.{i}"
            a = f"{p}.self_attn"
            block.c_attn.weight.copy_(torch.cat([t(f"{a}.{n}_proj.weight") for n in "qkv"], 0))
            block.c_attn.bias.copy_(torch.cat([t(f"{a}.{n}_proj.bias") for n in "qkv"], 0))
            block.c_proj.weight.copy_(t(f"{a}.out_proj.weight"))
            block.c_proj.bias.copy_(t(f"{a}.out_proj.bias"))
            block.ln_1.weight.copy_(t(f"{p}.self_attn_layer_norm.weight"))
            block.ln_1.bias.copy_(t(f"{p}.self_attn_layer_norm.bias"))
            block.ln_2.weight.copy_(t(f"{p}.final_layer_norm.weight"))
            block.ln_2.bias.copy_(t(f"{p}.final_layer_norm.bias"))
            block.c_fc.weight.copy_(t(f"{p}.fc1.weight"))
            block.c_fc.bias.copy_(t(f"{p}.fc1.bias"))
            block.mlp_proj.weight.copy_(t(f"{p}.fc2.weight"))
            block.mlp_proj.bias.copy_(t(f"{p}.fc2.bias"))
        model.ln_f.weight.copy_(t("decoder.layer_norm.weight"))
        model.ln_f.bias.copy_(t("decoder.layer_norm.bias"))
    if w:
        fail(f"weights the torch GPT has no place for: {', '.join(sorted(w))}")


def main():
    if len(sys.argv) != 3:
        fail("usage: torch-graph.py CHECKPOINT_DIR OUT.onnx")
    ckpt, out = sys.argv[1], sys.argv[2]
    with open(os.path.join(ckpt, "config.json")) as f:
        c = json.load(f)
    wanted = {"preset": "decoder-lm", "positional": "learned", "attention": "scaled_dot", "norm": "pre", "localWindow": None, "tieEmbeddings": True, "embeddingNorm": False}
    for key, value in wanted.items():
        if c.get(key) != value:
            fail(f"{ckpt}/config.json: {key} is {c.get(key)!r}; the nanoGPT-shaped torch model needs {value!r}")
    if c["activation"] not in ("gelu", "gelu_new"):
        fail(f"{ckpt}/config.json: activation {c['activation']!r}; the torch model has gelu and gelu_new")
    torch.manual_seed(0)
    model = GPT(c).eval()
    load(model, read_safetensors(os.path.join(ckpt, "model.safetensors")))
    idx = torch.randint(0, c["vocabSize"], (2, 8))
    with torch.no_grad():
        torch.onnx.export(
            model, (idx,), out, input_names=["input_ids"], output_names=["logits"],
            dynamic_axes={"input_ids": {0: "batch", 1: "sequence"}, "logits": {0: "batch", 1: "sequence"}},
            opset_version=17, do_constant_folding=True,
        )
    print(json.dumps({"torch": torch.__version__, "bytes": os.path.getsize(out)}))


main()
