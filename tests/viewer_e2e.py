#!/usr/bin/env python3
"""End-to-end tests of mobilenet-viewer under Xvfb, driven with real key presses.

    viewer_e2e.py VIEWER main        # play a shared clip, switch alpha and rho, record, screenshot
    viewer_e2e.py VIEWER bad-input   # no display, not a video, no camera, unwritable recording folder,
                                     # a recording that fails (file size limit)

`main` starts an Xvfb server, runs the viewer on $MOBILENET_SHARED/videos/friday.mp4
(640x480, 30 fps; --loop; --threads 1) with --status-file, and presses keys with xdotool (XTEST
events to the focused window, as a keyboard would):

  2, Left, Left   alpha 1.0 -> 0.5, rho 224 -> 192 -> 160; waits until the frames on
                  screen carry results of the new model (status live_alpha /
                  live_resolution), and checks the video went on meanwhile (no 3 s
                  without a new frames_displayed in the half-second status lines);
  r ... r         records about 3 s; the WebM must decode (matroskademux ! vp8dec)
                  to exactly the number of frames the viewer encoded (>= 30),
                  640x480;
  s               saves a screenshot; it must be the window's size, show the video
                  (many colours in the video rectangle) and the panel's text (bright
                  pixels spread over many rows of the panel rectangle);
  v, 2, v         the next architectures in the models folder: v2 (alpha 1.0, the
                  only one it has in float32), then 2 (alpha 0.5: v2 has it in
                  uint8 only, so the viewer takes that), then v3-small (alpha 1.0);
                  waits until the frames on screen carry their results (status
                  live_arch, live_alpha, live_dtype);
  q               quits with status 0.

Exit 77 (skip) when the shared clip or models, Xvfb, xdotool or gst-launch-1.0 are
missing. The screenshot PNG is read with zlib only (no PIL).
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zlib

SKIP = 77


def log(*a):
    print(*a, flush=True)


def skip(msg):
    log("SKIP:", msg)
    sys.exit(SKIP)


def fail(msg):
    log("FAIL:", msg)
    sys.exit(1)


# ---- PNG reading (8-bit RGB / RGBA, non-interlaced: what the viewer writes) --------

def read_png(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        fail(f"{path} is not a PNG file")
    pos, idat, w = 8, [], None
    while pos < len(data):
        n = int.from_bytes(data[pos:pos + 4], "big")
        kind = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + n]
        pos += 12 + n
        if kind == b"IHDR":
            w, h = int.from_bytes(body[0:4], "big"), int.from_bytes(body[4:8], "big")
            depth, ctype, interlace = body[8], body[9], body[12]
            if depth != 8 or ctype not in (2, 6) or interlace:
                fail(f"{path}: unexpected PNG format depth={depth} type={ctype}")
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
    raw = zlib.decompress(b"".join(idat))
    stride = w * bpp
    out = bytearray(h * stride)
    prev = bytearray(stride)
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        if f == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 255
        elif f == 2:
            for i in range(stride):
                line[i] = (line[i] + prev[i]) & 255
        elif f == 3:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 255
        elif f == 4:
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b = prev[i]
                c = prev[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pred) & 255
        out[y * stride:(y + 1) * stride] = line
        prev = line
    return w, h, bpp, out


# ---- Xvfb, viewer, status ----------------------------------------------------------

class Session:
    def __init__(self, viewer, tmp):
        self.viewer, self.tmp = viewer, tmp
        self.xvfb = self.proc = None
        self.display = None
        self.status_path = os.path.join(tmp, "status.jsonl")
        self.err_path = os.path.join(tmp, "viewer.log")

    def start_x(self):
        r, w = os.pipe()
        self.xvfb = subprocess.Popen(
            ["Xvfb", "-displayfd", str(w), "-screen", "0", "1280x800x24", "-nolisten", "tcp",
             "-noreset"], pass_fds=(w,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(w)
        num = b""
        deadline = time.time() + 20
        while not num.endswith(b"\n") and time.time() < deadline:
            chunk = os.read(r, 16)
            if not chunk:
                break
            num += chunk
        os.close(r)
        if not num.strip():
            fail("Xvfb did not start")
        self.display = ":" + num.decode().strip()
        log("Xvfb on", self.display)

    def env(self):
        env = dict(os.environ)
        env["DISPLAY"] = self.display
        env.pop("WAYLAND_DISPLAY", None)
        env["SDL_VIDEODRIVER"] = "x11"
        # libvpx allocates per frame: with malloc perturbation it encodes 7x slower
        env.pop("MALLOC_PERTURB_", None)
        return env

    def start_viewer(self, args, preexec_fn=None):
        log("run:", self.viewer, " ".join(args))
        self.t0 = time.time()
        self.proc = subprocess.Popen([self.viewer, "--status-file", self.status_path] + args,
                                     env=self.env(), stdout=open(self.err_path, "w"),
                                     stderr=subprocess.STDOUT, preexec_fn=preexec_fn)

    def lines(self):
        try:
            with open(self.status_path) as f:
                out = []
                for line in f:
                    if line.endswith("\n"):
                        out.append(json.loads(line))
                        out[-1]["_n"] = len(out) - 1
                return out
        except FileNotFoundError:
            return []

    def last(self):
        lines = self.lines()
        return lines[-1] if lines else {}

    def wait(self, what, cond, timeout):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                fail(f"the viewer exited ({self.proc.returncode}) while waiting for {what}:\n"
                     + open(self.err_path).read())
            for st in reversed(self.lines()):
                if cond(st):
                    return st
            time.sleep(0.1)
        fail(f"timed out after {timeout} s waiting for {what}; last status: {self.last()}\n"
             + open(self.err_path).read())

    def wait_after(self, n, what, cond, timeout):
        """wait() on the status lines after the first n only."""
        return self.wait(what, lambda st: st.get("_n", 0) >= n and cond(st), timeout)

    def xdotool(self, *args, timeout=20):
        r = subprocess.run(["xdotool"] + list(args), env=self.env(), capture_output=True,
                           text=True, timeout=timeout)
        if r.returncode != 0:
            fail(f"xdotool {' '.join(args)}: {r.stderr.strip()}")
        return r.stdout

    def focus(self):
        wid = self.xdotool("search", "--sync", "--onlyvisible", "--name", "mobilenet-viewer")
        wid = wid.split()[0]
        self.xdotool("windowfocus", "--sync", wid)
        return wid

    def key(self, name):
        log(f"  key {name}  (t={time.time() - self.t0:.1f} s)")
        self.xdotool("key", name)

    def finish(self, timeout=30):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            fail("the viewer did not quit")

    def close(self):
        for p in (self.proc, self.xvfb):
            if p and p.poll() is None:
                p.kill()
                p.wait()


def decode_frames(path):
    """Frames and caps of a WebM recording, by decoding it to a fakesink."""
    r = subprocess.run(["gst-launch-1.0", "-v", "filesrc", f"location={path}", "!",
                        "matroskademux", "!", "vp8dec", "!", "fakesink", "silent=false"],
                       capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        fail(f"{path} does not decode:\n{r.stdout[-2000:]}{r.stderr[-2000:]}")
    frames = sum(1 for line in r.stdout.splitlines() if "last-message = chain" in line)
    caps = [line for line in r.stdout.splitlines() if "fakesink0.GstPad:sink: caps" in line]
    return frames, (caps[0] if caps else "")


# ---- tests ---------------------------------------------------------------------------

def test_main(s, shared):
    clip = os.path.join(shared, "videos", "friday.mp4")
    rec_dir = os.path.join(s.tmp, "rec")
    shot_dir = os.path.join(s.tmp, "shots")
    os.mkdir(rec_dir)
    os.mkdir(shot_dir)
    s.start_viewer(["--file", clip, "--loop", "--models", os.path.join(shared, "models"),
                    "--alpha", "1.0", "--resolution", "224", "--dtype", "f32", "--threads", "1",
                    "--record-dir", rec_dir, "--screenshot-dir", shot_dir, "--size", "1024x576"])
    st = s.wait("the first classified frames",
                lambda st: st.get("frames_displayed", 0) >= 15 and st.get("live_alpha") == 1.0,
                60)
    log(f"playing: {st['frames_displayed']} frames shown, top-1 {st['top'][0]['label']!r}")
    s.focus()

    # alpha and rho, while the video plays
    t_switch = time.time() - s.t0
    s.key("2")
    s.key("Left")
    s.key("Left")
    st = s.wait("alpha 0.5, rho 160 on screen",
                lambda st: st.get("live_alpha") == 0.5 and st.get("live_resolution") == 160, 30)
    if st["alpha"] != 0.5 or st["resolution"] != 160:
        fail(f"status asks for alpha {st['alpha']}, rho {st['resolution']}, not 0.5 / 160")
    log(f"switched: model {st['live_model']} at rho {st['live_resolution']}")
    # the video went on while the models loaded: no gap of 3 s without a new frame
    # (a loaded machine may skip a half-second or two; a blocked loop would not recover)
    ticks = [t for t in s.lines() if t["event"] == "tick" and t["time"] >= t_switch - 0.5
             and t["time"] <= st["time"] + 0.6]
    gap, t_new, shown = 0.0, None, None
    for t in ticks:
        if shown is None or t["frames_displayed"] > shown:
            t_new, shown = t["time"], t["frames_displayed"]
        gap = max(gap, t["time"] - t_new)
    log(f"longest time without a new frame while switching: {gap:.1f} s")
    if gap >= 3.0:
        fail(f"the video stalled for {gap:.1f} s while the models loaded")

    # a recording of about 3 s
    s.key("r")
    st = s.wait("the recording to start", lambda st: st["event"] == "record-start", 10)
    rec_file = st["file"]
    time.sleep(3.0)
    s.key("r")
    done = s.wait("the recording to be finished", lambda st: st["event"] == "record-done", 30)
    if done["file"] != rec_file or not done["complete"]:
        fail(f"recording not finished properly: {done}")
    log(f"recorded {done['frames']} frames in {done['seconds']:.2f} s to {rec_file}")

    # a recording made while paused gets no frame: stopping it removes the file
    # (it would hold a header no player opens) and says so
    n = len(s.lines())
    s.key("space")
    s.wait_after(n, "the pause", lambda st: st["event"] == "pause", 10)
    s.key("r")
    st = s.wait_after(n, "the paused recording to start", lambda st: st["event"] == "record-start",
                      10)
    empty_file = st["file"]
    time.sleep(1.0)
    s.key("r")
    empty = s.wait_after(n, "the paused recording to end",
                         lambda st: st["event"] == "record-done", 30)
    if empty["frames"] != 0 or not empty.get("removed") or os.path.exists(empty_file):
        fail(f"a recording without frames was left behind: {empty}")
    log(f"paused recording: no frame, {os.path.basename(empty_file)} removed")
    n = len(s.lines())
    s.key("space")
    s.wait_after(n, "playing again", lambda st: st["event"] == "resume", 10)

    # a screenshot
    s.key("s")
    shot = s.wait("the screenshot", lambda st: st["event"] in ("screenshot", "screenshot-error"),
                  15)
    if shot["event"] != "screenshot":
        fail(f"screenshot failed: {shot.get('error')}")

    # V: the next architecture the models folder has, at an alpha and dtype it has
    # (v2 float32: 1.0 only), while the video plays
    for arch in ("v2", "v3-small"):
        t_switch = time.time() - s.t0
        s.key("v")
        st = s.wait(f"MobileNet {arch} on screen",
                    lambda st: st.get("live_arch") == arch and st.get("live_resolution") == 160, 30)
        shown = [t["frames_displayed"] for t in s.lines() if t["event"] == "tick"
                 and t_switch <= t["time"] <= st["time"]]
        log(f"V: {st['live_model']} (alpha {st['live_alpha']}), "
            f"{shown[-1] - shown[0] if shown else 0} frames shown while it loaded")
        if st["arch"] != arch or st["live_alpha"] != 1.0:
            fail(f"after V the status asks for {st['arch']} alpha {st['alpha']}")
        if arch == "v2":
            # 2: alpha 0.5, which v2 has in uint8 only: the viewer takes that file
            s.key("2")
            st = s.wait("MobileNet v2 0.5 uint8 on screen",
                        lambda st: st.get("live_arch") == "v2" and st.get("live_alpha") == 0.5
                        and st.get("live_dtype") == "u8", 30)
            log(f"2: {st['live_model']}")

    s.key("q")
    rc = s.finish()
    log(f"viewer exited with {rc}")
    if rc != 0:
        fail(f"exit status {rc}:\n" + open(s.err_path).read())
    last = s.last()
    if last.get("event") != "quit":
        fail(f"the status file does not end with the quit line: {last}")
    if last["live_arch"] != "v3-small" or last["live_resolution"] != 160:
        fail(f"final status shows {last['live_arch']} rho {last['live_resolution']}")

    # the recording: decodes, every encoded frame is there (no rate check: a busy
    # machine encodes fewer frames a second, and that is not an error)
    frames, caps = decode_frames(rec_file)
    log(f"{rec_file} decodes to {frames} frames; {caps.split('caps = ')[-1][:80]}")
    if frames != done["frames"]:
        fail(f"{rec_file}: {frames} frames decoded, {done['frames']} encoded")
    if frames < 30:
        fail(f"only {frames} frames for {done['seconds']:.2f} s of recording")
    if "width=(int)640" not in caps or "height=(int)480" not in caps:
        fail(f"recording is not 640x480: {caps}")

    # the screenshot: the window, the video and the panel's text
    w, h, bpp, px = read_png(shot["file"])
    if [w, h] != shot["window"]:
        fail(f"screenshot is {w}x{h}, the window {shot['window']}")
    px_, py_, pw_, ph_ = shot["panel_rect"]
    bright, rows = 0, set()
    for y in range(py_, py_ + ph_):
        base = y * w * bpp
        for x in range(px_, px_ + pw_):
            i = base + x * bpp
            lum = (299 * px[i] + 587 * px[i + 1] + 114 * px[i + 2]) // 1000
            if lum > 150:
                bright += 1
                rows.add(y)
    frac = bright / float(pw_ * ph_)
    log(f"panel {pw_}x{ph_}: {100 * frac:.2f} % text pixels on {len(rows)} rows")
    if frac < 0.01 or len(rows) < ph_ // 5:
        fail("the panel shows too little text")
    vx, vy, vw, vh = shot["video_rect"]
    colours = set()
    for y in range(vy, vy + vh, 7):
        for x in range(vx, vx + vw, 7):
            i = (y * w + x) * bpp
            colours.add((px[i] >> 3, px[i + 1] >> 3, px[i + 2] >> 3))
    log(f"video {vw}x{vh}: {len(colours)} distinct colours")
    if len(colours) < 20:
        fail("the video area looks empty")
    log("PASS")


def test_bad_input(s, shared):
    # no display at all: our one line, and no stray line from SDL or libwayland before it
    env = {k: v for k, v in s.env().items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "XDG_RUNTIME_DIR", "SDL_VIDEODRIVER")}
    r = subprocess.run([s.viewer, "--test", "--models", os.path.join(shared, "models")],
                       env=env, capture_output=True, text=True, timeout=60)
    log(f"no display: exit {r.returncode}: {r.stderr.strip()}")
    if r.returncode != 1 or not r.stderr.startswith("mobilenet-viewer: no display") \
            or len(r.stderr.strip().splitlines()) != 1:
        fail("no display: expected exactly our one-line message")

    # not a video: stderr says so, exit status 1, no crash
    text = os.path.join(s.tmp, "notes.mp4")
    with open(text, "w") as f:
        f.write("this is not a video\n" * 100)
    r = subprocess.run([s.viewer, "--file", text, "--models", os.path.join(shared, "models")],
                       env=s.env(), capture_output=True, text=True, timeout=60)
    log(f"not a video: exit {r.returncode}: {r.stderr.strip()}")
    if r.returncode != 1 or "not a video file" not in r.stderr:
        fail("no clear message for a file that is not a video")

    # a missing camera: the message lists the other sources
    r = subprocess.run([s.viewer, "--device", "/dev/video-none"], env=s.env(),
                       capture_output=True, text=True, timeout=60)
    log(f"no camera: exit {r.returncode}: {r.stderr.strip().splitlines()[0]}")
    if r.returncode != 1 or "no camera" not in r.stderr or "--file" not in r.stderr \
            or "--test" not in r.stderr:
        fail("no clear message for a missing camera")

    # an unwritable recording folder: a message in the window and on stderr, playing goes on
    bad_dir = os.path.join(text, "recordings")  # below a file: cannot exist, even for root
    s.start_viewer(["--test", "--models", os.path.join(shared, "models"), "--alpha", "0.25",
                    "--resolution", "128", "--record-dir", bad_dir, "--size", "800x450"])
    s.wait("frames", lambda st: st.get("frames_displayed", 0) >= 10, 60)
    s.focus()
    s.key("r")
    st = s.wait("the recording error", lambda st: st["event"] in ("record-error", "record-start"),
                10)
    if st["event"] != "record-error" or "recordings" not in st.get("error", ""):
        fail(f"expected a recording error naming the folder, got {st}")
    before = st["frames_displayed"]
    s.wait("more frames after the error", lambda st: st["frames_displayed"] >= before + 15, 10)
    s.key("q")
    rc = s.finish()
    out = open(s.err_path).read()
    said = [l for l in out.splitlines() if "cannot record" in l]
    log(f"unwritable folder: exit {rc}; {said[0] if said else '(no message)'}")
    if rc != 0 or "cannot record" not in out:
        fail("no clear message for an unwritable recording folder")

    # the disk fills up while recording (a file size limit: writes fail with EFBIG):
    # the recording ends with a message, the video plays on, exit status 0
    rec_dir = os.path.join(s.tmp, "rec-full")
    os.mkdir(rec_dir)
    os.remove(s.status_path)
    limit = 1 << 20

    def small_files():
        import resource
        import signal
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)   # inherited: write() fails instead
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    s.start_viewer(["--file", os.path.join(shared, "videos", "friday.mp4"), "--loop",
                    "--models", os.path.join(shared, "models"), "--alpha", "0.25",
                    "--resolution", "128", "--threads", "1", "--record-dir", rec_dir,
                    "--size", "800x450"], preexec_fn=small_files)
    s.wait("frames", lambda st: st.get("frames_displayed", 0) >= 10, 60)
    s.focus()
    s.key("r")
    s.wait("the recording to start", lambda st: st["event"] == "record-start", 10)
    done = s.wait("the recording to fail",
                  lambda st: st["event"] in ("error", "record-done"), 60)
    errs = [st for st in s.lines() if st["event"] == "record-error"]
    if done["event"] != "record-done" or done["complete"] or not errs:
        fail(f"expected a record-error and an incomplete record-done, got {done}")
    log(f"disk full: {errs[0].get('error')}; {done['frames']} frames in {done['file']}")
    before = s.last()["frames_displayed"]
    s.wait("more frames after the failed recording",
           lambda st: st["frames_displayed"] >= before + 30, 20)
    s.key("q")
    rc = s.finish()
    out = open(s.err_path).read()
    if any(st["event"] == "error" for st in s.lines()):
        fail("a failed recording stopped the video:\n" + out)
    if rc != 0 or "recording failed" not in out:
        fail(f"exit {rc}; no clear message for a failed recording:\n" + out)
    log("PASS")


def main():
    if len(sys.argv) != 3 or sys.argv[2] not in ("main", "bad-input"):
        sys.exit(__doc__)
    viewer, case = os.path.abspath(sys.argv[1]), sys.argv[2]
    here = os.path.dirname(os.path.abspath(__file__))
    shared = (os.environ.get("MOBILENET_SHARED") or os.environ.get("MOBILENET_SHARED_DEFAULT")
              or os.path.join(here, "..", "..", "shared"))
    for need in (os.path.join(shared, "videos", "friday.mp4"),
                 os.path.join(shared, "models", "mobilenet_v1_0.5_160_dequant.tflite")):
        if not os.path.exists(need):
            skip(f"{need} is missing (set MOBILENET_SHARED to the shared data folder)")
    for tool in ("Xvfb", "xdotool", "gst-launch-1.0"):
        if not shutil.which(tool):
            skip(f"{tool} is not installed (scripts/install-deps installs it)")
    tmp = tempfile.mkdtemp(prefix="viewer-e2e-")
    s = Session(viewer, tmp)
    t0 = time.time()
    try:
        s.start_x()
        (test_main if case == "main" else test_bad_input)(s, shared)
    finally:
        s.close()
        log(f"took {time.time() - t0:.1f} s; files in {tmp}")
    if not os.environ.get("MOBILENET_KEEP_TEST_FILES"):
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
