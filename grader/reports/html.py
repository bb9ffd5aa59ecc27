"""The class report as one self-contained HTML page: inline CSS and SVG charts, nothing fetched to view it."""

from __future__ import annotations

import time

from grader import __version__
from grader.neutralise import html as escape  # escaped, control characters and bidi overrides made visible
from grader.reports.gradebook import Book

COLOR = {"passed": "#2e9d49", "failed": "#d2453b", "timeout": "#d9a21b", "error": "#9b3fb5", "missing": "#b9b9b9"}
STATUSES = ("passed", "failed", "timeout", "error", "missing")
CSS = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:1100px;color:#222;
padding:0 1rem}
h1{margin-bottom:.2rem}h2{margin-top:2.2rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}
.sub{color:#666}.grid{display:flex;flex-wrap:wrap;gap:1.2rem}
.card{border:1px solid #e3e3e3;border-radius:8px;padding:.6rem .8rem}
.card h3{margin:.1rem 0 .3rem;font-size:1rem}svg text{font:11px system-ui,sans-serif;fill:#444}
table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #e3e3e3;padding:.25rem .5rem;text-align:left}
th{background:#f6f6f6}td.num{text-align:right}.legend span{display:inline-block;margin-right:1rem}
.legend i{display:inline-block;width:.8rem;height:.8rem;margin-right:.3rem;vertical-align:-1px;border-radius:2px}
"""


def _num(x: float) -> str:
    return f"{x:g}"


def histogram_svg(book: Book, ex_index: int) -> str:
    """Students per score band of one exercise, as SVG bars (each bar carries its band and count)."""
    e = book.exercises[ex_index]
    bands = book.histogram(e)
    w, h, pad, bw = 300, 150, 24, 26
    top = max((n for _, n in bands), default=0) or 1
    parts = [
        f'<svg class="chart histogram" data-exercise="{escape(e.id)}" width="{w}" height="{h + 2 * pad}" '
        f'viewBox="0 0 {w} {h + 2 * pad}" role="img" aria-label="score distribution of {escape(e.title)}">'
    ]
    for i, (label, n) in enumerate(bands):
        bh = round(n / top * h) if n else 0
        x, y = 10 + i * (bw + 2), pad + h - bh
        parts.append(
            f'<rect class="bar" data-band="{escape(label)}" data-count="{n}" x="{x}" y="{y}" width="{bw}" '
            f'height="{bh}" fill="#3b7dd8"><title>{escape(label)} points: {n} students</title></rect>'
        )
        if n:
            parts.append(f'<text x="{x + bw / 2}" y="{y - 4}" text-anchor="middle">{n}</text>')
    parts.append(f'<line x1="8" y1="{pad + h}" x2="{w - 8}" y2="{pad + h}" stroke="#888"/>')
    parts.append(f'<text x="10" y="{pad + h + 16}">0</text>')
    parts.append(
        f'<text x="{10 + len(bands) * (bw + 2) - 2}" y="{pad + h + 16}" text-anchor="end">'
        f"{_num(e.max_score)} points</text></svg>"
    )
    return "".join(parts)


def status_svg(book: Book) -> str:
    """One stacked bar per exercise: how many students passed, failed, timed out, errored, handed in nothing."""
    rowh, label_w, bar_w = 26, 150, 520
    n = max(1, len(book.students))
    parts = [
        f'<svg class="chart statuses" width="{label_w + bar_w + 20}" height="{rowh * len(book.exercises) + 10}" '
        'role="img" aria-label="status per exercise">'
    ]
    for i, e in enumerate(book.exercises):
        y, x = 5 + i * rowh, float(label_w)
        parts.append(f'<text x="0" y="{y + 15}">{escape(e.title)}</text>')
        for status, count in ((s, book.statuses(e.id)[s]) for s in STATUSES):
            if not count:
                continue
            width = count / n * bar_w
            parts.append(
                f'<rect class="bar status-{status}" data-exercise="{escape(e.id)}" data-status="{status}" '
                f'data-count="{count}" x="{x:.1f}" y="{y}" width="{width:.1f}" height="20" '
                f'fill="{COLOR[status]}"><title>{escape(e.title)}: {count} {status}</title></rect>'
            )
            if width > 18:
                parts.append(
                    f'<text x="{x + width / 2:.1f}" y="{y + 14}" text-anchor="middle" style="fill:#fff">{count}</text>'
                )
            x += width
    return "".join(parts) + "</svg>"


def failing_svg(book: Book, limit: int = 10) -> str:
    """The checks most students fail, as horizontal bars of the share of judged runs that failed them."""
    fails = book.failing_checks()[:limit]
    rowh, label_w, bar_w = 24, 420, 300
    parts = [
        f'<svg class="chart failing" width="{label_w + bar_w + 60}" height="{rowh * len(fails) + 10}" '
        'role="img" aria-label="most failed checks">'
    ]
    for i, (e, title, count, judged) in enumerate(fails):
        y = 5 + i * rowh
        width = count / max(1, judged) * bar_w
        label = f"{e.title}: {title}"
        parts.append(f'<text x="0" y="{y + 14}">{escape(label[:70])}</text>')
        parts.append(
            f'<rect class="bar" data-exercise="{escape(e.id)}" data-count="{count}" x="{label_w}" y="{y}" '
            f'width="{width:.1f}" height="18" fill="{COLOR["failed"]}"><title>{escape(label)}</title></rect>'
        )
        parts.append(f'<text x="{label_w + width + 6:.1f}" y="{y + 14}">{count}/{judged}</text>')
    return "".join(parts) + "</svg>"


def _grade_table(book: Book) -> str:
    head = "".join(f"<th>{escape(e.title)}</th>" for e in book.exercises)
    rows = []
    for s in book.students:
        cells = []
        for e in book.exercises:
            r = book.cells.get((s, e.id))
            status = r.status if r else "missing"
            tip = escape(r.reason or status) if r else "missing"
            cells.append(
                f'<td class="num" title="{tip}" style="color:{COLOR[status]}">'
                f"{_num(book.score(s, e.id))} <small>{status}</small></td>"
            )
        rows.append(f"<tr><td>{escape(s)}</td>{''.join(cells)}<td class='num'><b>{_num(book.total(s))}</b></td></tr>")
    return f"<table><tr><th>student</th>{head}<th>total</th></tr>{''.join(rows)}</table>"


def _trouble_table(rows: str) -> str:
    head = "<tr><th>student</th><th>exercise</th><th>status</th><th>why</th></tr>"
    return f"<table>{head}{rows}</table>" if rows else "<p>None.</p>"


def page(book: Book) -> str:
    legend = "".join(f'<span><i style="background:{COLOR[s]}"></i>{s}</span>' for s in STATUSES)
    hists = "".join(
        f'<div class="card"><h3>{escape(e.title)}</h3>{histogram_svg(book, i)}</div>'
        for i, e in enumerate(book.exercises)
    )
    trouble = "".join(
        f"<tr><td>{escape(r.student)}</td><td>{escape(r.exercise)}</td>"
        f"<td style='color:{COLOR[r.status]}'>{'infrastructure error' if r.infra else r.status}</td>"
        f"<td>{escape(r.reason or '')}</td></tr>"
        for r in book.trouble()
    )
    fails = failing_svg(book) if book.failing_checks() else "<p>Every judged run passed every check.</p>"
    stamp = time.strftime("%Y-%m-%d %H:%M")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Class report</title><style>{CSS}</style></head><body>
<h1>Class report</h1>
<p class="sub">{len(book.students)} students · {len(book.exercises)} exercises · grade {__version__} · {stamp}</p>
<h2>Status per exercise</h2><p class="legend">{legend}</p>{status_svg(book)}
<h2>Score distribution per exercise</h2><div class="grid">{hists}</div>
<h2>Checks most students fail</h2>{fails}
<h2>Errors and timeouts</h2>
{_trouble_table(trouble)}
<h2>Gradebook</h2>{_grade_table(book)}
</body></html>
"""
