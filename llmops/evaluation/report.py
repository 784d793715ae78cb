"""The gate's report as Markdown (``eval-report.md``, for people and PR comments) and JUnit XML (for CI systems:
one test case per threshold and per regression check)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from llmops.evaluation.gate import FAIL, NOT_APPLICABLE, NOT_MEASURED, PASS, GateReport, MetricResult


def _status(m: MetricResult) -> str:
    if m.regressed:
        return "REGRESSED" if m.status != NOT_MEASURED else "NOT MEASURED"
    return {PASS: "pass", FAIL: "FAIL", NOT_MEASURED: "NOT MEASURED", NOT_APPLICABLE: "n/a"}.get(m.status, "")


def _measured(m: MetricResult) -> str:
    total = m.value.measured + m.value.not_measured
    if not total:
        return "n/a"
    if m.value.not_measured:
        return f"{m.value.measured}/{total} ({m.value.not_measured} not measured)"
    return f"{m.value.measured}/{total}"


def _describe_run(run) -> str:
    return (
        f"`{run.prompt_name}@{run.alias}` = v{run.prompt_version}, run `{run.run_id}`, "
        f"traces stored {run.traces_stored}/{run.traces_expected}"
    )


def markdown(report: GateReport) -> str:
    c, b = report.candidate, report.baseline
    lines = [
        f"# Evaluation `{report.suite.name}`: {'PASSED' if report.passed else 'FAILED'}",
        "",
        f"- dataset: `{report.suite.dataset}` ({len(c.rows)} rows)",
        f"- candidate: {_describe_run(c)}",
    ]
    if b is not None:
        lines.append(f"- baseline: {_describe_run(b)}")
    if report.timings.get("wall_s"):
        lines.append(f"- wall time: {report.timings['wall_s']:.1f} s")
    if c.analysis_errors:
        lines.append("- analyzer errors: " + ", ".join(f"{k} ×{v}" for k, v in sorted(c.analysis_errors.items())))
    lines.append("")
    if report.reasons:
        lines += ["## Why it failed", ""] + [f"- {r}" for r in report.reasons] + [""]
    header = "| metric | value | rows measured | threshold |"
    rule = "| --- | --- | --- | --- |"
    if b is not None:
        header += f" {b.alias} | Δ |"
        rule += " --- | --- |"
    header += " status |"
    rule += " --- |"
    lines += ["## Metrics", "", header, rule]
    for m in report.metrics:
        cells = [f"`{m.name}`", m.spec.format(m.value.value), _measured(m), m.bound or "—"]
        if b is not None:
            cells += [
                m.spec.format(m.baseline.value if m.baseline else None),
                "—" if m.delta is None else f"{m.delta:+.3f}",
            ]
        cells.append(_status(m))
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    not_measured = [m for m in report.metrics if m.value.not_measured]
    if not_measured:
        lines += [
            "## Not measured",
            "",
            "Rows a scorer could not measure (shown apart: neither a pass nor a zero).",
            "",
        ]
        for m in not_measured:
            why = "; ".join(m.value.reasons) or "no reason recorded"
            lines.append(f"- `{m.name}`: {m.value.not_measured} row(s): {why}")
        lines.append("")
    if b is not None:
        lines += [f"## Rows whose verdict changed ({len(report.changed_rows)})", ""]
        if report.changed_rows:
            lines += [
                f"| row | check | {b.alias} | {c.alias} | {b.alias} trace | {c.alias} trace |",
                "| --- | --- | --- | --- | --- | --- |",
            ]
            for r in report.changed_rows:
                before, after = ("pass" if r.before else "fail"), ("pass" if r.after else "fail")
                traces = f"`{r.baseline_trace}` | `{r.candidate_trace}`"
                lines.append(f"| {r.row_id} | `{r.feedback}` | {before} | {after} | {traces} |")
        else:
            lines.append("None.")
        lines.append("")
    return "\n".join(lines)


def junit(report: GateReport) -> str:
    suite_name = f"llmops-eval.{report.suite.name}"
    root = ET.Element("testsuites", name="llmops eval")
    cases: list[ET.Element] = []
    failures = errors = 0
    for m in report.metrics:
        if m.threshold is not None:
            case = ET.Element("testcase", classname=f"{suite_name}.thresholds", name=f"{m.name} {m.bound}")
            if m.status == FAIL:
                failures += 1
                ET.SubElement(case, "failure", message=f"{m.name} = {m.spec.format(m.value.value)}, required {m.bound}")
            elif m.status == NOT_MEASURED:
                errors += 1
                ET.SubElement(case, "error", type="not-measured", message=f"{m.name} not measured ({_measured(m)})")
            elif m.status == NOT_APPLICABLE:
                ET.SubElement(case, "skipped", message=f"no row of this run applies to {m.name}")
            cases.append(case)
        if m.baseline is not None and m.tolerance is not None and m.baseline.value is not None:
            base_alias = report.baseline.alias
            case = ET.Element("testcase", classname=f"{suite_name}.regressions", name=f"{m.name} vs {base_alias}")
            if m.regressed and m.value.value is None:
                errors += 1
                ET.SubElement(case, "error", type="not-measured", message=f"{m.name} not measured ({_measured(m)})")
            elif m.regressed:
                failures += 1
                ET.SubElement(
                    case, "failure",
                    message=f"{m.name} = {m.spec.format(m.value.value)} vs {m.spec.format(m.baseline.value)} "
                    f"on {base_alias} (tolerance {m.tolerance:g})",
                )  # fmt: skip
            cases.append(case)
    for run in (report.candidate, report.baseline):
        if run is None:
            continue
        case = ET.Element("testcase", classname=f"{suite_name}.traces", name=f"no trace lost ({run.alias})")
        if run.traces_lost:
            failures += 1
            ET.SubElement(case, "failure", message=f"{run.traces_lost} of {run.traces_expected} traces lost")
        cases.append(case)
    suite = ET.SubElement(
        root, "testsuite", name=suite_name, tests=str(len(cases)), failures=str(failures), errors=str(errors),
        time=f"{report.timings.get('wall_s', 0.0):.1f}",
    )  # fmt: skip
    props = ET.SubElement(suite, "properties")
    ET.SubElement(props, "property", name="candidate_run", value=report.candidate.run_id)
    ET.SubElement(props, "property", name="candidate_prompt_version", value=str(report.candidate.prompt_version))
    if report.baseline is not None:
        ET.SubElement(props, "property", name="baseline_run", value=report.baseline.run_id)
    suite.extend(cases)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write(report: GateReport, markdown_path: Path | str | None, junit_path: Path | str | None) -> list[Path]:
    written = []
    for path, render in ((markdown_path, markdown), (junit_path, junit)):
        if path:
            path = Path(path)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(render(report), encoding="utf-8")
            written.append(path)
    return written
