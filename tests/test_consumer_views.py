"""Per-consumer views (siheyuan.consumer_views): default deny, masks, pseudonyms, minors.

Small fixture Parquet tables in tmp_path, no pipeline run: the base tables a published version
holds, with one column no policy mentions (``internal_note``) to prove default deny.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import date
from pathlib import Path

import duckdb
import pytest
from siheyuan.consumer_views import (
    _PSEUDONYM_FN,
    CONSUMERS,
    VIEWS_DIR,
    _hmac_pads,
    _register_pseudonym,
    load_policy,
    method_sql,
    pseudonym,
    write_views,
)
from siheyuan.publish import PUBLISHED_TABLES
from siheyuan.quality.privacy import mask_phone
from siheyuan.settings import ConfigurationError
from siheyuan.standardise.id_number import mask_id_number

AS_OF = date(2026, 11, 1)
KEY = "warehouse-secret"
ADULT_ID = "330106198001011234"
CHILD_ID = "33010620150601123X"
# Direct identifiers: never in an analytics view.
IDENTIFIERS = {
    "id_number",
    "name",
    "name_pinyin",
    "former_name",
    "phone_e164",
    "hukou_number",
    "address",
    "residence_unit_no",
    "residence_room_no",
    "source_key",
    "subject_key",
    "detail",
    "evidence",
}


def _type(column: str) -> str:
    if column in ("changed_fields", "departments_to_act"):
        return "VARCHAR[]"
    if column in ("lives_away_from_registration", "is_current", "is_survivor"):
        return "BOOLEAN"
    if column.endswith(("_version", "_count", "version_number")):
        return "INTEGER"
    if column.endswith(("_date", "valid_from", "valid_to", "since", "as_of")):
        return "DATE"
    return "VARCHAR"


def _value(column: str, kind: str, resident_id: str) -> str:
    """One SQL literal per column of a fixture row; resident rows get real-looking values."""
    people = {
        "R1": {"id_number": ADULT_ID, "name": "王小明", "birth_date": "1980-01-01"},
        "R2": {"id_number": CHILD_ID, "name": "李娜娜", "birth_date": "2015-06-01"},
    }[resident_id]
    if column in ("resident_id", "head_resident_id", "old_resident_id", "new_resident_id"):
        return f"'{resident_id}'"
    if column in people:
        value = people[column]
        return f"DATE '{value}'" if kind == "DATE" else f"'{value}'"
    if column == "phone_e164":
        return "'+8613812345678'"
    if kind == "VARCHAR[]":
        return "['police']"
    if kind == "BOOLEAN":
        return "true"
    if kind == "INTEGER":
        return "1"
    if kind == "DATE":
        return "DATE '2026-10-01'"
    return f"'{column}-{resident_id}'"


def write_base_tables(folder: Path) -> None:
    """Every published table with the union of the columns any consumer is granted, plus one
    column no consumer is granted; two residents, an adult (R1) and a child of 11 (R2)."""
    policy = load_policy()
    columns: dict[str, dict[str, None]] = {t: {} for t in PUBLISHED_TABLES}
    for tables in policy.grants.values():
        for table, grant in tables.items():
            columns[table].update(dict.fromkeys(grant))
    conn = duckdb.connect()
    try:
        for table, cols in columns.items():
            names = [*cols, "internal_note"] if cols else ["resident_id", "internal_note"]
            rows = [
                "(" + ", ".join(_value(c, _type(c), rid) for c in names) + ")"
                for rid in ("R1", "R2")
            ]
            col_list = ", ".join(f'"{c}"' for c in names)
            conn.execute(
                f"COPY (SELECT * FROM (VALUES {', '.join(rows)}) AS v({col_list})) "
                f"TO '{folder / (table + '.parquet')}' (FORMAT parquet)"
            )
    finally:
        conn.close()


def read(path: Path) -> list[dict]:
    conn = duckdb.connect()
    try:
        cur = conn.execute(f"SELECT * FROM read_parquet('{path}') ORDER BY ALL")
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    finally:
        conn.close()


@pytest.fixture
def version(tmp_path: Path) -> tuple[Path, dict]:
    write_base_tables(tmp_path)
    return tmp_path, write_views(tmp_path, KEY, AS_OF)


def test_no_view_holds_a_column_that_is_not_granted(version: tuple[Path, dict]) -> None:
    folder, views = version
    policy = load_policy()
    assert set(views) == set(CONSUMERS)
    for consumer, tables in views.items():
        assert set(tables) == set(policy.grants[consumer])
        for table, entry in tables.items():
            rows = read(folder / entry["file"])
            assert entry["rows"] == 2
            assert list(rows[0]) == list(policy.grants[consumer][table]) == entry["columns"]
            assert "internal_note" not in rows[0]
    # a consumer without a grant for a table has no file for it
    assert not (folder / VIEWS_DIR / "hr" / "household.parquet").exists()
    assert not (folder / VIEWS_DIR / "analytics" / "resident_source_xref.parquet").exists()


def test_views_keep_the_base_tables_key_order(tmp_path: Path) -> None:
    """A view lists its rows in the base table's key order, with or without the minors' join
    (a plain projection keeps the file's order; the join is sorted again): the same data gives
    byte-identical views."""
    write_base_tables(tmp_path)
    base = tmp_path / "resident.parquet"
    conn = duckdb.connect()
    try:
        # 20,000 residents, adults and children, in key order (resident_id), as publish writes
        conn.execute(
            f"COPY (SELECT t.* REPLACE ('R' || lpad(cast(i AS VARCHAR), 6, '0') || t.resident_id "
            f"AS resident_id) FROM read_parquet('{base}') AS t, range(10000) AS r(i) "
            f"ORDER BY resident_id) TO '{tmp_path / 'big.parquet'}' (FORMAT parquet)"
        )
        (tmp_path / "big.parquet").replace(base)
        expected = [r[0] for r in conn.execute(f"SELECT resident_id FROM '{base}'").fetchall()]
        views = write_views(tmp_path, KEY, AS_OF)
        checked = 0
        for consumer, tables in views.items():
            entry = tables.get("resident")
            if entry is None or "resident_id" not in entry["columns"] or consumer == "analytics":
                continue
            got = conn.execute(f"SELECT resident_id FROM '{tmp_path / entry['file']}'").fetchall()
            assert [r[0] for r in got] == expected == sorted(expected), consumer
            checked += 1
    finally:
        conn.close()
    assert checked >= 3


def test_masks_are_applied(version: tuple[Path, dict]) -> None:
    folder, _ = version
    police = {r["resident_id"]: r for r in read(folder / VIEWS_DIR / "police" / "resident.parquet")}
    civil = read(folder / VIEWS_DIR / "civil_affairs" / "resident.parquet")
    adult = next(r for r in civil if r["resident_id"] == "R1")
    assert police["R1"]["id_number"] == ADULT_ID
    assert police["R1"]["phone_e164"] == "+8613812345678"
    assert adult["id_number"] == "330106********1234" == mask_id_number(ADULT_ID)
    assert adult["phone_e164"] == "138****5678" == mask_phone("+8613812345678")
    assert adult["name"] == "王小明"


@pytest.mark.parametrize(
    ("method", "value", "expected"),
    [
        ("mask_id", "330106198001011234", mask_id_number("330106198001011234")),
        ("mask_id", "330106800101123", mask_id_number("330106800101123")),
        ("mask_id", "3301040030", mask_id_number("3301040030")),
        ("mask_phone", "+86 138-1234-5678", mask_phone("+86 138-1234-5678")),
        ("mask_phone", "12345", mask_phone("12345")),
        ("mask_name", "欧阳娜娜", "欧***"),
        ("mask_name", "李", "李*"),
    ],
)
def test_sql_masks_match_the_python_helpers(method: str, value: str, expected: str) -> None:
    conn = duckdb.connect()
    try:
        got = conn.execute(f"SELECT {method_sql(method, 'v')} FROM (SELECT ? AS v) AS t", [value])
        assert got.fetchall()[0][0] == expected
        null = conn.execute(
            f"SELECT {method_sql(method, 'v')} FROM (SELECT NULL::VARCHAR AS v) AS t"
        )
        assert null.fetchall()[0][0] is None
    finally:
        conn.close()


@pytest.mark.parametrize(
    "key",
    [KEY, "k" * 64, "a key longer than SHA-256's 64-byte block " * 3, "仓库密钥", ""],
)
def test_sql_pseudonym_is_hmac_sha256(key: str) -> None:
    """The SQL HMAC (key blocks in a temp table) equals Python's ``hmac`` for keys shorter than,
    equal to and longer than the block, for non-ASCII values, and keeps NULL."""
    values = ["R1", "R18615166588bf97a", "居民甲", "", None]
    conn = duckdb.connect()
    try:
        _register_pseudonym(conn, key)
        rows = conn.execute(
            f"SELECT v, {method_sql('pseudonym', 'v')} FROM unnest(?::VARCHAR[]) AS t(v)", [values]
        ).fetchall()
        # the secret is never in SQL text: its key blocks are bound parameters in a table
        [(definition,)] = conn.execute(
            "SELECT macro_definition FROM duckdb_functions() WHERE function_name = ?",
            [_PSEUDONYM_FN],
        ).fetchall()
        assert "_pseudonym_key" in definition
        assert not any(pad.hex() in definition.lower() for pad in _hmac_pads(key))
    finally:
        conn.close()
    assert len(rows) == len(values)
    for value, got in rows:
        if value is None:
            assert got is None
        else:
            assert got == hmac.new(key.encode(), value.encode(), hashlib.sha256).hexdigest()


def test_analytics_has_no_identifiers_and_keyed_stable_pseudonyms(
    version: tuple[Path, dict], tmp_path_factory: pytest.TempPathFactory
) -> None:
    folder, views = version
    for entry in views["analytics"].values():
        assert not IDENTIFIERS & set(entry["columns"])
    resident = read(folder / VIEWS_DIR / "analytics" / "resident.parquet")
    expected = hmac.new(KEY.encode(), b"R1", hashlib.sha256).hexdigest()
    assert expected in {r["resident_id"] for r in resident}
    assert {r["resident_id"] for r in resident} == {pseudonym(KEY, "R1"), pseudonym(KEY, "R2")}
    assert {r["birth_date"] for r in resident} == {1980, 2015}  # year_only
    # joins: the same pseudonym in every analytics table
    members = read(folder / VIEWS_DIR / "analytics" / "household_member.parquet")
    assert {r["resident_id"] for r in members} == {r["resident_id"] for r in resident}
    # stable: another version with the same key gives the same pseudonyms (and the same bytes)
    again = tmp_path_factory.mktemp("again")
    write_base_tables(again)
    assert write_views(again, KEY, AS_OF)["analytics"] == views["analytics"]
    # keyed: another warehouse secret gives other pseudonyms
    other = tmp_path_factory.mktemp("other")
    write_base_tables(other)
    others = read(
        other / write_views(other, "another-secret", AS_OF)["analytics"]["resident"]["file"]
    )
    assert not {r["resident_id"] for r in others} & {r["resident_id"] for r in resident}


def test_minors_are_shown_by_the_stricter_rule(version: tuple[Path, dict]) -> None:
    folder, _ = version
    for consumer in ("civil_affairs", "hr"):
        rows = {
            r["resident_id"]: r for r in read(folder / VIEWS_DIR / consumer / "resident.parquet")
        }
        assert rows["R2"]["name"] == "李**"  # the child: name masked, phone dropped
        assert rows["R2"]["phone_e164"] is None
        assert rows["R1"]["name"] == "王小明"
        assert rows["R1"]["phone_e164"] == "138****5678"
    for consumer in ("police", "health"):
        rows = {
            r["resident_id"]: r for r in read(folder / VIEWS_DIR / consumer / "resident.parquet")
        }
        assert rows["R2"]["name"] == "李娜娜"
    # the history table follows the same rule (the child's rows carry its resident_id)
    history = {
        r["resident_id"]: r
        for r in read(folder / VIEWS_DIR / "civil_affairs" / "resident_history.parquet")
    }
    assert history["R2"]["name"] == "李**"


def test_age_is_taken_at_the_business_date(tmp_path: Path) -> None:
    write_base_tables(tmp_path)
    # on 2029-06-02 the child born 2015-06-01 is 14: no longer a minor
    write_views(tmp_path, KEY, date(2029, 6, 2))
    rows = {r["resident_id"]: r for r in read(tmp_path / VIEWS_DIR / "hr" / "resident.parquet")}
    assert rows["R2"]["name"] == "李娜娜"


def test_health_conditions_only_for_health(tmp_path: Path) -> None:
    policy = load_policy()
    for consumer, tables in policy.grants.items():
        granted = {c for grant in tables.values() for c in grant}
        if consumer != "health":
            assert not granted & policy.health_condition_columns
    text = policy.path.read_text(encoding="utf-8")
    bad = tmp_path / "policy.yml"
    grant = "      resident_tag:\n        resident_id: clear\n        chronic: clear\n"
    bad.write_text(text.replace("  hr:\n    tables:\n", "  hr:\n    tables:\n" + grant, 1))
    with pytest.raises(ConfigurationError, match="health conditions only for health"):
        load_policy(bad)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("  hr:\n", "  tax:\n", "unknown consumer 'tax'"),
        (
            "      building: *building_clear\n      resident_change:\n",
            "      buildings: *building_clear\n      resident_change:\n",
            "unknown table 'buildings'",
        ),
        (
            "        phone_e164: mask_phone\n        building_id: clear\n",
            "        phone_e164: scramble\n        building_id: clear\n",
            "unknown method 'scramble'",
        ),
        ("    name: mask_name\n", "    name: clear\n", "minors.name: unknown method 'clear'"),
    ],
)
def test_a_bad_policy_is_refused_naming_the_file(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    text = load_policy().path.read_text(encoding="utf-8")
    assert old in text
    bad = tmp_path / "bad_policy.yml"
    bad.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(ConfigurationError, match=r"bad_policy\.yml") as info:
        load_policy(bad)
    assert message in str(info.value)


def test_an_unknown_column_is_refused_when_the_views_are_written(tmp_path: Path) -> None:
    text = load_policy().path.read_text(encoding="utf-8")
    bad = tmp_path / "policy.yml"
    bad.write_text(text.replace("        member_count: clear\n", "        members: clear\n", 1))
    version_dir = tmp_path / "v"
    version_dir.mkdir()
    write_base_tables(version_dir)
    with pytest.raises(ConfigurationError, match="unknown column"):
        write_views(version_dir, KEY, AS_OF, load_policy(bad))


def test_a_whole_table_in_the_clear_is_the_base_file_copied(tmp_path: Path) -> None:
    # every consumer is granted every column of building in the clear: once the base file holds
    # exactly those columns (no internal_note), each view is the base file byte for byte; a
    # table with a column outside the grant is still projected (default deny)
    write_base_tables(tmp_path)
    grant = load_policy().grants["police"]["building"]
    base = tmp_path / "building.parquet"
    conn = duckdb.connect()
    try:
        cols = ", ".join(f'"{c}"' for c in grant)
        conn.execute(
            f"COPY (SELECT {cols} FROM read_parquet('{base}')) TO '{base}.tmp' (FORMAT parquet)"
        )
    finally:
        conn.close()
    Path(f"{base}.tmp").replace(base)
    views = write_views(tmp_path, KEY, AS_OF)
    for consumer in CONSUMERS:
        view = tmp_path / VIEWS_DIR / consumer / "building.parquet"
        assert view.read_bytes() == base.read_bytes()
        assert views[consumer]["building"]["rows"] == 2
    police_resident = tmp_path / VIEWS_DIR / "police" / "resident.parquet"
    assert "internal_note" not in read(police_resident)[0]
