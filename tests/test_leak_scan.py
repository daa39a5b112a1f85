"""The leak scan the privacy tests share: it fails on a real value and never on a hash."""

from __future__ import annotations

from leak_scan import ids_or_phones, leaks

PHONE = "13912345678"
ID_NUMBER = "11010519491231002X"


def test_hashes_holding_digit_runs_are_not_leaks() -> None:
    assert leaks("health_records 33010600000000166 R18615166588bf97a") == []
    assert leaks("run 8aaca621-1b2c-4d5e-8f90-13899229721c") == []
    assert leaks("sha256 " + "0" * 20 + "13912345678" + "a" * 33) == []
    assert leaks("unexpected_percent 0.13899229721") == []


def test_real_values_are_found_wherever_they_sit() -> None:
    assert leaks(f"status {PHONE}") == [PHONE]
    assert leaks(f"sex {ID_NUMBER};") == [ID_NUMBER]
    assert leaks(f"note R{PHONE}") == [PHONE]
    assert leaks("fell next to 330106198503021234 and 13812345678") == [
        "330106198503021234",
        "13812345678",
    ]
    assert leaks("诊断: 糖尿病") == ["糖尿病"]
    assert ids_or_phones("诊断: 糖尿病") == []
