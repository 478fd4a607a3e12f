"""Marian (MarianMTModel) for hf_reference.py: a small random checkpoint in the layout transformers
writes, and a float64 reference forward written from the equations of modeling_marian.py.

    hf_reference.py make marian OUT [--seed N] [--no-prefix] [--stored-positions] [--untied] [--dims D,H,L,FF,P]
    hf_reference.py logits FOLDER '{"input_ids": [[...], ...], "decoder_input_ids": [[...], ...]}'
    hf_reference.py greedy FOLDER '[[...], ...]' MAX_NEW_TOKENS

The checkpoint: `model.shared` (the one token table of encoder, decoder and the tied head;
the encoder/decoder `embed_tokens` copies written too, as older files have them), post-norm
layers, `final_logits_bias` [1, V], swish, scale_embedding, pad = decoder start (the last id),
eos 0, a Unigram tokenizer.json as the converted opus-mt tokenizers are. --stored-positions
writes the sinusoid tables (`embed_positions.weight`) too, as older files do; --untied a
separate lm_head (tie_word_embeddings false).

`logits` prints the teacher-forced logits [rows][valid decoder positions][V] (source rows
right-padded and masked; decoder rows right-padded). `greedy` decodes each source row from the
decoder start token, taking the argmax each step, until eos or MAX_NEW_TOKENS; it prints the new
ids of each row without eos.
"""

import math
import os

import torch

from hf_reference import ACTIVATIONS, attention, layer_norm, read_weights, strip, write_folder

EOS, UNK = 0, 1
PIECES = ["▁the", "▁cat", "▁sat", "▁on", "▁mat", "▁le", "▁chat", "▁sur", "▁tapis", "▁a", "▁dog", "▁chien", "s", "e", "t", "a", "h", "c", "o", "n", "m", "i", "r", "▁"]


def marian_tokenizer():
    vocab = [["</s>", 0.0], ["<unk>", 0.0]] + [[p, -2.0 - 0.1 * i] for i, p in enumerate(PIECES)] + [["<pad>", 0.0]]
    pad = len(vocab) - 1
    special = lambda i, w: {"id": i, "content": w, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False, "special": True}
    metaspace = {"type": "Metaspace", "replacement": "▁", "add_prefix_space": True}
    tokenizer = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [special(EOS, "</s>"), special(UNK, "<unk>"), special(pad, "<pad>")],
        "normalizer": None,
        "pre_tokenizer": metaspace,
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "</s>", "type_id": 0}}],
            "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 0}}, {"SpecialToken": {"id": "</s>", "type_id": 0}}],
            "special_tokens": {"</s>": {"id": "</s>", "ids": [EOS], "tokens": ["</s>"]}},
        },
        "decoder": metaspace,
        "model": {"type": "Unigram", "unk_id": UNK, "vocab": vocab},
    }
    return tokenizer, len(vocab), pad


def sinusoids(positions, d):
    """Marian's table: sin(pos / 10000^(2i/d)) in columns [0, d/2), cos of the same angles in [d/2, d)."""
    i = torch.arange(d // 2, dtype=torch.float64)
    angles = torch.arange(positions, dtype=torch.float64)[:, None] / torch.pow(10000.0, 2 * i / d)[None, :]
    return torch.cat([torch.sin(angles), torch.cos(angles)], 1)


def make_marian(out, seed, prefix, stored_positions, untied, dims):
    g = torch.Generator().manual_seed(seed)
    rand = lambda *shape, std=0.2: torch.randn(*shape, generator=g, dtype=torch.float32) * std
    near_one = lambda n: 1 + rand(n, std=0.1)
    os.makedirs(out, exist_ok=True)
    d, heads, layers, ff, positions = dims
    tokenizer, vocab, pad = marian_tokenizer()
    p = "model." if prefix else ""
    t = {}
    shared = rand(vocab, d)
    t[p + "shared.weight"] = shared
    t[p + "encoder.embed_tokens.weight"] = shared.clone()
    t[p + "decoder.embed_tokens.weight"] = shared.clone()
    for stack in ("encoder", "decoder"):
        if stored_positions:
            t[f"{p}{stack}.embed_positions.weight"] = sinusoids(positions, d).float()
        for i in range(layers):
            h = f"{p}{stack}.layers.{i}."
            for attn in ("self_attn", "encoder_attn") if stack == "decoder" else ("self_attn",):
                for m in ("k_proj", "v_proj", "q_proj", "out_proj"):
                    t[h + f"{attn}.{m}.weight"], t[h + f"{attn}.{m}.bias"] = rand(d, d), rand(d)  # Linear: [out, in]
                t[h + f"{attn}_layer_norm.weight"], t[h + f"{attn}_layer_norm.bias"] = near_one(d), rand(d)
            t[h + "fc1.weight"], t[h + "fc1.bias"] = rand(ff, d), rand(ff)
            t[h + "fc2.weight"], t[h + "fc2.bias"] = rand(d, ff), rand(d)
            t[h + "final_layer_norm.weight"], t[h + "final_layer_norm.bias"] = near_one(d), rand(d)
    bias = rand(1, vocab, std=0.1)
    bias[0, EOS] = -3.0  # so that greedy decoding of the random model runs for a while
    t["final_logits_bias"] = bias
    t["lm_head.weight"] = rand(vocab, d) if untied else shared.clone()
    config = {
        "_name_or_path": "attend-test/tiny-opus-mt", "activation_dropout": 0.0, "activation_function": "swish",
        "architectures": ["MarianMTModel"], "attention_dropout": 0.0, "bad_words_ids": [[pad]], "bos_token_id": 0,
        "classif_dropout": 0.0, "classifier_dropout": 0.0, "d_model": d, "decoder_attention_heads": heads,
        "decoder_ffn_dim": ff, "decoder_layerdrop": 0.0, "decoder_layers": layers, "decoder_start_token_id": pad,
        "decoder_vocab_size": vocab, "dropout": 0.1, "encoder_attention_heads": heads, "encoder_ffn_dim": ff,
        "encoder_layerdrop": 0.0, "encoder_layers": layers, "eos_token_id": EOS, "forced_eos_token_id": EOS,
        "init_std": 0.02, "is_encoder_decoder": True, "max_length": positions, "max_position_embeddings": positions,
        "model_type": "marian", "normalize_before": False, "normalize_embedding": False, "num_beams": 1,
        "num_hidden_layers": layers, "pad_token_id": pad, "scale_embedding": True, "share_encoder_decoder_embeddings": True,
        "static_position_embeddings": True, "tie_word_embeddings": not untied, "torch_dtype": "float32",
        "transformers_version": "4.46.3", "use_cache": True, "vocab_size": vocab,
    }
    tokenizer_config = {"eos_token": "</s>", "model_max_length": positions, "pad_token": "<pad>", "source_lang": "en", "target_lang": "fr", "tokenizer_class": "MarianTokenizer", "unk_token": "<unk>"}
    generation = {"bad_words_ids": [[pad]], "bos_token_id": 0, "decoder_start_token_id": pad, "eos_token_id": EOS, "forced_eos_token_id": EOS, "max_length": positions, "num_beams": 1, "pad_token_id": pad, "transformers_version": "4.46.3"}
    write_folder(out, t, 1, config, tokenizer, tokenizer_config, generation)


def padding_bias(mask):
    """[B, K] 1/0 → additive [B, 1, 1, K]."""
    return (1.0 - mask[:, None, None, :].double()) * torch.finfo(torch.float64).min


class Marian:
    """MarianMTModel's forward from modeling_marian.py: E·√d (scale_embedding) + sinusoids, post-norm layers (LayerNorm eps 1e-5), lm_head + final_logits_bias."""

    def __init__(self, config, weights):
        w = strip(weights, "model.")
        self.w, self.config = w, config
        self.d, self.heads = config["d_model"], config["encoder_attention_heads"]
        self.act = ACTIVATIONS[config["activation_function"]]
        self.scale = math.sqrt(self.d) if config.get("scale_embedding", False) else 1.0
        self.table = w["shared.weight"]
        self.head = self.table if config.get("tie_word_embeddings", True) else w["lm_head.weight"]
        self.positions = sinusoids(config["max_position_embeddings"], self.d)

    def lin(self, x, name):
        return x @ self.w[name + ".weight"].T + self.w[name + ".bias"]

    def norm(self, x, name):
        return layer_norm(x, self.w[name + ".weight"], self.w[name + ".bias"], 1e-5)

    def attend(self, x, memory, bias, name):
        return self.lin(attention(self.lin(x, name + ".q_proj"), self.lin(memory, name + ".k_proj"), self.lin(memory, name + ".v_proj"), self.heads, bias), name + ".out_proj")

    def embed(self, ids):
        return self.table[ids] * self.scale + self.positions[: ids.shape[1]]

    def encode(self, src, src_mask):
        h = self.embed(src)
        bias = padding_bias(src_mask)
        for i in range(self.config["encoder_layers"]):
            p = f"encoder.layers.{i}."
            h = self.norm(h + self.attend(h, h, bias, p + "self_attn"), p + "self_attn_layer_norm")
            h = self.norm(h + self.lin(self.act(self.lin(h, p + "fc1")), p + "fc2"), p + "final_layer_norm")
        return h

    def decode(self, tgt, memory, src_mask):
        x = self.embed(tgt)
        T = tgt.shape[1]
        causal = (~torch.tril(torch.ones(T, T, dtype=torch.bool))).double()[None, None] * torch.finfo(torch.float64).min
        cross = padding_bias(src_mask)
        for i in range(self.config["decoder_layers"]):
            p = f"decoder.layers.{i}."
            x = self.norm(x + self.attend(x, x, causal, p + "self_attn"), p + "self_attn_layer_norm")
            x = self.norm(x + self.attend(x, memory, cross, p + "encoder_attn"), p + "encoder_attn_layer_norm")
            x = self.norm(x + self.lin(self.act(self.lin(x, p + "fc1")), p + "fc2"), p + "final_layer_norm")
        return x @ self.head.T + self.w["final_logits_bias"][0]


def padded(rows, fill):
    T = max(len(r) for r in rows)
    ids = torch.tensor([r + [fill] * (T - len(r)) for r in rows], dtype=torch.long)
    mask = torch.tensor([[1] * len(r) + [0] * (T - len(r)) for r in rows], dtype=torch.long)
    return ids, mask


def load(folder, config):
    return Marian(config, read_weights(folder))


def marian_logits(folder, config, request):
    model = load(folder, config)
    src, src_mask = padded(request["input_ids"], config["pad_token_id"])
    tgt, _ = padded(request["decoder_input_ids"], config["pad_token_id"])
    with torch.no_grad():
        out = model.decode(tgt, model.encode(src, src_mask), src_mask)
    return [out[b, : len(r)].tolist() for b, r in enumerate(request["decoder_input_ids"])]


def marian_greedy(folder, config, rows, max_new_tokens):
    model = load(folder, config)
    start, eos = config["decoder_start_token_id"], config["eos_token_id"]
    results = []
    with torch.no_grad():
        for row in rows:
            src, src_mask = padded([row], config["pad_token_id"])
            memory = model.encode(src, src_mask)
            ids = [start]
            while len(ids) - 1 < max_new_tokens:
                nxt = int(model.decode(torch.tensor([ids]), memory, src_mask)[0, -1].argmax())
                if nxt == eos:
                    break
                ids.append(nxt)
            results.append(ids[1:])
    return results
