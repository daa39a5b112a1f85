"""The auditor's report as one self-contained HTML page (inline CSS, no script, no CDN).

An auditor opens it from a USB stick on a machine without network: nothing may be fetched. Every
value is HTML-escaped here, whatever its source (file names are chosen by departments).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from html import escape
from pathlib import Path
from typing import Any

from siheyuan.report import AuditReport

# Long lists are cut in the page; the CLI prints them whole.
MAX_QUARANTINE_ROWS = 2000
MAX_NAMED_HELD = 10  # held files named in the summary; the held section lists every one

CSS = """
body{font-family:-apple-system,"Segoe UI","PingFang SC","Microsoft YaHei","Noto Sans CJK SC",
sans-serif;margin:2rem auto;max-width:78rem;padding:0 1rem;color:#1f2328;line-height:1.45}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.2rem;margin-top:2.2rem;
border-bottom:1px solid #d0d7de;padding-bottom:.2rem}h3{font-size:1rem;margin-top:1.4rem}
table{border-collapse:collapse;margin:.6rem 0;font-size:.86rem}
th,td{border:1px solid #d0d7de;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}td.n{text-align:right;font-variant-numeric:tabular-nums}
.applied{color:#1a7f37;font-weight:600}.rejected{color:#cf222e;font-weight:600}
.duplicate{color:#6e7781;font-weight:600}.held{color:#9a6700;font-weight:600}.pass{color:#1a7f37}.fail{color:#cf222e;font-weight:600}
.override{color:#9a6700;font-weight:600}.muted{color:#6e7781}
.summary{background:#f6f8fa;border:1px solid #d0d7de;border-radius:6px;padding:.8rem 1rem}
.summary li{margin:.15rem 0}code{font-size:.85em}
"""


def e(value: Any) -> str:
    """Escape for HTML text and attributes; None shows as an em dash."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    return escape(str(value), quote=True)


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]], numeric: set[int]) -> str:
    """``rows`` hold already-escaped cell HTML."""
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="n">{c}</td>' if i in numeric else f"<td>{c}</td>" for i, c in enumerate(r)
        )
        + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _status(status: str) -> str:
    return f'<span class="{e(status)}">{e(status)}</span>'


def _link(target: Path, base: Path, text: str) -> str:
    href = Path(os.path.relpath(target, base)).as_posix()
    return f'<a href="{e(href)}">{e(text)}</a>'


def _reason(file_name: str | None, reason: str | None) -> str | None:
    """``reason`` without a leading ``"<file_name>: "``: the page shows the file next to it.

    Readers and the gate start a reason with the file name so it stands alone in a log or in
    ``report --json`` (where it stays as stored); on the page it would read "X.csv: X.csv: …".
    """
    prefix = f"{file_name}: "
    return reason[len(prefix) :] if reason and file_name and reason.startswith(prefix) else reason


def _balanced(b: dict) -> str:
    if b["status"] != "applied" or b.get("rows_received") is None:
        return "—"
    accepted = b["rows_accepted"] or 0
    total = accepted + (b["rows_quarantined"] or 0) + (b["rows_duplicate"] or 0)
    if total != b["rows_received"]:
        return '<span class="fail">NO</span>'
    in_xref = b.get("rows_in_xref")
    if in_xref is not None and in_xref != accepted:
        # accepted but never published: e.g. a dataset with a contract and no dbt models yet
        missing = accepted - in_xref
        return (
            f'<span class="fail">NO — {e(missing)} accepted row(s) not in the published xref</span>'
        )
    return '<span class="pass">yes</span>'


def _summary(r: AuditReport) -> str:
    if r.run_id is None:
        return '<p class="summary">No run has recorded anything in this warehouse yet.</p>'
    statuses = [b["status"] for b in r.run_batches]
    applied = [b for b in r.run_batches if b["status"] == "applied"]

    def total(key: str) -> str:
        return e(sum(b[key] or 0 for b in applied))

    # Held files have no outcome row of their own (meta.held, not meta.batch), but the run saw
    # them: the count is every file, or a run of 6 new files would say it received 3.
    items = [
        f"Files received in this run: <b>{len(statuses) + len(r.held)}</b> — "
        f"{statuses.count('applied')} applied, {statuses.count('duplicate')} duplicate "
        f"(already applied, no effect), {statuses.count('rejected')} rejected"
        + (f", {len(r.held)} held back (not applied)." if r.held else "."),
        f"Rows received in applied files: <b>{total('rows_received')}</b>; accepted "
        f"{total('rows_accepted')}, quarantined {total('rows_quarantined')}, duplicate rows "
        f"collapsed {total('rows_duplicate')}.",
    ]
    for b in r.run_batches:
        if b["status"] == "rejected":
            items.append(
                f'<span class="rejected">Rejected</span> {e(b["file_name"])}: '
                f"{e(_reason(b['file_name'], b['reason']))}"
            )
    if r.held:
        names = [h["file_name"] for h in r.held]
        shown = ", ".join(e(n) for n in names[:MAX_NAMED_HELD])
        more = f" and {len(names) - MAX_NAMED_HELD} more" if len(names) > MAX_NAMED_HELD else ""
        items.append(
            f'<span class="held">Held back</span> {len(names)} other new file(s): {shown}{more} '
            "— not applied because the run was rejected (see below); the next run that is not "
            "rejected applies them."
        )
    failed = [c for c in r.checks if not c["passed"]]
    items.append(
        f"Checks recorded: {len(r.checks)}, failed: {len(failed)} "
        f"(of which overridden: {sum(bool(c['overridden']) for c in failed)})."
    )
    for c in failed:
        items.append(
            f'<span class="{"override" if c["overridden"] else "fail"}">Check failed</span> '
            f"{e(c['check_name'])} on {e(c['file_name'])}: observed {e(c['observed'])}, "
            f"threshold {e(c['threshold'])}" + (" (overridden)" if c["overridden"] else "")
        )
    if r.run_publish:
        items.append(f"Published version <b>{e(r.run_publish['version'])}</b>.")
    else:
        items.append("Nothing was published by this run; CURRENT stayed where it was.")
    items.append(f"CURRENT now: <b>{e(r.current_version or 'none published yet')}</b>.")
    return '<ul class="summary">' + "".join(f"<li>{i}</li>" for i in items) + "</ul>"


def _rejections(ledger: list[dict]) -> list[tuple[dict, dict]]:
    """Every rejection ever recorded, with its file's entry: also of files applied since (after an
    override or as a snapshot re-delivered) — the ledger entry shows only the latest outcome."""
    found = []
    for b in ledger:
        latest = {k: b.get(k) for k in ("status", "reason", "run_id", "recorded_at")}
        latest["recorded_at"] = latest["recorded_at"] or b.get("first_seen")
        found += [(b, o) for o in [*b.get("history", []), latest] if o["status"] == "rejected"]
    return sorted(found, key=lambda pair: str(pair[1]["recorded_at"]))


def _quarantined(b: dict) -> str:
    """A rejected batch quarantined nothing; say how many rows it would have, if it was read."""
    would = b.get("rows_quarantined_if_accepted")
    cell = e(b["rows_quarantined"])
    return cell if would is None else f"{cell} ({e(would)} if accepted)"


def _batch_rows(batches: Iterable[dict], file_key: str) -> list[list[str]]:
    return [
        [
            e(b[file_key]),
            e(b["dataset"]),
            _status(b["status"]),
            e(_reason(b[file_key], b["reason"])),
            e(b["rows_received"]),
            e(b["rows_accepted"]),
            _quarantined(b),
            e(b["rows_duplicate"]),
            e(b.get("rows_in_xref")),
            _balanced(b),
        ]
        for b in batches
    ]


BATCH_HEADERS = (
    "file",
    "dataset",
    "status",
    "reason",
    "received",
    "accepted",
    "quarantined",
    "duplicate rows",
    "in published xref",
    "balanced",
)


def _by_reason(counts: list[tuple[str, str, int]]) -> str:
    return _table(
        ("dataset", "reason code", "rows"), ([e(d), e(c), e(n)] for d, c, n in counts), {2}
    )


def _row_list(title: str, rows: list[dict[str, Any]]) -> str:
    """Quarantine rows (file, row, key, reason), the first MAX_QUARANTINE_ROWS of them."""
    shown = rows[:MAX_QUARANTINE_ROWS]
    parts = [f"<h3>{title}</h3>"]
    if len(rows) > len(shown):
        parts.append(
            f'<p class="muted">The first {len(shown):,} of {len(rows):,} rows; '
            "<code>siheyuan quarantine --json</code> lists them all.</p>"
        )
    cells = (
        [e(q["file"]), e(q["row_number"]), e(q["source_key"]), e(q["reason_code"]), e(q["reason"])]
        for q in shown
    )
    parts.append(_table(("file", "row", "source key", "reason code", "reason"), cells, {1}))
    return "".join(parts)


def _quarantine_section(r: AuditReport) -> str:
    parts = ["<h2>Quarantined rows</h2>"]
    none_this_run = "No row was quarantined in this run."
    if r.rejected_rows and not r.quarantine_by_reason:
        none_this_run = (
            "No row was quarantined in this run (nothing of the rejected file(s) was applied). "
            f"The rejected file(s) would have quarantined {len(r.rejected_rows):,} row(s), "
            "listed below."
        )
    for scope, counts, none in (
        ("this run", r.quarantine_by_reason, none_this_run),
        ("all runs", r.quarantine_by_reason_all, "No row has ever been quarantined."),
    ):
        parts.append(f"<h3>By dataset and reason — {scope}</h3>")
        parts.append(_by_reason(counts) if counts else f'<p class="muted">{none}</p>')
    if r.quarantine:
        parts.append(_row_list("Every quarantined row of this run", r.quarantine))
    if r.rejected_rows:
        parts.append(
            "<h3>Rows the rejected file(s) would have quarantined (not applied)</h3>"
            '<p class="muted">Nothing of a rejected file was used. These rows would be set aside '
            "if the file were accepted (<code>siheyuan accept</code>); "
            "<code>siheyuan quarantine --file FILE --json</code> lists them with "
            "<code>batch_status</code> <code>rejected</code>.</p>"
        )
        parts.append(_by_reason(r.rejected_rows_by_reason))
        parts.append(_row_list("Every row they would have quarantined", r.rejected_rows))
    return "".join(parts)


def _held_section(r: AuditReport) -> str:
    """Good files of a rejected run: received, not refused, and not applied either."""
    if not r.held:
        return ""
    return "<h2>Held back in this run (not applied)</h2>" + _table(
        ("file", "dataset", "why"),
        ([e(h["file_name"]), e(h["dataset"]), e(h["reason"])] for h in r.held),
        set(),
    )


def _checks_section(r: AuditReport) -> str:
    parts = ["<h2>Checks of this run</h2>"]
    if not r.checks:
        parts.append('<p class="muted">No check result is recorded for this run.</p>')
        return "".join(parts)

    def outcome(c: dict) -> str:
        if c["passed"]:
            return '<span class="pass">passed</span>'
        if c["overridden"]:
            return '<span class="override">failed, overridden</span>'
        return '<span class="fail">failed</span>'

    parts.append(
        _table(
            ("file", "check", "layer", "blocking", "result", "observed", "threshold", "detail"),
            (
                [
                    e(c["file_name"]),
                    e(c["check_name"]),
                    e(c["layer"]),
                    e(c["blocking"]),
                    outcome(c),
                    e(c["observed"]),
                    e(c["threshold"]),
                    e(c["detail"]),
                ]
                # failures first: they are what an auditor reads the section for
                for c in sorted(r.checks, key=lambda c: (bool(c["passed"]), c["file_name"]))
            ),
            set(),
        )
    )
    return "".join(parts)


def _publish_section(r: AuditReport) -> str:
    parts = ["<h2>Published versions</h2>"]
    if r.run_publish:
        rows = r.run_publish["table_rows"]
        parts.append(
            f"<h3>{e(r.run_publish['version'])}, published by this run at "
            f"{e(r.run_publish['published_at'])} UTC</h3>"
        )
        parts.append(_table(("table", "rows"), ([e(t), e(n)] for t, n in rows.items()), {1}))
    if r.publishes:
        parts.append(
            _table(
                ("version", "published (UTC)", "run", "batches in it", "current"),
                (
                    [
                        e(p["version"]),
                        e(p["published_at"]),
                        e(p["run_id"]),
                        e(p["batches"]),
                        e(p["version"] == r.current_version),
                    ]
                    for p in reversed(r.publishes)
                ),
                {3},
            )
        )
    else:
        parts.append('<p class="muted">No version has been published yet.</p>')
    return "".join(parts)


_RULE_MEANS = {
    "id_number": "auto-linked by the same valid ID number",
    "probabilistic": "auto-linked by the Splink model",
    "steward": "linked by a steward's must-link decision",
    "singleton": "no other record (a resident of one record)",
    "held_id_conflict": "held apart: contradicts the ID number it carries",
}


def _links_section(r: AuditReport) -> str:
    parts = ["<h2>Links in the current version</h2>"]
    links = r.links
    if not links or not links.get("records"):
        parts.append('<p class="muted">No linked records in this warehouse yet.</p>')
        return "".join(parts)
    parts.append(
        f"<p>{e(links['records'])} source records in {e(links['residents'])} residents "
        f"({e(links['single_record_residents'])} of a single record); "
        f"{e(links['pending_review_total'])} pair(s) waiting for a steward.</p>"
    )
    parts.append(
        _table(
            ("link rule", "records", "means"),
            (
                [e(rule), e(n), e(_RULE_MEANS.get(rule, ""))]
                for rule, n in links["records_by_rule"].items()
            ),
            {1},
        )
    )
    pending = links.get("pending_review") or {}
    decisions = links.get("steward_decisions") or {}
    if pending or decisions:
        parts.append(
            _table(
                ("review", "kind", "pairs"),
                [[e("pending"), e(k), e(n)] for k, n in pending.items()]
                + [[e("decided"), e(k), e(n)] for k, n in decisions.items()],
                {2},
            )
        )
    return "".join(parts)


def _changes_section(r: AuditReport) -> str:
    parts = ["<h2>Change feed of the latest version</h2>"]
    if not r.changes:
        parts.append('<p class="muted">No change feed recorded yet.</p>')
        return "".join(parts)
    parts.append(
        f"<p>Version number {e(r.changes['version_number'])}: "
        f"{e(r.changes['total'])} change(s).</p>"
    )
    parts.append(
        _table(
            ("change kind", "residents"),
            ([e(k), e(n)] for k, n in r.changes["by_kind"].items()),
            {1},
        )
    )
    return "".join(parts)


def _findings_section(r: AuditReport) -> str:
    parts = ["<h2>Findings in the current version</h2>"]
    if not r.findings:
        parts.append('<p class="muted">No findings.</p>')
        return "".join(parts)
    parts.append(
        _table(
            ("rule", "severity", "findings"),
            ([e(f["rule_id"]), e(f["severity"]), e(f["findings"])] for f in r.findings),
            {2},
        )
    )
    return "".join(parts)


def _audit_section(r: AuditReport) -> str:
    parts = ["<h2>Publish audit trail</h2>"]
    if not r.audits:
        parts.append('<p class="muted">No publish has been audited yet.</p>')
        return "".join(parts)
    rows = []
    for a in reversed(r.audits):
        totals = a["row_accounting"]["totals"]
        checks = a["checks"]
        code = a["code"]
        rows.append(
            [
                e(a["version"]),
                e(a["published_at"]),
                e(a["run_id"]),
                e(len(a["batches"])),
                e(
                    f"{checks['passed']} passed, {checks['failed']} failed, "
                    f"{checks['overridden']} overridden"
                ),
                e(
                    f"{totals['rows_received']} / {totals['rows_accepted']} / "
                    f"{totals['rows_quarantined']} / {totals['rows_rejected']} / "
                    f"{totals['rows_published']}"
                ),
                f"<code>{e((code.get('git_commit') or code.get('package_version') or '')[:12])}"
                f"</code>",
                f"<code>{e(code['config_sha256'][:12])}</code>",
                f"<code>{e(a['model']['sha256'][:12])}</code>",
            ]
        )
    parts.append(
        '<p class="muted">Rows: received / accepted / quarantined / rejected / published, over '
        "the files the publishing run recorded. Full records: <code>siheyuan report --json"
        "</code> (<code>publishes[].audit</code>) and <code>audit.json</code> in each version "
        "folder.</p>"
    )
    parts.append(
        _table(
            (
                "version",
                "published (UTC)",
                "run",
                "batches",
                "checks",
                "rows",
                "code",
                "config",
                "model",
            ),
            rows,
            {3},
        )
    )
    return "".join(parts)


def _overrides_section(r: AuditReport) -> str:
    parts = ["<h2>Overrides (every one ever recorded)</h2>"]
    if not r.overrides:
        parts.append('<p class="muted">No batch has been accepted by override.</p>')
        return "".join(parts)
    parts.append(
        _table(
            ("file", "content SHA-256", "check", "accepted by", "accepted at (UTC)", "why"),
            (
                [
                    e(o["file_name"]),
                    f"<code>{e(o['file_sha256'][:16])}…</code>",
                    e(o["check_name"]),
                    e(o["accepted_by"]),
                    e(o["accepted_at"]),
                    e(o["reason"]),
                ]
                for o in r.overrides
            ),
            set(),
        )
    )
    return "".join(parts)


def render(r: AuditReport, out_dir: Path) -> str:
    """The page; links (Data Docs, run log) are relative to ``out_dir``, where the page lives."""
    title = f"siheyuan audit report — run {r.run_id or '(none)'}"
    links = []
    if r.gx_docs is not None:
        links.append(
            _link(r.gx_docs, out_dir, "Great Expectations Data Docs (validation details, offline)")
        )
    else:
        links.append(
            '<span class="muted">Great Expectations Data Docs: '
            "not built in this warehouse yet</span>"
        )
    if r.run_log is not None:
        links.append(
            _link(
                r.run_log,
                out_dir,
                "technical run log (the run's log lines, Dagster events and dbt output)",
            )
        )
    rejected_ever = _rejections(r.ledger)
    body = [
        f"<h1>{e(title)}</h1>",
        f'<p class="muted">Warehouse <code>{e(r.warehouse)}</code> · '
        f"generated {e(r.generated_at)} UTC · run {e(r.run_id)} · "
        "how to read this page: docs/reports.md</p>",
        _summary(r),
        "<p>" + " · ".join(links) + "</p>",
        "<h2>Batches received in this run</h2>",
        _table(BATCH_HEADERS, _batch_rows(r.run_batches, "file_name"), {4, 5, 6, 7, 8})
        if r.run_batches
        else '<p class="muted">This run recorded no batch file.</p>',
        _held_section(r),
        _checks_section(r),
        _quarantine_section(r),
        "<h2>Rejected batches (all runs)</h2>",
        _table(
            ("file", "dataset", "reason", "rejected (UTC)", "run", "now"),
            (
                [
                    e(b["file"]),
                    e(b["dataset"]),
                    e(_reason(b["file"], o["reason"])),
                    e(o["recorded_at"]),
                    e(o["run_id"]),
                    _status(b["status"]),
                ]
                for b, o in rejected_ever
            ),
            set(),
        )
        if rejected_ever
        else '<p class="muted">No batch has ever been rejected.</p>',
        _overrides_section(r),
        _publish_section(r),
        _audit_section(r),
        _links_section(r),
        _changes_section(r),
        _findings_section(r),
        "<h2>Every batch file ever received</h2>",
        '<p class="muted">One row per distinct file name and content; a later outcome of the same '
        "content (e.g. applied after an override) replaces the earlier one, which stays in "
        "<code>siheyuan report --json</code> under <code>history</code>.</p>",
        _table(BATCH_HEADERS, _batch_rows(r.ledger, "file"), {4, 5, 6, 7, 8})
        if r.ledger
        else '<p class="muted">None yet.</p>',
    ]
    if r.notes:
        body.append("<h2>Notes</h2><ul>" + "".join(f"<li>{e(n)}</li>" for n in r.notes) + "</ul>")
    return (
        '<!DOCTYPE html>\n<html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>{e(title)}</title><style>{CSS}</style></head><body>"
        + "\n".join(body)
        + "</body></html>\n"
    )
