#!/usr/bin/env python3
"""scripts/fetch-models on a first run without a network and without shared models: one
paragraph naming the three ways to get the models (--from DIR, MOBILENET_MODELS_FROM, a
download with a network) and the download's own error, a non-zero exit, and no line per file.

Usage: fetch_models_check.py SOURCE_ROOT
Exit 0 = pass, 1 = fail, 77 = neither curl nor wget (meson skip).
"""
import os
import shutil
import subprocess
import sys
import tempfile

UNREACHABLE = "http://127.0.0.1:9"  # the discard port: nothing listens, the connection is refused


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    script = os.path.join(sys.argv[1], "scripts", "fetch-models")
    if not shutil.which("curl") and not shutil.which("wget"):
        print("SKIP: neither curl nor wget is installed")
        return 77
    failed = 0
    tmp = tempfile.mkdtemp(prefix="mn-fetch-")
    try:
        for name, extra in (("first run", []), ("--download", ["--download"])):
            dest = os.path.join(tmp, name.strip("-").replace(" ", "-"))
            env = {k: v for k, v in os.environ.items()
                   if k not in ("MOBILENET_MODELS_FROM", "MOBILENET_MODELS")}
            # no shared folder, every download to a closed port (as without a network)
            env.update(MOBILENET_SHARED="/nonexistent", MOBILENET_MODELS_URL_BASE=UNREACHABLE)
            r = subprocess.run([script, "--dest", dest] + extra, env=env, capture_output=True,
                               text=True, timeout=120, stdin=subprocess.DEVNULL)
            err = r.stderr
            checks = [
                ("exit status non-zero", r.returncode != 0),
                ("names --from DIR", "scripts/fetch-models --from DIR" in err),
                ("names MOBILENET_MODELS_FROM", "MOBILENET_MODELS_FROM=DIR" in err),
                ("names the failed download and why", UNREACHABLE + "/" in err
                 and ("Failed to connect" in err or "refused" in err.lower())),
                ("says it once, not a line per file", err.count(": error: ") == 0
                 and err.count(UNREACHABLE + "/") == 1),
                ("no model left behind", not any(f.endswith(".tflite")
                                                 for f in os.listdir(dest))),
            ]
            for what, ok in checks:
                print(f"{'ok  ' if ok else 'FAIL'} {name}: {what}")
                failed += not ok
            if any(not ok for _, ok in checks):
                print(f"  exit {r.returncode}\n  stdout: {r.stdout}\n  stderr: {err}")
    finally:
        shutil.rmtree(tmp)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
