#!/usr/bin/env python3
"""CUDA check, part 2 (runs on the GPU machine: Python with onnxruntime-gpu and numpy, no Node).

Replays every call that export.mjs recorded (manifest.json beside this file) with onnxruntime's
CUDAExecutionProvider and compares each output with the CPU output recorded by onnxruntime-node.
Each graph is first opened with CPU fallback disabled (every node on CUDA); when ORT refuses,
the reason is recorded and the graph runs with fallback allowed. Writes a JSON report naming the
device (nvidia-smi, onnxruntime's device and providers).

    python3 run_cuda.py [--cpu] [--atol 1e-3] [--rtol 1e-3] [--out cuda.json]

--cpu runs on CPUExecutionProvider instead (a check of this script where there is no GPU; it
writes cpu-check.json unless --out is given). Exit status 1 when an output differs or a graph
fails, 2 for a usage error.
"""

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys

import numpy as np
import onnxruntime as ort

HERE = os.path.dirname(os.path.abspath(__file__))


def nvidia_smi():
    """The GPUs nvidia-smi reports (name, driver, memory), or why there are none."""
    try:
        text = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"],
            capture_output=True, text=True, timeout=30, check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError) as error:
        return {"error": str(error).splitlines()[0] if str(error) else type(error).__name__}
    return [dict(zip(["name", "driver", "memory"], [p.strip() for p in line.split(",")])) for line in text.strip().splitlines()]


def open_session(path, provider):
    """An ORT session on `provider` (every node on it when possible) and what happened."""
    providers = [provider] if provider == "CPUExecutionProvider" else [provider, "CPUExecutionProvider"]
    strict = ort.SessionOptions()
    strict.log_severity_level = 3
    if provider != "CPUExecutionProvider":
        strict.add_session_config_entry("session.disable_cpu_ep_fallback", "1")
    try:
        return ort.InferenceSession(path, sess_options=strict, providers=providers), None
    except Exception as error:  # ORT raises its own exception types; the message is what matters
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    relaxed = ort.SessionOptions()
    relaxed.log_severity_level = 3
    return ort.InferenceSession(path, sess_options=relaxed, providers=providers), reason


def main():
    parser = argparse.ArgumentParser(description="Replays attend's recorded ONNX calls on CUDA and compares with the CPU outputs.")
    parser.add_argument("--cpu", action="store_true", help="run on CPUExecutionProvider (checks this script without a GPU)")
    parser.add_argument("--atol", type=float, default=1e-3)
    parser.add_argument("--rtol", type=float, default=1e-3)
    parser.add_argument("--out", help="report path (default cuda.json, or cpu-check.json with --cpu, beside this file)")
    args = parser.parse_args()

    provider = "CPUExecutionProvider" if args.cpu else "CUDAExecutionProvider"
    if provider not in ort.get_available_providers():
        print(f"run_cuda.py: onnxruntime {ort.__version__} has no {provider} (available: {', '.join(ort.get_available_providers())}); install onnxruntime-gpu", file=sys.stderr)
        return 2
    manifest_path = os.path.join(HERE, "manifest.json")
    if not os.path.isfile(manifest_path):
        print(f"run_cuda.py: {manifest_path} is missing; run export.mjs and copy its whole folder", file=sys.stderr)
        return 2
    with open(manifest_path, encoding="utf-8") as f:
        manifest = json.load(f)

    sessions = {}
    graphs = {}
    results = []
    ok = True
    for case in manifest["cases"]:
        for call in case["calls"]:
            graph = call["graph"]
            entry = {"case": case["name"], "graph": graph, "outputs": {}}
            try:
                if graph not in sessions:
                    sessions[graph], refused = open_session(os.path.join(HERE, graph), provider)
                    graphs[graph] = {"providers": sessions[graph].get_providers(), "allNodesOnDevice": refused is None, **({"strictRefused": refused} if refused else {})}
                session = sessions[graph]
                feeds = {i["name"]: np.load(os.path.join(HERE, i["file"])) for i in call["inputs"]}
                names = [o["name"] for o in call["outputs"]]
                got = dict(zip(names, session.run(names, feeds)))
            except Exception as error:
                entry["error"] = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
                ok = False
                results.append(entry)
                continue
            for o in call["outputs"]:
                expected = np.load(os.path.join(HERE, o["file"]))
                actual = got[o["name"]]
                if actual.shape != expected.shape:
                    entry["outputs"][o["name"]] = {"error": f"shape {list(actual.shape)}, expected {list(expected.shape)}"}
                    ok = False
                    continue
                if expected.dtype == np.bool_ or np.issubdtype(expected.dtype, np.integer):
                    same = bool(np.array_equal(actual, expected))
                    entry["outputs"][o["name"]] = {"equal": same}
                    ok = ok and same
                    continue
                diff = np.abs(actual.astype(np.float64) - expected.astype(np.float64))
                close = bool(np.all(np.isfinite(actual)) and np.all(diff <= args.atol + args.rtol * np.abs(expected)))
                entry["outputs"][o["name"]] = {"maxAbsDiff": float(diff.max()) if diff.size else 0.0, "close": close}
                ok = ok and close
            results.append(entry)

    report = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "provider": provider,
        "device": {
            "nvidiaSmi": nvidia_smi(),
            "onnxruntime": ort.__version__,
            "onnxruntimeDevice": ort.get_device(),
            "availableProviders": ort.get_available_providers(),
            "host": platform.node(),
            "python": platform.python_version(),
        },
        "tolerance": {"atol": args.atol, "rtol": args.rtol},
        "expectedFrom": manifest.get("onnxruntimeNode"),
        "pass": ok,
        "graphs": graphs,
        "calls": results,
    }
    out = args.out or os.path.join(HERE, "cpu-check.json" if args.cpu else "cuda.json")
    with open(out, "w", encoding="utf-8") as f:
        json.dump(report, f, indent=1)
        f.write("\n")
    worst = max((v.get("maxAbsDiff", 0.0) for r in results for v in r["outputs"].values()), default=0.0)
    print(f"{provider}: {len(results)} calls over {len(graphs)} graphs, {'all close' if ok else 'MISMATCH OR FAILURE'} (largest |diff| {worst:.2e}); wrote {out}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
