"""JUnit XML: one testsuite per exercise, one testcase per check (the Jenkins xunit junit-10 shape)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence

from grader.report import Report

OUTPUT_CAP = 64 << 10
# Characters XML 1.0 cannot carry at all, even escaped: a program's raw output may contain any of them.
_INVALID = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def clean(text: str, cap: int = OUTPUT_CAP) -> str:
    text = _INVALID.sub("\ufffd", text)
    return text if len(text) <= cap else text[:cap] + f"\n[… {len(text) - cap} more characters not shown]"


def _suite(report: Report) -> ET.Element:
    broken = report.status in ("error", "timeout")
    failed = [c for c in report.checks if not c.passed]
    suite = ET.Element(
        "testsuite",
        name=report.exercise,
        tests=str(len(report.checks)),
        failures=str(0 if broken else len(failed)),
        errors=str(len(failed) if broken else 0),
        skipped="0",
        time=f"{report.duration_s:.3f}",
    )
    if report.submission:
        # named after the suite: some consumers (xunitparser) merge every suite's properties into one map
        props = ET.SubElement(suite, "properties")
        ET.SubElement(props, "property", name=f"{report.exercise}.submission", value=clean(report.submission))
        ET.SubElement(
            props, "property", name=f"{report.exercise}.score", value=f"{report.score:g}/{report.max_score:g}"
        )
    for c in report.checks:
        case = ET.SubElement(suite, "testcase", name=f"{c.id}: {c.title}", classname=report.exercise, time="0")
        if not c.passed:
            kind = "error" if broken else "failure"
            # the status is the element's type already: the message says why, not the status again
            message = clean(c.message if not broken else f"{report.reason} — {c.message}", 4096)
            node = ET.SubElement(case, kind, message=message, type=report.status if broken else "check")
            node.text = message
    out = ET.SubElement(suite, "system-out")
    out.text = clean(report.output + ("\n[output truncated]" if report.output_truncated else ""))
    err = ET.SubElement(suite, "system-err")
    err.text = clean(report.stderr + ("\n[stderr truncated]" if report.stderr_truncated else ""))
    return suite


def render(reports: Sequence[Report]) -> str:
    root = ET.Element("testsuites", name="grade")
    suites = [_suite(r) for r in reports]
    for attr in ("tests", "failures", "errors"):
        root.set(attr, str(sum(int(s.get(attr, "0")) for s in suites)))
    root.set("time", f"{sum(r.duration_s for r in reports):.3f}")
    root.extend(suites)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
