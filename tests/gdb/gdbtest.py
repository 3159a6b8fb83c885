#!/usr/bin/env python3
"""Runs one gdb session against hindsight and checks gdb's output.

usage: gdbtest.py [options] -- HINDSIGHT_COMMAND...

Starts HINDSIGHT_COMMAND (e.g. `hindsight replay REC --gdb 127.0.0.1:PORT`),
waits for its "gdb server on port" line on stderr, runs

    timeout T gdb-multiarch -batch -nx -x SCRIPT ELF

and checks gdb's output (stdout and stderr together) against EXPECT. Then
waits for hindsight to exit and checks its exit code (--hs-exit). SCRIPT and
EXPECT are templates: @NAME@ is replaced by the value of --var NAME=VALUE
(and @PORT@ by --port).

EXPECT, one directive per line (blank lines and lines starting with # are
ignored):

    match REGEX     the next output line at or after the cursor that matches
                    REGEX (Python re.search); the cursor moves past it. Named
                    groups (?P<name>...) become variables for `check`. A
                    variable already set must have the same value again
                    (so a name may be used to assert equality).
    line REGEX      like match, but it must be the very next line
    check EXPR      a Python expression over the variables (strings; the
                    helpers num(s) parse decimal or 0x hex) that must be true
    never REGEX     no line of the whole output matches REGEX
    hs-out REGEX    some line of hindsight's stdout matches REGEX
    hs-err REGEX    some line of hindsight's stderr matches REGEX
    hs-out-count N REGEX   exactly N lines of hindsight's stdout match REGEX

Every gdb script should `echo` markers (e.g. `echo @@ reverse-stepi\\n`) so
the expectations can anchor on them. Exit status 0 when everything holds,
1 otherwise; the outputs and the first failed directive are printed.
"""

import argparse
import os
import re
import signal
import subprocess
import sys
import time


def num(s):
    s = str(s).strip()
    return int(s, 16) if s.lower().startswith("0x") else int(s)


def substitute(text, variables):
    def repl(m):
        name = m.group(1)
        if name not in variables:
            raise SystemExit(f"gdbtest: template uses @{name}@ but no --var {name}=... given")
        return variables[name]
    return re.sub(r"@([A-Za-z_][A-Za-z0-9_]*)@", repl, text)


def wait_for_server(proc, err_path, timeout):
    """Until hindsight's stderr says it listens; False if it died first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open(err_path, errors="replace") as f:
            if "gdb server on port" in f.read():
                return True
        if proc.poll() is not None:
            return False
        time.sleep(0.05)
    return False


def check_expectations(expect_lines, out_lines, hs_out, hs_err):
    """Returns (ok, message, variables)."""
    variables = {}
    cursor = 0
    for lineno, raw in enumerate(expect_lines, 1):
        d = raw.strip()
        if not d or d.startswith("#"):
            continue
        kind, _, arg = d.partition(" ")
        arg = arg.strip()
        where = f"expect line {lineno}: {d}"
        if kind in ("match", "line"):
            rx = re.compile(arg)
            found = None
            last = len(out_lines) if kind == "match" else min(cursor + 1, len(out_lines))
            for i in range(cursor, last):
                m = rx.search(out_lines[i])
                if m:
                    found = (i, m)
                    break
            if not found:
                near = out_lines[cursor] if cursor < len(out_lines) else "<end of output>"
                return False, f"{where}\n  not found at or after output line {cursor + 1} ({near!r})", variables
            i, m = found
            for k, v in m.groupdict().items():
                if v is None:
                    continue
                if k in variables and variables[k] != v:
                    return False, (f"{where}\n  output line {i + 1} {out_lines[i]!r}: {k} = {v!r}, "
                                   f"but earlier {k} = {variables[k]!r}"), variables
                variables[k] = v
            cursor = i + 1
        elif kind == "check":
            try:
                ok = eval(arg, {"num": num, "abs": abs, "int": int, "float": float}, dict(variables))
            except Exception as e:  # a missing variable is a failure too
                return False, f"{where}\n  error: {e!r} (variables {variables})", variables
            if not ok:
                return False, f"{where}\n  false with variables {variables}", variables
        elif kind == "never":
            rx = re.compile(arg)
            for i, l in enumerate(out_lines):
                if rx.search(l):
                    return False, f"{where}\n  output line {i + 1}: {l!r}", variables
        elif kind == "hs-out-count":
            count, _, rest = arg.partition(" ")
            rx = re.compile(rest.strip())
            n = sum(1 for l in hs_out if rx.search(l))
            if n != int(count):
                return False, f"{where}\n  {n} matching lines in hindsight's stdout", variables
        elif kind in ("hs-out", "hs-err"):
            rx = re.compile(arg)
            lines = hs_out if kind == "hs-out" else hs_err
            if not any(rx.search(l) for l in lines):
                return False, f"{where}\n  no such line in hindsight's {kind[3:]}", variables
        else:
            return False, f"{where}\n  unknown directive '{kind}'", variables
    return True, "", variables


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gdb", default="gdb-multiarch", help="gdb binary (default gdb-multiarch)")
    ap.add_argument("--script", required=True, help="gdb command script (template)")
    ap.add_argument("--expect", required=True, help="expectations (template)")
    ap.add_argument("--elf", default=None, help="program gdb loads symbols from")
    ap.add_argument("--port", type=int, required=True, help="the port in HINDSIGHT_COMMAND")
    ap.add_argument("--var", action="append", default=[], metavar="NAME=VALUE")
    ap.add_argument("--work", required=True, help="scratch directory for the logs")
    ap.add_argument("--name", default="gdb", help="prefix of the log files")
    ap.add_argument("--gdb-timeout", type=int, default=120, help="seconds gdb may take")
    ap.add_argument("--hs-exit", type=int, default=0, help="hindsight's expected exit code")
    ap.add_argument("hindsight", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.hindsight[1:] if a.hindsight[:1] == ["--"] else a.hindsight
    if not cmd:
        ap.error("no hindsight command after --")

    variables = {"PORT": str(a.port)}
    for v in a.var:
        k, sep, val = v.partition("=")
        if not sep:
            ap.error(f"--var {v}: expected NAME=VALUE")
        variables[k] = val
    os.makedirs(a.work, exist_ok=True)
    script = os.path.join(a.work, a.name + ".gdb")
    with open(a.script) as f, open(script, "w") as g:
        g.write(substitute(f.read(), variables))
    with open(a.expect) as f:
        expect_lines = substitute(f.read(), variables).splitlines()

    hs_out_path = os.path.join(a.work, a.name + ".hindsight.out")
    hs_err_path = os.path.join(a.work, a.name + ".hindsight.err")
    gdb_out_path = os.path.join(a.work, a.name + ".gdb.out")
    print("gdbtest: " + " ".join(cmd), flush=True)
    with open(hs_out_path, "wb") as o, open(hs_err_path, "wb") as e:
        hs = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=o, stderr=e,
                              start_new_session=True)
    failures = []
    gdb_out = ""
    gdb_secs = 0.0
    try:
        if not wait_for_server(hs, hs_err_path, 60):
            failures.append("hindsight did not report 'gdb server on port' (exit code "
                            f"{hs.poll()})")
        else:
            gdb_cmd = ["timeout", "-k", "5", str(a.gdb_timeout), a.gdb, "-batch", "-nx", "-x", script]
            if a.elf:
                gdb_cmd.append(a.elf)
            print("gdbtest: " + " ".join(gdb_cmd), flush=True)
            t0 = time.monotonic()
            r = subprocess.run(gdb_cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT)
            gdb_secs = time.monotonic() - t0
            gdb_out = r.stdout.decode(errors="replace")
            if r.returncode == 124 or r.returncode == 137:
                failures.append(f"gdb did not finish within {a.gdb_timeout} s")
        try:
            rc = hs.wait(timeout=60)
            if rc != a.hs_exit:
                failures.append(f"hindsight exit code {rc}, expected {a.hs_exit}")
        except subprocess.TimeoutExpired:
            failures.append("hindsight did not exit within 60 s after gdb")
    finally:
        if hs.poll() is None:
            os.killpg(hs.pid, signal.SIGKILL)
            hs.wait()
    with open(gdb_out_path, "w") as f:
        f.write(gdb_out)
    with open(hs_out_path, errors="replace") as f:
        hs_out = f.read().replace("\r", "").splitlines()
    with open(hs_err_path, errors="replace") as f:
        hs_err = f.read().splitlines()

    print(f"---- gdb output ({gdb_secs:.1f} s; {gdb_out_path})")
    out_lines = gdb_out.splitlines()
    for i, l in enumerate(out_lines, 1):
        print(f"{i:4} {l}")
    print(f"---- hindsight stderr ({hs_err_path})")
    print("\n".join(hs_err[-20:]))
    print(f"---- hindsight stdout: {len(hs_out)} lines ({hs_out_path})")

    ok, message, found = check_expectations(expect_lines, out_lines, hs_out, hs_err)
    if not ok:
        failures.append(message)
    print("---- variables: " + ", ".join(f"{k}={v}" for k, v in sorted(found.items())))
    if failures:
        for f in failures:
            print("gdbtest: FAILED: " + f)
        return 1
    print(f"gdbtest: {a.name}: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
