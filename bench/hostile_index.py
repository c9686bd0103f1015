"""Hostile files beside good ones (issue 25): what they cost `assistant index`, and what survives.

    python bench/hostile_index.py [--quick] [--big] [--each] [--timeout 900] [--json FILE]

Builds two folders in a temporary directory. "good": five small text and
Markdown files, each holding one known fact, and one image-only scanned PDF
holding another (read by OCR; --no-scan leaves it out). "mixed": the same files
plus one of each hostile file of tests/hostile.py: a blank page of 5000 x 5000
pt, 50 blank letter pages, a 20,000 x 20,000 PNG, a .docx whose XML inflates to
30 MB, an HTML page nested 1,000,000 deep and one with 2,000,000 elements
(--big adds a .docx of 300 MB of XML; --quick makes every hostile file smaller,
for a smoke run; --each also indexes the good files with each hostile file
alone, to see which file costs what).

Each folder is indexed by a real `python -m assistant index --docs DIR --index
DIR2` into a fresh index, the good one first: it is the baseline of the same
run. While a run lasts, every ~50 ms the resident memory (RSS) of the whole
process tree is summed: the CLI process and every process it starts (a
parsing worker, say), found through parent ids and through the session the
CLI is started in, so a reparented child still counts. The sum of PSS
(proportional set size: pages shared between processes, as a forked worker
shares its parent's, are split between them instead of counted in each) is
sampled alongside, and the kernel's own peak RSS of the largest single
process (wait4) is reported too. A run that outlasts --timeout, or whose tree
passes --max-rss-mb (the machine's memory is shared), is killed with its whole
tree and reported as such. Then every fact is asked with `python -m assistant
ask --json` against both indexes; a fact is answered when the answer holds
its expected words and cites the file that has it.

Reported: exit code, wall time, peak tree RSS and PSS, processes seen, the
summary and skipped/note lines the CLI printed, the tail of its stderr, the
facts answered, and the ratios mixed / good of wall time and peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import hostile  # noqa: E402

# (file name, text, question, words the answer must hold)
FACTS = [
    ("lighthouse.md", "# The Hartwell lighthouse\n\nThe Hartwell lighthouse stands on the "
     "northern headland of the bay. It was built in 1874 by the engineer Agnes Morrow, who also "
     "designed its iron lantern. The light was automated in 1962.\n",
     "Who built the Hartwell lighthouse?", "Agnes Morrow"),
    ("orchard.txt", "The Pellham orchard lies on the south slope above the village. The "
     "orchard grows 312 varieties of apple, most of them old local kinds. Its cider press is "
     "open to visitors every October.\n",
     "How many varieties of apple does the Pellham orchard grow?", "312"),
    ("footbridge.md", "# Calder footbridge\n\nThe Calder footbridge was opened in 2009 for "
     "walkers and cyclists. The footbridge spans 84 metres across the river Calder without a "
     "pier in the water.\n",
     "How long is the span of the Calder footbridge?", "84 metres"),
    ("choir.txt", "The Dunmore choir sings at the abbey every Sunday. The Dunmore choir was "
     "founded in the town of Kelso in 1921 by a group of mill workers. It now has forty "
     "members.\n",
     "In which town was the Dunmore choir founded?", "Kelso"),
    ("observatory.md", "# The Brennan observatory\n\nThe Brennan observatory sits on a ridge "
     "far from city lights. The mirror of its main telescope is 2.4 metres across and was cast "
     "in 1988.\n",
     "How wide is the mirror of the Brennan observatory's main telescope?", "2.4 metres"),
]
SCAN = ("pumping-station-scan.pdf", "The Marsh Lane pumping station was rebuilt in 1987 by "
        "Thornbury Engineering. It lifts water from the low fields into the river.",
        "When was the Marsh Lane pumping station rebuilt?", "1987")

# hostile file -> (maker, full-size arguments, --quick arguments)
HOSTILE = {
    "giant-page.pdf": (hostile.giant_page_pdf, {"points": 5000}, {"points": 2000}),
    "blank-pages.pdf": (hostile.blank_pages_pdf, {"pages": 50}, {"pages": 5}),
    "bomb.png": (hostile.bomb_png, {"side": 20000}, {"side": 6000}),
    "inflating.docx": (hostile.inflating_docx, {"xml_mb": 30}, {"xml_mb": 3}),
    "deep.html": (hostile.deep_html, {"depth": 1_000_000}, {"depth": 100_000}),
    "many-nodes.html": (hostile.many_nodes_html, {"nodes": 2_000_000}, {"nodes": 200_000}),
}
BIG = ("inflating-300mb.docx", hostile.inflating_docx, {"xml_mb": 300})


def env() -> dict[str, str]:
    out = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    out.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false",
               GRADIO_ANALYTICS_ENABLED="False", PYTHONPATH=str(ROOT))
    return out


def write_good(folder: Path, scan: bool) -> list[tuple[str, str, str, str]]:
    folder.mkdir(parents=True)
    facts = list(FACTS)
    for name, text, _, _ in facts:
        (folder / name).write_text(text, encoding="utf-8")
    if scan:
        hostile.scan_pdf(folder / SCAN[0], SCAN[1])
        facts.append(SCAN)
    return facts


def write_hostile(folder: Path, quick: bool, big: bool) -> dict[str, dict]:
    made = {}
    for name, (maker, full, small) in HOSTILE.items():
        kwargs = small if quick else full
        maker(folder / name, **kwargs)
        made[name] = {"maker": maker.__name__, **kwargs, "bytes": (folder / name).stat().st_size}
    if big:
        name, maker, kwargs = BIG
        maker(folder / name, **kwargs)
        made[name] = {"maker": maker.__name__, **kwargs, "bytes": (folder / name).stat().st_size}
    return made


# --- the process tree ---------------------------------------------------------

def _stat(pid: int) -> tuple[int, int] | None:
    """(parent id, session id) of a process, from /proc/PID/stat."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return None
    fields = raw[raw.rindex(b")") + 2:].split()  # the name may hold spaces and parentheses
    return int(fields[1]), int(fields[3])


def tree(root: int) -> set[int]:
    """The root, its descendants, and every process of the root's session."""
    links: dict[int, int] = {}
    found = {root}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            st = _stat(int(entry))
            if st is not None:
                links[int(entry)] = st[0]
                if st[1] == root:  # the CLI leads its own session (start_new_session)
                    found.add(int(entry))
    grew = True
    while grew:
        grew = False
        for pid, parent in links.items():
            if parent in found and pid not in found:
                found.add(pid)
                grew = True
    return found


def _kb(path: str, key: bytes) -> int:
    try:
        for line in Path(path).read_bytes().splitlines():
            if line.startswith(key):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def memory_kb(pids: set[int]) -> tuple[int, int, dict[int, int]]:
    """Summed RSS and PSS (kB) of the processes, and each one's RSS."""
    each = {pid: _kb(f"/proc/{pid}/status", b"VmRSS:") for pid in pids}
    pss = sum(_kb(f"/proc/{pid}/smaps_rollup", b"Pss:") for pid in pids)
    return sum(each.values()), pss, each


def _psutil_memory(root: int) -> tuple[set[int], int, int, dict[int, int]]:
    """The same, through psutil, where /proc cannot be read (not Linux)."""
    import psutil

    try:
        procs = [psutil.Process(root)]
        procs += procs[0].children(recursive=True)
    except psutil.Error:
        return set(), 0, 0, {}
    each, pss = {}, 0
    for p in procs:
        try:
            info = p.memory_full_info()
        except psutil.Error:
            continue
        each[p.pid] = info.rss // 1024
        pss += getattr(info, "pss", info.rss) // 1024
    return set(each), sum(each.values()), pss, each


@dataclass
class Run:
    command: list[str]
    exit_code: int | None = None  # None when killed by the benchmark
    killed: str | None = None  # "timeout" or "memory" when the benchmark ended it
    signal: int | None = None  # the signal that ended it, if one did
    wall_s: float = 0.0
    peak_tree_rss_mb: float = 0.0
    peak_tree_pss_mb: float = 0.0
    peak_largest_process_rss_mb: float = 0.0  # the kernel's (wait4), over the CLI and its children
    processes_seen: int = 0
    most_at_once: int = 0
    samples: int = 0
    left_running: int = 0
    summary: str = ""
    skipped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    stdout_tail: str = ""
    stderr_tail: str = ""


def run_measured(cmd: list[str], work: Path, name: str, timeout: float, max_rss_mb: float,
                 interval: float = 0.05) -> Run:
    """Run cmd in its own session; sample its tree's memory until it ends or is killed."""
    run = Run(command=cmd)
    out_path, err_path = work / f"{name}.stdout.txt", work / f"{name}.stderr.txt"
    use_proc = Path("/proc/self/stat").exists()
    seen: set[int] = set()
    with out_path.open("wb") as out, err_path.open("wb") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env(), stdout=out, stderr=err,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        status, usage = None, None
        pids: set[int] = {proc.pid}
        while True:
            reaped, status_, usage_ = os.wait4(proc.pid, os.WNOHANG)
            if reaped:
                status, usage = status_, usage_
                break
            if use_proc:
                pids = tree(proc.pid)
                rss, pss, _ = memory_kb(pids)
            else:
                pids, rss, pss, _ = _psutil_memory(proc.pid)
            seen |= pids
            run.samples += 1
            run.most_at_once = max(run.most_at_once, len(pids))
            run.peak_tree_rss_mb = max(run.peak_tree_rss_mb, rss / 1024)
            run.peak_tree_pss_mb = max(run.peak_tree_pss_mb, pss / 1024)
            over = "timeout" if time.perf_counter() - t0 > timeout else (
                "memory" if rss / 1024 > max_rss_mb else None)
            if over:
                run.killed = over
                _kill(proc.pid, pids)
                _, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(interval)
        run.wall_s = round(time.perf_counter() - t0, 2)
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here; Popen must not wait
        left = tree(proc.pid) - {proc.pid} if use_proc else set()
        run.left_running = len(left)  # processes of its session still alive after it exited
        _kill(proc.pid, left)
    code = proc.returncode
    run.exit_code, run.signal = (code, None) if code >= 0 else (None, -code)
    if run.killed:
        run.exit_code = None
    run.peak_largest_process_rss_mb = round(usage.ru_maxrss / 1024, 1)  # Linux: kB
    run.peak_tree_rss_mb = round(run.peak_tree_rss_mb, 1)
    run.peak_tree_pss_mb = round(run.peak_tree_pss_mb, 1)
    run.processes_seen = len(seen)
    stdout = out_path.read_text(encoding="utf-8", errors="replace")
    stderr = err_path.read_text(encoding="utf-8", errors="replace")
    lines = stdout.splitlines()
    run.summary = next((ln for ln in lines if ln.startswith(("added ", "updated "))), "")
    run.skipped = [ln for ln in lines if ln.startswith("skipped ")]
    run.notes = [ln for ln in lines if ln.startswith("note: ")]
    run.stdout_tail = stdout[-2000:]
    # the progress bar redraws with \r; keep what a terminal would show last
    run.stderr_tail = "\n".join(ln.rsplit("\r", 1)[-1] for ln in stderr.splitlines())[-3000:]
    return run


def _kill(root: int, pids: set[int]) -> None:
    try:
        os.killpg(root, signal.SIGKILL)
    except OSError:
        pass
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


# --- asking -------------------------------------------------------------------

def ask(index: Path, question: str, expected: str, source: str, timeout: float) -> dict:
    cmd = [sys.executable, "-m", "assistant", "ask", question, "--index", str(index), "--json"]
    t0 = time.perf_counter()
    try:
        done = subprocess.run(cmd, cwd=ROOT, env=env(), capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"question": question, "answered": False, "error": f"timed out after {timeout} s"}
    result: dict = {"question": question, "expected": expected, "exit_code": done.returncode,
                    "seconds": round(time.perf_counter() - t0, 2), "answered": False}
    if done.returncode != 0:
        result["error"] = done.stderr.strip().splitlines()[-1:] or ["(no message)"]
        return result
    out = json.loads(done.stdout)
    sources = [Path(c.get("path") or c.get("source") or "").name for c in out["citations"]]
    result.update(found=out["found"], sources=sources,
                  answer=out["answer"][:300],
                  answered=bool(out["found"]) and expected in out["answer"] and source in sources)
    return result


# --- report -------------------------------------------------------------------

def table(runs: dict[str, Run], answers: dict[str, list[dict]]) -> str:
    width = max(6, *(len(n) for n in runs))
    head = (f"{'run':{width}} {'exit':>5} {'wall s':>8} {'peak tree RSS MB':>17} {'peak PSS MB':>12} "
            f"{'largest proc MB':>16} {'procs':>6} {'skipped':>8} {'facts':>6}")
    rows = [head]
    for name, r in runs.items():
        exit_ = r.killed or (str(r.exit_code) if r.exit_code is not None else f"sig{r.signal}")
        got = answers[name]
        rows.append(f"{name:{width}} {exit_:>5} {r.wall_s:8.1f} {r.peak_tree_rss_mb:17.0f} "
                    f"{r.peak_tree_pss_mb:12.0f} {r.peak_largest_process_rss_mb:16.0f} "
                    f"{r.processes_seen:6d} {len(r.skipped):8d} "
                    f"{sum(a['answered'] for a in got):>3}/{len(got)}")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="smaller hostile files (a smoke run)")
    ap.add_argument("--big", action="store_true", help="add a .docx of 300 MB of XML")
    ap.add_argument("--no-scan", action="store_true", help="leave the scanned PDF out of both")
    ap.add_argument("--timeout", type=float, default=900.0, help="seconds per index run (900)")
    ap.add_argument("--ask-timeout", type=float, default=180.0, help="seconds per question")
    ap.add_argument("--max-rss-mb", type=float, default=10_000.0,
                    help="kill an index run whose tree passes this RSS (the machine is shared)")
    ap.add_argument("--json", type=Path, default=None, metavar="FILE")
    ap.add_argument("--each", action="store_true",
                    help="also index the good files with each hostile file alone")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folders")
    args = ap.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="bench-hostile-"))
    try:
        good, mixed = work / "good", work / "mixed"
        facts = write_good(good, scan=not args.no_scan)
        shutil.copytree(good, mixed)
        made = write_hostile(mixed, args.quick, args.big)
        print(f"folders in {work}; hostile files: "
              + ", ".join(f"{n} ({v['bytes']:,} B)" for n, v in made.items()), flush=True)
        runs: dict[str, Run] = {}
        answers: dict[str, list[dict]] = {}
        folders = [("good", good), ("mixed", mixed)]
        if args.each:  # good + one hostile file, for each: which file costs what
            for hostile_name in made:
                alone = work / f"good+{hostile_name}"
                shutil.copytree(good, alone)
                shutil.copy2(mixed / hostile_name, alone / hostile_name)
                folders.append((f"+{hostile_name}", alone))
        for name, docs in folders:
            index = work / f"index-{name}"
            cmd = [sys.executable, "-m", "assistant", "index", "--docs", str(docs),
                   "--index", str(index)]
            runs[name] = r = run_measured(cmd, work, name, args.timeout, args.max_rss_mb)
            state = r.killed or f"exit {r.exit_code if r.exit_code is not None else -r.signal}"
            print(f"{name}: {state}, {r.wall_s} s, peak tree RSS {r.peak_tree_rss_mb:.0f} MB "
                  f"(PSS {r.peak_tree_pss_mb:.0f}), {r.processes_seen} processes", flush=True)
            answers[name] = [ask(index, q, a, src, args.ask_timeout) for src, _, q, a in facts]
        g, m = runs["good"], runs["mixed"]
        ratios = {"wall": round(m.wall_s / g.wall_s, 2) if g.wall_s else None,
                  "peak_tree_rss": round(m.peak_tree_rss_mb / g.peak_tree_rss_mb, 2)
                  if g.peak_tree_rss_mb else None,
                  "peak_tree_pss": round(m.peak_tree_pss_mb / g.peak_tree_pss_mb, 2)
                  if g.peak_tree_pss_mb else None}
        print()
        print(table(runs, answers))
        print(f"ratio mixed / good: wall {ratios['wall']}x, peak tree RSS "
              f"{ratios['peak_tree_rss']}x, peak PSS {ratios['peak_tree_pss']}x")
        for name, r in runs.items():
            print(f"\n[{name}] {r.summary or '(no summary line)'}")
            for line in r.skipped + r.notes:
                print(f"  {line}")
            if r.exit_code != 0:
                print("  stderr tail: " + "\n  ".join(r.stderr_tail.splitlines()[-8:]))
            for a in answers[name]:
                mark = "yes" if a["answered"] else "NO "
                why = a.get("error") or " ".join((a.get("answer") or "").split())[:90]
                print(f"  {mark} {a['question']}  -> {why}")
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            report = {
                "date": time.strftime("%Y-%m-%d %H:%M"), "quick": args.quick, "big": args.big,
                "each": args.each,
                "cores": os.cpu_count(), "timeout_s": args.timeout,
                "max_rss_mb": args.max_rss_mb, "hostile_files": made,
                "good_files": [f[0] for f in facts],
                "runs": {k: asdict(v) for k, v in runs.items()}, "answers": answers,
                "ratios_mixed_over_good": ratios,
            }
            args.json.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n",
                                 encoding="utf-8")
            print(f"\nwrote {args.json}")
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
