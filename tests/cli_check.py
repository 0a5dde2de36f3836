#!/usr/bin/env python3
"""Black-box tests of mobilenet-classify and mobilenet-bench: JSON output,
the model summary, model selection and bad input; mobilenet-record's bad
input (beside them in the build's pipeline/ folder, when built).

Usage: cli_check.py BUILD_APP_DIR
Exit 0 = pass, 1 = fail, 77 = shared data missing (meson skip).
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
# $MOBILENET_SHARED, else the default meson passes (../shared beside the source tree).
SHARED = os.environ.get("MOBILENET_SHARED") or os.environ.get(
    "MOBILENET_SHARED_DEFAULT", os.path.join(HERE, "..", "..", "shared"))
MODELS = os.path.join(SHARED, "models")
PHOTOS = os.path.join(SHARED, "images", "photos")

passed = 0
failed = 0


def check(name, cond, detail=""):
    global passed, failed
    if cond:
        passed += 1
        print(f"ok   {name}")
    else:
        failed += 1
        print(f"FAIL {name} {detail}")


def run(*args, **kw):
    return subprocess.run(list(args), capture_output=True, text=True, timeout=300, **kw)


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    app = sys.argv[1]
    classify = os.path.join(app, "mobilenet-classify")
    bench = os.path.join(app, "mobilenet-bench")
    if not os.path.isdir(MODELS) or not os.path.isdir(PHOTOS):
        print(f"SKIP: shared data not found: {SHARED} (set MOBILENET_SHARED)")
        return 77
    tmp = tempfile.mkdtemp(prefix="mn-cli-")
    try:
        tests(classify, bench, tmp)
    finally:
        shutil.rmtree(tmp)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


def tests(classify, bench, tmp):
    hopper = os.path.join(PHOTOS, "grace_hopper.jpg")
    cat = os.path.join(PHOTOS, "cat.bmp")
    env = dict(os.environ, MOBILENET_MODELS=MODELS)

    # --- JSON per image, with the fields the README documents
    r = run(classify, "--alpha", "1.0", "--dtype", "u8", "--json", hopper, cat, env=env)
    lines = r.stdout.splitlines()
    check("json: exit 0", r.returncode == 0, r.stderr)
    check("json: one object per image", len(lines) == 2, r.stdout)
    objs = [json.loads(line) for line in lines]
    o = objs[0]
    check("json: fields", set(o) >= {"file", "model", "alpha", "resolution", "ms", "top"}, o)
    check("json: model picked by alpha/dtype", o["model"] == "mobilenet_v1_1.0_224_quant.tflite"
          and o["alpha"] == 1 and o["resolution"] == 224, o)
    check("json: top-5", len(o["top"]) == 5 and all(set(t) == {"class", "label", "score"}
                                                     for t in o["top"]), o["top"])
    # LiteRT's answer (216/256); TFLite's reference kernels give 221/256
    check("json: grace_hopper is a military uniform (class 652, 0.844, as LiteRT)",
          o["top"][0]["class"] == 652 and o["top"][0]["label"] == "military uniform"
          and abs(o["top"][0]["score"] - 0.84375) < 1e-6, o["top"][0])
    r = run(classify, "--alpha", "1.0", "--dtype", "u8", "--top", "1", "--json", hopper,
            env=dict(env, MOBILENET_ARITHMETIC="reference"))
    o1 = json.loads(r.stdout) if r.returncode == 0 else {}
    check("json: 0.863 in the reference arithmetic (MOBILENET_ARITHMETIC=reference)",
          o1.get("top") and abs(o1["top"][0]["score"] - 0.86328) < 1e-4, (r.stderr, o1))
    r = run(classify, "--alpha", "1.0", "--dtype", "u8", hopper,
            env=dict(env, MOBILENET_ARITHMETIC="fast"))
    check("MOBILENET_ARITHMETIC=fast refused", r.returncode == 2 and "MOBILENET_ARITHMETIC" in
          r.stderr, r.stderr)
    check("json: scores sorted", all(a["score"] >= b["score"] for a, b in zip(o["top"], o["top"][1:])))
    check("json: cat.bmp is an Egyptian cat", objs[1]["top"][0]["label"] == "Egyptian cat", objs[1])

    # --- --top K: exactly K in text and JSON, zero scores included, ties by class number
    parrot = os.path.join(PHOTOS, "parrot.jpg")  # uint8 v1 1.0: one class takes all 256/256
    args = ["--alpha", "1.0", "--dtype", "u8", "--top", "3"]
    rt = run(classify, *args, parrot, env=env)
    rj = run(classify, *args, "--json", parrot, env=env)
    lines = rt.stdout.splitlines()[1:]
    top = json.loads(rj.stdout)["top"] if rj.returncode == 0 else []
    check("--top 3 (uint8, zeros): text has 3 lines", rt.returncode == 0 and len(lines) == 3,
          rt.stdout)
    check("--top 3 (uint8, zeros): JSON has 3 entries", len(top) == 3, rj.stdout)
    check("--top 3: text and JSON list the same classes",
          [int(l.rsplit("(", 1)[1].rstrip(")")) for l in lines] == [t["class"] for t in top],
          (rt.stdout, top))
    check("--top 3: zero scores included, lowest class first",
          any(t["score"] == 0 for t in top)
          and all((a["score"], -a["class"]) > (b["score"], -b["class"])
                  for a, b in zip(top, top[1:])), top)

    # --- model choice: the file of that alpha trained nearest the requested resolution
    r = run(classify, "--alpha", "0.75", "--dtype", "u8", "--resolution", "200", "--json", hopper,
            env=env)
    o = json.loads(r.stdout.splitlines()[0]) if r.returncode == 0 else {}
    check("choice: 0.75 u8 near 200 -> 0.75_192, run at 200",
          o.get("model") == "mobilenet_v1_0.75_192_quant.tflite" and o.get("resolution") == 200, r)
    r = run(classify, "--alpha", "0.5", "--dtype", "f32", "--top", "3", "--json", hopper, env=env)
    o = json.loads(r.stdout) if r.returncode == 0 else {}
    check("choice: 0.5 f32 -> 0.5_160_dequant, --top 3",
          o.get("model") == "mobilenet_v1_0.5_160_dequant.tflite" and len(o.get("top", [])) == 3, r)
    r = run(classify, "--alpha", "0.3", hopper, env=env)
    check("choice: unknown alpha is a clear error", r.returncode == 2 and "alpha 0.3" in r.stderr
          and "alphas found" in r.stderr, r.stderr)

    # --- --info, used by scripts/fetch-models
    r = run(classify, "--model", os.path.join(MODELS, "mobilenet_v1_0.25_128_quant.tflite"), "--info")
    check("info line", r.stdout.strip() == "arch=v1 alpha=0.25 resolution=128 dtype=u8 "
          "classes=1001 outputs=probabilities", r.stdout)
    r = run(classify, "--model", os.path.join(MODELS, "mobilenet_v1_0.75_224.tflite"), "--info")
    check("info line (Keras float, 1000 classes)",
          r.stdout.strip() == "arch=v1 alpha=0.75 resolution=224 dtype=f32 classes=1000 "
          "outputs=probabilities", r.stdout)

    # --- --summary: the seed's figures for 1.0 at 224
    r = run(classify, "--alpha", "1.0", "--dtype", "u8", "--summary", "--json", env=env)
    s = json.loads(r.stdout) if r.returncode == 0 else {}
    check("summary: ~4.2 M parameters", 4.1e6 < s.get("params", 0) < 4.3e6, s.get("params"))
    check("summary: ~569 M MACs", 565e6 < s.get("macs", 0) < 572e6, s.get("macs"))
    check("summary: 28 conv layers + pool/reshape/softmax",
          len(s.get("layers", [])) == 31 and s["layers"][0]["type"] == "conv3x3/s2", s.get("layers"))
    r = run(classify, "--alpha", "1.0", "--dtype", "u8", "--summary", "--resolution", "128", env=env)
    check("summary text at 128", r.returncode == 0 and "total:" in r.stdout and "4x4x1024" in r.stdout,
          r.stdout[-300:])

    # --- bad input: one-line error naming the file and the cause, other files still done
    junk = os.path.join(tmp, "notes.jpg")
    with open(junk, "w") as f:
        f.write("this is not an image\n")
    trunc = os.path.join(tmp, "truncated.jpg")
    with open(hopper, "rb") as f:
        data = f.read()
    with open(trunc, "wb") as f:
        f.write(data[:600])
    empty = os.path.join(tmp, "empty.ppm")
    with open(empty, "wb") as f:
        f.write(b"P6\n0 0\n255\n")
    huge = os.path.join(tmp, "huge.ppm")
    with open(huge, "wb") as f:
        f.write(b"P6\n40000 40000\n255\n" + b"\0" * 1000)
    missing = os.path.join(tmp, "missing.jpg")
    bad = [junk, trunc, empty, huge, missing]
    r = run(classify, "--alpha", "0.25", "--dtype", "u8", "--json", junk, hopper, trunc, empty,
            huge, missing, cat, env=env)
    check("bad images: exit status 1", r.returncode == 1, r.returncode)
    errs = r.stderr.strip().splitlines()
    check("bad images: one line each", len(errs) == len(bad), errs)
    for path in bad:
        line = [e for e in errs if path in e]
        check(f"bad images: message names {os.path.basename(path)}", len(line) == 1, errs)
    good = [json.loads(line) for line in r.stdout.splitlines()]
    done = [g["file"] for g in good if "top" in g]
    check("bad images: the good files are still classified", done == [hopper, cat], done)
    check("bad images: json error objects", sum("error" in g for g in good) == len(bad), good)
    check("huge image refused by size", any("40000" in e for e in errs), errs)

    model = os.path.join(tmp, "broken.tflite")
    with open(os.path.join(MODELS, "mobilenet_v1_0.25_128_quant.tflite"), "rb") as f:
        blob = f.read()
    with open(model, "wb") as f:
        f.write(blob[: len(blob) // 3])
    r = run(classify, "--model", model, hopper)
    check("truncated model: exit 2, one line naming it", r.returncode == 2 and model in r.stderr
          and len(r.stderr.strip().splitlines()) == 1, r.stderr)
    r = run(classify, "--model", os.path.join(tmp, "nope.tflite"), hopper)
    check("missing model: exit 2, names it", r.returncode == 2 and "nope.tflite" in r.stderr, r.stderr)
    # --- v2 / v3 / int8: chosen by --arch, named in the JSON and --info
    r = run(classify, "--models", MODELS, "--arch", "v2", "--alpha", "0.75", "--dtype", "u8",
            "--resolution", "160", "--json", hopper)
    j = json.loads(r.stdout) if r.returncode == 0 else {}
    check("--arch v2: the v2 file of that alpha trained at that resolution",
          j.get("model") == "mobilenet_v2_0.75_160_quant.tflite" and j.get("arch") == "v2"
          and j.get("top"), (r.returncode, r.stderr, j))
    r = run(classify, "--models", MODELS, "--arch", "v2", "--dtype", "i8", "--json", hopper)
    j = json.loads(r.stdout) if r.returncode == 0 else {}
    check("--dtype i8: the int8 file", j.get("model") == "mobilenet_v2_1.0_224_int8_ptq.tflite"
          and j.get("dtype") == "i8", (r.returncode, r.stderr, j))
    r = run(classify, "--models", MODELS, "--arch", "v3-small", "--dtype", "u8", "--info", hopper)
    check("--arch v3-small --info", r.returncode == 0 and "arch=v3-small alpha=1 resolution=224 "
          "dtype=u8 classes=1001" in r.stdout, (r.returncode, r.stdout, r.stderr))
    r = run(classify, "--models", MODELS, "--arch", "v3-large", "--dtype", "u8", "--json", hopper)
    j = json.loads(r.stdout) if r.returncode == 0 else {}
    check("--arch v3-large takes the minimalistic file when it is the only one",
          j.get("arch") == "v3-large-minimalistic", (r.returncode, r.stderr, j))
    r = run(classify, "--models", MODELS, "--arch", "v2", "--dtype", "f32", "--alpha", "0.35", hopper)
    check("--arch v2 --alpha 0.35: not there, says which alphas are",
          r.returncode == 2 and "no v2 f32 model with alpha 0.35" in r.stderr and "alphas found: 1"
          in r.stderr, r.stderr)
    r = run(classify, "--arch", "v4", hopper)
    check("--arch v4 refused", r.returncode == 2 and "--arch" in r.stderr, r.stderr)
    r = run(classify, "--model", os.path.join(MODELS, "mobilenet_v3_small_1.0_224_uint8.tflite"),
            "--summary", "--json")
    j = json.loads(r.stdout) if r.returncode == 0 else {}
    check("v3-small --summary: arch, 2.5 M parameters, 56 M multiply-adds",
          j.get("arch") == "v3-small" and 2.4e6 < j.get("params", 0) < 2.6e6
          and 54e6 < j.get("macs", 0) < 58e6 and any(l["type"] == "hswish" for l in j["layers"]),
          (r.returncode, r.stderr, {k: v for k, v in j.items() if k != "layers"}))
    r = run(classify, "--model", os.path.join(MODELS, "mobilenet_v2_1.0_224_quant_hub.tflite"),
            "--json", hopper)
    j = json.loads(r.stdout) if r.returncode == 0 else {}
    check("logits file: probabilities all the same", r.returncode == 0
          and 0.2 < j["top"][0]["score"] <= 1.0, (r.returncode, r.stderr, j))
    for res in ("31", "513", "abc"):
        r = run(classify, "--alpha", "0.25", "--resolution", res, hopper, env=env)
        check(f"resolution {res} refused", r.returncode == 2 and "--resolution" in r.stderr, r.stderr)
    r = run(classify, "--models", os.path.join(tmp, "empty-dir"), hopper)
    check("missing models folder: says how to fetch", r.returncode == 2 and "fetch-models" in r.stderr,
          r.stderr)

    # --- a models folder with corrupt copies: the "no model" error names each and its cause
    corrupt_dir = os.path.join(tmp, "corrupt-models")
    os.makedirs(corrupt_dir)
    with open(os.path.join(MODELS, "mobilenet_v1_0.25_224.tflite"), "rb") as f:
        blob = f.read()
    with open(os.path.join(corrupt_dir, "mobilenet_v1_0.25_224.tflite"), "wb") as f:
        f.write(blob[:4096])  # truncated
    with open(os.path.join(corrupt_dir, "mobilenet_v1_1.0_224.tflite"), "wb") as f:
        f.write(b"<html>404 Not Found</html>" * 40)  # what a failed download leaves
    r = run(classify, "--models", corrupt_dir, hopper)
    err = r.stderr.strip()
    check("corrupt models: exit 2, one line", r.returncode == 2 and len(err.splitlines()) == 1,
          r.stderr)
    check("corrupt models: names the garbage file and why",
          "mobilenet_v1_1.0_224.tflite: not a TensorFlow Lite model" in err, err)
    check("corrupt models: names the truncated file and why",
          "mobilenet_v1_0.25_224.tflite: corrupt model file" in err, err)
    check("corrupt models: still says what was asked", "no v1 f32 model with alpha 1" in err, err)
    os.symlink(os.path.join(MODELS, "mobilenet_v1_0.25_128_quant.tflite"),
               os.path.join(corrupt_dir, "mobilenet_v1_0.25_128_quant.tflite"))
    r = run(classify, "--models", corrupt_dir, "--alpha", "0.25", "--dtype", "u8", hopper)
    check("corrupt models: a good file beside them still runs, quietly",
          r.returncode == 0 and r.stderr == "", r.stderr)

    record_checks(os.path.join(os.path.dirname(classify), "..", "pipeline", "mobilenet-record"),
                  corrupt_dir, tmp)

    # --- folders: every image inside, in name order
    r = run(classify, "--alpha", "0.25", "--dtype", "u8", "--json", PHOTOS, env=env)
    files = [json.loads(line)["file"] for line in r.stdout.splitlines()]
    check("folder: all 24 photos, sorted", r.returncode == 0 and len(files) == 24
          and files == sorted(files), (r.returncode, len(files)))

    # --- bench JSON
    r = run(bench, "--alpha", "0.25", "--dtype", "u8", "--resolution", "128", "--threads", "1",
            "--runs", "5", "--json", env=env)
    b = json.loads(r.stdout) if r.returncode == 0 else {}
    check("bench json fields", set(b) >= {"alpha", "resolution", "dtype", "threads", "median_ms",
                                          "min_ms", "max_ms", "fps"} and b["threads"] == 1
          and b["min_ms"] <= b["median_ms"] <= b["max_ms"], b)
    r = run(bench, "--alpha", "0.25", "--runs", "0", env=env)
    check("bench: --runs 0 refused", r.returncode == 2, r.stderr)

    # --- bench --sweep: every architecture of the folder, every width it has x 4 resolutions
    sweep_dir = os.path.join(tmp, "sweep-models")
    os.makedirs(sweep_dir)
    for name in ("mobilenet_v1_0.25_128_quant.tflite", "mobilenet_v3_small_1.0_224_uint8.tflite"):
        os.symlink(os.path.join(MODELS, name), os.path.join(sweep_dir, name))
    chart = os.path.join(tmp, "sweep.png")
    has_cairo = "this one has it" in run(bench, "--help").stdout
    args = ["--models", sweep_dir, "--sweep", "--dtype", "u8", "--threads", "1", "--runs", "2",
            "--json"] + (["--chart", chart] if has_cairo else [])
    r = run(bench, *args)
    s = json.loads(r.stdout) if r.returncode == 0 else {"points": []}
    pts = [(p["arch"], p["alpha"], p["resolution"]) for p in s["points"]]
    check("sweep: v1 and v3-small, 4 resolutions each",
          pts == [("v1", 0.25, r_) for r_ in (128, 160, 192, 224)]
          + [("v3-small", 1, r_) for r_ in (128, 160, 192, 224)], (r.returncode, pts, r.stderr))
    check("sweep: multiply-adds grow with resolution",
          all(a["macs"] < b["macs"] for a, b in zip(s["points"], s["points"][1:])
              if a["arch"] == b["arch"]), s["points"])
    if has_cairo:
        with open(chart, "rb") as f:
            check("sweep: chart is a PNG", f.read(8) == b"\x89PNG\r\n\x1a\n", chart)
    r = run(bench, "--models", sweep_dir, "--sweep", "--arch", "v1", "--dtype", "u8", "--runs", "2",
            "--json")
    check("sweep --arch v1: v1 only", r.returncode == 0
          and {p["arch"] for p in json.loads(r.stdout)["points"]} == {"v1"}, r.stderr)
    r = run(bench, "--models", sweep_dir, "--sweep", "--arch", "v2", "--dtype", "u8")
    check("sweep --arch v2 without v2 files: refused, says what is missing",
          r.returncode == 2 and "no v2 u8" in r.stderr, r.stderr)


def record_checks(record, corrupt_dir, tmp):
    """mobilenet-record from the build folder: its own plugin, one-line errors, no file left
    behind by a failure."""
    if not os.path.exists(record):
        print(f"skip mobilenet-record checks: {record} not built (GStreamer plugin disabled)")
        return
    # No GST_PLUGIN_PATH: the program finds the plugin built beside it. A registry of this
    # run, scanned in-process, so that a sanitizer build of the plugin loads too.
    env = {k: v for k, v in os.environ.items()
           if k not in ("GST_PLUGIN_PATH", "GST_PLUGIN_PATH_1_0")}
    env.update(GST_REGISTRY_1_0=os.path.join(tmp, "gst-registry.bin"), GST_REGISTRY_FORK="no",
               MOBILENET_MODELS=MODELS)

    notes = os.path.join(tmp, "notes.mp4")
    with open(notes, "w") as f:
        f.write("Shopping list\n" + "milk, bread, coffee\n" * 50)
    out = os.path.join(tmp, "notes-out.webm")
    r = run(record, "--quiet", notes, out, env=env)
    check("record: a text file is 'not a video file', one line, exit 1",
          r.returncode == 1 and r.stderr == f"mobilenet-record: {notes}: not a video file\n",
          (r.returncode, r.stderr))
    check("record: no output left after the not-a-video failure", not os.path.exists(out),
          os.listdir(tmp))

    clip = os.path.join(SHARED, "videos", "flower.webm")
    if not os.path.exists(clip):
        print(f"skip record: model failure on a clip: {clip} not found (set MOBILENET_SHARED)")
        return
    out = os.path.join(tmp, "no-model.webm")
    r = run(record, "--quiet", "--models", corrupt_dir, clip, out, env=env)
    check("record: model error from the build's plugin (no GST_PLUGIN_PATH), names the file",
          r.returncode == 1 and "no v1 f32 model with alpha 1" in r.stderr
          and "mobilenet_v1_1.0_224.tflite: not a TensorFlow Lite model" in r.stderr
          and len(r.stderr.strip().splitlines()) == 1, (r.returncode, r.stderr))
    check("record: output removed after a failure", not os.path.exists(out), os.listdir(tmp))


if __name__ == "__main__":
    sys.exit(main())
