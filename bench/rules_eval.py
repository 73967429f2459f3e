"""Prometheus CPU per minute of steady-state rule evaluation: slakit's rules vs Sloth-structured rules (issue 3).

Goal: slakit <= 0.5x Sloth's CPU seconds per (production) minute of evaluation, same SLIs, same data.

1. N SLOs (--ratio error-rate SLOs + --uptime uptime SLOs), each its own service: slakit specs -> `slakit rules
   generate`; the same SLIs in Sloth's documented rule structure (bench/rules_sets.py).
2. --days of 1-minute raw counters (bench/rules_data.py) -> OpenMetrics -> `promtool tsdb create-blocks-from
   openmetrics`, one block.
3. Recorded history, level by level: every series some rule reads over a range, and what it is computed from.
   Each level's rules are evaluated with `query_range` (step = the group's production interval) against a
   Prometheus serving the data and the lower levels, written as OpenMetrics, imported as one block. (This is
   what `promtool tsdb create-blocks-from rules` does; 2.42's writes one block per rule per 2 h, ~40 000 blocks
   here.) Then one Prometheus start with no rules compacts the overlapping blocks.
4. Runs, each on a fresh copy of that data dir, Prometheus on 127.0.0.1 scraping a live endpoint that continues
   the counters: `baseline` (no rules), `slakit`, `sloth` (x --repeats, interleaved). Every group interval is
   divided by --speedup (slakit's 1m groups run every 60/speedup s, its 5m groups every 300/speedup s, Sloth's
   groups every 60/speedup s), so one real second is `speedup` production seconds for every group alike.
   After --warmup s, process CPU (utime+stime) over --window s; CPU per production minute =
   (run CPU - baseline CPU) / (window * speedup / 60). Then per-group / per-rule evaluation times from
   /api/v1/rules and samples per evaluation (`stats=all`) for the attribution tables.
"""

from __future__ import annotations

import contextlib
import json
import math
import shutil
import signal
import statistics
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request
from collections import defaultdict
from pathlib import Path

import yaml

from bench import _net, _proc, _report
from bench import rules_data as data
from bench import rules_sets as sets

GOAL = 0.5
MAX_POINTS = 11000  # Prometheus' limit of points per series in one query_range


def add_arguments(parser) -> None:
    parser.add_argument("--ratio", type=int, default=12, help="error-rate SLOs (default 12)")
    parser.add_argument("--uptime", type=int, default=10, help="uptime SLOs (default 10)")
    parser.add_argument("--days", type=float, default=31, help="days of backfilled 1-minute data (default 31)")
    parser.add_argument("--speedup", type=int, default=12, help="divide every group interval by this (default 12)")
    parser.add_argument("--warmup", type=float, default=60, help="seconds before the CPU window (default 60)")
    parser.add_argument("--window", type=float, default=240, help="CPU window, seconds (default 240)")
    parser.add_argument("--attribution", type=float, default=40, help="seconds polling /api/v1/rules (default 40)")
    parser.add_argument("--repeats", type=int, default=1, help="rounds of baseline/slakit/sloth (default 1)")
    parser.add_argument(
        "--quiet-wait", type=float, default=0, help="before each CPU window, wait up to this many s for a quiet machine"
    )
    parser.add_argument("--workdir", help="keep data here (default: a temp dir, removed afterwards)")
    parser.add_argument("--reuse", action="store_true", help="reuse --workdir's prepared data (skip steps 1-3)")


# --- Prometheus ------------------------------------------------------------------------------------------


class Prometheus:
    def __init__(
        self, data_dir: Path, rule_files: list[Path], eval_interval: str, scrape_port: int | None, lookback: str = "5m"
    ):
        self.port = _net.free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = {"global": {"scrape_interval": "15s", "evaluation_interval": eval_interval}}
        if scrape_port:
            config["scrape_configs"] = [
                {
                    "job_name": "slakit",
                    "honor_labels": True,
                    "static_configs": [{"targets": [f"127.0.0.1:{scrape_port}"]}],
                }
            ]
        config["rule_files"] = [str(p) for p in rule_files]
        self.config = data_dir.parent / f"prometheus-{self.port}.yml"
        self.config.write_text(yaml.safe_dump(config))
        self.log = open(data_dir.parent / f"prometheus-{self.port}.log", "w")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [
                "prometheus",
                f"--config.file={self.config}",
                f"--storage.tsdb.path={data_dir}",
                "--storage.tsdb.retention.time=400d",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--query.max-samples=200000000",
                f"--query.lookback-delta={lookback}",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        _net.wait_http(self.url + "/-/ready", timeout=300, proc=self.proc)

    def get(self, path: str, **params) -> dict:
        body = urllib.parse.urlencode(params).encode() if params else None
        with urllib.request.urlopen(self.url + path, data=body, timeout=600) as resp:
            return json.load(resp)

    def metrics(self) -> dict[str, float]:
        """Sums of Prometheus' own series by name (all label sets added up)."""
        with urllib.request.urlopen(self.url + "/metrics", timeout=30) as resp:
            text = resp.read().decode()
        out: dict[str, float] = defaultdict(float)
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name = line.split("{", 1)[0].split(" ", 1)[0]
                with contextlib.suppress(ValueError):
                    out[name] += float(line.rsplit(" ", 1)[1])
        return out

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=120)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def import_openmetrics(path: Path, data_dir: Path) -> None:
    out = path.parent / (path.name + ".blocks")
    shutil.rmtree(out, ignore_errors=True)
    subprocess.run(
        [
            "promtool",
            "tsdb",
            "create-blocks-from",
            "openmetrics",
            "--max-block-duration=800h",
            "-q",
            str(path),
            str(out),
        ],
        check=True,
        capture_output=True,
    )
    for block in out.iterdir():
        block.rename(data_dir / block.name)
    out.rmdir()
    path.unlink()


# --- preparation -----------------------------------------------------------------------------------------


def _labels(metric: dict) -> str:
    def esc(v: str) -> str:
        return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")

    name = metric.pop("__name__")
    inner = ",".join(f'{k}="{esc(v)}"' for k, v in sorted(metric.items()))
    return f"{name}{{{inner}}}"


def _value(v: str) -> str:
    return {"NaN": "NaN", "+Inf": "+Inf", "-Inf": "-Inf"}.get(v, v)


def backfill_level(prom: Prometheus, groups: list[dict], start: int, end: int, path: Path) -> int:
    """Evaluate every recording rule of `groups` over [start, end] at its group's interval, as Prometheus would
    have recorded it; write the results as OpenMetrics. Returns the number of samples."""
    series: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for group in groups:
        step = sets.production_interval(group)
        first = start // step * step + step
        for rule in group["rules"]:
            t = first
            while t <= end:
                stop = min(end, t + step * (MAX_POINTS - 1))
                res = prom.get("/api/v1/query_range", query=rule["expr"], start=t, end=stop, step=step)
                for s in res["data"]["result"]:
                    metric = {**s["metric"], **rule.get("labels", {}), "__name__": rule["record"]}
                    series[_labels(metric)] += [(int(float(ts)), _value(v)) for ts, v in s["values"]]
                t = stop + step
    n = 0
    with open(path, "w") as fh:
        for name, points in series.items():
            points.sort()
            fh.write("".join(f"{name} {v} {ts}\n" for ts, v in points))
            n += len(points)
        fh.write("# EOF\n")
    return n


def wait_compacted(prom: Prometheus, data_dir: Path, max_wait: float = 900) -> dict:
    """Let Prometheus merge the overlapping backfilled blocks; return when no compaction ran for 45 s."""
    t0 = time.monotonic()
    last, quiet_since = None, time.monotonic()
    time.sleep(75)  # the compactor first runs one minute after start
    while time.monotonic() - t0 < max_wait:
        m = prom.metrics()
        now = (m.get("prometheus_tsdb_compactions_total", 0), m.get("prometheus_tsdb_vertical_compactions_total", 0))
        if now != last:
            last, quiet_since = now, time.monotonic()
        elif time.monotonic() - quiet_since > 45:
            break
        time.sleep(5)
    blocks = [p for p in data_dir.iterdir() if (p / "meta.json").exists()]
    return {"compactions": last, "blocks": len(blocks), "seconds": round(time.monotonic() - t0)}


def prepare(args, work: Path) -> dict:
    info: dict = {}
    t_end = int(time.time()) // 60 * 60 - 60
    t_start = t_end - int(args.days * 86400)
    specs = sets.write_specs(work / "specs", args.ratio, args.uptime)
    files = {
        "slakit": sets.slakit_rules(specs, work / "rules-slakit"),
        "sloth": sets.sloth_rules(work / "rules-sloth", args.ratio, args.uptime),
    }
    data_dir = work / "data"
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir()
    t0 = time.monotonic()
    samples, final = data.write_openmetrics(work / "raw.om", t_start, t_end, args.ratio, args.uptime)
    import_openmetrics(work / "raw.om", data_dir)
    info["raw"] = {"samples": samples, "seconds": round(time.monotonic() - t0, 1)}
    print(f"  raw data: {samples} samples, {info['raw']['seconds']} s", flush=True)
    levels = {name: sets.backfill_levels(sets.load_groups(paths)) for name, paths in files.items()}
    info["backfill"] = []
    for lv in range(max(len(v) for v in levels.values())):
        t0 = time.monotonic()
        # Backfilled series carry no staleness markers: when a rule's output changes labels (slakit's `period`
        # at a month boundary) the old series would stay visible for the 5m lookback and the `group_left`
        # join would see two. With 1-minute data at minute boundaries and evaluation at the same boundaries, a
        # 59 s lookback gives the live results (every sample read lies exactly on an evaluation instant).
        prom = Prometheus(data_dir, [], "1m", None, lookback="59s")
        try:
            done = {}
            for name, per_level in levels.items():
                if lv < len(per_level):
                    path = work / f"level-{name}-{lv}.om"
                    n = backfill_level(prom, per_level[lv], t_start, t_end, path)
                    rules = [r["record"] for g in per_level[lv] for r in g["rules"]]
                    done[name] = {"rules": len(rules), "names": sorted(set(rules)), "samples": n}
        finally:
            prom.stop()
        for name in done:
            import_openmetrics(work / f"level-{name}-{lv}.om", data_dir)
        entry = {"level": lv, **done, "seconds": round(time.monotonic() - t0, 1)}
        info["backfill"].append(entry)
        print(f"  backfill level {lv}: {json.dumps(done)} in {entry['seconds']} s", flush=True)
    prom = Prometheus(data_dir, [], "1m", None)
    try:
        info["compaction"] = wait_compacted(prom, data_dir)
    finally:
        prom.stop()
    print(f"  compaction: {info['compaction']}", flush=True)
    state = {
        "t_start": t_start,
        "t_end": t_end,
        "final": final,
        "files": {k: [str(p) for p in v] for k, v in files.items()},
    }
    (work / "state.json").write_text(json.dumps({**state, "info": info}))
    return {**state, "info": info}


# --- measurement -----------------------------------------------------------------------------------------


def accelerated_files(paths: list[str], out: Path, speedup: int) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    result = []
    for p in map(Path, paths):
        groups = sets.accelerated(yaml.safe_load(p.read_text())["groups"], speedup)
        target = out / p.name
        target.write_text(yaml.safe_dump({"groups": groups}, sort_keys=False))
        result.append(target)
    return result


def rule_name(rule: dict) -> str:
    return rule.get("name") or rule.get("record") or rule.get("alert")


def attribution(prom: Prometheus, seconds: float, speedup: int) -> dict:
    """Per group and per rule name: evaluation wall time per production minute, from /api/v1/rules."""
    seen: dict[tuple[str, str], dict] = {}
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for g in prom.get("/api/v1/rules")["data"]["groups"]:
            key = (g["name"], g["lastEvaluation"])
            if key not in seen and g["evaluationTime"] > 0:
                seen[key] = g
        time.sleep(0.5)
    groups: dict[str, list[dict]] = defaultdict(list)
    for (name, _), g in seen.items():
        groups[name].append(g)
    per_group = {}
    per_rule: dict[str, float] = defaultdict(float)
    per_class: dict[str, float] = defaultdict(float)
    for name, evals in groups.items():
        production = evals[0]["interval"] * speedup  # seconds
        per_min = 60 / production
        per_group[name] = statistics.mean(e["evaluationTime"] for e in evals) * per_min
        cls = f"{_group_class(name)} ({round(production / 60)}m)"
        per_class[cls] += per_group[name]
        for i, rule in enumerate(evals[0]["rules"]):
            per_rule[f"{rule_name(rule)} [{round(production / 60)}m]"] += (
                statistics.mean(e["rules"][i]["evaluationTime"] for e in evals) * per_min
            )
    return {
        "evaluations_seen": len(seen),
        "groups": len(groups),
        "wall_s_per_min": sum(per_group.values()),
        "per_class": dict(sorted(per_class.items(), key=lambda kv: -kv[1])),
        "per_rule": dict(sorted(per_rule.items(), key=lambda kv: -kv[1])),
    }


def _group_class(name: str) -> str:
    for prefix in ("sloth-slo-sli-recordings", "sloth-slo-meta-recordings", "sloth-slo-alerts"):
        if name.startswith(prefix):
            return prefix
    if name.startswith("slakit-bench-r"):
        return "slakit ratio SLO"
    if name.startswith("slakit-bench-u"):
        return "slakit uptime SLO"
    return name


def samples_per_minute(prom: Prometheus, paths: list[str]) -> dict:
    """Samples each rule's query reads at one evaluation (`stats=all`), times its production evaluations a
    minute, per rule name."""
    per_rule: dict[str, float] = defaultdict(float)
    for p in map(Path, paths):
        for g in yaml.safe_load(p.read_text())["groups"]:
            per_min = 60 / sets.production_interval(g)
            for r in g["rules"]:
                res = prom.get("/api/v1/query", query=r["expr"], stats="all")
                n = res["data"]["stats"]["samples"]["totalQueryableSamples"]
                per_rule[f"{rule_name(r)} [{round(60 / per_min)}s]"] += n * per_min
    return {"total": sum(per_rule.values()), "per_rule": dict(sorted(per_rule.items(), key=lambda kv: -kv[1]))}


def measure(kind: str, args, work: Path, state: dict, exporter_port: int) -> dict:
    run_dir = work / f"run-{kind}"
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir()
    shutil.copytree(work / "data", run_dir / "data")
    rules = [] if kind == "baseline" else accelerated_files(state["files"][kind], run_dir / "rules", args.speedup)
    prom = Prometheus(run_dir / "data", rules, f"{60000 // args.speedup}ms", exporter_port)
    out: dict = {"kind": kind}
    try:
        time.sleep(args.warmup)
        if args.quiet_wait:
            out["busy_cores_before"] = _proc.wait_quiet(args.quiet_wait, threshold=0.4)
        b0, s0 = _proc.system_busy_seconds(), _proc.self_cpu_seconds()
        m0, c0, w0 = prom.metrics(), _proc.cpu_seconds(prom.proc.pid), time.monotonic()
        time.sleep(args.window)
        m1, c1, w1 = prom.metrics(), _proc.cpu_seconds(prom.proc.pid), time.monotonic()
        b1, s1 = _proc.system_busy_seconds(), _proc.self_cpu_seconds()
        minutes = (w1 - w0) * args.speedup / 60

        def delta(name: str) -> float:
            return m1.get(name, 0) - m0.get(name, 0)

        out.update(
            {
                "cpu_s": c1 - c0,
                # CPU used by anything but this Prometheus and the benchmark (exporter thread): other load.
                "other_busy_s": (b1 - b0) - (c1 - c0) - (s1 - s0),
                "wall_s": w1 - w0,
                "production_minutes": minutes,
                "group_eval_s_per_min": delta("prometheus_rule_group_duration_seconds_sum") / minutes,
                "group_evals": delta("prometheus_rule_group_duration_seconds_count"),
                "rule_evals": delta("prometheus_rule_evaluations_total"),
                "rule_failures": delta("prometheus_rule_evaluation_failures_total"),
                "missed_iterations": delta("prometheus_rule_group_iterations_missed_total"),
                "samples_scraped": delta("prometheus_tsdb_head_samples_appended_total"),
                "compactions": delta("prometheus_tsdb_compactions_total"),
                "head_series": m1.get("prometheus_tsdb_head_series", 0),
            }
        )
        if kind != "baseline":
            out["attribution"] = attribution(prom, args.attribution, args.speedup)
            out["samples"] = samples_per_minute(prom, state["files"][kind])
    finally:
        prom.stop()
        shutil.rmtree(run_dir, ignore_errors=True)
    print(
        f"  {kind}: cpu {out['cpu_s']:.2f} s in {out['wall_s']:.0f} s, group eval "
        f"{out['group_eval_s_per_min']:.4f} s/min, missed {out['missed_iterations']:.0f}, "
        f"failures {out['rule_failures']:.0f}, other load {out['other_busy_s']:.1f} s",
        flush=True,
    )
    return out


def run(args) -> None:
    work = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="slakit-rules-eval-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        if args.reuse and (work / "state.json").exists():
            state = json.loads((work / "state.json").read_text())
        else:
            state = prepare(args, work)
        port = _net.free_port()
        exporter = data.LiveExporter(port, state["t_end"], state["final"], args.ratio, args.uptime)
        exporter.start()
        runs = []
        try:
            for _ in range(args.repeats):
                for kind in ("baseline", "slakit", "sloth"):
                    runs.append(measure(kind, args, work, state, port))
        finally:
            exporter.stop()
        report(args, state, runs)
    finally:
        if not args.workdir:
            shutil.rmtree(work, ignore_errors=True)


def report(args, state: dict, runs: list[dict]) -> None:
    rounds = []
    for i in range(0, len(runs), 3):
        base, slakit, sloth = runs[i : i + 3]
        per_min = {
            k: (r["cpu_s"] - base["cpu_s"] * r["wall_s"] / base["wall_s"]) / r["production_minutes"]
            for k, r in (("slakit", slakit), ("sloth", sloth))
        }
        wall = {k: r["group_eval_s_per_min"] for k, r in (("slakit", slakit), ("sloth", sloth))}
        rounds.append(
            {
                "cpu_s_per_min": per_min,
                "ratio_cpu": per_min["slakit"] / per_min["sloth"] if per_min["sloth"] > 0 else math.nan,
                "group_eval_s_per_min": wall,
                "ratio_group_eval": wall["slakit"] / wall["sloth"],
            }
        )
    last_slakit, last_sloth = runs[-2], runs[-1]
    rows = []
    for i, r in enumerate(rounds):
        others = [round(x["other_busy_s"] / x["wall_s"], 2) for x in runs[3 * i : 3 * i + 3]]
        rows += [
            (f"round {i + 1}: slakit CPU s / production min", r["cpu_s_per_min"]["slakit"]),
            (f"round {i + 1}: Sloth CPU s / production min", r["cpu_s_per_min"]["sloth"]),
            (f"round {i + 1}: ratio slakit / Sloth (CPU)", r["ratio_cpu"], f"<= {GOAL}", r["ratio_cpu"] <= GOAL),
            (f"round {i + 1}: ratio of rule-group wall time (load-sensitive)", r["ratio_group_eval"]),
            (f"round {i + 1}: other load, cores (baseline/slakit/Sloth)", "/".join(map(str, others))),
        ]
    if len(rounds) > 1:
        med = statistics.median(r["ratio_cpu"] for r in rounds)
        rows.append(("median ratio (CPU)", med, f"<= {GOAL}", med <= GOAL))
    rows += [
        ("slakit samples read / production min", last_slakit["samples"]["total"]),
        ("Sloth samples read / production min", last_sloth["samples"]["total"]),
    ]
    print(_report.table(f"rule evaluation, {args.ratio} ratio + {args.uptime} uptime SLOs, {args.days} days", rows))
    for kind, r in (("slakit", last_slakit), ("Sloth", last_sloth)):
        print(
            f"{kind}: eval time per production minute by group class (s): "
            + json.dumps({k: round(v, 4) for k, v in r["attribution"]["per_class"].items()})
        )
        top = list(r["attribution"]["per_rule"].items())[:8]
        print(f"{kind}: top rules (eval s / production min): " + json.dumps({k: round(v, 4) for k, v in top}))
        tops = list(r["samples"]["per_rule"].items())[:6]
        print(f"{kind}: top rules (samples / production min): " + json.dumps({k: int(v) for k, v in tops}))
    params = {k: v for k, v in vars(args).items() if k not in ("func",)}
    path = _report.save(
        "rules_eval",
        {
            "params": params,
            "prepare": state.get("info"),
            "t_end": state["t_end"],
            "runs": runs,
            "rounds": rounds,
            "prometheus": _report._first_line(["prometheus", "--version"]),
        },
    )
    print(f"results: {path}")
