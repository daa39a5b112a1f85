"""The per-consumer policy tables of ``docs/consumers.md``, generated from ``access_policy.yml``.

Why generated: the doc is what a department reads to know what it gets; a hand-kept copy of the
policy drifts the first time someone widens a grant. The section between the markers is this
module's output, and a test fails when it is not (tests/test_consumers_doc.py).

    uv run python -m siheyuan.policy_doc           # rewrite the section after a policy change
    uv run python -m siheyuan.policy_doc --check   # exit 1 when the doc is out of step
"""

from __future__ import annotations

import sys
from pathlib import Path

from siheyuan.consumer_views import POLICY_PATH, RESIDENT_KEY, AccessPolicy, load_policy
from siheyuan.settings import project_root

DOC_PATH = project_root() / "docs" / "consumers.md"
BEGIN = (
    "<!-- generated from pipelines/siheyuan/access_policy.yml by "
    "`uv run python -m siheyuan.policy_doc`: edit the policy, then regenerate -->"
)
END = "<!-- end of the generated policy -->"


def _code(name: str) -> str:
    return f"`{name}`"


def render(policy: AccessPolicy) -> str:
    """The section's Markdown: one table per consumer, then the minors' rule."""
    out = [""]  # a blank line after the marker, and one before the end marker
    for consumer, tables in policy.grants.items():
        out += [
            f"### {_code(consumer)}",
            "",
            "| table | columns (method other than `clear` in brackets) |",
            "|---|---|",
        ]
        for table, columns in tables.items():
            shown = ", ".join(
                _code(c) + ("" if m == "clear" else f" ({m})") for c, m in columns.items()
            )
            out.append(f"| {_code(table)} | {shown} |")
        out.append("")
    minors = policy.minors
    readers = ", ".join(_code(c) for c in policy.grants if c in minors.consumers)
    out += [
        f"### Minors (younger than {minors.age_under})",
        "",
        f"For {readers}, in every table of the view that has {_code(RESIDENT_KEY)}, where the "
        "column is granted (`null`: blanked):",
        "",
        "| column | shown as |",
        "|---|---|",
        *(f"| {_code(c)} | {m} |" for c, m in minors.columns.items()),
        "",
    ]
    return "\n".join(out)


def _split(text: str, doc: Path) -> tuple[str, str, str]:
    """(before the section, the section, after it); the markers stay with before/after."""
    head, sep, rest = text.partition(BEGIN + "\n")
    body, sep2, tail = rest.partition("\n" + END)
    if not sep or not sep2:
        raise ValueError(f"{doc}: the generated policy markers are missing")
    return head + sep, body, sep2 + tail


def generated_section(doc: Path = DOC_PATH) -> str:
    """The section of ``doc`` between the markers, as it stands."""
    return _split(doc.read_text(encoding="utf-8"), doc)[1]


def write(doc: Path = DOC_PATH, policy_path: Path = POLICY_PATH) -> bool:
    """Rewrite the section from the policy; True when the doc changed."""
    text = doc.read_text(encoding="utf-8")
    head, body, tail = _split(text, doc)
    fresh = render(load_policy(policy_path))
    if body == fresh:
        return False
    doc.write_text(head + fresh + tail, encoding="utf-8")
    return True


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args == ["--check"]:
        if generated_section(DOC_PATH) != render(load_policy()):
            print(
                f"{DOC_PATH} is out of step with {POLICY_PATH}: "
                "uv run python -m siheyuan.policy_doc rewrites it"
            )
            return 1
        return 0
    if args:
        print("usage: python -m siheyuan.policy_doc [--check]")
        return 2
    print(f"{DOC_PATH}: {'rewritten' if write(DOC_PATH) else 'already in step'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
