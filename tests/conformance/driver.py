"""Guest side of `make conformance`: run the reference implementation's test
programs (built by scripts/conformance.sh) against the loaded quic module,
one case at a time, the way the reference's tests/runtest.sh runs them, and
print a table.

Each case starts its server as runtest.sh's daemon_run does (in the
background, then a 2 s pause), runs the client with its own timeout, then
stops the server (daemon_stop: a signal, then a 3 s pause).  A process that
outlives its timeout is killed with its process group and the run goes on.
A case passes when the client (for the in-kernel cases: insmod of the
reference's kernel-side sample module) exits with status 0, as in runtest.sh.

Logs: LOGS/<case>.log holds the commands, the server's and the client's
output, their exit statuses and the kernel messages printed meanwhile;
LOGS/table.txt the table.

Run by scripts/conformance.sh inside the VM, as root, with the venv's
interpreter; not a pytest module.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # this tree's libquic, not whichever the venv points at
PORT = "1234"
PERF_BYTES = str(16 * 1024 * 1024)  # runtest.sh: 1 GiB (the program's default)
RR_REQUESTS = "5000"                # runtest.sh: 100,000 (the program's default)
ERROR_RE = re.compile(r"error|fail|timed? ?out|refused|denied|invalid|unreachable|abort|"
                      r"killed|segmentation|no such|not permitted|cannot|unable", re.I)
PASS_RE = re.compile(r"^test\d+: PASS\b", re.M)


@dataclass
class Proc:
    """One program's run: command, output, status ("timeout" when killed)."""

    argv: list[str]
    out: Path
    popen: subprocess.Popen[bytes] | None = None
    rc: int | str | None = None

    def start(self, cwd: Path) -> None:
        with self.out.open("wb") as out:
            # Line-buffered stdio: a server stopped by a signal keeps its output.
            argv = ["stdbuf", "-oL", "-eL", *self.argv] if self.argv[0] != "insmod" else self.argv
            self.popen = subprocess.Popen(argv, cwd=cwd, stdout=out,
                                          stderr=subprocess.STDOUT,
                                          stdin=subprocess.DEVNULL,
                                          start_new_session=True)

    def wait(self, timeout: float) -> int | str:
        assert self.popen is not None
        try:
            self.rc = self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            self.rc = "timeout"
        return self.rc

    def stop(self) -> None:
        """daemon_stop: end a background program that is still running."""
        if self.popen is None or self.popen.poll() is not None:
            if self.popen is not None and self.rc is None:
                self.rc = self.popen.returncode
            return
        self.signal(signal.SIGTERM)
        try:
            self.popen.wait(3)
            self.rc = f"{self.popen.returncode} (stopped)"
        except subprocess.TimeoutExpired:
            self.kill()
            self.rc = "killed (did not stop on SIGTERM)"

    def signal(self, sig: int) -> None:
        assert self.popen is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, sig)

    def kill(self) -> None:
        assert self.popen is not None
        self.signal(signal.SIGKILL)
        # A process stuck in the kernel stays: the VM runner's checks report it.
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(10)

    def text(self) -> str:
        try:
            return self.out.read_text(errors="replace")
        except FileNotFoundError:
            return ""


@dataclass
class Case:
    name: str        # unique, used for the log file and case selection
    program: str
    mode: str
    client: list[str]
    server: list[str] | None = None
    timeout: float = 120
    setup: list[list[str]] = field(default_factory=list)
    teardown: list[list[str]] = field(default_factory=list)
    kernel: bool = False   # client is insmod of the sample module
    countable: bool = False


@dataclass
class Result:
    case: Case
    result: str
    checks: str
    error: str


def sh(argv: list[str]) -> int:
    return subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode


def dmesg_lines() -> list[str]:
    return subprocess.run(["dmesg"], capture_output=True, text=True).stdout.splitlines()


def first_error(*texts: str) -> str:
    for text in texts:
        for line in text.splitlines():
            line = line.strip()
            if line and not PASS_RE.match(line) and ERROR_RE.search(line):
                return line
    return ""


def last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[-1] if lines else "(no output)"


def run_case(case: Case, bindir: Path, logs: Path, total_checks: int) -> Result:
    before = len(dmesg_lines())
    for cmd in case.setup:
        sh(cmd)
    server = Proc(case.server, logs / f"{case.name}.server.tmp") if case.server else None
    client = Proc(case.client, logs / f"{case.name}.client.tmp")
    started = time.monotonic()
    try:
        if server:
            server.start(bindir)
            time.sleep(2)  # daemon_run
        client.start(bindir)
        client.wait(case.timeout)
        if case.kernel and client.rc == 0:
            sh(["rmmod", "quic_sample_test"])
    finally:
        if case.kernel:
            sh(["rmmod", "quic_sample_test"])
        if server:
            server.stop()
            time.sleep(3)  # daemon_stop
        for cmd in case.teardown:
            sh(cmd)
    elapsed = time.monotonic() - started
    kmsg = "\n".join(dmesg_lines()[before:])
    ctext = client.text()
    stext = server.text() if server else ""

    if client.rc == "timeout":
        result = "timeout"
    elif client.rc == 0:
        result = "pass"
    else:
        result = "FAIL"
    checks = ""
    if case.countable:
        checks = f"{len(PASS_RE.findall(ctext))}/{total_checks}"
    error = ""
    if result != "pass":
        error = first_error(ctext, stext, kmsg) or (
            f"killed after {case.timeout:.0f}s; last output: {last_line(ctext)}"
            if result == "timeout" else f"exit {client.rc}; last output: {last_line(ctext)}")

    with (logs / f"{case.name}.log").open("w") as log:
        log.write(f"case: {case.name} ({case.program} {case.mode})\n")
        log.write(f"result: {result}  checks: {checks or '-'}  time: {elapsed:.1f}s\n")
        for cmd in case.setup:
            log.write(f"setup: {' '.join(cmd)}\n")
        if server:
            log.write(f"\n==== server: {' '.join(server.argv)}  [status {server.rc}]\n")
            log.write(stext)
        log.write(f"\n==== client: {' '.join(client.argv)}  [status {client.rc}]\n")
        log.write(ctext)
        log.write("\n==== kernel messages during the case\n")
        log.write(kmsg + "\n")
    for p in (server, client):
        if p:
            p.out.unlink(missing_ok=True)
    return Result(case, result, checks, error)


def table(results: list[Result]) -> str:
    heads = ("program", "mode", "result", "checks", "first error")
    rows = [(r.case.program, r.case.mode, r.result, r.checks or "-", r.error or "-")
            for r in results]
    widths = [max(len(h), *(len(row[i]) for row in rows)) if rows else len(h)
              for i, h in enumerate(heads[:4])]
    lines = []
    for row in [heads, (*("-" * w for w in widths), "-" * 11), *rows]:
        cells = "  ".join(c.ljust(w) for c, w in zip(row[:4], widths, strict=True))
        lines.append(cells + "  " + row[4])
    passed = sum(r.result == "pass" for r in results)
    lines.append(f"\n{passed} of {len(results)} cases passed")
    return "\n".join(lines) + "\n"


def userspace_cases(full: bool, scale: float) -> list[Case]:
    perf_len = [] if full else ["--tot_len", PERF_BYTES]
    rr_num = [] if full else ["--num_reqs", RR_REQUESTS]
    cert = ["./keys/server-key.pem", "./keys/server-cert.pem"]
    perf_srv = ["./perf_test", "-l", "--pkey", cert[0], "--cert", cert[1]]
    t = scale
    cases = [
        Case("func-psk", "func_test", "PSK",
             ["./func_test", "client", "127.0.0.1", PORT, "./keys/client-psk.txt"],
             ["./func_test", "server", "0.0.0.0", PORT, "./keys/server-psk.txt"],
             timeout=300 * t, countable=True),
        Case("func-cert", "func_test", "certificate",
             ["./func_test", "client", "127.0.0.1", PORT],
             ["./func_test", "server", "0.0.0.0", PORT, *cert],
             timeout=300 * t, countable=True),
        Case("perf-ipv4", "perf_test", "throughput IPv4",
             ["./perf_test", "--addr", "127.0.0.1", *perf_len], perf_srv, timeout=300 * t),
        Case("perf-ipv6-nocrypt", "perf_test", "throughput IPv6 no_crypt",
             ["./perf_test", "--addr", "::1", "--no_crypt", *perf_len],
             [*perf_srv, "--no_crypt"], timeout=300 * t),
        Case("perf-ipv6", "perf_test", "throughput IPv6",
             ["./perf_test", "--addr", "::1", *perf_len], perf_srv, timeout=300 * t),
        Case("rr-ipv4", "perf_test", "RR IPv4",
             ["./perf_test", "--addr", "127.0.0.1", "-d", "1", *rr_num],
             [*perf_srv, "-d", "1"], timeout=300 * t),
        Case("rr-ipv6", "perf_test", "RR IPv6",
             ["./perf_test", "--addr", "::1", "-d", "1", *rr_num],
             [*perf_srv, "-d", "1"], timeout=300 * t),
    ]
    netem = ["tc", "qdisc", "add", "dev", "lo", "root", "netem", "loss", "30%"]
    unnetem = ["tc", "qdisc", "del", "dev", "lo", "root", "netem", "loss", "30%"]
    for fam, addr in (("IPv4", "127.0.0.1"), ("IPv6", "::1")):
        cases.append(Case(f"netem-{fam.lower()}", "perf_test", f"netem 30% loss {fam} 1 MiB",
                          ["./perf_test", "--addr", addr, "--tot_len", "1048576",
                           "--msg_len", "1024"], perf_srv, timeout=300 * t,
                          setup=[["modprobe", "-q", "sch_netem"], netem],
                          teardown=[unnetem]))
    cases.append(Case("http3-local", "http3_test", "local client -> server",
                      ["./http3_test", "-c", "https://localhost/"],
                      ["./http3_test", "-s", "127.0.0.1:443", *cert], timeout=120 * t))
    pairs = (
        ("IPv4 -> IPv6", "0.0.0.0", "127.0.0.1", "::1", None),
        ("IPv6 -> IPv4", "::", "::1", "127.0.0.1", None),
        ("IPv4 -> IPv4", "0.0.0.0", "127.0.0.1", "127.0.0.2",
         ["ip", "addr", "{}", "127.0.0.2/8", "dev", "lo"]),
        ("IPv6 -> IPv6", "::", "::1", "::2",
         ["ip", "-6", "addr", "{}", "::2/128", "dev", "lo"]),
    )
    for mode, laddr, peer, pref, ipcmd in pairs:
        name = "alpn-" + mode.replace(" -> ", "-").lower()
        setup = [[a.format("add") for a in ipcmd]] if ipcmd else []
        teardown = [[a.format("del") for a in ipcmd]] if ipcmd else []
        cases.append(Case(name, "alpn_test", f"{mode} (preferred addr {pref})",
                          ["./alpn_test", "client", peer, PORT, pref],
                          ["./alpn_test", "server", laddr, PORT, *cert, pref],
                          timeout=90 * t, setup=setup, teardown=teardown))
    cases += [
        Case("ticket", "ticket_test", "session resumption",
             ["./ticket_test", "client", "127.0.0.1", PORT],
             ["./ticket_test", "server", "0.0.0.0", PORT, *cert], timeout=90 * t),
        Case("sample", "sample_test", "userspace client -> server",
             ["./sample_test", "client", "127.0.0.1", PORT, "none", "none"],
             ["./sample_test", "server", "0.0.0.0", PORT, *cert], timeout=60 * t),
    ]
    return cases


def kernel_cases(ko: str, psk_serial: int | None, scale: float) -> list[Case]:
    cert = ["./keys/server-key.pem", "./keys/server-cert.pem"]
    t = 150 * scale
    cases = [
        Case("kernel-sample-cert-client", "quic_sample_test.ko", "kernel -> lkquic, cert",
             ["insmod", ko],
             ["./sample_test", "server", "0.0.0.0", PORT, *cert, "sample"],
             timeout=t, kernel=True),
        Case("kernel-sample-cert-server", "quic_sample_test.ko", "lkquic -> kernel, cert",
             ["insmod", ko, "role=server"],
             ["./sample_test", "client", "127.0.0.1", PORT, "none", "none", "sample"],
             timeout=t, kernel=True),
    ]
    if psk_serial is not None:
        cases.append(Case("kernel-sample-psk-client", "quic_sample_test.ko",
                          "kernel -> lkquic, PSK", ["insmod", ko, f"psk={psk_serial}"],
                          ["./sample_test", "server", "0.0.0.0", PORT,
                           "./keys/server-psk.txt", "none", "sample"],
                          timeout=t, kernel=True))
    cases += [
        Case("kernel-sample-psk-server", "quic_sample_test.ko", "lkquic -> kernel, PSK",
             ["insmod", ko, "role=server", "psk=1"],
             ["./sample_test", "client", "127.0.0.1", PORT, "./keys/client-psk.txt",
              "none", "sample"], timeout=t, kernel=True),
        Case("kernel-ticket-client", "quic_sample_test.ko", "kernel -> lkquic, resumption",
             ["insmod", ko, "alpn=ticket"],
             ["./ticket_test", "server", "0.0.0.0", PORT, *cert, "ticket"],
             timeout=t, kernel=True),
        Case("kernel-ticket-server", "quic_sample_test.ko", "lkquic -> kernel, resumption",
             ["insmod", ko, "role=server", "alpn=ticket"],
             ["./ticket_test", "client", "127.0.0.1", PORT, "ticket"],
             timeout=t, kernel=True),
    ]
    return cases


def install_ca(keys: Path) -> None:
    """runtest.sh's start_tests: the reference CA in the system trust store
    (the guest's /usr and /etc are overlays: nothing reaches the host).

    update-ca-certificates itself takes many minutes in the emulated guest
    (``openssl rehash`` of every certificate over 9p, and Debian's Java
    keystore hook), so this does what it would do for GnuTLS, whose system
    trust on Debian is the bundle /etc/ssl/certs/ca-certificates.crt: the
    certificate goes into the local folder and is appended to the bundle.
    """
    pem = (keys / "ca-cert.pem").read_text()
    dest = Path("/usr/local/share/ca-certificates/kquic-conformance-ca.crt")
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(pem)
    bundle = Path("/etc/ssl/certs/ca-certificates.crt")
    if pem not in bundle.read_text():
        with bundle.open("a") as out:
            out.write(pem if pem.endswith("\n") else pem + "\n")


def add_psk_keys() -> int | None:
    """runtest.sh's `ca_cert_pkey_psk.sh psk-keyring`: the PSKs test1 and test2
    as user keys (our daemon reads PSKs by serial); returns test1's serial."""
    from libquic.tools.keyring import add_key, set_perm
    psks = {"test1": "b8d3a37be2c9a08eaf25cf6abe602ecc94417f8ba6211a58b8d0a3fb0d2e3a90",
            "test2": "b8d3a37be2c9a08eaf25cf6abe602ecc94417f8ba6211a58b8d0a3fb0d2e3a91"}
    serials = {}
    for name, key in psks.items():
        serials[name] = add_key("user", name, bytes.fromhex(key))
        set_perm(serials[name], 0x3F1F1F1F)
    return serials["test1"]


class Daemon:
    """Our tlshd replacement, libquic.tools.handshaked, for the in-kernel cases."""

    def __init__(self, keys: Path, logs: Path) -> None:
        conf = logs / "handshaked.conf"
        conf.write_text(f"""[authenticate.client]
x509.truststore = {keys / 'ca-cert.pem'}

[authenticate.server]
x509.certificate = {keys / 'server-cert.pem'}
x509.private_key = {keys / 'server-key.pem'}
""")
        self.logfile = logs / "handshaked.log"
        with self.logfile.open("wb") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "libquic.tools.handshaked",
                                          "-v", "-c", str(conf)], cwd=ROOT, stdout=out,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        # Importing pyroute2 and cryptography takes minutes in a loaded,
        # emulated VM.
        deadline = time.monotonic() + 600
        while b"waiting for handshake requests" not in self.logfile.read_bytes():
            out = last_line(self.logfile.read_text(errors="replace"))
            if self.proc.poll() is not None:
                raise RuntimeError(f"handshaked exited with {self.proc.returncode}: {out}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"handshaked did not start within 600 s: {out}")
            time.sleep(0.2)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def select(cases: list[Case], only: list[str]) -> list[Case]:
    if not only:
        return cases
    return [c for c in cases if any(c.name == o or c.name.startswith(o) for o in only)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", type=Path, required=True,
                    help="the reference's built tests/ folder (programs and keys/)")
    ap.add_argument("--logs", type=Path, required=True, help="where logs and table go")
    ap.add_argument("--sample-ko", help="the reference's quic_sample_test.ko, built against us")
    ap.add_argument("--full", action="store_true", help="runtest.sh's transfer sizes")
    ap.add_argument("--scale", type=float, default=1.0, help="timeout multiplier")
    ap.add_argument("only", nargs="*", help="case names or prefixes (default: all)")
    args = ap.parse_args(argv)
    bindir = args.bin.resolve()
    logs = args.logs.resolve()
    logs.mkdir(parents=True, exist_ok=True)
    keys = bindir / "keys"

    total_checks = len(re.findall(r'"test\d+: PASS', (bindir / "func_test.c").read_text()))
    sh(["modprobe", "-a", "udp_tunnel", "ip6_udp_tunnel"])
    print("[conformance] installing the reference's CA in the guest's trust store", flush=True)
    install_ca(keys)

    results: list[Result] = []

    def run(cases: list[Case]) -> None:
        for case in select(cases, args.only):
            print(f"[conformance] {case.name}: {' '.join(case.client)}", flush=True)
            res = run_case(case, bindir, logs, total_checks)
            print(f"[conformance] {case.name}: {res.result} {res.checks} {res.error}",
                  flush=True)
            results.append(res)

    skipped: list[str] = []
    cases = userspace_cases(args.full, args.scale)
    if not (bindir / "http3_test").exists():
        cases = [c for c in cases if c.program != "http3_test"]
        skipped.append("HTTP/3 case not run: http3_test is not built")
    run(cases)

    if args.sample_ko:
        kcases = select(kernel_cases(args.sample_ko, None, args.scale), args.only)
        if kcases:
            daemon: Daemon | None = None
            try:
                psk = add_psk_keys()
                daemon = Daemon(keys, logs)
                run(kernel_cases(args.sample_ko, psk, args.scale))
            except (RuntimeError, OSError) as exc:
                skipped.append(f"in-kernel cases not run: {exc}")
            finally:
                if daemon:
                    daemon.stop()
    else:
        skipped.append("in-kernel cases not run: no KQUIC_CONF_SAMPLE_KO given")

    out = table(results) + "".join(s + "\n" for s in skipped)
    (logs / "table.txt").write_text(out)
    print("\n" + out, flush=True)
    return 0 if results and all(r.result == "pass" for r in results) and not skipped else 1


if __name__ == "__main__":
    sys.exit(main())
