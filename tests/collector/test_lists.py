"""Which signed list document a gate gets (the directory layout of gate/collector/lists.py)."""

from __future__ import annotations

import json

import pytest

from gate.collector.lists import ListNotFound, ListsDirectory


def full(version):
    return {"version": version, "base_version": 0, "issued_at": 1, "entries": []}


def delta(base, version):
    return {"version": version, "base_version": base, "issued_at": 1, "entries": []}


def served(lists: ListsDirectory, since: int):
    doc = lists.statuslist_since(since)
    return None if doc is None else json.loads(doc.body)["version"]


def test_the_longest_delta_from_the_gates_version_is_chosen(tmp_path, sign_list):
    sign_list(tmp_path / "statuslist.json", full(10))
    sign_list(tmp_path / "statuslist.d" / "10-12.json", delta(10, 12))
    sign_list(tmp_path / "statuslist.d" / "10-15.json", delta(10, 15))
    sign_list(tmp_path / "statuslist.d" / "12-15.json", delta(12, 15))
    lists = ListsDirectory(tmp_path)
    assert served(lists, 10) == 15
    assert served(lists, 12) == 15
    assert served(lists, 11) is None  # no way forward from 11 on disk
    assert served(lists, 0) == 10
    assert served(lists, 15) is None


def test_a_gate_ahead_of_the_full_list_with_no_delta_gets_304(tmp_path, sign_list):
    sign_list(tmp_path / "statuslist.json", full(10))
    sign_list(tmp_path / "statuslist.d" / "11-15.json", delta(11, 15))
    lists = ListsDirectory(tmp_path)
    assert served(lists, 12) is None
    assert served(lists, 11) == 15
    assert served(lists, 5) == 10


def test_a_new_full_list_is_seen_without_restart(tmp_path, sign_list):
    sign_list(tmp_path / "statuslist.json", full(10))
    lists = ListsDirectory(tmp_path)
    assert served(lists, 0) == 10
    sign_list(tmp_path / "statuslist.json", full(2000))
    assert served(lists, 10) == 2000


def test_the_signature_travels_with_the_document(tmp_path, sign_list):
    sign_list(tmp_path / "statuslist.json", full(10))
    doc = ListsDirectory(tmp_path).statuslist_since(0)
    assert doc.signature == (tmp_path / "statuslist.json.sig").read_text()


def test_no_status_list_at_all_is_not_found(tmp_path):
    with pytest.raises(ListNotFound):
        ListsDirectory(tmp_path).statuslist_since(0)
    with pytest.raises(ListNotFound):
        ListsDirectory(tmp_path).trustlist()


def test_files_that_are_not_deltas_are_ignored(tmp_path, sign_list):
    sign_list(tmp_path / "statuslist.json", full(10))
    sign_list(tmp_path / "statuslist.d" / "12-11.json", delta(12, 11))
    (tmp_path / "statuslist.d" / "README").write_text("x")
    assert ListsDirectory(tmp_path).deltas() == []
