"""Fuzz the whole path a user takes with a stranger's file, each case in its own process under a time
and a memory bound:

    python bench/fuzz_show.py --cases 300 --seed 0

A case is a mutant of one of three seeds: a plain TorchScript ``.pt``, a hostile one (a scripted
class whose ``__setstate__``, which ``torch.jit.load`` runs, writes into a "victim" file), and a
``torch.export`` ``.pt2``. Mutations (see :data:`MUTATIONS`): bit flips, truncation, bytes of one
member changed (the zip rewritten with true CRCs), duplicated and renamed entries (case, folder,
60,000-character, control-character, ``../`` and non-UTF-8 names), huge declared sizes, deflate
bombs, deep pickles, deep or hostile code, trailing bytes, prefixes, a zip inside a zip.

Each case runs, in a child forked from a process that imported jitviz and drew once (so a case
costs milliseconds, not torch's import), ``jitviz.show(path)`` then ``.svg()``, ``.html()`` and
``_repr_mimebundle_()``; ``jitviz.inspect_archive(path)``, its ``repr`` and ``_repr_html_()``;
``jitviz.explain(path)`` and its ``_repr_mimebundle_()``. A finding is: a step raising anything but
a :class:`jitviz.JitvizError` with a plain message (no C++ stack dump), a child that crashes,
runs past ``--seconds`` or grows past ``--megabytes`` of resident memory (its address space is
capped a little above), or a victim file that is not byte for byte as it was. Prints the outcome
counts, the slowest case and the largest memory growth; exits 1 on any finding.

``mutant(seeds, rng)`` is what ``tests/test_fuzz_show.py`` runs a fixed subset of.

Measured on torch 2.13 (2 shared cores, bounds 30 s and 1,024 MiB): the first 30 cases found one
thing, a 265 KB ``.pt`` whose 1-float storage had a 256 MiB record of deflated zeros, drawn after
torch took 256 MiB to load it (now refused: ``tests/test_tensor_records.py``). After the fix, 300
cases of seed 0 in 92 s: 0 findings; slowest 7.6 s (a 1.2 MB file, a huge declared size and a
300,000-deep pickle), largest growth 51 MiB, peak resident 514 MiB (torch's own included). Seed 7,
300 cases in 77 s: 0 findings; slowest 5.1 s, largest growth 45 MiB, peak resident 516 MiB.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import resource
import select
import signal
import struct
import sys
import tempfile
import time
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

VICTIM_BYTES = b"the user's own file, 32 bytes .."
BOMB_BYTES = 256 << 20  # what a deflate bomb inflates to (256 KiB in the file)


# --- the seeds ------------------------------------------------------------------------------------------


@dataclass
class Seeds:
    """The three files mutated, as bytes and as their entries; the victim the hostile one writes."""

    blobs: dict[str, bytes]
    members: dict[str, list[tuple[str, bytes]]]
    victim: Path
    bomb: tuple[bytes, int, int]  # deflated zeros, their CRC and their size


def make_seeds(folder: Path, bomb_bytes: int = BOMB_BYTES) -> Seeds:
    import torch

    victim = folder / "victim.txt"
    victim.write_bytes(VICTIM_BYTES)

    class Inner(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.linear = torch.nn.Linear(4, 3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.relu(self.linear(x))

    class Net(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = Inner()
            self.scale = 2.0

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if x.sum() > 0:
                return self.inner(x) * self.scale
            for _ in range(3):
                x = x + 1
            return torch.nn.functional.gelu(x)

    blobs = {}
    path = folder / "seed.pt"
    torch.jit.save(torch.jit.script(Net()), str(path))
    blobs["pt"] = path.read_bytes()
    torch.jit.save(torch.jit.script(_carrier()(str(victim))), str(path))
    blobs["hostile"] = path.read_bytes()
    exported = torch.export.export(Inner(), (torch.ones(2, 4),))
    torch.export.save(exported, str(folder / "seed.pt2"))
    blobs["pt2"] = (folder / "seed.pt2").read_bytes()
    members = {}
    for name, blob in blobs.items():
        (folder / "seed.zip").write_bytes(blob)
        with zipfile.ZipFile(folder / "seed.zip") as archive:
            members[name] = [(info.filename, archive.read(info)) for info in archive.infolist()]
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    zeros = bytes(1 << 20)
    bomb = b"".join(packer.compress(zeros) for _ in range(bomb_bytes >> 20)) + packer.flush()
    crc = 0
    for _ in range(bomb_bytes >> 20):
        crc = zlib.crc32(zeros, crc)
    return Seeds(blobs, members, victim, (bomb, crc, bomb_bytes >> 20 << 20))


def _carrier() -> type:
    """A module holding a scripted object whose ``__setstate__`` fills 8 bytes of a file with 'X'."""
    from tests.hostile import Carrier  # imported late: torch loads here, not at the fuzzer's start

    return Carrier


# --- the mutations ----------------------------------------------------------------------------------------

Entries = list  # of tests.zipforge.Member


def _entries(pairs: list[tuple[str, bytes]]) -> Entries:
    from tests import zipforge

    return [zipforge.Member(name, data, zipfile.ZIP_STORED) for name, data in pairs]


def _write(entries: Entries) -> bytes:
    from tests import zipforge

    with tempfile.TemporaryDirectory() as folder:
        return zipforge.write(Path(folder) / "m.zip", entries).read_bytes()


def _pick(entries: Entries, rng: random.Random, suffixes: tuple[str, ...] = ()) -> int:
    hits = [i for i, m in enumerate(entries) if not suffixes or str(m.name).endswith(suffixes)]
    return rng.choice(hits or list(range(len(entries))))


def _bit_flips(blob: bytes, rng: random.Random, s: Seeds) -> bytes:
    data = bytearray(blob)
    for _ in range(rng.randint(1, 8)):
        data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    return bytes(data)


def _truncated(blob: bytes, rng: random.Random, s: Seeds) -> bytes:
    return blob[: rng.randrange(len(blob))]


def _content(entries: Entries, rng: random.Random, s: Seeds) -> Entries:
    i = _pick(entries, rng, ("pkl", ".py", ".json", "version", "archive_format"))
    data = bytearray(entries[i].data) or bytearray(b"\0")
    for _ in range(rng.choice((1, 1, 2, 8))):
        data[rng.randrange(len(data))] = rng.randrange(256)
    entries[i].data = bytes(data)
    return entries


def _duplicated(entries: Entries, rng: random.Random, s: Seeds) -> Entries:
    from tests import zipforge

    i = _pick(entries, rng)
    name = str(entries[i].name)
    copy_name = rng.choice((name, name.upper(), name.swapcase()))
    data = entries[i].data if rng.random() < 0.5 else entries[_pick(entries, rng)].data
    entries.insert(rng.choice((0, i, i + 1, len(entries))), zipforge.Member(copy_name, data))
    return entries


def _renamed(entries: Entries, rng: random.Random, s: Seeds) -> Entries:
    i = _pick(entries, rng)
    name = str(entries[i].name)
    folder, _, rest = name.partition("/")
    choice = rng.randrange(8)
    if choice == 0:
        new: str | bytes = name.upper()
    elif choice == 1:
        new = f"other/{rest}"
    elif choice == 2:
        new = f"{folder}/{rest}" + "x" * 60_000
    elif choice == 3:
        new = f"{folder}/{rest}\0evil"
    elif choice == 4:
        new = f"{folder}/../../{rest}"
    elif choice == 5:
        new = f"{folder}/\x1b[31m\u202e{rest}"
    elif choice == 6:
        new = f"{folder}/{rest}".encode() + b"\xff\xfe"  # bytes: not UTF-8, not flagged
    else:
        new = rest or name
    entries[i].name = new
    return entries


def _huge_size(entries: Entries, rng: random.Random, s: Seeds) -> Entries:
    i = _pick(entries, rng, ("pkl", "/0", ".py", ".json", "/weight"))
    if rng.random() < 0.5:
        entries[i].claimed_size = rng.choice((0xFFFFFFFF, 0x7FFFFFFF, len(entries[i].data) + 1, 1 << 30))
    else:  # a zip64 extra field claiming sizes past any disk
        entries[i].claimed_size = 0xFFFFFFFF
        entries[i].central_extra = struct.pack("<HHQ", 1, 8, rng.choice((2**62, 2**64 - 1, 1 << 40)))
    return entries


def _bomb(entries: Entries, rng: random.Random, s: Seeds) -> Entries:
    i = _pick(entries, rng, ("data.pkl", "/0", ".py", ".json", "constants.pkl"))
    bomb, crc, size = s.bomb
    entries[i].data, entries[i].method, entries[i].compress = bomb, zipfile.ZIP_DEFLATED, False
    entries[i].claimed_size, entries[i].crc = size, crc
    return entries


def _deep_pickle(entries: Entries, rng: random.Random, s: Seeds) -> Entries:
    depth = rng.choice((999, 1_001, 5_000, 300_000))
    kind = rng.randrange(3)
    if kind == 0:  # lists in lists
        body = b"]" * depth + b"a" * (depth - 1)
    elif kind == 1:  # tuples in tuples
        body = b")" + b"\x85" * depth
    else:  # a dict of dicts, keyed by ints
        body = b"}" + b"K\x01}" * depth + b"s" * depth
    data = b"\x80\x02" + body + b"."
    i = _pick(entries, rng, ("data.pkl", "constants.pkl", ".debug_pkl", "sample_inputs/model.pt"))
    entries[i].data = data
    return entries


def _hostile_code(entries: Entries, rng: random.Random, s: Seeds) -> Entries:
    i = _pick(entries, rng, (".py", ".json"))
    choice = rng.randrange(5)
    if choice == 0:
        extra = b"\nx = " + b"(" * 150_000 + b"1" + b")" * 150_000 + b"\n"
    elif choice == 1:
        extra = b"\nx = " + b"-" * 100_000 + b"1\n"
    elif choice == 2:
        extra = b"\n" + b"".join(b" " * k + b"if x:\n" for k in range(600)) + b" " * 600 + b"pass\n"
    elif choice == 3:
        extra = b"\ndef __setstate__(self, state: int) -> None:\n    pass\n"
    else:
        extra = bytes(rng.randrange(256) for _ in range(64))
    entries[i].data = entries[i].data + extra
    return entries


def _trailing(blob: bytes, rng: random.Random, s: Seeds) -> bytes:
    at = blob.rfind(b"PK\x05\x06")
    choice = rng.randrange(4)
    if choice == 0:
        tail = bytes(rng.randrange(256) for _ in range(rng.randint(1, 100)))
    elif choice == 1:
        tail = blob[at:at + rng.randint(4, 21)]
    elif choice == 2:
        tail = blob[at:at + 22]
    else:
        tail = bytes(rng.choice((5_000, 66_000, 69_000)))
    return blob + tail


def _prefixed(blob: bytes, rng: random.Random, s: Seeds) -> bytes:
    choice = rng.randrange(3)
    if choice == 0:
        return bytes(rng.randrange(256) for _ in range(rng.randint(1, 200))) + blob
    if choice == 1:
        return s.blobs["pt"] + blob  # two archives, one after the other
    return b"#!/bin/sh\nexit 0\n" + blob


def _nested(blob: bytes, rng: random.Random, s: Seeds) -> bytes:
    from tests import zipforge

    if rng.random() < 0.5:
        return _write([zipforge.Member("outer/model.pt", blob)])
    entries = _entries(s.members["pt"])
    i = _pick(entries, rng, ("data.pkl", ".py"))
    entries[i].data = blob
    return _write(entries)


ByteMutation = Callable[[bytes, random.Random, Seeds], bytes]
EntryMutation = Callable[[Entries, random.Random, Seeds], Entries]
MUTATIONS: dict[str, tuple[str, Callable]] = {
    "bit flips": ("bytes", _bit_flips),
    "truncated": ("bytes", _truncated),
    "content": ("entries", _content),
    "duplicated": ("entries", _duplicated),
    "renamed": ("entries", _renamed),
    "huge size": ("entries", _huge_size),
    "bomb": ("entries", _bomb),
    "deep pickle": ("entries", _deep_pickle),
    "hostile code": ("entries", _hostile_code),
    "trailing": ("bytes", _trailing),
    "prefixed": ("bytes", _prefixed),
    "nested": ("bytes", _nested),
}


def mutant(seeds: Seeds, rng: random.Random) -> tuple[str, bytes]:
    """One mutant: ``("pt2: renamed+trailing", data)``; one or two mutations of a random seed."""
    seed = rng.choice(("pt", "pt", "hostile", "pt2"))
    names = rng.sample(sorted(MUTATIONS), rng.choice((1, 1, 1, 2)))
    data = seeds.blobs[seed]
    for name in names:
        kind, mutate = MUTATIONS[name]
        if kind == "bytes":
            data = mutate(data, rng, seeds)
        else:
            try:
                with zipfile.ZipFile(_Bytes(data)) as archive:
                    pairs = [(info.orig_filename, archive.read(info)) for info in archive.infolist()]
            except Exception:  # noqa: BLE001 - an earlier mutation broke the zip: start from the seed's
                pairs = seeds.members[seed]
            data = _write(mutate(_entries(pairs), rng, seeds))
    return f"{seed}: {'+'.join(names)}", data


def _Bytes(data: bytes):  # noqa: N802 - a file-like object, named like io.BytesIO
    import io

    return io.BytesIO(data)


# --- running a case ----------------------------------------------------------------------------------------


def _steps() -> list[tuple[str, Callable]]:
    import jitviz

    def show(path: Path) -> None:
        view = jitviz.show(path)
        view.svg()
        view.html()
        view._repr_mimebundle_()

    def inspect(path: Path) -> None:
        report = jitviz.inspect_archive(path)
        repr(report)
        report._repr_html_()

    def explain(path: Path) -> None:
        explanation = jitviz.explain(path)
        explanation._repr_mimebundle_()

    return [("show", show), ("inspect", inspect), ("explain", explain)]


def run_steps(path: Path) -> dict[str, str]:
    """Each step's outcome: ``ok``, ``refused:NotTorchScriptFileError`` or ``RAW:...`` (a finding)."""
    import jitviz

    outcome = {}
    for name, step in _steps():
        try:
            step(path)
            outcome[name] = "ok"
        except jitviz.JitvizError as error:
            message = str(error)
            if not message.strip() or "Exception raised from" in message or "frame #" in message:
                outcome[name] = f"RAW:bad message:{type(error).__name__}:{message[:300]!r}"
            else:
                outcome[name] = f"refused:{type(error).__name__}:{message[:160]}"
        except BaseException as error:  # noqa: BLE001 - anything else is a finding
            outcome[name] = f"RAW:{type(error).__name__}:{str(error)[:300]}"
    return outcome


def _vm_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmSize:"):
            return int(line.split()[1]) * 1024
    return 0


def _rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def run_case(path: Path, seconds: float, megabytes: int) -> dict:
    """Fork, run the steps on ``path`` in the child under the bounds; what happened, timed and measured."""
    read_end, write_end = os.pipe()
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # the child
        try:
            os.close(read_end)
            os.write(write_end, json.dumps({"rss": _rss_bytes()}).encode() + b"\n")  # where growth counts from
            cap = _vm_bytes() + 2 * megabytes * (1 << 20)  # the address space: a backstop for the RSS bound
            resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
            outcome = run_steps(path)
            os.write(write_end, json.dumps(outcome).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    chunks, timed_out = [], False
    deadline = start + seconds
    while True:
        left = deadline - time.perf_counter()
        if left <= 0:
            timed_out = True
            os.kill(pid, signal.SIGKILL)
            break
        ready, _, _ = select.select([read_end], [], [], left)
        if ready:
            chunk = os.read(read_end, 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
    os.close(read_end)
    _, status, usage = os.wait4(pid, 0)
    elapsed = time.perf_counter() - start
    lines = b"".join(chunks).split(b"\n", 1)
    try:
        base_rss = json.loads(lines[0])["rss"]
    except (ValueError, KeyError):
        base_rss = 0
    grown = usage.ru_maxrss * 1024 - base_rss
    result: dict = {"seconds": round(elapsed, 3), "grown_mb": round(grown / (1 << 20), 1),
                    "peak_mb": round(usage.ru_maxrss / 1024, 1)}
    if timed_out:
        result["RAW"] = f"ran past {seconds} s"
    elif os.WIFSIGNALED(status):
        result["RAW"] = f"crashed with signal {os.WTERMSIG(status)}"
    else:
        try:
            result["steps"] = json.loads(lines[1] if len(lines) > 1 and lines[1] else b"{}")
        except ValueError:
            result["RAW"] = "child wrote no result"
        if not result.get("steps"):
            result["RAW"] = "child wrote no result"
    if grown > megabytes << 20:
        result["RAW"] = f"grew {grown >> 20} MiB, past {megabytes} MiB"
    return result


def findings_of(result: dict) -> list[str]:
    found = [result["RAW"]] if "RAW" in result else []
    found += [f"{step}: {outcome}" for step, outcome in result.get("steps", {}).items() if outcome.startswith("RAW")]
    return found


def warm_up(seeds: Seeds, folder: Path) -> None:
    """Import and draw once in this process, so a forked case pays for neither."""
    path = folder / "warm.pt"
    path.write_bytes(seeds.blobs["pt"])
    run_steps(path)
    path.unlink()


def run(cases: int, seed: int, seconds: float, megabytes: int, verbose: bool = False) -> dict:
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        seeds = make_seeds(folder)
        warm_up(seeds, folder)
        counts: collections.Counter = collections.Counter()
        findings, slowest, largest = [], (0.0, ""), (float("-inf"), "")
        peak = 0.0
        for case in range(cases):
            what, data = mutant(seeds, rng)
            path = folder / f"case{case}.pt"
            path.write_bytes(data)
            result = run_case(path, seconds, megabytes)
            path.unlink()
            if seeds.victim.read_bytes() != VICTIM_BYTES:
                result["RAW"] = "the victim file was changed"
                seeds.victim.write_bytes(VICTIM_BYTES)
            label = f"case {case} ({what}, {len(data):,} bytes)"
            for step, outcome in result.get("steps", {}).items():
                counts[f"{step} {outcome.split(':')[0]}{':' + outcome.split(':')[1] if ':' in outcome else ''}"] += 1
            for finding in findings_of(result):
                findings.append(f"{label}: {finding}")
                print(f"FINDING {label}: {finding}", flush=True)
            if verbose:
                print(label, result, flush=True)
            slowest = max(slowest, (result["seconds"], label))
            largest = max(largest, (result["grown_mb"], label))
            peak = max(peak, result["peak_mb"])
    return {"cases": cases, "counts": counts, "findings": findings, "slowest": slowest, "largest": largest,
            "peak_mb": peak}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--seconds", type=float, default=30.0, help="wall-clock bound of one case")
    parser.add_argument("--megabytes", type=int, default=1024, help="bound on a case's resident memory growth")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    start = time.perf_counter()
    summary = run(args.cases, args.seed, args.seconds, args.megabytes, args.verbose)
    for key, count in sorted(summary["counts"].items()):
        print(f"{count:6d}  {key}")
    print(f"slowest: {summary['slowest'][0]:.2f} s, {summary['slowest'][1]}")
    print(f"largest memory growth: {summary['largest'][0]:.0f} MiB, {summary['largest'][1]}; "
          f"peak resident {summary['peak_mb']:.0f} MiB (the forked process's, torch included)")
    print(f"{args.cases} cases in {time.perf_counter() - start:.1f} s, {len(summary['findings'])} findings")
    return 1 if summary["findings"] else 0


if __name__ == "__main__":
    sys.exit(main())
