#!/usr/bin/env python3
"""Small random Hugging Face checkpoints and PyTorch reference forward passes for attend's tests.

    hf_reference.py make KIND OUT [--seed N] [--no-prefix] [--old-norm-names] [--shards N] [--dims D,H,L,FF,P] [--vocab N]
    hf_reference.py logits FOLDER IDS_JSON [--adapter PEFT_FOLDER] [--types TYPES_JSON]
    hf_reference.py greedy FOLDER IDS_JSON MAX_NEW_TOKENS

`make marian`, `logits` on a Marian folder and `greedy` are hf_marian.py's (see there).

`make vit` writes a ViTForImageClassification (`vit-base`: a ViTModel, with its pooler and no
classifier) of --image SIZE,PATCH,CHANNELS (default 8,4,3) and no tokenizer; `logits` on it
takes IDS_JSON as a list of images [C][H][W] (pixel_values) and prints [rows][labels].

`make` writes a model folder in the layout transformers writes (config.json, model.safetensors
or model.safetensors.index.json + shards, tokenizer.json, tokenizer_config.json,
generation_config.json) with random weights; KIND is gpt2 (GPT2LMHeadModel), bert-cls
(BertForSequenceClassification) or bert (BertModel). --dims sets width, heads, layers,
feed-forward width and positions (default 16,4,2,40,24); --vocab (gpt2) a token table larger
than the tiny tokenizer (50257 with --dims 768,12,12,3072,1024 is GPT-2 small's shape). The safetensors files are written by hand:
an 8-byte little-endian header length, the JSON header (dtype, shape, data_offsets), the data.

`logits` reads such a folder (only this file and torch; no transformers package) and prints, as
JSON, the logits for IDS_JSON (a list of id lists; shorter rows are right-padded and masked):
GPT-2 [rows][valid positions][vocab], BERT classifier [rows][labels]. The modules below are
written from the equations of Hugging Face's modeling_gpt2.py and modeling_bert.py, in float64.
With --adapter, a LoRA adapter folder in PEFT's layout (adapter_config.json,
adapter_model.safetensors) is merged into the weights first, as PEFT's LoRA layers compute:
W += (lora_alpha / r) * B @ A per module (rank_pattern / alpha_pattern by module name),
transposed for Conv1D weights (fan_in_fan_out). With --types (BERT), TYPES_JSON gives each id's
token type (token_type_ids, rows as IDS_JSON: a sentence pair's segments 0 and 1); default 0.
"""

import json
import math
import os
import struct
import sys

import torch

# ---------------------------------------------------------------- safetensors, by hand

DTYPES = {torch.float32: "F32", torch.float64: "F64", torch.int64: "I64"}
FROM_DTYPE = {"F32": torch.float32, "F64": torch.float64, "I64": torch.int64, "F16": torch.float16, "BF16": torch.bfloat16}


def write_safetensors(path, tensors, metadata=None):
    header = {}
    offset = 0
    blobs = []
    for name, t in tensors.items():
        data = t.contiguous().numpy().tobytes() if t.dtype != torch.bfloat16 else t.view(torch.int16).numpy().tobytes()
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    if metadata:
        header["__metadata__"] = metadata
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)  # the reference writer pads the header to 8 bytes
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    out = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        begin, end = entry["data_offsets"]
        buf = bytearray(raw[8 + n + begin : 8 + n + end])
        t = torch.frombuffer(buf, dtype=FROM_DTYPE[entry["dtype"]]) if buf else torch.zeros(0, dtype=FROM_DTYPE[entry["dtype"]])
        out[name] = t.reshape(entry["shape"])
    return out


def read_weights(folder):
    index = os.path.join(folder, "model.safetensors.index.json")
    if os.path.exists(index):
        with open(index) as f:
            files = sorted(set(json.load(f)["weight_map"].values()))
        weights = {}
        for name in files:
            weights.update(read_safetensors(os.path.join(folder, name)))
        return weights
    return read_safetensors(os.path.join(folder, "model.safetensors"))


def write_weights(folder, tensors, shards):
    if shards <= 1:
        write_safetensors(os.path.join(folder, "model.safetensors"), tensors, {"format": "pt"})
        return
    names = list(tensors)
    per = math.ceil(len(names) / shards)
    weight_map = {}
    total = 0
    for s in range(shards):
        file = f"model-{s + 1:05d}-of-{shards:05d}.safetensors"
        part = {n: tensors[n] for n in names[s * per : (s + 1) * per]}
        write_safetensors(os.path.join(folder, file), part, {"format": "pt"})
        for n, t in part.items():
            weight_map[n] = file
            total += t.numel() * t.element_size()
    write_json(os.path.join(folder, "model.safetensors.index.json"), {"metadata": {"total_size": total}, "weight_map": weight_map})


def write_json(path, value):
    with open(path, "w") as f:
        json.dump(value, f, indent=2, sort_keys=True)
        f.write("\n")


# ---------------------------------------------------------------- tokenizers

def bytes_to_unicode():
    """GPT-2's printable stand-ins for the 256 bytes."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    chars = keep[:]
    n = 0
    for b in range(256):
        if b not in keep:
            keep.append(b)
            chars.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(keep, chars)}


GPT2_MERGES = [("Ġ", "t"), ("h", "e"), ("Ġt", "he"), ("i", "n"), ("e", "r"), ("a", "n"), ("o", "n"), ("Ġ", "a")]


def gpt2_tokenizer():
    vocab = {ch: i for i, ch in enumerate(bytes_to_unicode().values())}  # GPT-2's order: printable bytes first
    for a, b in GPT2_MERGES:
        vocab[a + b] = len(vocab)
    eos = len(vocab)
    vocab["<|endoftext|>"] = eos
    byte_level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [{"id": eos, "content": "<|endoftext|>", "single_word": False, "lstrip": False, "rstrip": False, "normalized": True, "special": True}],
        "normalizer": None,
        "pre_tokenizer": byte_level,
        "post_processor": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True},
        "decoder": byte_level,
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "", "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False, "ignore_merges": False, "vocab": vocab, "merges": [f"{a} {b}" for a, b in GPT2_MERGES]},
    }, len(vocab), eos


BERT_WORDS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "a", "cat", "dog", "sat", "on", "mat", "good", "bad", "movie", "film", "was", "is", "not", "very", "##s", "##ing", "##ed", ".", ",", "!", "i", "it", "and", "to"]


def bert_tokenizer():
    vocab = {w: i for i, w in enumerate(BERT_WORDS)}
    special = lambda i, w: {"id": i, "content": w, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False, "special": True}
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [special(i, w) for i, w in enumerate(BERT_WORDS[:5])],
        "normalizer": {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True, "strip_accents": None, "lowercase": True},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "[SEP]", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}, {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
            "special_tokens": {"[CLS]": {"id": "[CLS]", "ids": [2], "tokens": ["[CLS]"]}, "[SEP]": {"id": "[SEP]", "ids": [3], "tokens": ["[SEP]"]}},
        },
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##", "max_input_chars_per_word": 100, "vocab": vocab},
    }, len(vocab)


# ---------------------------------------------------------------- random checkpoints

def make(kind, out, seed, prefix, old_norm_names, shards, dims=(16, 4, 2, 40, 24), vocab_rows=None):
    g = torch.Generator().manual_seed(seed)
    rand = lambda *shape, std=0.2: torch.randn(*shape, generator=g, dtype=torch.float32) * std
    near_one = lambda n: 1 + rand(n, std=0.1)
    os.makedirs(out, exist_ok=True)
    d, heads, layers, ff, positions = dims
    t = {}
    if kind == "gpt2":
        tokenizer, vocab, eos = gpt2_tokenizer()
        vocab = max(vocab, vocab_rows or 0)
        p = "transformer." if prefix else ""
        t[p + "wte.weight"] = rand(vocab, d)
        t[p + "wpe.weight"] = rand(positions, d)
        for i in range(layers):
            h = f"{p}h.{i}."
            t[h + "ln_1.weight"], t[h + "ln_1.bias"] = near_one(d), rand(d)
            if not prefix:  # the causal-mask buffer older GPT-2 files carry
                t[h + "attn.bias"] = torch.tril(torch.ones(positions, positions)).reshape(1, 1, positions, positions)
            t[h + "attn.c_attn.weight"], t[h + "attn.c_attn.bias"] = rand(d, 3 * d), rand(3 * d)  # Conv1D: [in, out]
            t[h + "attn.c_proj.weight"], t[h + "attn.c_proj.bias"] = rand(d, d), rand(d)
            t[h + "ln_2.weight"], t[h + "ln_2.bias"] = near_one(d), rand(d)
            t[h + "mlp.c_fc.weight"], t[h + "mlp.c_fc.bias"] = rand(d, ff), rand(ff)
            t[h + "mlp.c_proj.weight"], t[h + "mlp.c_proj.bias"] = rand(ff, d), rand(d)
        t[p + "ln_f.weight"], t[p + "ln_f.bias"] = near_one(d), rand(d)
        config = {
            "_name_or_path": "attend-test/tiny-gpt2", "activation_function": "gelu_new", "architectures": ["GPT2LMHeadModel"],
            "attn_pdrop": 0.1, "bos_token_id": eos, "embd_pdrop": 0.1, "eos_token_id": eos, "initializer_range": 0.02,
            "layer_norm_epsilon": 1e-05, "model_type": "gpt2", "n_embd": d, "n_head": heads, "n_inner": ff, "n_layer": layers,
            "n_positions": positions, "reorder_and_upcast_attn": False, "resid_pdrop": 0.1, "scale_attn_by_inverse_layer_idx": False,
            "scale_attn_weights": True, "summary_activation": None, "summary_first_dropout": 0.1, "summary_proj_to_labels": True,
            "summary_type": "cls_index", "summary_use_proj": True, "torch_dtype": "float32", "transformers_version": "4.46.3",
            "use_cache": True, "vocab_size": vocab,
        }
        tokenizer_config = {"add_prefix_space": False, "bos_token": "<|endoftext|>", "clean_up_tokenization_spaces": False, "eos_token": "<|endoftext|>", "model_max_length": positions, "tokenizer_class": "GPT2Tokenizer", "unk_token": "<|endoftext|>"}
        generation = {"_from_model_config": True, "bos_token_id": eos, "eos_token_id": eos, "transformers_version": "4.46.3"}
    else:
        tokenizer, vocab = bert_tokenizer()
        classifier = kind == "bert-cls"
        p = "bert." if prefix and classifier else ""
        ln = ("gamma", "beta") if old_norm_names else ("weight", "bias")
        norm = lambda name: {f"{name}.{ln[0]}": near_one(d), f"{name}.{ln[1]}": rand(d)}
        t[p + "embeddings.word_embeddings.weight"] = rand(vocab, d)
        t[p + "embeddings.position_embeddings.weight"] = rand(positions, d)
        t[p + "embeddings.token_type_embeddings.weight"] = rand(2, d)
        t.update(norm(p + "embeddings.LayerNorm"))
        for i in range(layers):
            h = f"{p}encoder.layer.{i}."
            for m in ["query", "key", "value"]:
                t[h + f"attention.self.{m}.weight"], t[h + f"attention.self.{m}.bias"] = rand(d, d), rand(d)  # Linear: [out, in]
            t[h + "attention.output.dense.weight"], t[h + "attention.output.dense.bias"] = rand(d, d), rand(d)
            t.update(norm(h + "attention.output.LayerNorm"))
            t[h + "intermediate.dense.weight"], t[h + "intermediate.dense.bias"] = rand(ff, d), rand(ff)
            t[h + "output.dense.weight"], t[h + "output.dense.bias"] = rand(d, ff), rand(d)
            t.update(norm(h + "output.LayerNorm"))
        t[p + "pooler.dense.weight"], t[p + "pooler.dense.bias"] = rand(d, d), rand(d)
        labels = ["negative", "neutral", "positive"]
        if classifier:
            t["classifier.weight"], t["classifier.bias"] = rand(len(labels), d), rand(len(labels))
        config = {
            "_name_or_path": "attend-test/tiny-bert", "architectures": ["BertForSequenceClassification" if classifier else "BertModel"],
            "attention_probs_dropout_prob": 0.1, "classifier_dropout": None, "hidden_act": "gelu", "hidden_dropout_prob": 0.1,
            "hidden_size": d, "initializer_range": 0.02, "intermediate_size": ff, "layer_norm_eps": 1e-12,
            "max_position_embeddings": positions, "model_type": "bert", "num_attention_heads": heads, "num_hidden_layers": layers,
            "pad_token_id": 0, "position_embedding_type": "absolute", "torch_dtype": "float32", "transformers_version": "4.46.3",
            "type_vocab_size": 2, "use_cache": True, "vocab_size": vocab,
        }
        if classifier:
            config["id2label"] = {str(i): l for i, l in enumerate(labels)}
            config["label2id"] = {l: i for i, l in enumerate(labels)}
        tokenizer_config = {"clean_up_tokenization_spaces": True, "cls_token": "[CLS]", "do_lower_case": True, "mask_token": "[MASK]", "model_max_length": positions, "pad_token": "[PAD]", "sep_token": "[SEP]", "strip_accents": None, "tokenize_chinese_chars": True, "tokenizer_class": "BertTokenizer", "unk_token": "[UNK]"}
        generation = None
    write_folder(out, t, shards, config, tokenizer, tokenizer_config, generation)


def write_folder(out, t, shards, config, tokenizer=None, tokenizer_config=None, generation=None):
    write_weights(out, t, shards)
    write_json(os.path.join(out, "config.json"), config)
    if tokenizer is None:
        return
    write_json(os.path.join(out, "tokenizer.json"), tokenizer)
    write_json(os.path.join(out, "tokenizer_config.json"), tokenizer_config)
    if generation:
        write_json(os.path.join(out, "generation_config.json"), generation)


def make_vit(out, seed, prefix, shards, dims, image, classifier):
    """ViTForImageClassification (or ViTModel): conv patch projection, CLS, learned positions, pre-norm layers."""
    g = torch.Generator().manual_seed(seed)
    rand = lambda *shape, std=0.2: torch.randn(*shape, generator=g, dtype=torch.float32) * std
    near_one = lambda n: 1 + rand(n, std=0.1)
    os.makedirs(out, exist_ok=True)
    d, heads, layers, ff, _ = dims
    size, patch, channels = image
    n = (size // patch) ** 2
    p = "vit." if prefix and classifier else ""
    t = {}
    t[p + "embeddings.cls_token"] = rand(1, 1, d)
    t[p + "embeddings.position_embeddings"] = rand(1, n + 1, d)
    t[p + "embeddings.patch_embeddings.projection.weight"], t[p + "embeddings.patch_embeddings.projection.bias"] = rand(d, channels, patch, patch), rand(d)
    for i in range(layers):
        h = f"{p}encoder.layer.{i}."
        for m in ["query", "key", "value"]:
            t[h + f"attention.attention.{m}.weight"], t[h + f"attention.attention.{m}.bias"] = rand(d, d), rand(d)
        t[h + "attention.output.dense.weight"], t[h + "attention.output.dense.bias"] = rand(d, d), rand(d)
        t[h + "intermediate.dense.weight"], t[h + "intermediate.dense.bias"] = rand(ff, d), rand(ff)
        t[h + "output.dense.weight"], t[h + "output.dense.bias"] = rand(d, ff), rand(d)
        t[h + "layernorm_before.weight"], t[h + "layernorm_before.bias"] = near_one(d), rand(d)
        t[h + "layernorm_after.weight"], t[h + "layernorm_after.bias"] = near_one(d), rand(d)
    t[p + "layernorm.weight"], t[p + "layernorm.bias"] = near_one(d), rand(d)
    labels = ["cat", "dog", "bird"]
    if classifier:
        t["classifier.weight"], t["classifier.bias"] = rand(len(labels), d), rand(len(labels))
    else:
        t["pooler.dense.weight"], t["pooler.dense.bias"] = rand(d, d), rand(d)
    config = {
        "_name_or_path": "attend-test/tiny-vit", "architectures": ["ViTForImageClassification" if classifier else "ViTModel"],
        "attention_probs_dropout_prob": 0.0, "encoder_stride": patch, "hidden_act": "gelu", "hidden_dropout_prob": 0.0,
        "hidden_size": d, "image_size": size, "initializer_range": 0.02, "intermediate_size": ff, "layer_norm_eps": 1e-12,
        "model_type": "vit", "num_attention_heads": heads, "num_channels": channels, "num_hidden_layers": layers,
        "patch_size": patch, "qkv_bias": True, "torch_dtype": "float32", "transformers_version": "4.46.3",
    }
    if classifier:
        config["id2label"] = {str(i): l for i, l in enumerate(labels)}
        config["label2id"] = {l: i for i, l in enumerate(labels)}
    write_folder(out, t, shards, config)
    write_json(os.path.join(out, "preprocessor_config.json"), {
        "do_normalize": True, "do_rescale": True, "do_resize": True, "image_mean": [0.5] * channels, "image_processor_type": "ViTImageProcessor",
        "image_std": [0.5] * channels, "resample": 2, "rescale_factor": 1 / 255, "size": {"height": size, "width": size},
    })


# ---------------------------------------------------------------- reference modules (float64)

def layer_norm(x, w, b, eps):
    mean = x.mean(-1, keepdim=True)
    var = ((x - mean) ** 2).mean(-1, keepdim=True)
    return (x - mean) / torch.sqrt(var + eps) * w + b


def gelu_new(x):
    return 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))


def gelu_erf(x):
    return 0.5 * x * (1 + torch.erf(x / math.sqrt(2)))


ACTIVATIONS = {"gelu_new": gelu_new, "gelu": gelu_erf, "relu": torch.relu, "swish": torch.nn.functional.silu, "silu": torch.nn.functional.silu}


def attention(q, k, v, heads, bias):
    """q [B, T, d], k and v [B, K, d]; bias [B, 1, T, K] additive. Softmax(q·kᵀ/√D + bias)·v, heads merged."""
    B, T, d = q.shape
    D = d // heads
    split = lambda x: x.reshape(B, -1, heads, D).transpose(1, 2)
    scores = split(q) @ split(k).transpose(-1, -2) / math.sqrt(D) + bias
    return (torch.softmax(scores, -1) @ split(v)).transpose(1, 2).reshape(B, T, d)


def strip(weights, prefix):
    return {n[len(prefix):] if n.startswith(prefix) else n: t.double() for n, t in weights.items()}


def gpt2_logits(config, w, ids, mask):
    """GPT2LMHeadModel: learned positions, pre-norm blocks with fused c_attn (Conv1D [in, out]), ln_f, tied head."""
    w = strip(w, "transformer.")
    eps, heads, act = config["layer_norm_epsilon"], config["n_head"], ACTIVATIONS[config["activation_function"]]
    B, T = ids.shape
    d = config["n_embd"]
    h = w["wte.weight"][ids] + w["wpe.weight"][torch.arange(T)]
    allowed = torch.tril(torch.ones(T, T, dtype=torch.bool))[None, None] & mask[:, None, None, :].bool()
    bias = (~allowed).double() * torch.finfo(torch.float64).min
    for i in range(config["n_layer"]):
        p = f"h.{i}."
        a = layer_norm(h, w[p + "ln_1.weight"], w[p + "ln_1.bias"], eps)
        qkv = a @ w[p + "attn.c_attn.weight"] + w[p + "attn.c_attn.bias"]
        q, k, v = qkv.split(d, dim=2)
        h = h + attention(q, k, v, heads, bias) @ w[p + "attn.c_proj.weight"] + w[p + "attn.c_proj.bias"]
        m = layer_norm(h, w[p + "ln_2.weight"], w[p + "ln_2.bias"], eps)
        h = h + act(m @ w[p + "mlp.c_fc.weight"] + w[p + "mlp.c_fc.bias"]) @ w[p + "mlp.c_proj.weight"] + w[p + "mlp.c_proj.bias"]
    h = layer_norm(h, w["ln_f.weight"], w["ln_f.bias"], eps)
    head = w.get("lm_head.weight", w["wte.weight"])
    return h @ head.T


def bert_logits(config, w, ids, mask, types):
    """BertForSequenceClassification: word + position + token-type embeddings, LayerNorm, post-norm layers, pooler (dense + tanh on [CLS]), classifier."""
    w = strip(w, "bert.")
    w = {n.replace("LayerNorm.gamma", "LayerNorm.weight").replace("LayerNorm.beta", "LayerNorm.bias"): t for n, t in w.items()}
    eps, heads, act = config["layer_norm_eps"], config["num_attention_heads"], ACTIVATIONS[config["hidden_act"]]
    B, T = ids.shape
    e = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][torch.arange(T)] + w["embeddings.token_type_embeddings.weight"][types]
    h = layer_norm(e, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps)
    bias = ((1.0 - mask[:, None, None, :].double()) * torch.finfo(torch.float64).min)
    lin = lambda x, name: x @ w[name + ".weight"].T + w[name + ".bias"]
    for i in range(config["num_hidden_layers"]):
        p = f"encoder.layer.{i}."
        s = attention(lin(h, p + "attention.self.query"), lin(h, p + "attention.self.key"), lin(h, p + "attention.self.value"), heads, bias)
        h = layer_norm(lin(s, p + "attention.output.dense") + h, w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"], eps)
        f = lin(act(lin(h, p + "intermediate.dense")), p + "output.dense")
        h = layer_norm(f + h, w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"], eps)
    pooled = torch.tanh(lin(h[:, 0], "pooler.dense"))
    return lin(pooled, "classifier")


def vit_logits(config, w, pixels):
    """ViTForImageClassification on pixel_values [B, C, H, W]: a strided convolution for the patches, CLS, positions, pre-norm layers, final LayerNorm, classifier on CLS."""
    w = strip(w, "vit.")
    eps, heads, act = config["layer_norm_eps"], config["num_attention_heads"], ACTIVATIONS[config["hidden_act"]]
    patch = config["patch_size"]
    x = torch.nn.functional.conv2d(pixels, w["embeddings.patch_embeddings.projection.weight"], w["embeddings.patch_embeddings.projection.bias"], stride=patch)
    x = x.flatten(2).transpose(1, 2)  # [B, N, d], patches row by row
    B = x.shape[0]
    h = torch.cat([w["embeddings.cls_token"].expand(B, -1, -1), x], 1) + w["embeddings.position_embeddings"]
    lin = lambda x, name: x @ w[name + ".weight"].T + w[name + ".bias"]
    none = torch.zeros(B, 1, 1, h.shape[1], dtype=torch.float64)
    for i in range(config["num_hidden_layers"]):
        p = f"encoder.layer.{i}."
        a = layer_norm(h, w[p + "layernorm_before.weight"], w[p + "layernorm_before.bias"], eps)
        s = attention(lin(a, p + "attention.attention.query"), lin(a, p + "attention.attention.key"), lin(a, p + "attention.attention.value"), heads, none)
        h = lin(s, p + "attention.output.dense") + h
        m = layer_norm(h, w[p + "layernorm_after.weight"], w[p + "layernorm_after.bias"], eps)
        h = lin(act(lin(m, p + "intermediate.dense")), p + "output.dense") + h
    h = layer_norm(h, w["layernorm.weight"], w["layernorm.bias"], eps)
    return lin(h[:, 0], "classifier")


def merge_adapter(weights, adapter):
    with open(os.path.join(adapter, "adapter_config.json")) as f:
        config = json.load(f)
    assert config["peft_type"] == "LORA", config["peft_type"]
    tensors = read_safetensors(os.path.join(adapter, "adapter_model.safetensors"))
    prefix = "base_model.model."
    modules = sorted({k[len(prefix) : -len(".lora_A.weight")] for k in tensors if k.endswith(".lora_A.weight")})
    assert modules == sorted(config["target_modules"]), (modules, config["target_modules"])
    for module in modules:
        a = tensors[f"{prefix}{module}.lora_A.weight"].double()
        b = tensors[f"{prefix}{module}.lora_B.weight"].double()
        r = config["rank_pattern"].get(module, config["r"])
        alpha = config["alpha_pattern"].get(module, config["lora_alpha"])
        assert a.shape[0] == r and b.shape[1] == r, (module, a.shape, b.shape, r)
        delta = (alpha / r) * (b @ a)
        name = f"{module}.weight"
        if name not in weights:  # a folder written without the base-model prefix
            name = name.split(".", 1)[1]
        w = weights[name]
        weights[name] = (w.double() + (delta.T if config["fan_in_fan_out"] else delta)).to(w.dtype)


def logits(folder, rows, adapter=None, types=None):
    with open(os.path.join(folder, "config.json")) as f:
        config = json.load(f)
    weights = read_weights(folder)
    if adapter:
        merge_adapter(weights, adapter)
    if config["model_type"] == "marian":
        return hf_marian.marian_logits(folder, config, rows)
    if config["model_type"] == "vit":
        with torch.no_grad():
            return vit_logits(config, weights, torch.tensor(rows, dtype=torch.float64)).tolist()
    T = max(len(r) for r in rows)
    ids = torch.tensor([r + [0] * (T - len(r)) for r in rows], dtype=torch.long)
    mask = torch.tensor([[1] * len(r) + [0] * (T - len(r)) for r in rows], dtype=torch.long)
    with torch.no_grad():
        if config["model_type"] == "gpt2":
            out = gpt2_logits(config, weights, ids, mask)
            return [out[b, : len(r)].tolist() for b, r in enumerate(rows)]
        type_ids = torch.tensor([r + [0] * (T - len(r)) for r in types], dtype=torch.long) if types else torch.zeros_like(ids)
        return bert_logits(config, weights, ids, mask, type_ids).tolist()


def main(argv):
    if len(argv) >= 3 and argv[0] == "make":
        flags = argv[3:]
        seed = int(flags[flags.index("--seed") + 1]) if "--seed" in flags else 0
        shards = int(flags[flags.index("--shards") + 1]) if "--shards" in flags else 1
        if argv[1] not in ("gpt2", "bert-cls", "bert", "vit", "vit-base", "marian"):
            sys.exit(f"make: unknown kind {argv[1]!r}; expected gpt2, bert-cls, bert, vit, vit-base or marian")
        dims = tuple(int(x) for x in flags[flags.index("--dims") + 1].split(",")) if "--dims" in flags else (16, 4, 2, 40, 24)
        if argv[1] == "marian":
            return hf_marian.make_marian(argv[2], seed, "--no-prefix" not in flags, "--stored-positions" in flags, "--untied" in flags, dims)
        vocab = int(flags[flags.index("--vocab") + 1]) if "--vocab" in flags else None
        if argv[1].startswith("vit"):
            image = tuple(int(x) for x in flags[flags.index("--image") + 1].split(",")) if "--image" in flags else (8, 4, 3)
            make_vit(argv[2], seed, "--no-prefix" not in flags, shards, dims, image, argv[1] == "vit")
        else:
            make(argv[1], argv[2], seed, "--no-prefix" not in flags, "--old-norm-names" in flags, shards, dims, vocab)
    elif len(argv) in (3, 5, 7) and argv[0] == "logits" and set(argv[3::2]) <= {"--adapter", "--types"} and len(set(argv[3::2])) == len(argv[3::2]):
        flags = dict(zip(argv[3::2], argv[4::2]))
        types = json.loads(flags["--types"]) if "--types" in flags else None
        print(json.dumps(logits(argv[1], json.loads(argv[2]), flags.get("--adapter"), types)))
    elif len(argv) == 4 and argv[0] == "greedy":
        with open(os.path.join(argv[1], "config.json")) as f:
            print(json.dumps(hf_marian.marian_greedy(argv[1], json.load(f), json.loads(argv[2]), int(argv[3]))))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    import hf_marian  # Marian's checkpoint and reference (it reads this file's helpers)

    main(sys.argv[1:])
