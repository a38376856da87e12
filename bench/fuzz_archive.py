"""Fuzz the readers of saved files: mutated copies of a real ``.pt`` through ``inspect_archive`` and
``jitviz.graph(path)`` (which vets the file, then hands it to ``torch.jit.load``).

    python bench/fuzz_archive.py --cases 400 --seed 0

Every case must end in a report, a graph, or a ``JitvizError``; anything else (another exception,
a crash of the process) is a finding. Two kinds of mutation, half the cases each:

* ``bytes``: 1 to 8 random bytes of the file overwritten, or the file cut short: tries the zip
  layer (a changed byte inside a member fails its CRC, so this mostly reaches directories and
  headers);
* ``content``: 1, 2 or 8 random bytes of one member's *content* changed (``data.pkl``, a
  ``.debug_pkl``, ``constants.pkl`` or code) and the archive written again with correct sizes and
  CRCs, so the change reaches the pickle walker, and torch when the walker lets it through.

Run in a child process per batch, so a crash inside torch is counted (and its case printed)
instead of ending the run. Prints the outcome counts; exits 1 on any finding.

Measured on torch 2.13 (2 shared cores), 4,000 cases, seeds 0 and 7: about 50 s a 2,000; no crash;
one finding (seed 7, case 207): a ``.debug_pkl`` whose source range torch's own assert rejects
when the drawing first asks a node for its source line (``RuntimeError`` from
``node.sourceRange()`` in the converter, after a clean load).
"""

from __future__ import annotations

import argparse
import collections
import json
import random
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def _seed_file(folder: Path) -> Path:
    import torch

    class Net(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.linear = torch.nn.Linear(4, 3)
            self.scale = 2.0

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if x.sum() > 0:
                return self.linear(x) * self.scale
            return torch.nn.functional.gelu(x)

    path = folder / "net.pt"
    torch.jit.save(torch.jit.script(Net()), str(path))
    return path


def _mutant(original: bytes, rng: random.Random, members: list[tuple[str, bytes]]) -> tuple[str, bytes]:
    from tests import zipforge  # the test helper that writes zips exactly as told

    if rng.random() < 0.5:
        data = bytearray(original)
        if rng.random() < 0.1:
            return "bytes", bytes(data[: rng.randrange(len(data))])
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        return "bytes", bytes(data)
    targets = [i for i, (name, _) in enumerate(members) if name.endswith(("pkl", ".py"))]
    index = rng.choice(targets)
    content = bytearray(members[index][1])
    for _ in range(rng.choice((1, 1, 2, 8))):
        content[rng.randrange(len(content))] = rng.randrange(256)
    changed = [zipforge.Member(name, bytes(content) if i == index else data, zipfile.ZIP_STORED)
               for i, (name, data) in enumerate(members)]
    with tempfile.TemporaryDirectory() as folder:
        return "content", zipforge.write(Path(folder) / "m.pt", changed).read_bytes()


def _child(folder: Path, first: int, last: int) -> None:
    """Run cases ``first..last-1`` (files already written); print one JSON line per case."""
    import jitviz

    for case in range(first, last):
        path = folder / f"case{case}.pt"
        outcome = {}
        for name, call in (("inspect", jitviz.inspect_archive), ("graph", jitviz.graph)):
            print(json.dumps({"case": case, "started": name}), flush=True)
            try:
                call(path)
                outcome[name] = "ok"
            except jitviz.JitvizError as error:
                by = "torch" if str(error).startswith("torch.jit.load could not read") else "jitviz"
                outcome[name] = f"refused by {by}:{type(error).__name__}"
            except Exception as error:  # noqa: BLE001 - any other exception is a finding
                outcome[name] = f"RAW:{type(error).__name__}:{str(error)[:80]}"
        print(json.dumps({"case": case, **outcome}), flush=True)


def run(cases: int, seed: int, batch: int = 100) -> collections.Counter:
    """Write ``cases`` mutants, read them in child processes; the outcome counts."""
    rng = random.Random(seed)
    counts: collections.Counter = collections.Counter()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        original = _seed_file(folder)
        blob = original.read_bytes()
        with zipfile.ZipFile(original) as archive:
            members = [(info.filename, archive.read(info)) for info in archive.infolist()]
        kinds = {}
        for case in range(cases):
            kinds[case], data = _mutant(blob, rng, members)
            (folder / f"case{case}.pt").write_bytes(data)
        first = 0
        while first < cases:
            last = min(cases, first + batch)
            done = _batch(folder, first, last, kinds, counts)
            first = done + 1 if done < last - 1 else last
    return counts


def _batch(folder: Path, first: int, last: int, kinds: dict, counts: collections.Counter) -> int:
    command = [sys.executable, __file__, "--child", str(folder), str(first), str(last)]
    child = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=600, check=False)
    finished, started = first - 1, None
    for line in child.stdout.splitlines():
        record = json.loads(line)
        if "started" in record:
            started = record
            continue
        finished = record["case"]
        for step in ("inspect", "graph"):
            counts[f"{kinds[finished]} {step} {record[step].split(':')[0]}"] += 1
            if record[step].startswith("RAW"):
                print(f"case {finished} ({kinds[finished]}) {step}: {record[step]}")
    if child.returncode != 0:
        counts["CRASH"] += 1
        print(f"child ended with {child.returncode} in {started}: {child.stderr[-300:]}")
        return started["case"] if started else last - 1
    return last - 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=400)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--child", nargs=3)
    args = parser.parse_args()
    if args.child:
        _child(Path(args.child[0]), int(args.child[1]), int(args.child[2]))
        return 0
    start = time.perf_counter()
    counts = run(args.cases, args.seed)
    for key, count in sorted(counts.items()):
        print(f"{count:6d}  {key}")
    findings = sum(count for key, count in counts.items() if "RAW" in key or key == "CRASH")
    print(f"{args.cases} cases in {time.perf_counter() - start:.1f} s, {findings} findings")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
