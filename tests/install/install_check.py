#!/usr/bin/env python3
"""install_check.py: `meson install` as a user or a packager runs it.

Installs the build into a temporary DESTDIR and checks, from that tree only:
  - the file list: programs, library, pkg-config file, headers, and the
    plugin in <prefix>/<libdir>/gstreamer-1.0 (or the folder the
    gst_plugins_dir option names);
  - that the installed programs find libmobilenet by their RUNPATH
    ($ORIGIN-relative, so the moved tree runs) unless the prefix is /usr;
  - that a program built with `pkg-config --cflags --libs mobilenet`
    against the installed tree compiles, links and runs;
  - that gst-inspect-1.0 loads the installed plugin and lists both elements;
  - with shared models: the installed mobilenet-classify classifies a photo,
    the installed mobilenet-record labels a clip with the plugin installed
    beside it (no GST_PLUGIN_PATH), and the consumer program classifies.

Usage: install_check.py MESON BUILD_DIR
Exit status 0 pass, 1 fail (77, skip, is never used: nothing here needs data).
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)
    return cond


def run(cmd, env=None, **kw):
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, **kw)


def build_options(meson, build):
    out = run([meson, "introspect", "--buildoptions", build])
    if out.returncode != 0:
        sys.exit("install_check: meson introspect failed: " + out.stderr.strip())
    return {o["name"]: o["value"] for o in json.loads(out.stdout)}


def runpath(path):
    out = run(["readelf", "-d", path])
    for line in out.stdout.splitlines():
        if "(RUNPATH)" in line or "(RPATH)" in line:
            return line.split("[", 1)[1].rstrip("]")
    return None


def shared_dir():
    return os.environ.get("MOBILENET_SHARED") or os.environ.get("MOBILENET_SHARED_DEFAULT", "")


def main():
    meson, build = sys.argv[1], os.path.abspath(sys.argv[2])
    opts = build_options(meson, build)
    prefix, libdir, bindir = opts["prefix"], opts["libdir"], opts["bindir"]
    plugins_opt = opts.get("gst_plugins_dir", "")
    with open(os.path.join(build, "meson-info", "intro-targets.json")) as f:
        targets = {t["name"] for t in json.load(f)}
    has_plugin = "gstmobilenet" in targets
    has_viewer = "mobilenet-viewer" in targets

    tmp = tempfile.mkdtemp(prefix="mn-install-")
    try:
        dest = os.path.join(tmp, "dest")
        out = run([meson, "install", "-C", build, "--no-rebuild", "--quiet", "--destdir", dest])
        if not check(out.returncode == 0, "meson install --destdir"):
            print(out.stdout + out.stderr)
            return 1
        root = dest + prefix
        lib = os.path.join(root, libdir) if not libdir.startswith("/") else dest + libdir
        bin_ = os.path.join(root, bindir) if not bindir.startswith("/") else dest + bindir
        if plugins_opt == "":
            plugdir = os.path.join(lib, "gstreamer-1.0")
        elif plugins_opt == "system":
            plugdir = dest + run(["pkg-config", "--variable=pluginsdir",
                                  "gstreamer-1.0"]).stdout.strip()
        else:
            plugdir = dest + plugins_opt

        # -- file list
        programs = ["mobilenet-classify", "mobilenet-bench", "mobilenet-fetch-models"]
        if has_plugin:
            programs.append("mobilenet-record")
        if has_viewer:
            programs.append("mobilenet-viewer")
        for p in programs:
            check(os.access(os.path.join(bin_, p), os.X_OK), f"installed {bindir}/{p}")
        datadir = opts["datadir"]
        check(os.path.exists(os.path.join(root, datadir, "mobilenet-live", "models.tsv")),
              f"installed {datadir}/mobilenet-live/models.tsv")
        check(os.path.exists(os.path.join(lib, "libmobilenet.so.0")), f"installed {libdir}/libmobilenet.so.0")
        check(os.path.exists(os.path.join(lib, "pkgconfig", "mobilenet.pc")), "installed mobilenet.pc")
        check(os.path.exists(os.path.join(root, "include", "mobilenet", "mobilenet.h")),
              "installed include/mobilenet/mobilenet.h")
        if has_plugin:
            check(os.path.exists(os.path.join(plugdir, "libgstmobilenet.so")),
                  f"plugin installed in {plugdir[len(dest):]}")
        installed = set()
        for d, _, files in os.walk(dest):
            installed.update(os.path.join(d, f)[len(dest):] for f in files)
        if plugins_opt == "":
            outside = sorted(f for f in installed if not f.startswith(prefix + "/"))
            check(not outside, "nothing installed outside the prefix " + prefix
                  + ("" if not outside else ": " + ", ".join(outside)))

        # -- programs find the library by themselves (no LD_LIBRARY_PATH)
        env = dict(os.environ)
        env.pop("LD_LIBRARY_PATH", None)
        if prefix == "/usr":
            # Debian forbids a RUNPATH into the system library folder
            check(runpath(os.path.join(bin_, "mobilenet-classify")) is None,
                  "no RUNPATH under prefix /usr")
            env["LD_LIBRARY_PATH"] = lib
        else:
            rp = runpath(os.path.join(bin_, "mobilenet-classify")) or ""
            check(rp.startswith("$ORIGIN") or rp == os.path.join(prefix, libdir),
                  f"mobilenet-classify RUNPATH {rp!r}")
        # the library the programs load is the installed one, not a copy
        # installed on the system (e.g. from the Debian packages)
        elves = [os.path.join(bin_, "mobilenet-classify")]
        if has_plugin:
            elves.append(os.path.join(plugdir, "libgstmobilenet.so"))
        for elf in elves:
            out = run(["ldd", elf], env=env)
            resolved = [l.split("=>")[1].split("(")[0].strip() for l in out.stdout.splitlines()
                        if "libmobilenet.so" in l and "=>" in l]
            check(len(resolved) == 1 and resolved[0].startswith(dest),
                  f"{os.path.basename(elf)} loads libmobilenet from the installed tree: {resolved}")
        for p in programs:
            if p == "mobilenet-fetch-models":
                continue
            out = run([os.path.join(bin_, p), "--version"], env=env)
            check(out.returncode == 0 and re.fullmatch(
                rf"{p} \d+\.\d+\.\d+ \(libmobilenet \d+\.\d+\.\d+\)\n", out.stdout),
                f"installed {p} --version: {out.stdout.strip()!r}")
        for p in programs:
            out = run([os.path.join(bin_, p), "--help"], env=env)
            check(out.returncode == 0 and "Usage" in out.stdout + out.stderr,
                  f"installed {p} --help runs" + ("" if out.returncode == 0 else
                                                  ": " + out.stderr.strip()[:200]))

        # -- a program built against the installed tree with pkg-config
        pcenv = dict(env)
        pcenv["PKG_CONFIG_PATH"] = os.path.join(lib, "pkgconfig")
        pcenv["PKG_CONFIG_SYSROOT_DIR"] = dest
        flags = run(["pkg-config", "--cflags", "--libs", "mobilenet"], env=pcenv)
        check(flags.returncode == 0, "pkg-config --cflags --libs mobilenet: "
              + (flags.stdout.strip() or flags.stderr.strip()))
        consumer = os.path.join(tmp, "consumer")
        cc = os.environ.get("CC", "cc")
        out = run([cc, "-std=c11", "-Wall", "-Werror", os.path.join(HERE, "consumer.c"), "-o",
                   consumer] + flags.stdout.split(), env=pcenv)
        if check(out.returncode == 0, "consumer.c compiles and links against the installed library"
                 + ("" if out.returncode == 0 else ": " + out.stderr.strip()[:400])):
            cenv = dict(env)
            cenv["LD_LIBRARY_PATH"] = lib
            out = run([consumer], env=cenv)
            check(out.returncode == 0 and "dtypes: f32 u8 i8" in out.stdout,
                  "consumer runs with the installed library")

        # -- the installed plugin
        if has_plugin and shutil.which("gst-inspect-1.0"):
            genv = dict(env)
            genv["GST_PLUGIN_PATH"] = plugdir
            genv["GST_REGISTRY"] = os.path.join(tmp, "registry.bin")
            genv.pop("GST_PLUGIN_PATH_1_0", None)
            genv.pop("GST_REGISTRY_1_0", None)
            # only the installed tree: a system-wide copy must not answer for it
            genv["GST_PLUGIN_SYSTEM_PATH_1_0"] = ""
            out = run(["gst-inspect-1.0", "mobilenet"], env=genv)
            filename = re.search(r"Filename\s+(\S+)", out.stdout)
            check(out.returncode == 0 and "mobilenetclassify" in out.stdout
                  and "mobilenetoverlay" in out.stdout
                  and filename is not None and filename.group(1).startswith(dest),
                  "gst-inspect-1.0 loads the installed plugin (GST_PLUGIN_PATH="
                  + plugdir[len(dest):] + ")" + ("" if out.returncode == 0 else
                                                ": " + out.stderr.strip()[:300]))
            if prefix != "/usr" and plugins_opt == "":
                rp = runpath(os.path.join(plugdir, "libgstmobilenet.so")) or ""
                check(rp == "$ORIGIN/..", f"plugin RUNPATH {rp!r} finds libmobilenet beside it")

        # -- with models: classify with the installed programs
        shared = shared_dir()
        model = os.path.join(shared, "models", "mobilenet_v1_0.25_224_quant.tflite")
        photo = os.path.join(shared, "images", "photos", "balloon.jpg")
        if os.path.exists(model) and os.path.exists(photo):
            out = run([os.path.join(bin_, "mobilenet-classify"), "--model", model, "--top", "1",
                       "--json", photo], env=env)
            try:
                label = json.loads(out.stdout)["top"][0]["label"]
            except (ValueError, KeyError, IndexError):
                label = None
            check(out.returncode == 0 and label == "balloon",
                  f"installed mobilenet-classify classifies balloon.jpg: {label!r}")
            # the installed fetcher: its manifest and the installed classifier
            models = os.path.join(tmp, "models")
            out = run([os.path.join(bin_, "mobilenet-fetch-models"), "--from",
                       os.path.join(shared, "models"), "--dest", models], env=env)
            check(out.returncode == 0 and os.path.exists(os.path.join(models, "models.tsv"))
                  and "check skipped" not in out.stderr
                  and any(f.endswith(".tflite") for f in os.listdir(models)),
                  "installed mobilenet-fetch-models copies and checks the models"
                  + ("" if out.returncode == 0 else ": " + out.stderr.strip()[-300:]))
            clip = os.path.join(shared, "videos", "flower.webm")
            if has_plugin and plugins_opt == "" and prefix != "/usr" and os.path.exists(clip):
                # no GST_PLUGIN_PATH: the program adds the plugin installed with it
                renv = {k: v for k, v in env.items() if not k.startswith("GST_PLUGIN_PATH")}
                renv["GST_REGISTRY_1_0"] = os.path.join(tmp, "registry-record.bin")
                video = os.path.join(tmp, "out.webm")
                out = run([os.path.join(bin_, "mobilenet-record"), clip, video, "--model", model,
                           "--quiet"], env=renv)
                check(out.returncode == 0 and os.path.getsize(video) > 0,
                      "installed mobilenet-record finds the installed plugin by itself"
                      + ("" if out.returncode == 0 else ": " + out.stderr.strip()[:300]))
            if os.path.exists(consumer):
                out = run([consumer, model], env=cenv)
                check(out.returncode == 0 and "top-1: class" in out.stdout,
                      "consumer classifies with the installed library")
        else:
            print(f"skip classification with the installed programs: no {model} "
                  "(set MOBILENET_SHARED)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print(f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
