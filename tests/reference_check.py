#!/usr/bin/env python3
"""Agreement with the reference runtimes, and accuracy on the ImageNet sample.

Default: for every MobileNet v1 model in $MOBILENET_SHARED/models that has a
file in $MOBILENET_SHARED/reference (an independent numpy reference with
TFLite's reference-kernel arithmetic), runs mobilenet-classify --json over
every image the reference covers and checks:
  * top-1 class identical to the reference on >= 99 % of images;
  * scores within 0.01 (float) or one output quantum 1/256 (8-bit) of the
    reference for every reference top-5 class, on >= 99 % of images;
  * top-1 / top-5 accuracy on images/imagenet-sample within 1 point.

--litert: the same for every model in $MOBILENET_SHARED/models (v1, v2, v3,
uint8 and int8) against reference/litert/ (Google's TFLite runtime, XNNPACK
kernels), with that reference's criteria: top-1 identical (a class tied with
the best score counts as the same) on >= 99.8 % of images for float models,
scores within 1e-4, and on >= 99 % for 8-bit ones; accuracy within 0.5 points.
The table also gives the share of images whose five reference scores we
reproduce exactly ("exact").

Prints one table (the README's accuracy tables come from it).

Usage: reference_check.py CLASSIFY_BINARY [--litert] [--models NAME,...] [--markdown]
Exit status 0 = pass, 1 = fail, 77 = shared data missing (meson skip).
"""
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
# $MOBILENET_SHARED, else the default meson passes (../shared beside the source tree).
SHARED = os.environ.get("MOBILENET_SHARED") or os.environ.get(
    "MOBILENET_SHARED_DEFAULT", os.path.join(HERE, "..", "..", "shared"))


def main():
    args = sys.argv[1:]
    if not args:
        print(__doc__)
        return 2
    classify = args[0]
    only = None
    markdown = "--markdown" in args
    litert = "--litert" in args
    if "--models" in args:
        only = set(args[args.index("--models") + 1].split(","))
    ref_dir = os.path.join(SHARED, "reference", "litert") if litert else os.path.join(SHARED, "reference")
    models_dir = os.path.join(SHARED, "models")
    if not os.path.isdir(ref_dir) or not os.path.isdir(models_dir):
        print(f"SKIP: shared data not found: {SHARED} (set MOBILENET_SHARED to the folder "
              "holding models/, images/ and reference/)")
        return 77
    shared_root = os.path.dirname(os.path.abspath(SHARED))
    failures = []
    rows = []
    for ref_name in sorted(os.listdir(ref_dir)):
        if not ref_name.endswith(".json"):
            continue
        model = ref_name[:-5] + ".tflite"
        if not litert and not model.startswith("mobilenet_v1_"):
            continue  # the numpy reference's v2 / v3 hard-swish is not TFLite's
        if only and ref_name[:-5] not in only:
            continue
        model_path = os.path.join(models_dir, model)
        if not os.path.exists(model_path):
            failures.append(f"{model}: missing from {models_dir}")
            continue
        with open(os.path.join(ref_dir, ref_name)) as f:
            ref = json.load(f)
        results = ref["results"]
        # Keys are "shared/<path>"; map them to files under $MOBILENET_SHARED.
        files = {os.path.join(SHARED, k.split("/", 1)[1]): k for k in results}
        q8 = ref.get("input", {}).get("type", "UINT8" if "_quant" in model else "") in ("UINT8", "INT8")
        logits = ref.get("output_kind") == "logits"
        if litert:
            tol = 1e-4 if not q8 else (0.02 if logits else 1.0 / 256 + 1e-6)
        else:
            tol = 1.0 / 256 + 1e-6 if q8 else 0.01
        proc = subprocess.run([classify, "--model", model_path, "--top", "10", "--threads", "2",
                               "--json"] + sorted(files), capture_output=True, text=True)
        ours = {}
        for line in proc.stdout.splitlines():
            obj = json.loads(line)
            ours[obj["file"]] = obj
        missing = [f for f in files if f not in ours or "error" in ours[f]]
        if missing or proc.returncode != 0:
            failures.append(f"{model}: {len(missing)} images not classified "
                            f"(exit {proc.returncode}): {proc.stderr.strip()[:300]}")
            continue
        n = top1_same = scores_ok = exact = 0
        worst = 0.0
        correct1 = correct5 = n_acc = 0
        gt = load_ground_truth()
        for path, key in files.items():
            mine = ours[path]["top"]
            theirs = [r for r in results[key] if r[1] >= 0]  # drop background
            n += 1
            my_scores = {t["class"]: t["score"] for t in mine}
            if mine and theirs:
                # ties: a class scored like the best counts as the same top-1
                ref_best = {r[1] for r in theirs if r[2] == theirs[0][2]}
                my_best = {t["class"] for t in mine if t["score"] == mine[0]["score"]}
                top1_same += bool(ref_best & my_best)
                exact += all(abs(my_scores.get(cls, -1.0) - score) <= 1e-6 * max(1.0, score)
                             for _, cls, score, _q in theirs)
            ok = True
            for _, cls, score, _q in theirs:
                d = abs(my_scores.get(cls, 0.0) - score)
                if cls not in my_scores and score <= tol:
                    d = 0.0  # below our top-10 cut-off and below tolerance anyway
                worst = max(worst, d)
                ok &= d <= tol
            scores_ok += ok
            name = os.path.basename(path)
            if "imagenet-sample" in path and name in gt:
                n_acc += 1
                classes = [t["class"] for t in mine[:5]]
                correct1 += classes[:1] == [gt[name]]
                correct5 += gt[name] in classes
        acc = ref["accuracy"]["shared/images/imagenet-sample"]
        top1 = 100.0 * correct1 / n_acc
        top5 = 100.0 * correct5 / n_acc
        row = dict(model=model[:-7], images=n, top1_same=100.0 * top1_same / n, q8=q8,
                   exact=100.0 * exact / n,
                   scores_ok=100.0 * scores_ok / n, worst=worst, top1=top1, top5=top5,
                   ref_top1=acc["top1"], ref_top5=acc["top5"])
        rows.append(row)
        need_top1 = 99.8 if litert and not q8 else 99.0
        need_acc = 0.5 if litert else 1.0
        if row["top1_same"] < need_top1:
            failures.append(f"{model}: top-1 agrees on {row['top1_same']:.1f} % of images "
                            f"(< {need_top1} %)")
        if row["scores_ok"] < (99.8 if litert and not q8 else 99.0) and not (litert and q8):
            failures.append(f"{model}: scores within {tol:.4f} on {row['scores_ok']:.1f} % (< 99 %)")
        if abs(top1 - acc["top1"]) > need_acc or abs(top5 - acc["top5"]) > need_acc:
            failures.append(f"{model}: accuracy {top1:.1f}/{top5:.1f}, reference "
                            f"{acc['top1']}/{acc['top5']} (more than {need_acc} point apart)")

    if markdown:
        print("| model | top-1 % | top-5 % | reference top-1 / top-5 | top-1 same as reference | "
              "scores within tolerance |")
        print("|---|---|---|---|---|---|")
        for r in rows:
            print(f"| {r['model']} | {r['top1']:.1f} | {r['top5']:.1f} | {r['ref_top1']} / "
                  f"{r['ref_top5']} | {r['top1_same']:.1f} % | {r['scores_ok']:.1f} % |")
    else:
        print(f"{'model':44} {'imgs':>5} {'top1=':>7} {'scores':>7} {'exact':>7} {'worst':>7} "
              f"{'top1':>6} {'ref':>6} {'top5':>6} {'ref':>6}")
        for r in rows:
            print(f"{r['model']:44} {r['images']:5d} {r['top1_same']:6.1f}% {r['scores_ok']:6.1f}% "
                  f"{r['exact']:6.1f}% {r['worst']:7.4f} {r['top1']:6.1f} {r['ref_top1']:6.1f} "
                  f"{r['top5']:6.1f} {r['ref_top5']:6.1f}")
    for f in failures:
        print("FAIL:", f)
    if not rows and not failures:
        print("FAIL: no model was checked")
        return 1
    print(f"{len(rows)} passed, {len(failures)} failed" if not failures else
          f"{len(rows) - len(failures)} passed, {len(failures)} failed")
    return 1 if failures else 0


_gt = None


def load_ground_truth():
    global _gt
    if _gt is None:
        import csv
        _gt = {}
        with open(os.path.join(SHARED, "images", "imagenet-sample", "ground_truth.csv")) as f:
            for row in csv.DictReader(f):
                _gt[row["filename"]] = int(row["class_index_0_999"])
    return _gt


if __name__ == "__main__":
    sys.exit(main())
