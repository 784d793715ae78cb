"""``llmops traces ...`` as a user runs it: output, formats, charts and exit codes."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_summary_from_a_file(cli, planted):
    result = cli("summary", "--from", planted.path)
    assert result.exit_code == 0, result.output
    assert "Summary of" in result.stdout
    assert "failed_traces" in result.stdout and "ok_traces" in result.stdout
    assert f"comment-analyzer v{planted.v2} (13)" in result.stdout


def test_json_and_csv_for_scripts(cli, planted):
    result = cli("summary", "--from", planted.path, "--format", "json")
    figures = {row["metric"]: row["value"] for row in json.loads(result.stdout)}
    assert (figures["traces"], figures["failed_traces"]) == (17, 2)
    result = cli("tools", "--from", planted.path, "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert (
        rows[0]["tool"] == "lookup_customer"
        and rows[0]["top_error"] == "ConnectionError: customer database unreachable"
    )
    result = cli("errors", "--from", planted.path, "--format", "json", "--each")
    problems = json.loads(result.stdout)
    assert {p["category"] for p in problems} >= {"http_error", "timeout", "tool_exception", "empty_retrieval"}
    assert all(p["trace_id"].startswith("tr-") for p in problems)


def test_errors_with_the_pareto_chart(cli, planted, tmp_path):
    chart = tmp_path / "pareto.png"
    result = cli("errors", "--from", planted.path, "--plot", chart)
    assert result.exit_code == 0
    assert "Error taxonomy" in result.stdout and "HTTP 500" in result.stdout and planted.id("http500") in result.stdout
    assert f"chart written to {chart}" in result.stderr
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    failed = cli("errors", "--from", planted.path, "--failed", "--format", "json")
    assert {row["trace_id"] for row in json.loads(failed.stdout)} == {planted.id("http500"), planted.id("badjson")}
    by_version = cli("errors", "--from", planted.path, "--by", "prompt_version", "--format", "json")
    assert {row["prompt_version"] for row in json.loads(by_version.stdout)} == {planted.v2}


def test_latency_with_the_histogram(cli, planted, tmp_path):
    chart = tmp_path / "latency.png"
    result = cli("latency", "--from", planted.path, "--plot", chart, "--limit", "3")
    assert result.exit_code == 0
    assert "p95_ms" in result.stdout and "time_share" in result.stdout
    assert chart.read_bytes()[:4] == b"\x89PNG"
    by_type = cli("latency", "--from", planted.path, "--by", "span_type", "--format", "json")
    assert {row["span_type"] for row in json.loads(by_type.stdout)} >= {"AGENT", "CHAT_MODEL", "TOOL"}
    bad = cli("latency", "--from", planted.path, "--by", "colour")
    assert bad.exit_code == 1 and "no span column 'colour'" in bad.stderr


def test_sessions_tokens_slowest_and_retrieval(cli, planted):
    sessions = json.loads(cli("sessions", "--from", planted.path, "--format", "json").stdout)
    assert sessions[0]["session_id"] == "s-faults" and sessions[0]["slowest_trace_id"] == planted.id("slow")
    tokens = cli("tokens", "--from", planted.path)
    assert "offline-analyst" in tokens.stdout and "LLM calls per trace" in tokens.stdout
    by_version = json.loads(cli("tokens", "--from", planted.path, "--by", "prompt_version", "--format", "json").stdout)
    assert [row["prompt_version"] for row in by_version] == sorted(
        [planted.v1, planted.v2], key=lambda v: -next(r["total_tokens"] for r in by_version if r["prompt_version"] == v)
    )
    slowest = cli("slowest", "--from", planted.path, "-n", "2")
    assert planted.id("slow") in slowest.stdout and "ChatOpenAI" in slowest.stdout
    retrieval = cli("retrieval", "--from", planted.path, "--expected", "expected_doc_ids", "--format", "json")
    assert json.loads(retrieval.stdout)[0]["missing"] == ["kb-accessibility"]
    documents = cli("retrieval", "--from", planted.path, "--documents", "-n", "3", "--format", "csv")
    assert len(list(csv.DictReader(io.StringIO(documents.stdout)))) == 3


def test_show_prints_the_span_tree(cli, planted):
    result = cli("show", planted.id("http500"), "--from", planted.path)
    assert result.exit_code == 0
    out = result.stdout
    assert planted.id("http500") in out and "ERROR" in out
    assert "analyze_comment AGENT" in out and "ChatOpenAI CHAT_MODEL" in out
    assert "Error code: 500" in out and "cause: http_500" in out
    assert out.count("✗ ERROR ChatOpenAI") == 4
    ok = cli("show", planted.id("v2-1"), "--from", planted.path).stdout
    assert "retrieve_knowledge_base RETRIEVER" in ok and "docs:" in ok and "calls: search_knowledge_base(" in ok
    assert "assessment expected_doc_ids" in ok and "kb-accessibility" in ok


def test_show_as_json_and_from_the_store(cli, planted):
    result = cli("show", planted.id("toolfail"), "--from", planted.path, "--format", "json")
    tree = json.loads(result.stdout)
    assert tree["trace_id"] == planted.id("toolfail") and tree["status"] == "OK"
    spans = []

    def walk(node):
        spans.append(node)
        for child in node["children"]:
            walk(child)

    for root in tree["spans"]:
        walk(root)
    failed = [s for s in spans if s["status"] == "ERROR"]
    assert [(s["name"], s["error"]) for s in failed] == [
        ("lookup_customer", "ConnectionError: customer database unreachable")
    ]
    stored = cli("show", planted.id("toolfail"))
    assert stored.exit_code == 0 and "lookup_customer TOOL" in stored.stdout


def test_an_unknown_trace_id_is_exit_code_1_with_a_clear_message(cli, planted):
    result = cli("show", "tr-doesnotexist", "--from", planted.path)
    assert result.exit_code == 1
    assert "error: trace tr-doesnotexist is not in" in result.stderr and "(17 trace line(s))" in result.stderr
    stored = cli("show", "tr-doesnotexist")
    assert stored.exit_code == 1 and "trace tr-doesnotexist is not in the tracking store" in stored.stderr


def test_the_store_as_source_with_filters(cli, planted):
    result = cli(
        "summary", "--experiment", planted.experiment, "--filter", "trace.status = 'ERROR'", "--format", "json"
    )
    assert result.exit_code == 0
    assert {row["metric"]: row["value"] for row in json.loads(result.stdout)}["traces"] == 2
    rejected = cli("errors", "--experiment", planted.experiment, "--filter", "trace.colour = 'red'")
    assert rejected.exit_code == 1
    assert (
        "error: MLflow rejected the filter" in rejected.stderr and "Invalid attribute key 'colour'" in rejected.stderr
    )
    unknown = cli("summary", "--experiment", "no-such-experiment")
    assert unknown.exit_code == 1 and "no experiment named 'no-such-experiment'" in unknown.stderr
    assert planted.experiment in unknown.stderr, "the message lists the experiments there are"
    on_file = cli("summary", "--from", planted.path, "--filter", "trace.status = 'ERROR'")
    assert on_file.exit_code == 1 and "does not apply to a trace file" in on_file.stderr


def test_an_empty_set_is_exit_code_1(cli, planted, tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("", encoding="utf-8")
    result = cli("summary", "--from", empty)
    assert result.exit_code == 1 and "is empty" not in result.stdout
    assert "error: no traces in" in result.stderr
    none = cli("summary", "--experiment", planted.experiment, "--filter", "tags.`no.such` = 'x'")
    assert none.exit_code == 1 and "error: no traces in experiment 'analysis-planted'" in none.stderr
    missing = cli("errors", "--from", tmp_path / "missing.jsonl")
    assert missing.exit_code == 1 and "trace file" in missing.stderr and "does not exist" in missing.stderr


def test_damaged_lines_are_named_and_the_exit_code_is_3(cli, planted, tmp_path):
    lines = planted.path.read_text(encoding="utf-8").splitlines()
    lines[4] = lines[4][:200]
    damaged = tmp_path / "damaged.jsonl"
    damaged.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = cli("summary", "--from", damaged, "--format", "json")
    assert result.exit_code == 3
    assert {row["metric"]: row["value"] for row in json.loads(result.stdout)}["traces"] == 16
    assert "line 5: truncated trace JSON" in result.stderr
    assert "1 bad line(s) skipped" in result.stderr and "16 trace(s) loaded" in result.stderr


def test_export_then_import_with_the_cli(cli, planted, tmp_path, fresh_store):
    # fresh_store points the CLI at a fresh store; export from it is empty, so export from the planted store
    out = tmp_path / "copy.jsonl"
    os.environ["LLMOPS_TRACKING_URI"] = planted.tracking_uri
    try:
        exported = cli("export", "--experiment", planted.experiment, "--filter", "trace.status = 'OK'", "--out", out)
    finally:
        os.environ["LLMOPS_TRACKING_URI"] = fresh_store
    assert exported.exit_code == 0 and "exported 15 trace(s)" in exported.stdout
    imported = cli("import", out)
    assert imported.exit_code == 0
    assert "imported 15 trace(s) into experiment copy" in imported.stdout and "0 already there" in imported.stdout
    again = cli("import", out, "--experiment", "copy")
    assert "imported 0 trace(s)" in again.stdout and "15 already there (skipped)" in again.stdout
    assert json.loads(cli("summary", "--experiment", "copy", "--format", "json").stdout)[0] == {
        "metric": "traces",
        "value": 15,
    }


def test_compare_two_files_and_split_by_prompt_version(cli, planted, tmp_path):
    lines = planted.path.read_text(encoding="utf-8").splitlines()
    v1 = [line for line in lines if f'\\"version\\": \\"{planted.v1}\\"' in line]
    v2 = [line for line in lines if line not in v1]
    (tmp_path / "v1.jsonl").write_text("\n".join(v1) + "\n", encoding="utf-8")
    (tmp_path / "v2.jsonl").write_text("\n".join(v2) + "\n", encoding="utf-8")
    files = cli("compare", tmp_path / "v1.jsonl", tmp_path / "v2.jsonl", "--format", "json")
    assert files.exit_code == 0, files.output
    split = cli("compare", "--from", planted.path, "--by", "prompt_version", "--format", "json")
    assert json.loads(files.stdout) == json.loads(split.stdout)
    table = cli("compare", "--from", planted.path, "--by", "prompt_version")
    assert f"A = prompt_version = {planted.v1} (4 traces)" in table.stdout and "B vs A" in table.stdout
    usage = cli("compare", tmp_path / "v1.jsonl")
    assert usage.exit_code == 2 and "give two trace files" in usage.stderr
    many = cli("compare", "--from", planted.path, "--by", "session_id")
    assert many.exit_code == 1 and "session_id has 3 value(s)" in many.stderr
    chosen = cli(
        "compare", "--from", planted.path, "--by", "session_id", "--a", "s-v2", "--b", "s-faults", "--format", "json"
    )
    assert chosen.exit_code == 0


def test_a_real_process_reads_a_file_without_importing_mlflow(planted):
    code = (
        "import sys\n"
        "from llmops.cli import app\n"
        "try:\n"
        f"    app(['traces', 'summary', '--from', {str(planted.path)!r}, '--format', 'json'])\n"
        "except SystemExit as exit:\n"
        "    print('mlflow' in sys.modules, exit.code, file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT, timeout=120)
    assert done.stderr.strip().splitlines()[-1] == "False 0", done.stderr
    assert json.loads(done.stdout)[0] == {"metric": "traces", "value": 17}
