#!/usr/bin/env python3
"""gdb_protocol_robustness: a raw gdb remote-protocol client against
`hindsight replay REC --gdb 127.0.0.1:PORT`.

usage: protocol_robustness.py --hindsight EXE --elf DEBUGEE_ELF --work DIR --port PORT
       protocol_robustness.py --hindsight EXE --interrupt REC --work DIR --port PORT

Records DEBUGEE_ELF, starts the replay under --gdb and sends well-formed and
malformed packets (bad checksums, line noise, a 100 KiB packet, unknown
packets, out-of-range m/p, junk Z packets, writes to a replay, Ctrl-C while
stopped, NAK retransmission, no-ack mode), checking every reply; checks that
a second client is refused while the first stays usable; detaches with D and
expects hindsight to exit 0. Prints one line per check; exit status 0 when all
pass.

With --interrupt REC (a long recording, e.g. a Linux boot; used by
gdb_linux_replay): Ctrl-C during a reverse-continue that finds nothing
(back at the starting position) and during a continue (somewhere later).
"""

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import time

failures = []


def check(ok, what, detail=""):
    print(("ok    " if ok else "FAIL  ") + what + ("" if ok else f"  [{detail}]"), flush=True)
    if not ok:
        failures.append(what)


def checksum(data: bytes) -> bytes:
    return b"%02x" % (sum(data) & 0xFF)


def frame(payload) -> bytes:
    if isinstance(payload, str):
        payload = payload.encode()
    return b"$" + payload + b"#" + checksum(payload)


class Client:
    def __init__(self, port, timeout=10.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.settimeout(timeout)
        self.buf = b""
        self.no_ack = False

    def send(self, raw: bytes):
        self.sock.sendall(raw)

    def _more(self, timeout):
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            return False
        if not data:
            raise ConnectionError("connection closed")
        self.buf += data
        return True

    def read_byte(self, timeout=10.0):
        """The next byte, or None after `timeout` s of silence."""
        if not self.buf and not self._more(timeout):
            return None
        b, self.buf = self.buf[:1], self.buf[1:]
        return b

    def silent(self, secs=0.5):
        """True if nothing arrives within `secs`."""
        if self.buf:
            return False
        return not self._more(secs)

    def read_packet(self, timeout=20.0, ack=True):
        """The next packet's decoded payload (escapes and run-length
        encoding undone, checksum verified); skips nothing but expects '$'."""
        deadline = time.monotonic() + timeout
        while b"#" not in self.buf or len(self.buf) < self.buf.index(b"#") + 3:
            if not self._more(max(0.01, deadline - time.monotonic())) and time.monotonic() >= deadline:
                raise TimeoutError(f"no complete packet (have {self.buf[:80]!r})")
        if not self.buf.startswith(b"$"):
            raise ValueError(f"expected '$', got {self.buf[:80]!r}")
        end = self.buf.index(b"#")
        raw, sent_sum = self.buf[1:end], self.buf[end + 1:end + 3]
        self.buf = self.buf[end + 3:]
        if checksum(raw) != sent_sum:
            raise ValueError(f"bad checksum from the server: {sent_sum!r} for {raw[:80]!r}")
        out = bytearray()
        i = 0
        while i < len(raw):
            c = raw[i]
            if c == ord("}"):
                out.append(raw[i + 1] ^ 0x20)
                i += 2
            elif c == ord("*"):
                out.extend(out[-1:] * (raw[i + 1] - 29))
                i += 2
            else:
                out.append(c)
                i += 1
        if ack and not self.no_ack:
            self.send(b"+")
        return out.decode("latin-1")

    def request(self, payload, timeout=20.0):
        """Sends a packet, expects '+' (unless no-ack) and returns the reply."""
        self.send(frame(payload))
        if not self.no_ack:
            a = self.read_byte(timeout)
            if a != b"+":
                raise ValueError(f"expected '+' for {str(payload)[:40]!r}, got {a!r}")
        return self.read_packet(timeout)

    def close(self):
        self.sock.close()


def hexs(s: str) -> str:
    return s.encode().hex()


def monitor(c, cmd):
    r = c.request("qRcmd," + hexs(cmd))
    if r == "OK" or re.fullmatch(r"E[0-9a-f]{2}", r):
        return r
    # output may come as O packets first, then OK; hindsight replies with the hex text
    return bytes.fromhex(r).decode()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hindsight", required=True)
    ap.add_argument("--elf")
    ap.add_argument("--interrupt", metavar="REC", help="only the Ctrl-C checks, on recording REC")
    ap.add_argument("--work", required=True)
    ap.add_argument("--port", type=int, required=True)
    a = ap.parse_args()

    if not a.elf and not a.interrupt:
        ap.error("--elf or --interrupt is needed")
    os.makedirs(a.work, exist_ok=True)
    if a.interrupt:
        rec = a.interrupt
    else:
        shutil.rmtree(a.work, ignore_errors=True)
        os.makedirs(a.work)
        rec = os.path.join(a.work, "rec")
        r = subprocess.run([a.hindsight, "record", "-o", rec, "--bios", "none", "--kernel", a.elf],
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
        if r.returncode != 0:
            print("protocol_robustness: FAILED: hindsight record exited", r.returncode, r.stderr.decode())
            return 1
    info = subprocess.run([a.hindsight, "info", rec], capture_output=True, text=True).stdout
    m = re.search(r"^\s*0 \.\. (\d+) ", info, re.M)
    end = int(m.group(1))

    err_path = os.path.join(a.work, "hindsight.err")
    with open(err_path, "wb") as err, open(os.path.join(a.work, "hindsight.out"), "wb") as out:
        hs = subprocess.Popen([a.hindsight, "replay", rec, "--gdb", f"127.0.0.1:{a.port}"],
                              stdin=subprocess.DEVNULL, stdout=out, stderr=err, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while "gdb server on port" not in open(err_path).read():
            if hs.poll() is not None or time.monotonic() > deadline:
                print("protocol_robustness: FAILED: hindsight did not start its gdb server")
                return 1
            time.sleep(0.05)
        (interrupt_checks if a.interrupt else run_checks)(a.port, end)
        try:
            rc = hs.wait(timeout=30)
            check(rc == 0, "hindsight exits 0 after D", f"exit code {rc}")
        except subprocess.TimeoutExpired:
            check(False, "hindsight exits 0 after D", "still running 30 s later")
    finally:
        if hs.poll() is None:
            os.killpg(hs.pid, 9)
            hs.wait()
    print("---- hindsight stderr:\n" + open(err_path).read())
    if failures:
        print(f"protocol_robustness: FAILED: {len(failures)} check(s): " + "; ".join(failures))
        return 1
    print("protocol_robustness: ok")
    return 0


def interrupt(c, packet, what):
    """Sends `packet` (a resume), then Ctrl-C 0.3 s later: a SIGINT stop."""
    c.send(frame(packet))
    check(c.read_byte(5) == b"+", "%s: '+'" % packet)
    time.sleep(0.3)
    t0 = time.monotonic()
    c.send(b"\x03")
    r = c.read_packet(60)
    secs = time.monotonic() - t0
    check(r.startswith("T02"), "Ctrl-C during %s: a SIGINT stop (%.3f s)" % (what, secs), r)


def interrupt_checks(port, end):
    c = Client(port)
    c.send(b"+")
    c.request("qSupported:swbreak+")
    mid = end // 2
    out = monitor(c, "replay_seek %d" % mid)
    check(out.startswith("position %d" % mid), "replay_seek to the middle", out)
    r = c.request("Z0,10,4")  # never executed: the scans find nothing
    check(r == "OK", "Z0,10,4: OK", r)
    interrupt(c, "bc", "reverse-continue")
    out = monitor(c, "info replay")
    check("position %d of %d" % (mid, end) in out, "... back where it started", out)
    interrupt(c, "c", "continue")
    out = monitor(c, "info replay")
    m = re.search(r"position (\d+) of", out)
    check(m is not None and mid < int(m.group(1)) < end, "... somewhere after the start, before the end", out)
    check(c.request("z0,10,4") == "OK", "z0: OK")
    check(c.request("D") == "OK", "D: OK")
    c.close()


def run_checks(port, end):
    c = Client(port)
    c.send(b"+")  # as gdb does on connecting

    r = c.request("qSupported:multiprocess+;swbreak+;hwbreak+;xmlRegisters=i386")
    check("PacketSize=10000" in r and "ReverseStep+" in r and "ReverseContinue+" in r
          and "qXfer:features:read+" in r, "qSupported: PacketSize=10000, reverse, target.xml", r)

    r = c.request("?")
    check(r.startswith("T05") or r == "S05", "? at position 0: a stop reply", r)

    # ---- framing ----
    c.send(b"$?#00")
    check(c.read_byte(5) == b"-", "bad checksum: NAK '-'")
    check(c.silent(0.5), "bad checksum: no reply")
    r = c.request("?")
    check(r.startswith("T05") or r == "S05", "after the NAK, a good packet is answered", r)

    c.send(b"line noise \r\n\x7f{}")
    r = c.request("qC")
    check(r == "QC1", "noise between packets is ignored", r)

    c.send(b"$ma0000,4#zz")
    check(c.read_byte(5) == b"-", "non-hex checksum: NAK")
    c.send(b"$}")  # an escape with nothing after it, then a raw '$' restarts
    r = c.request("qC")
    check(r == "QC1", "a raw '$' inside a packet restarts framing", r)

    big = b"X" * (100 * 1024)
    c.send(frame(big))
    ack = c.read_byte(10)
    r = c.read_packet(10)
    check(ack == b"+" and r == "E01", "100 KiB packet: '+' then E01", f"{ack!r} {r!r}")
    r = c.request("qC")
    check(r == "QC1", "after the oversized packet, the connection works", r)

    # NAK of a reply: the server sends it again
    c.send(frame("qC"))
    c.read_byte(5)
    first = c.read_packet(5, ack=False)
    c.send(b"-")
    again = c.read_packet(5)
    check(first == again == "QC1", "'-' after a reply: retransmitted", f"{first!r} {again!r}")

    # ---- unknown packets: empty replies ----
    for p in ["vMustReplyEmpty", "qFooBar", "jTotallyUnknown", "QNonStop:1", "vFile:open:x", "!"]:
        r = c.request(p)
        check(r == "", f"unknown/unsupported packet {p!r}: empty reply", repr(r))

    # ---- memory ----
    r = c.request("m80000000,4")
    check(re.fullmatch(r"[0-9a-f]{8}", r) is not None, "m80000000,4: 4 bytes", r)
    plain = c.request("m80000000,4")
    r = c.request('m80*"0,4')  # run-length encoded: "m8" + 7 x "0"
    check(r == plain, "run-length encoded request m8 0*\"0,4 = m80000000,4", f"{r!r} {plain!r}")
    c.send(b"$m8}\x10" + b"000000,4#" + checksum(b"m8}\x10" + b"000000,4"))
    c.read_byte(5)
    r = c.read_packet(5)
    check(r == plain, "escaped request m8}<0x10>000000,4 = m80000000,4", f"{r!r} {plain!r}")
    r = c.request("m80000000,10000")
    check(len(r) == 2 * 0x10000 and re.fullmatch(r"[0-9a-f]+", r) is not None,
          "m80000000,10000 (64 KiB): 64 KiB of hex", f"{len(r)} chars")
    for p in ["m80000000,10001", "m0,ffffffffffffffff", "mffffffffffffffff,2", "mzz,4",
              "m80000000", "m80000000,", "m,4", "m1ffffffffffffffff,4", "m80000000,4junk"]:
        r = c.request(p)
        check(r == "E01", f"{p}: E01", r)
    r = c.request("m4000000000,4")
    check(re.fullmatch(r"E[0-9a-f]{2}", r) is not None, "m of unmapped memory: an error", r)

    # ---- registers ----
    r = c.request("p20")
    check(r == "0010000000000000", "p20 (pc) at position 0: 0x1000", r)
    r = c.request("p0")
    check(r == "0000000000000000", "p0 (zero): 0", r)
    r = c.request("g")
    check(len(r) == 33 * 16 and r[32 * 16:] == "0010000000000000", "g: 32 x-registers + pc", f"{len(r)} chars")
    for p in ["p1000", "pffffffff", "p100000000", "pffffffffffffffffffff", "pzz", "p"]:
        r = c.request(p)
        check(r == "E01", f"{p}: E01", r)

    # ---- breakpoints ----
    for p in ["Z0,junk", "Z0,80000000", "Z9,80000000,4", "Z0,80000000,4,extra", "Z,80000000,4",
              "Z00,80000000,4", "z0,zz,4", "Z0,,"]:
        r = c.request(p)
        check(r == "E01", f"{p}: E01", r)
    r = c.request("Z0,80000000,4")
    check(r == "OK", "Z0,80000000,4: OK", r)
    r = c.request("z0,80000000,4")
    check(r == "OK", "z0,80000000,4: OK", r)

    # ---- a replay is read-only ----
    for p in ["M80000000,4:00000000", "X80000000,1:a", "P1=0000000000000000", "G" + "00" * 33 * 8]:
        r = c.request(p)
        check(r == "E01", f"{p[:24]}: E01 (replay is read-only)", r)
    r = c.request("X80000000,0:")
    check(r == "OK", "X with no data (gdb's probe): OK", r)

    # ---- vCont, resume, reverse at the start ----
    r = c.request("vCont?")
    check(r.startswith("vCont;") and ";s" in r and ";c" in r, "vCont?", r)
    for p in ["vCont;x", "vCont;", "vCont;s:zz", "vCont;Cxyz"]:
        r = c.request(p)
        check(r == "E01", f"{p}: E01", r)
    r = c.request("bs")
    check("replaylog:begin" in r, "bs at position 0: replaylog:begin", r)
    r = c.request("bc")
    check("replaylog:begin" in r, "bc at position 0: replaylog:begin", r)
    r = c.request("vCont;s:1")
    check(r.startswith("T05"), "vCont;s: a stop", r)
    out = monitor(c, "info replay")
    check(f"position 1 of {end}" in out, "after one step: position 1", out)
    r = c.request("bs")
    check(r.startswith("T05") and "replaylog" not in r, "bs from 1: a plain stop", r)
    out = monitor(c, "info replay")
    check(f"position 0 of {end}" in out, "after bs: position 0", out)

    # Ctrl-C while stopped: ignored, no reply
    c.send(b"\x03")
    check(c.silent(0.5), "Ctrl-C while stopped: no reply")
    r = c.request("?")
    check(r.startswith("T05") or r == "S05", "after Ctrl-C, ? still answers", r)

    # ---- monitor ----
    r = c.request("qRcmd,zz")
    check(r == "E01", "qRcmd with bad hex: E01", r)
    out = monitor(c, "no_such_command")
    check("unknown monitor command" in out, "unknown monitor command: a message", out)
    out = monitor(c, f"replay_seek {end + 1}")
    check(f"between 0 and {end}" in out, "replay_seek past the end: refused", out)
    out = monitor(c, "replay_seek 18446744073709551616")
    check(f"between 0 and {end}" in out, "replay_seek 2^64: refused", out)
    out = monitor(c, "replay_seek 100")
    check(out.startswith("position 100"), "replay_seek 100", out)

    # ---- a second client is refused; the first goes on ----
    d = socket.create_connection(("127.0.0.1", port), timeout=5)
    d.settimeout(5)
    closed = False
    try:
        d.sendall(b"+" + frame("qSupported"))
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            data = d.recv(4096)
            if not data:
                closed = True
                break
            if b"$" in data:
                break  # it answered: not refused
    except (ConnectionResetError, BrokenPipeError):
        closed = True
    except socket.timeout:
        pass
    d.close()
    check(closed, "a second client is disconnected")
    out = monitor(c, "info replay")
    check(f"position 100 of {end}" in out, "the first client still works", out)

    # ---- no-ack mode ----
    r = c.request("QStartNoAckMode")
    check(r == "OK", "QStartNoAckMode: OK", r)
    c.no_ack = True
    c.send(frame("qC"))
    r = c.read_packet(5)
    check(r == "QC1", "no-ack mode: reply without '+'", r)
    c.send(b"$qC#00")
    check(c.silent(0.5), "no-ack mode: a bad checksum is dropped silently")

    # ---- detach ----
    r = c.request("D")
    check(r == "OK", "D: OK", r)
    c.close()


if __name__ == "__main__":
    sys.exit(main())
