#!/usr/bin/env python3
"""Checks a Hugging Face-layout Granite 4.0 H model folder for structural
consistency: config.json fields, the safetensors header format, tensor names
and shapes against docs/model.md (checkpoint tensors), contiguous data
offsets, shard index, and plausible value ranges.

Standard library only, so that it runs wherever ctest runs.

  verify_model.py DIR
  verify_model.py --generator hybridc-make-model --out DIR -- [generator args]
"""
import argparse
import json
import math
import os
import struct
import subprocess
import sys


def fail(msg):
    print("verify_model: FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def expected_tensors(cfg):
    """name -> shape, following docs/model.md."""
    H = cfg["hidden_size"]
    V = cfg["vocab_size"]
    d_in = cfg["mamba_expand"] * H
    G, N, nh = cfg["mamba_n_groups"], cfg["mamba_d_state"], cfg["mamba_n_heads"]
    K = cfg["mamba_d_conv"]
    conv_dim = d_in + 2 * G * N
    heads, kv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd = cfg.get("head_dim", H // heads)
    E, I, S = cfg["num_local_experts"], cfg["intermediate_size"], cfg["shared_intermediate_size"]
    t = {"model.embed_tokens.weight": [V, H], "model.norm.weight": [H]}
    if not cfg["tie_word_embeddings"]:
        t["lm_head.weight"] = [V, H]
    for i, kind in enumerate(cfg["layer_types"]):
        p = "model.layers.%d." % i
        t[p + "input_layernorm.weight"] = [H]
        t[p + "post_attention_layernorm.weight"] = [H]
        if kind == "mamba":
            m = p + "mamba."
            rows = 2 * d_in + 2 * G * N + nh
            t[m + "in_proj.weight"] = [rows, H]
            t[m + "conv1d.weight"] = [conv_dim, 1, K]
            t[m + "dt_bias"] = [nh]
            t[m + "A_log"] = [nh]
            t[m + "D"] = [nh]
            t[m + "norm.weight"] = [d_in]
            t[m + "out_proj.weight"] = [H, d_in]
            if cfg["mamba_conv_bias"]:
                t[m + "conv1d.bias"] = [conv_dim]
            if cfg["mamba_proj_bias"]:
                t[m + "in_proj.bias"] = [rows]
                t[m + "out_proj.bias"] = [H]
        elif kind == "attention":
            a = p + "self_attn."
            shapes = {"q": [heads * hd, H], "k": [kv * hd, H], "v": [kv * hd, H],
                      "o": [H, heads * hd]}
            for n, s in shapes.items():
                t[a + n + "_proj.weight"] = s
                if cfg["attention_bias"]:
                    t[a + n + "_proj.bias"] = [s[0]]
        else:
            fail("layer_types[%d] = %r" % (i, kind))
        if E > 0:
            e = p + "block_sparse_moe."
            t[e + "router.layer.weight"] = [E, H]
            t[e + "input_linear.weight"] = [E, 2 * I, H]
            t[e + "output_linear.weight"] = [E, H, I]
        t[p + "shared_mlp.input_linear.weight"] = [2 * S, H]
        t[p + "shared_mlp.output_linear.weight"] = [H, S]
    return t


def decode(raw, dtype):
    if dtype == "F32":
        return struct.unpack("<%df" % (len(raw) // 4), raw)
    halves = struct.unpack("<%dH" % (len(raw) // 2), raw)
    return struct.unpack("<%df" % len(halves), struct.pack("<%dI" % len(halves), *[h << 16 for h in halves]))


def read_safetensors(path, want_dtype):
    data = open(path, "rb").read()
    (n,) = struct.unpack("<Q", data[:8])
    if (8 + n) % 8:
        fail("%s: header length %d leaves the data unaligned" % (path, n))
    header = json.loads(data[8:8 + n].decode("utf-8"))
    if header.pop("__metadata__", None) != {"format": "pt"}:
        fail("%s: __metadata__ is not {format: pt}" % path)
    body = data[8 + n:]
    elem = 4 if want_dtype == "F32" else 2
    pos = 0
    out = {}
    for name, info in header.items():
        if info["dtype"] != want_dtype:
            fail("%s: %s has dtype %s, config says %s" % (path, name, info["dtype"], want_dtype))
        b, e = info["data_offsets"]
        if b != pos:
            fail("%s: %s starts at %d, expected %d (not contiguous)" % (path, name, b, pos))
        if e - b != math.prod(info["shape"]) * elem:
            fail("%s: %s has %d bytes for shape %s" % (path, name, e - b, info["shape"]))
        pos = e
        out[name] = (info["shape"], body[b:e])
    if pos != len(body):
        fail("%s: data section is %d bytes, tensors cover %d" % (path, len(body), pos))
    return out


def check_values(name, vals):
    for v in vals:
        if not math.isfinite(v):
            fail("%s: non-finite value" % name)
    mean = sum(vals) / len(vals)
    if name.endswith("layernorm.weight") or name.endswith("norm.weight"):
        if not all(0.85 <= v <= 1.15 for v in vals):
            fail("%s: norm weight outside [0.85, 1.15]" % name)
    elif name.endswith("A_log"):
        if not all(-1e-3 <= v <= math.log(16) + 1e-3 for v in vals):
            fail("%s: A = -exp(A_log) outside [-16, -1]" % name)
    elif name.endswith("dt_bias"):
        for v in vals:
            sp = math.log1p(math.exp(v))
            if not 0.99e-4 <= sp <= 0.101:
                fail("%s: softplus(dt_bias) = %g outside [1e-4, 0.1]" % (name, sp))
    elif name.endswith(".D"):
        if not all(0.7 <= v <= 1.3 for v in vals):
            fail("%s: D outside [0.7, 1.3]" % name)
    elif abs(mean) > 0.05:
        fail("%s: mean %g is not near 0" % (name, mean))


def verify(folder):
    cfg = json.load(open(os.path.join(folder, "config.json")))
    if cfg.get("model_type") != "granitemoehybrid":
        fail("model_type is %r" % cfg.get("model_type"))
    if cfg.get("architectures") != ["GraniteMoeHybridForCausalLM"]:
        fail("architectures is %r" % cfg.get("architectures"))
    if cfg["num_hidden_layers"] != len(cfg["layer_types"]):
        fail("num_hidden_layers != len(layer_types)")
    if cfg.get("position_embedding_type") != "nope":
        fail("position_embedding_type is not nope")
    if cfg["mamba_n_heads"] % cfg["mamba_n_groups"]:
        fail("mamba_n_groups does not divide mamba_n_heads")
    if cfg["mamba_d_head"] * cfg["mamba_n_heads"] != cfg["mamba_expand"] * cfg["hidden_size"]:
        fail("mamba_d_head * mamba_n_heads != mamba_expand * hidden_size")
    if "time_step_limit" in cfg:
        fail("time_step_limit should be omitted")
    want_dtype = {"float32": "F32", "bfloat16": "BF16"}[cfg["torch_dtype"]]

    index_path = os.path.join(folder, "model.safetensors.index.json")
    tensors = {}
    if os.path.exists(index_path):
        index = json.load(open(index_path))
        files = sorted(set(index["weight_map"].values()))
        total = 0
        for f in files:
            part = read_safetensors(os.path.join(folder, f), want_dtype)
            for name, (shape, raw) in part.items():
                if index["weight_map"].get(name) != f:
                    fail("index maps %s to %s, found in %s" % (name, index["weight_map"].get(name), f))
                total += len(raw)
            tensors.update(part)
        if index["metadata"]["total_size"] != total:
            fail("index total_size %d != %d" % (index["metadata"]["total_size"], total))
        if os.path.exists(os.path.join(folder, "model.safetensors")):
            fail("both model.safetensors and an index")
    else:
        tensors = read_safetensors(os.path.join(folder, "model.safetensors"), want_dtype)

    want = expected_tensors(cfg)
    if set(want) != set(tensors):
        fail("tensor names differ: missing %s, unexpected %s" % (
            sorted(set(want) - set(tensors)), sorted(set(tensors) - set(want))))
    params = 0
    for name, shape in want.items():
        if tensors[name][0] != shape:
            fail("%s has shape %s, spec says %s" % (name, tensors[name][0], shape))
        params += math.prod(shape)
        raw = tensors[name][1]
        # Values of big tensors: a prefix is enough to catch scaling mistakes.
        check_values(name, decode(raw[:1 << 16], want_dtype))
    print("verify_model: OK: %s: %d tensors, %d parameters, %s" % (
        folder, len(want), params, want_dtype))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--generator", help="run this generator first")
    ap.add_argument("--out", help="generator output folder")
    ap.add_argument("args", nargs="*", help="model folder, or generator options after --")
    a = ap.parse_args()
    if a.generator:
        if not a.out:
            ap.error("--generator needs --out")
        subprocess.run([a.generator, "-o", a.out] + a.args, check=True)
        verify(a.out)
    elif len(a.args) == 1:
        verify(a.args[0])
    else:
        ap.error("need one model folder, or --generator")


if __name__ == "__main__":
    main()
