#!/usr/bin/env python3
"""Independent mutation fuzzer for the `plinth` binary (issue 16).

Mutates the stacks under stacks/ and tests/fixtures/ and runs `plinth validate` and an
offline `plinth plan --refresh=false` on each, with a memory limit and a timeout. Reports
crashes (exit 101 panic, 134 abort, 139 segfault, any signal), runs over the time limit and
the peak memory of the children. Crashing inputs are kept in OUT/crash-<n>/.

    python3 scripts/fuzz-binary.py --binary target/release/plinth --seconds 600 --out /tmp/fz
"""
import argparse, os, random, resource, shutil, subprocess, sys, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NUMBERS = ["2147483648", "4294967296", "9223372036854775807", "-9223372036854775808",
           "99999999999999999999", "-1", "0", "100000", "1e308", "nan", "0x7fffffff"]
TOKENS = ["${", "${var.", "${count.index}", "}", "\"", "'''", "[[", "]]", "\n[", " = ", ".",
          "\\u0000", "\u202e", "\u200b", "\x1b[2J", "\r", "\t", "\x00", "é", "💥", "$${"]


def seeds():
    out = []
    for root in ["stacks", "tests/fixtures"]:
        for d, _, files in os.walk(ROOT / root):
            tomls = sorted(f for f in files if f.endswith(".toml"))
            if tomls:
                out.append({f: (Path(d) / f).read_bytes() for f in tomls})
    return out


def long_text(rng):
    unit = rng.choice([b"a", "é".encode(), "\u200b".encode(), b"\t", b"${var.x}", "字".encode()])
    n = rng.choice([rng.randrange(1, 100), rng.randrange(1000, 5000), rng.randrange(60000, 80000),
                    rng.randrange(100000, 300000)])
    return unit * max(1, n // len(unit))


def nested(rng):
    d = rng.choice([rng.randrange(2, 80), rng.randrange(200, 300), rng.randrange(1000, 100000)])
    return rng.choice([b"v = " + b"[" * d + b"1" + b"]" * d + b"\n",
                       b"v = " + b"{ a = " * d + b"1" + b" }" * d + b"\n",
                       b".".join([b"a"] * d) + b" = 1\n"])


def mutate(data, other, rng):
    at = rng.randrange(0, len(data) + 1)
    k = rng.randrange(13)
    if k == 0 and data:
        i = rng.randrange(len(data)); data = data[:i] + bytes([data[i] ^ (1 << rng.randrange(8))]) + data[i + 1:]
    elif k == 1:
        data = data[:at] + data[at + rng.randrange(1, 64):]
    elif k == 2:
        piece = data[at:at + rng.randrange(1, 400)]; to = rng.randrange(0, len(data) + 1)
        data = data[:to] + piece + data[to:]
    elif k == 3:
        f = rng.randrange(0, len(other) + 1); data = data[:at] + other[f:f + rng.randrange(1, 600)] + data[at:]
    elif k == 4:
        data = data[:at] + rng.choice(NUMBERS).encode() + data[at:]
    elif k == 5:
        i = data.find(b"]\n", at)
        i = at if i < 0 else i + 2
        data = data[:i] + b"count = " + rng.choice(NUMBERS).encode() + b"\n" + data[i:]
    elif k == 6:
        data = data[:at] + b'\nlong = "' + long_text(rng) + b'"\n' + data[at:]
    elif k == 7:
        data = data[:at] + b"\n" + nested(rng) + data[at:]
    elif k == 8:
        for _ in range(rng.randrange(1, 4)):
            at = rng.randrange(0, len(data) + 1); data = data[:at] + rng.choice(TOKENS).encode() + data[at:]
    elif k == 9:
        s = data.find(b"\n[", at)
        if s >= 0:
            e = data.find(b"\n[", s + 2); e = len(data) if e < 0 else e + 1
            block = data[s + 1:e]
            data = data[:e] + b"".join(block.replace(b"]", b"_%d]" % n, 1) for n in range(rng.randrange(2, 60))) + data[e:]
    elif k == 10:
        lines = data.split(b"\n")
        if len(lines) > 2:
            a, b = rng.randrange(len(lines)), rng.randrange(len(lines)); lines[a], lines[b] = lines[b], lines[a]
        data = b"\n".join(lines)
    elif k == 11:
        data = data[:at]
    else:
        data = data[:at] + long_text(rng) + data[at:]
    return data


def limit_memory(bytes_):
    def apply():
        resource.setrlimit(resource.RLIMIT_AS, (bytes_, bytes_))
    return apply


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--binary", default=str(ROOT / "target/release/plinth"))
    p.add_argument("--seconds", type=float, default=60)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--timeout", type=float, default=10)
    p.add_argument("--memory-mb", type=int, default=2048)
    p.add_argument("--out", default=tempfile.mkdtemp(prefix="plinth-fuzz-"))
    a = p.parse_args()
    rng = random.Random(a.seed)
    corpus = seeds()
    out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
    work = out / "current"
    runs = crashes = hangs = 0
    codes = {}
    peak = 0
    start = time.time()
    env = dict(os.environ, NO_COLOR="1")
    env.pop("PLINTH_ENV", None)
    while time.time() - start < a.seconds:
        case = dict(rng.choice(corpus))
        other = rng.choice(list(rng.choice(corpus).values()))
        for _ in range(rng.randrange(1, 5)):
            name = rng.choice(sorted(case))
            case[name] = mutate(case[name], other, rng)
        shutil.rmtree(work, ignore_errors=True); work.mkdir()
        for name, data in case.items():
            (work / name).write_bytes(data)
        extra = []
        r = rng.randrange(10)
        if r == 0:
            # One argument may hold at most 128 KiB (MAX_ARG_STRLEN).
            extra = ["--env", long_text(rng)[:100000].decode("utf-8", "ignore").replace("\x00", "")]
        elif r == 1:
            extra = ["--var", "replicas=" + nested(rng).decode()[4:].strip()[:100000]]
        command = rng.choice([["validate"], ["plan", "--refresh=false", "--state-dir", str(out / "state")]])
        args = [a.binary] + command + extra + [str(work)]
        t0 = time.time()
        try:
            proc = subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env,
                                  timeout=a.timeout, preexec_fn=limit_memory(a.memory_mb << 20))
            code = proc.returncode
            stderr = proc.stderr
        except subprocess.TimeoutExpired:
            code, stderr = "timeout", b""
        except OSError as e:  # the arguments did not fit: not an input the binary saw
            print(f"skipped: {e}", flush=True)
            continue
        runs += 1
        codes[code] = codes.get(code, 0) + 1
        usage = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        peak = max(peak, usage)
        bad = code == "timeout" or code in (101, 134, 139) or (isinstance(code, int) and code < 0) \
            or b"panicked" in stderr or b"internal error" in stderr
        if bad:
            crashes += code != "timeout"; hangs += code == "timeout"
            keep = out / f"crash-{runs}"
            shutil.copytree(work, keep)
            (keep / "command.txt").write_text(" ".join(command) + "\n" + repr(extra)[:300] + "\n" + str(code) + "\n")
            (keep / "stderr.txt").write_bytes(stderr[-4000:])
            print(f"finding: exit {code} after {time.time() - t0:.1f}s -> {keep}", flush=True)
    elapsed = time.time() - start
    print(f"{runs} runs in {elapsed:.0f}s ({runs / elapsed:.1f}/s); exit codes {codes}; "
          f"crashes {crashes}, hangs {hangs}; peak child RSS {peak // 1024} MB; out {out}")
    return 1 if crashes or hangs else 0


if __name__ == "__main__":
    sys.exit(main())
