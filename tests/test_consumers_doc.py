"""docs/consumers.md shows the access policy as it is: a grant changed in access_policy.yml
without regenerating the doc's policy section fails here."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import yaml
from siheyuan import policy_doc
from siheyuan.consumer_views import POLICY_PATH, load_policy

_HEADING = re.compile(r"^### `(\w+)`$")
_ROW = re.compile(r"^\| `(\w+)` \| (.+) \|$")
_COLUMN = re.compile(r"^`(\w+)`(?: \((\w+)\))?$")


def _parse_tables(section: str) -> dict[str, dict[str, dict[str, str]]]:
    """The per-consumer tables of the doc read back into consumer -> table -> column -> method
    (independently of how ``render`` writes them)."""
    grants: dict[str, dict[str, dict[str, str]]] = {}
    consumer = None
    for line in section.splitlines():
        if line.startswith("### "):
            heading = _HEADING.match(line)
            consumer = heading.group(1) if heading else None
            if consumer:
                grants[consumer] = {}
            continue
        row = _ROW.match(line)
        if consumer and row:
            columns = {}
            for cell in row.group(2).split(", "):
                column = _COLUMN.match(cell)
                assert column, f"unreadable cell {cell!r} in {line!r}"
                columns[column.group(1)] = column.group(2) or "clear"
            grants[consumer][row.group(1)] = columns
    return grants


def test_the_consumer_doc_lists_exactly_the_policy_grants() -> None:
    section = policy_doc.generated_section()
    assert _parse_tables(section) == load_policy().grants
    minors = load_policy().minors
    assert f"### Minors (younger than {minors.age_under})" in section
    for column, method in minors.columns.items():
        assert f"| `{column}` | {method} |" in section


def test_the_consumer_doc_is_the_generated_text() -> None:
    assert policy_doc.generated_section() == policy_doc.render(load_policy())
    assert policy_doc.main(["--check"]) == 0


def test_a_policy_change_without_a_doc_change_is_caught(tmp_path: Path) -> None:
    raw = yaml.safe_load(POLICY_PATH.read_text(encoding="utf-8"))
    del raw["consumers"]["hr"]["tables"]["resident"]["phone_e164"]  # a grant withdrawn
    raw["consumers"]["civil_affairs"]["tables"]["resident"]["name"] = "mask_name"
    policy_path = tmp_path / "access_policy.yml"
    policy_path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    changed = load_policy(policy_path)
    doc = tmp_path / "consumers.md"
    shutil.copyfile(policy_doc.DOC_PATH, doc)

    stale = policy_doc.generated_section(doc)
    assert stale != policy_doc.render(changed)  # the doc check would fail
    assert policy_doc.write(doc, policy_path) is True
    assert _parse_tables(policy_doc.generated_section(doc)) == changed.grants
    # only the section is rewritten: the hand-written text around it stays as it was
    before = policy_doc.DOC_PATH.read_text(encoding="utf-8")
    after = doc.read_text(encoding="utf-8")
    assert after.split(policy_doc.BEGIN)[0] == before.split(policy_doc.BEGIN)[0]
    assert after.split(policy_doc.END)[1] == before.split(policy_doc.END)[1]
    assert policy_doc.write(doc, policy_path) is False


def test_the_check_command_fails_on_a_doc_edited_by_hand(tmp_path: Path, monkeypatch) -> None:
    doc = tmp_path / "consumers.md"
    text = policy_doc.DOC_PATH.read_text(encoding="utf-8")
    widened = text.replace("`id_number` (mask_id)", "`id_number`", 1)  # claims a wider grant
    assert widened != text
    doc.write_text(widened, encoding="utf-8")
    monkeypatch.setattr(policy_doc, "DOC_PATH", doc)
    assert policy_doc.main(["--check"]) == 1
    assert policy_doc.main([]) == 0  # rewrites it from the policy
    assert doc.read_text(encoding="utf-8") == text
