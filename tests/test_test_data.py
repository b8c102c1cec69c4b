"""The real schedules the import tests read live in tests/data, each with its source noted, so a
fresh clone runs every test: nothing here reads a folder outside the repository."""

import hashlib
import re
from pathlib import Path

DATA = Path(__file__).parent / "data"


def _blob_id(data: bytes) -> str:
    # Git names blobs by SHA-1; this is an identity check, not a security one.
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def test_every_data_file_is_listed_with_its_source_and_unchanged_files_match_their_blob():
    readme = (DATA / "README.md").read_text()
    rows = {
        m.group(1): m.group(2)
        for m in re.finditer(r"^\| `([^`]+)` \|[^|]*\|[^|]*\| (`[0-9a-f]{40}`|[^|]*) \|", readme, re.M)
    }
    files = {p.name for p in DATA.iterdir() if p.name != "README.md"}
    assert files == set(rows), "tests/data/README.md must list exactly the files in tests/data"
    unchanged = {name: blob.strip("`") for name, blob in rows.items() if re.fullmatch(r"`[0-9a-f]{40}`", blob)}
    assert len(unchanged) >= 11
    for name, blob in unchanged.items():
        assert _blob_id((DATA / name).read_bytes()) == blob, name


def test_no_test_reads_the_sibling_shared_folder():
    for path in Path(__file__).parent.rglob("*.py"):
        if path == Path(__file__):
            continue
        text = path.read_text()
        assert '"shared" / "samples"' not in text and "../shared" not in text, path
