"""Every malformed fixture in tests/malformed/ is refused, names the place, and leaves
the store and the uploads folder byte-for-byte unchanged."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from hybriddash.data.upload import UploadRejected, import_upload

MALFORMED = Path(__file__).resolve().parent / "malformed"
EXPECTED: dict[str, dict] = json.loads((MALFORMED / "EXPECTED.json").read_text(encoding="utf-8"))


def snapshot(folder: Path) -> dict[str, str]:
    """sha256 of every file under ``folder`` (relative path -> digest)."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def populated_artifacts(tmp_artifacts: Path, sample_corpus) -> Path:
    """An artifacts folder with one good upload and a store holding it."""
    good = tmp_artifacts.parent / "good.csv"
    good.write_text(
        "group_id,lang,question,answer\n"
        "g1,en,What is the capital of France?,Paris is the capital of France.\n"
        "g1,de,Was ist die Hauptstadt Frankreichs?,Paris ist die Hauptstadt Frankreichs.\n",
        encoding="utf-8",
    )
    import_upload([good], "existing")
    return tmp_artifacts


def test_fixture_corpus_is_large_enough() -> None:
    files = [p for p in MALFORMED.iterdir() if p.name in EXPECTED]
    assert len(files) >= 30
    assert set(EXPECTED) == {p.name for p in MALFORMED.iterdir()} - {
        "EXPECTED.json",
        "_generate.py",
        "__pycache__",
    }


@pytest.mark.parametrize("fixture", sorted(EXPECTED))
def test_malformed_upload_is_refused_naming_the_place(
    fixture: str, populated_artifacts: Path
) -> None:
    expected = EXPECTED[fixture]
    before = snapshot(populated_artifacts)
    with pytest.raises(UploadRejected) as caught:
        import_upload([MALFORMED / fixture], "candidate")
    after = snapshot(populated_artifacts)
    assert after == before, "a refused upload changed the store or the uploads folder"
    problems = caught.value.problems
    matching = [
        p for p in problems if p.file == expected["file"] and expected["contains"] in p.message
    ]
    assert matching, (
        f"no problem in {expected['file']} mentioning {expected['contains']!r}: {problems}"
    )
    p = matching[0]
    if expected["line"] is not None:
        assert p.line == expected["line"], str(p)
    if expected["field"] is not None:
        assert p.field == expected["field"], str(p)
    # the message a user sees names the file and, where there is one, the line/field
    text = str(caught.value)
    assert expected["file"] in text
    if p.line is not None:
        assert f"line {p.line}" in text


def test_all_problems_are_collected_not_just_the_first(tmp_artifacts: Path, tmp_path: Path) -> None:
    bad = tmp_path / "many.csv"
    bad.write_text(
        "group_id,lang,question,answer\n"
        "g1,xx,Q?,A.\n"  # unknown language
        "g2,en,Q?,\n"  # empty answer
        ",de,Q?,A.\n"  # empty group id
        "g3,en,Q?,A.\n"
        "g3,eng,Q again?,A.\n",  # duplicate (group, lang) after normalisation
        encoding="utf-8",
    )
    with pytest.raises(UploadRejected) as caught:
        import_upload([bad], "many")
    places = {(p.line, p.field) for p in caught.value.problems}
    assert {(2, "lang"), (3, "answer"), (4, "group_id"), (6, "lang")} <= places


def test_size_limit_refuses_before_reading(tmp_artifacts: Path, tmp_path: Path) -> None:
    big = tmp_path / "big.csv"
    big.write_text("group_id,lang,question,answer\n" + "g1,en,Q?,A.\n" * 200, encoding="utf-8")
    with pytest.raises(UploadRejected, match="larger than the limit") as caught:
        import_upload([big], "big", max_bytes=1000)
    assert caught.value.problems[0].file == "big.csv"
    assert not (tmp_artifacts / "uploads" / "big").exists()


def test_size_limit_counts_unpacked_zip_members(tmp_artifacts: Path, tmp_path: Path) -> None:
    import zipfile

    archive = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("t.csv", "group_id,lang,question,answer\n" + "g1,en,Q?,A.\n" * 5000)
    assert archive.stat().st_size < 2000
    with pytest.raises(UploadRejected, match="once unpacked"):
        import_upload([archive], "bomb", max_bytes=10_000)


def test_invalid_and_taken_names_are_refused(tmp_artifacts: Path, tmp_path: Path) -> None:
    good = tmp_path / "g.csv"
    good.write_text("group_id,lang,question,answer\ng1,en,Q?,A.\n", encoding="utf-8")
    with pytest.raises(UploadRejected, match="invalid corpus name"):
        import_upload([good], "../escape")
    import_upload([good], "taken")
    before = snapshot(tmp_artifacts)
    with pytest.raises(UploadRejected, match="already exists"):
        import_upload([good], "taken")
    assert snapshot(tmp_artifacts) == before
