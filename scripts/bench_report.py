"""The summary of `make bench`: every figure of BENCHMARKS.md, read from the files the steps wrote.

    python scripts/bench.py report     # (or python scripts/bench_report.py)

Reads target/bench/runtime.json (`scripts/bench.py run`), target/criterion/ (`cargo bench --bench
evaluate`), target/bench/aws-calls.json and critical-path.json (`--bench aws_calls`),
storm-and-early-quarantine.json, sweep.json and the arm64 zip; prints every figure, a file that is
missing as MISSING, and writes target/bench/summary.md and machine.json. With CARGO_TARGET_DIR set,
every `target/` is that directory instead.
"""

import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import (  # noqa: E402
    BARE_NAME, BOOTSTRAP, OUT, TARGET, TARGET_INIT_RATIO, TARGET_RSS_RATIO, ZIP, bare_ratios,
)
from harness import ROOT  # noqa: E402


def machine():
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f"{kb / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    rustc = subprocess.run(["rustc", "--version"], capture_output=True, text=True, cwd=ROOT).stdout.strip()
    return {"cpu": cpu, "cores": os.cpu_count(), "memory": mem, "kernel": platform.release(),
            "arch": platform.machine(), "rustc": rustc, "python": platform.python_version()}


def criterion_estimates():
    base = TARGET / "criterion"
    out = {}
    for est in sorted(base.glob("*/*/new/estimates.json")):
        group, bench = est.parts[-4], est.parts[-3]
        e = json.loads(est.read_text())
        out[f"{group}/{bench}"] = {"median_ns": e["median"]["point_estimate"],
                                   "mean_ns": e["mean"]["point_estimate"]}
    return out


def fmt_ns(ns):
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.1f} µs"
    return f"{ns:.0f} ns"


# The counting proxy names a REST-JSON request by its method and path.
OPERATION_NAMES = {"POST /findings/aggregation/list": "Inspector ListFindingAggregations"}


def ops(calls):
    named = {OPERATION_NAMES.get(k, k): n for k, n in calls.items()}
    return ", ".join(f"{k} {n}" for k, n in sorted(named.items())) or "none"


def read_json(name):
    path = OUT / name
    return json.loads(path.read_text()) if path.exists() else None


def report():
    results = read_json("runtime.json") or {}
    lines = []
    say = lines.append

    def verdict(ok):
        return "met" if ok else "MISSED"

    m = machine()
    say(f"date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    say(f"machine: {m['cpu']}, {m['cores']} cores, {m['memory']}, Linux {m['kernel']} {m['arch']}; {m['rustc']}; "
        f"Python {m['python']}")
    sources = ["runtime.json", "aws-calls.json", "critical-path.json", "storm-and-early-quarantine.json", "sweep.json"]
    say("sources: " + "; ".join(
        f"{n} {time.strftime('%Y-%m-%d %H:%M', time.gmtime((OUT / n).stat().st_mtime))}" if (OUT / n).exists()
        else f"{n} MISSING" for n in sources))

    say("")
    say("## size")
    bin_size = BOOTSTRAP.stat().st_size if BOOTSTRAP.exists() else None
    if bin_size:
        say(f"release bootstrap (x86_64, stripped): {bin_size / 1e6:.2f} MB ({bin_size} bytes)")
    if ZIP.exists():
        z = ZIP.stat().st_size
        say(f"arm64 zip: {z / 1e6:.2f} MB ({z} bytes) — target < 4 MB: {verdict(z < 4e6)}")

    say("")
    say("## cold start (scripts/bench.py run cold)")
    cs = results.get("cold_start", {})
    for name, c in cs.items():
        i, f = c["init_ms"], c["first_response_ms"]
        rss = f"; peak RSS median {c['peak_rss_kb']['median'] / 1024:.2f} MiB" if c.get("peak_rss_kb") else ""
        say(f"cold start, {name}: exec -> first /next median {i['median']:.2f} ms (min {i['min']:.2f}, "
            f"p90 {i['p90']:.2f}, n={i['n']}); -> first response median {f['median']:.2f} ms; "
            f"AWS connections at init: {c['aws_connections']}{rss}")
    if cs:
        worst = max(c["init_ms"]["median"] for c in cs.values())
        say(f"  target init < 15 ms: {verdict(worst < 15)} (worst median {worst:.2f} ms)")
    bare = results.get("bare_runtime")
    if bare and cs:
        i = bare["init_ms"]
        rss = f"{bare['peak_rss_kb']['median'] / 1024:.2f} MiB" if bare.get("peak_rss_kb") else "?"
        say(f"cold start, {BARE_NAME}: exec -> first /next median {i['median']:.2f} ms (min {i['min']:.2f}, "
            f"p90 {i['p90']:.2f}, n={i['n']}); peak RSS median {rss}; binary {bare['binary_bytes'] / 1e6:.2f} MB")
        for name, r in bare_ratios(cs, bare).items():
            ok_i, ok_m = r["init"] <= TARGET_INIT_RATIO, r["peak_rss"] <= TARGET_RSS_RATIO
            say(f"  gate / bare, {name}: init {r['init']:.2f}x (target <= {TARGET_INIT_RATIO}x: "
                f"{verdict(ok_i)}), peak RSS {r['peak_rss']:.2f}x (target <= {TARGET_RSS_RATIO}x: {verdict(ok_m)})")
    if "init_connects" in results:
        say(f"connect() calls in a whole fast-path run (strace): {', '.join(results['init_connects']) or 'none'}")
    pe = results.get("per_event_moto")
    if pe:
        ssm = pe["init_with_ssm_parameters_ms"]
        say(f"cold start with GATE_POLICY_PARAMETER + SLACK_WEBHOOK_PARAMETER (2 SSM reads, loopback moto): "
            f"median {ssm['median']:.2f} ms (min {ssm['min']:.2f}, p90 {ssm['p90']:.2f}, n={ssm['n']})")

    if pe:
        say("")
        say("## per event on moto (scripts/bench.py run events)")
        say(f"FAIL end to end (findings, quarantine, SNS, Slack): median {pe['fail']['median']:.1f} ms, "
            f"p90 {pe['fail']['p90']:.1f} ms (n={pe['fail']['n']}); actions: {'; '.join(pe['fail_actions'])}")
        if "first_fail_in_container" in pe:
            ff = pe["first_fail_in_container"]
            say(f"first FAIL of a container: median {ff['median']:.1f} ms (min {ff['min']:.1f}, p90 {ff['p90']:.1f}, "
                f"n={ff['n']} containers)")
        say(f"PASS on the fast path: median {pe['pass_fast_path']['median']:.3f} ms, "
            f"p90 {pe['pass_fast_path']['p90']:.3f} ms (n={pe['pass_fast_path']['n']})")

    volume = results.get("findings_volume", {})
    if volume:
        say("")
        say("## findings volume: the bootstrap against a paged fake ECR, DRY_RUN (scripts/bench.py run volume)")
    for name, v in volume.items():
        say(f"{name}: peak RSS {v['maxrss_kb'] / 1024:.1f} MiB, process CPU {v['cpu_ms']:.1f} ms "
            f"({v['cpu_above_fast_path_ms']:+.1f} ms over the fast path), invocation {v['event_ms']:.1f} ms, "
            f"{v['pages']:.0f} page(s); median of {v.get('runs', '?')} runs")

    crit = criterion_estimates()
    if crit:
        say("")
        say("## in-process evaluation (cargo bench --bench evaluate, criterion medians)")
    for k, v in crit.items():
        n = k.rsplit("/", 1)[-1]
        per = f" = {fmt_ns(v['median_ns'] / int(n))} a finding" if n.isdigit() else ""
        say(f"criterion {k}: median {fmt_ns(v['median_ns'])}{per}")
    whole, judged = crit.get("evaluate/10000"), crit.get("tally/10000")
    vol = volume.get("10000 findings")
    if whole and judged:
        rest = whole["median_ns"] - judged["median_ns"]
        say(f"  10 000 findings: reading them (evaluate - tally: the SDK signing and deserialising 10 pages) "
            f"{fmt_ns(rest)} = {rest / whole['median_ns'] * 100:.0f} % of evaluate/10000, "
            f"{fmt_ns(rest / 10_000)} a finding")
        say(f"  target 10 000 findings < 10 ms CPU: judging them {verdict(judged['median_ns'] < 10e6)} "
            f"({fmt_ns(judged['median_ns'])}); with the SDK deserialising the 10 pages "
            f"{verdict(whole['median_ns'] < 10e6)} ({fmt_ns(whole['median_ns'])} in process"
            + (f", {vol['cpu_above_fast_path_ms']:.1f} ms CPU in the bootstrap with HTTP" if vol else "") + ")")
    if vol:
        say(f"  target peak memory < 32 MB with 10 000 findings: {verdict(vol['maxrss_kb'] < 32 * 1024)} "
            f"({vol['maxrss_kb'] / 1024:.1f} MiB)")

    calls = read_json("aws-calls.json")
    if calls:
        say("")
        say("## AWS calls per event (cargo bench --bench aws_calls: the counting proxy in front of moto)")
        for row in calls:
            t = row.get("ms_per_event")
            time_ = (f"; {t['median']:.1f} ms per event, median of {t['runs']} runs (min {t['min']:.1f}, "
                     f"max {t['max']:.1f})" if t else "")
            say(f"{row['scenario']}: {row['total']} ({ops(row['calls'])}) -> {row['verdict']}{time_}")
    t = read_json("critical-path.json")
    if t:
        say(f"critical path of a FAIL (one run): total {t['total_ms']:.1f} ms; "
            + "; ".join(f"{s['what']} {s['start_ms']:.1f}–{s['end_ms']:.1f} ms" for s in t["spans"]))
        say(f"  the tag is in place after the findings + BatchGetImage/PutImage: {t['registry_path_ms']:.1f} ms; "
            f"the alerts {'ran beside the quarantine' if t['alerts_overlap'] else 'started after the quarantine'}")

    st = read_json("storm-and-early-quarantine.json")
    if st:
        say("")
        say("## alert storm and time to quarantine (cargo bench --bench storm_and_early_quarantine, one run)")
        a = st["alert_storm"]
        say(f"alert storm, {a['events']} Inspector2 Finding events for one image: {a['alerts_sent']} alerts, "
            f"{a['aws_calls']} AWS calls ({ops(a['aws_calls_by_operation'])}), {a['seconds']:.2f} s")
        for q in st["time_to_quarantine"]:
            say(f"time to quarantine, {q['findings']} findings ({q['pages']} page(s), every ECR call "
                f"{st['latency_ms_per_call']} ms): {q['pages_read_before_put_image']} page(s) and "
                f"{q['aws_calls_before_put_image']} call(s) before PutImage, {q['ms_to_put_image']:.1f} ms to "
                f"PutImage, whole evaluation {q['ms_whole_evaluation']:.0f} ms -> {q['verdict']}")

    s = read_json("sweep.json")
    if s:
        say("")
        say("## the sweep (cargo bench --bench sweep, one run)")
        c, p = s["clean"], s["planner"]
        say(f"sweep of a clean registry of {s['images']} images: {c['total_calls']} AWS calls "
            f"({ops(c['calls'])}) = {c['calls_per_image']:.4f} calls/image, {c['seconds']:.2f} s")
        e = s.get("enhanced")
        if e:
            say(f"sweep of the same registry under enhanced scanning (no summary; Inspector's counts): "
                f"{e['total_calls']} AWS calls ({ops(e['calls'])}) = {e['calls_per_image']:.4f} calls/image "
                f"(target <= 0.02: {verdict(e['calls_per_image'] <= 0.02)}), {e['seconds']:.2f} s")
        q = s.get("stays_quarantined")
        if q:
            say(f"second sweep of {q['images']} images that stay quarantined: PutImage {q['put_image']}, "
                f"BatchGetImage {q['batch_get_image']} (target 0 and 0: "
                f"{verdict(q['put_image'] == 0 and q['batch_get_image'] == 0)}); {ops(q['calls'])}")
        say(f"sweep planner enqueueing {p['enqueued']} images: {p['seconds']:.2f} s = {p['images_per_second']:.0f} "
            f"images/s; 100 000 images: {p['extrapolated_100k_seconds']:.0f} s (target: one 900 s invocation: "
            f"{verdict(p['extrapolated_100k_seconds'] < 900)})")
        for key in ("burst", "burst_standard_retry"):
            b = s.get(key)
            if b:
                say(f"burst of {b['images']} failing images, {b['instances']} instances, PutImage held to "
                    f"{b['put_image_per_second']}/s, {b.get('retry', 'the function ECR client')}: "
                    f"{b['quarantined']}/{b['images']} quarantined, {b['batch_item_failures']} batch item failures "
                    f"(delivered again by SQS), {b['throttled']} throttling answers, {b['seconds']:.1f} s = "
                    f"{b['images_per_second']:.2f} images/s")
    text = "\n".join(lines)
    print(text)
    (OUT / "summary.md").write_text(text + "\n")
    (OUT / "machine.json").write_text(json.dumps(m, indent=2) + "\n")


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    report()
