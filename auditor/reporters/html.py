"""A self-contained HTML report, the one a platform lead sends around.

One file and nothing else: styles, charts (inline SVG) and the small script that sorts and filters
the table are inside it, and its Content-Security-Policy forbids loading anything, so it opens the
same from a laptop, an S3 bucket or an e-mail attachment and never touches the network. Without
JavaScript it is a complete document: the findings table is plain HTML, and the sort and filter
controls only appear when the script runs. The script keeps the filter and sort in the address's
``#`` part (``report.html#q=SW303&sort=cost&dir=desc``), so a filtered view can be sent as a link.

Every value that comes from a template or an account is escaped (messages hold ``<unresolved>``,
``${Endpoint}``, names people typed); the script reads the table, never data of its own.
"""

from __future__ import annotations

from html import escape

from .. import __version__
from ..findings import SEVERITY_RANK
from . import SEVERITIES, checked, money, plural, tally
from .text import baseline_sentence, error_place

PERCENT_EVIDENCE = (("peak_cpu_per_vcpu", "Peak CPU per vCPU"), ("peak_memory", "Peak memory"),
                    ("peak_gpu_per_gpu", "Peak GPU per GPU"), ("peak_gpu_memory_per_gpu", "Peak GPU memory per GPU"))
"""Evidence fields that are percentages of a capacity, drawn as bars from 0 to 100 %."""
_CHART_WIDTH, _LABEL_WIDTH, _ROW = 540, 170, 26


def _e(value) -> str:
    return escape(str(value), quote=True)


def render(report) -> str:
    summary = report.summary()
    findings = sorted(report.findings, key=lambda f: (-SEVERITY_RANK[f.severity],
                                                      -(f.monthly_cost_usd or 0), f.sort_key()))
    live = any(not f.location.file for f in findings)
    title = f"sagewise {report.command} report"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; style-src \'unsafe-inline\'; '
        'script-src \'unsafe-inline\'; img-src data:">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}: {_e(plural(len(findings), 'finding'))}</title>",
        f"<style>{_STYLE}</style>",
        "</head>",
        "<body>",
        f"<header><h1>{_e(title)}</h1><p class=\"meta\">{_e(checked(report.counts) or 'nothing was read')} · "
        f"sagewise {_e(__version__)}</p></header>",
        _totals(report, summary),
    ]
    if report.baseline is not None:
        parts.append(f'<p class="baseline">Compared with the baseline <code>{_e(report.baseline["file"])}</code>:'
                     f"{_e(baseline_sentence(report.baseline))}</p>")
    if findings:
        parts.append(_charts(findings, live))
        parts.append(_table(findings, live))
        parts.append(_evidence(findings))
    if report.errors:
        parts.append(_errors(report.errors))
    parts += [f"<script>{_SCRIPT}</script>", "</body>", "</html>"]
    return "\n".join(part for part in parts if part) + "\n"


def _totals(report, summary: dict) -> str:
    tiles = [("findings", plural(len(report.findings), "finding"), "")]
    tiles += [(name, plural(summary["by_severity"][name], name), f" sev-{name}") for name in SEVERITIES
              if summary["by_severity"][name]]
    if summary.get("monthly_cost_usd"):
        tiles.append(("cost", f"{money(summary['monthly_cost_usd'])} / month at stake", ""))
    if summary.get("monthly_savings_usd"):
        tiles.append(("savings", f"{money(summary['monthly_savings_usd'])} / month to save", ""))
    if report.errors:
        tiles.append(("errors", plural(len(report.errors), "input") + " not read", " sev-error"))
    items = "".join(f'<li class="tile{extra}" data-total="{_e(key)}">{_e(text)}</li>' for key, text, extra in tiles)
    return f'<ul class="totals">{items}</ul>'


# -- charts -----------------------------------------------------------------------------------------------


def _charts(findings, live: bool) -> str:
    figures = [_bar_chart("Per rule", _rows(findings, lambda f: f.rule_id))]
    if live:
        figures.append(_bar_chart("Per account", _rows(findings, lambda f: f.location.account or "—")))
        figures.append(_bar_chart("Per region", _rows(findings, lambda f: f.location.region or "—")))
    else:
        figures.append(_bar_chart("Per file", _rows(findings, lambda f: f.location.file or f.location.scope)))
    return '<section class="charts">' + "".join(figures) + "</section>"


def _rows(findings, key) -> list:
    """(label, findings per severity, monthly cost at stake) per group, the largest first."""
    return sorted(tally(findings, key), key=lambda row: (-row[2], -sum(row[1].values()), row[0]))


def _bar_chart(caption: str, rows: list) -> str:
    """Per row, a bar of its findings stacked by severity and, where prices are known, a bar of its cost."""
    costs = any(cost for _, _, cost in rows)
    row_height = _ROW + (12 if costs else 0)
    largest = max(sum(counts.values()) for _, counts, _ in rows)
    room = _CHART_WIDTH - _LABEL_WIDTH - 120
    dearest = max(cost for _, _, cost in rows) if costs else 0
    height = row_height * len(rows) + 8
    shapes = []
    for index, (label, counts, cost) in enumerate(rows):
        y = 4 + index * row_height
        shown = label if len(label) <= 24 else "…" + label[-23:]
        shapes.append(f'<text x="{_LABEL_WIDTH - 8}" y="{y + 15}" text-anchor="end"><title>{_e(label)}</title>'
                      f"{_e(shown)}</text>")
        x = _LABEL_WIDTH
        for severity in SEVERITIES:
            if counts.get(severity):
                width = counts[severity] * room / largest
                shapes.append(f'<rect class="bar sev-{severity}" x="{x:.1f}" y="{y + 3}" width="{width:.1f}" '
                              f'height="{_ROW - 10}"><title>{_e(label)}: {_e(plural(counts[severity], severity))}'
                              "</title></rect>")
                x += width
        shapes.append(f'<text class="note" x="{x + 6:.1f}" y="{y + 14}">'
                      f"{_e(plural(sum(counts.values()), 'finding'))}</text>")
        if cost:
            width = cost * room / dearest
            shapes.append(f'<rect class="bar cost" x="{_LABEL_WIDTH}" y="{y + _ROW - 5}" width="{width:.1f}" '
                          f'height="10"><title>{_e(label)}: {_e(money(cost))} per month</title></rect>'
                          f'<text class="note" x="{_LABEL_WIDTH + width + 6:.1f}" y="{y + _ROW + 4}">'
                          f"{_e(money(cost))}/month</text>")
    summary = "; ".join(f"{label}: {plural(sum(counts.values()), 'finding')}"
                        + (f", {money(cost)} per month" if cost else "") for label, counts, cost in rows)
    legend = "".join(f'<span class="key sev-{name}">{name}</span>' for name in SEVERITIES)
    if costs:
        legend += '<span class="key cost">monthly cost at stake</span>'
    return (f'<figure class="chart"><figcaption>{_e(caption)}<span class="legend">{legend}</span></figcaption>'
            f'<svg role="img" aria-label="{_e(caption)}: {_e(summary)}" '
            f'viewBox="0 0 {_CHART_WIDTH} {height}" width="{_CHART_WIDTH}" height="{height}">'
            + "".join(shapes) + "</svg></figure>")


# -- the table ------------------------------------------------------------------------------------------


def _table(findings, live: bool) -> str:
    columns = [("severity", "Severity", "number"), ("rule", "Rule", "text"), ("where", "Where", "text")]
    if live:
        columns += [("account", "Account", "text"), ("region", "Region", "text")]
    priced = any(f.monthly_cost_usd or f.monthly_savings_usd for f in findings)
    columns.append(("finding", "Finding", "text"))
    if priced:
        columns += [("cost", "Cost / month", "number"), ("saves", "Saves / month", "number")]
    head = "".join(f'<th scope="col" data-key="{key}" data-type="{kind}">{_e(label)}</th>'
                   for key, label, kind in columns)
    rows = []
    for index, finding in enumerate(findings, 1):
        location = finding.location
        cells = [f'<td data-sort="{SEVERITY_RANK[finding.severity]}"><span class="badge sev-{finding.severity}">'
                 f"{finding.severity}</span></td>",
                 f'<td><abbr title="{_e(finding.rule_name)}">{_e(finding.rule_id)}</abbr></td>',
                 f"<td>{_where(location)}</td>"]
        if live:
            cells += [f"<td>{_e(location.account or '')}</td>", f"<td>{_e(location.region or '')}</td>"]
        message = _e(finding.message)
        if finding.evidence:
            message += f' <a class="evidence-link" href="#evidence-{index}">evidence</a>'
        cells.append(f"<td>{message}</td>")
        if priced:
            cells += [f'<td class="num" data-sort="{finding.monthly_cost_usd or 0}">'
                      f"{money(finding.monthly_cost_usd) or '—'}</td>",
                      f'<td class="num" data-sort="{finding.monthly_savings_usd or 0}">'
                      f"{money(finding.monthly_savings_usd) or '—'}</td>"]
        rows.append(f'<tr id="finding-{index}" class="finding" data-severity="{finding.severity}" '
                    f'data-rule="{_e(finding.rule_id)}">' + "".join(cells) + "</tr>")
    controls = ('<div id="controls" class="controls" hidden>'
                '<label>Filter <input type="search" id="filter" placeholder="rule, resource, text…"></label> '
                '<label>Severity <select id="severity"><option value="">all</option>'
                + "".join(f'<option value="{name}">{name}</option>' for name in SEVERITIES)
                + '</select></label> <span id="shown" aria-live="polite"></span></div>')
    return ('<section class="findings"><h2>Findings</h2>' + controls
            + f'<table id="findings"><thead><tr>{head}</tr></thead><tbody>' + "".join(rows)
            + "</tbody></table></section>")


def _where(location) -> str:
    if location.file:
        place = f"<code>{_e(location.file)}:{location.line or 1}</code>"
        return place + (f"<br><span class=\"resource\">{_e(location.resource)}</span>" if location.resource else "")
    return f'<span class="resource">{_e(location.resource or location.scope)}</span>'


# -- evidence ---------------------------------------------------------------------------------------------


def _evidence(findings) -> str:
    figures = [_evidence_figure(index, finding) for index, finding in enumerate(findings, 1) if finding.evidence]
    if not figures:
        return ""
    return ('<section class="evidence"><h2>Evidence</h2><p class="meta">What CloudWatch measured over the '
            "lookback window, for the live findings that rest on it.</p>" + "".join(figures) + "</section>")


def _evidence_figure(index: int, finding) -> str:
    evidence = finding.evidence
    bars = [(label, float(evidence[key])) for key, label in PERCENT_EVIDENCE if evidence.get(key) is not None]
    body = ""
    if bars:
        height = _ROW * len(bars) + 8
        shapes = []
        for row, (label, value) in enumerate(bars):
            y = 4 + row * _ROW
            width = max(0.0, min(value, 100.0)) * 3
            shapes.append(f'<text x="{_LABEL_WIDTH - 8}" y="{y + 16}" text-anchor="end">{_e(label)}</text>'
                          f'<rect class="track" x="{_LABEL_WIDTH}" y="{y + 3}" width="300" height="{_ROW - 8}"/>'
                          f'<rect class="bar measured" x="{_LABEL_WIDTH}" y="{y + 3}" width="{width:.1f}" '
                          f'height="{_ROW - 8}"/><text class="note" x="{_LABEL_WIDTH + 306}" y="{y + 16}">'
                          f"{value:g} %</text>")
        description = "; ".join(f"{label} {value:g} %" for label, value in bars)
        body += (f'<svg role="img" aria-label="{_e(description)}" '
                 f'viewBox="0 0 {_LABEL_WIDTH + 360} {height}" width="{_LABEL_WIDTH + 360}" height="{height}">'
                 + "".join(shapes) + "</svg>")
    facts = []
    if evidence.get("invocations") is not None:
        window = f" in {evidence['lookback_days']:g} days" if evidence.get("lookback_days") is not None else ""
        facts.append(("Invocations", f"{evidence['invocations']:,.0f}{window}"))
    if evidence.get("utilization_days") is not None:
        facts.append(("Utilization window", f"{evidence['utilization_days']:g} days"))
    if evidence.get("downsize_to"):
        facts.append(("Would still fit on", evidence["downsize_to"]))
    if evidence.get("age_days") is not None:
        facts.append(("Up for", f"{evidence['age_days']:g} days"))
    if facts:
        body += '<dl class="facts">' + "".join(f"<div><dt>{_e(name)}</dt><dd>{_e(value)}</dd></div>"
                                               for name, value in facts) + "</dl>"
    place = finding.location.resource or finding.location.file or finding.location.scope
    return (f'<figure class="evidence-figure" id="evidence-{index}"><figcaption><a href="#finding-{index}">'
            f"{_e(finding.rule_id)}</a> <span class=\"resource\">{_e(place)}</span><br>{_e(finding.message)}"
            f"</figcaption>{body}</figure>")


def _errors(errors) -> str:
    rows = "".join(f"<tr><td><code>{_e(error_place(error))}</code></td><td>{_e(error.message)}</td></tr>"
                   for error in errors)
    return ('<section class="errors"><h2>Inputs that could not be read</h2><table><thead><tr><th scope="col">Where'
            '</th><th scope="col">Error</th></tr></thead><tbody>' + rows + "</tbody></table></section>")


_STYLE = """
:root{--error:#c62828;--warning:#ef6c00;--info:#1565c0;--ink:#1f2328;--muted:#59636e;--line:#d1d9e0;
--bg:#ffffff;--soft:#f6f8fa}
*{box-sizing:border-box}
body{margin:0 auto;max-width:1200px;padding:24px;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,
sans-serif;color:var(--ink);background:var(--bg)}
h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 10px}
.meta{color:var(--muted);margin:0 0 12px}
.totals{display:flex;flex-wrap:wrap;gap:8px;list-style:none;padding:0;margin:16px 0}
.tile{border:1px solid var(--line);border-radius:6px;padding:8px 14px;background:var(--soft);font-weight:600}
.tile.sev-error{border-left:4px solid var(--error)}.tile.sev-warning{border-left:4px solid var(--warning)}
.tile.sev-info{border-left:4px solid var(--info)}
.baseline{background:var(--soft);border:1px solid var(--line);border-radius:6px;padding:8px 12px}
.charts{display:flex;flex-wrap:wrap;gap:16px}
figure{margin:0}
.chart,.evidence-figure{border:1px solid var(--line);border-radius:6px;padding:12px;background:var(--bg)}
figcaption{font-weight:600;margin-bottom:6px}
svg{max-width:100%;height:auto;font-size:12px;fill:var(--ink)}
svg .note{fill:var(--muted)}
.bar.sev-error{fill:var(--error)}.bar.sev-warning{fill:var(--warning)}.bar.sev-info{fill:var(--info)}
.bar.cost{fill:#455a64}.track{fill:var(--soft);stroke:var(--line)}.bar.measured{fill:#2e7d32}
.legend{display:block;font-weight:400;font-size:12px;color:var(--muted)}
.key{margin-right:12px}.key::before{content:"";display:inline-block;width:10px;height:10px;margin-right:4px;
vertical-align:-1px;background:currentColor}
.key.sev-error::before{background:var(--error)}.key.sev-warning::before{background:var(--warning)}
.key.sev-info::before{background:var(--info)}.key.cost::before{background:#455a64}
.controls{margin:8px 0;display:flex;gap:16px;align-items:center;flex-wrap:wrap}
.controls input,.controls select{font:inherit;padding:4px 6px}
table{border-collapse:collapse;width:100%}
th,td{border-bottom:1px solid var(--line);padding:6px 8px;text-align:left;vertical-align:top}
th{background:var(--soft);position:sticky;top:0}
th[data-key]{cursor:pointer}th[aria-sort=ascending]::after{content:" \\25B2"}
th[aria-sort=descending]::after{content:" \\25BC"}
td.num{text-align:right;white-space:nowrap}
.badge{display:inline-block;border-radius:10px;padding:0 8px;color:#fff;font-size:12px;font-weight:600}
.badge.sev-error{background:var(--error)}.badge.sev-warning{background:var(--warning)}
.badge.sev-info{background:var(--info)}
.resource{color:var(--muted);word-break:break-all}
code{font:12px ui-monospace,SFMono-Regular,Menlo,monospace;word-break:break-all}
.evidence{display:grid;grid-template-columns:repeat(auto-fill,minmax(520px,1fr));gap:12px}
.evidence h2,.evidence>p{grid-column:1/-1;margin-bottom:0}
.facts{display:flex;flex-wrap:wrap;gap:16px;margin:8px 0 0}.facts dt{color:var(--muted)}
.facts dd{margin:0;font-size:18px;font-weight:600}
@media print{.controls{display:none}th{position:static}}
"""

_SCRIPT = """
(function () {
  var table = document.getElementById("findings");
  if (!table) { return; }
  var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
  var headers = Array.prototype.slice.call(table.tHead.rows[0].cells);
  var filter = document.getElementById("filter"), severity = document.getElementById("severity");
  var shown = document.getElementById("shown"), state = {q: "", severity: "", sort: "", dir: ""};
  document.getElementById("controls").hidden = false;
  function key(row, index, type) {
    var cell = row.cells[index], value = cell.getAttribute("data-sort");
    if (value === null) { value = cell.textContent.trim().toLowerCase(); }
    return type === "number" ? parseFloat(value) || 0 : value;
  }
  function sort() {
    headers.forEach(function (th) { th.removeAttribute("aria-sort"); });
    var index = -1;
    headers.forEach(function (th, i) { if (th.getAttribute("data-key") === state.sort) { index = i; } });
    if (index < 0) { return; }
    var th = headers[index], type = th.getAttribute("data-type"), sign = state.dir === "asc" ? 1 : -1;
    th.setAttribute("aria-sort", state.dir === "asc" ? "ascending" : "descending");
    rows.sort(function (a, b) {
      var x = key(a, index, type), y = key(b, index, type);
      return x < y ? -sign : x > y ? sign : 0;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  }
  function apply() {
    var words = state.q.toLowerCase().split(/\\s+/).filter(Boolean), count = 0;
    rows.forEach(function (row) {
      var text = row.textContent.toLowerCase();
      var match = (!state.severity || row.getAttribute("data-severity") === state.severity) &&
        words.every(function (word) { return text.indexOf(word) >= 0; });
      row.hidden = !match;
      if (match) { count += 1; }
    });
    shown.textContent = count + " of " + rows.length + " shown";
  }
  function save() {
    var parts = [];
    Object.keys(state).forEach(function (name) {
      if (state[name]) { parts.push(name + "=" + encodeURIComponent(state[name])); }
    });
    try { history.replaceState(null, "", parts.length ? "#" + parts.join("&") : location.pathname); }
    catch (error) { /* a browser that refuses it keeps working without the link */ }
  }
  location.hash.replace(/^#/, "").split("&").forEach(function (pair) {
    var at = pair.indexOf("="), name = pair.slice(0, at);
    if (at > 0 && Object.prototype.hasOwnProperty.call(state, name)) {
      state[name] = decodeURIComponent(pair.slice(at + 1));
    }
  });
  filter.value = state.q;
  severity.value = state.severity;
  headers.forEach(function (th) {
    if (!th.getAttribute("data-key")) { return; }
    th.tabIndex = 0;
    function choose() {
      var same = state.sort === th.getAttribute("data-key");
      state.sort = th.getAttribute("data-key");
      state.dir = same && state.dir === "desc" ? "asc" : same ? "desc" :
        th.getAttribute("data-type") === "number" ? "desc" : "asc";
      sort(); save();
    }
    th.addEventListener("click", choose);
    th.addEventListener("keydown", function (event) {
      if (event.key === "Enter" || event.key === " ") { event.preventDefault(); choose(); }
    });
  });
  filter.addEventListener("input", function () { state.q = filter.value; apply(); save(); });
  severity.addEventListener("change", function () { state.severity = severity.value; apply(); save(); });
  sort();
  apply();
}());
"""
