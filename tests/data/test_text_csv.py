"""Texts from a CSV with a text and a label column (factoryReports layout by default)."""

import pytest

from mmfusion.data.text.csv import load_text_csv
from mmfusion.data.text.factory_reports import LICENSE, bundled_path
from mmfusion.errors import DataError

FACTORY_REPORTS = bundled_path()  # the copy the package carries (MathWorks, 2020; licence beside it)
LABEL_MAP = {
    "Electronic Failure": "electronic_failure",
    "Leak": "leak",
    "Mechanical Failure": "mechanical_failure",
    "Software Failure": "software_failure",
}
CLASSES = list(LABEL_MAP.values())
HEADER = "Description,Category,Urgency,Resolution,Cost\n"


def _write(tmp_path, body, name="reports.csv", bom=True):
    path = tmp_path / name
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + (HEADER + body).encode("utf-8"))
    return path


GOOD_ROWS = (
    "Relay clicks and power drops,Electronic Failure,High,Replace,100\n"
    "Valve drips,Leak,Low,Tighten,10\n"
    "Bearing grinds,Mechanical Failure,Medium,Grease,20\n"
    "Screen froze,Software Failure,Low,Restart,0\n"
)


def test_bundled_factory_reports_csv_and_its_licence():
    assert bundled_path(LICENSE).is_file()  # the licence travels with the data
    assert "The MathWorks, Inc." in bundled_path(LICENSE).read_text()
    d = load_text_csv(FACTORY_REPORTS, CLASSES, LABEL_MAP)
    assert len(d.texts) == len(d.y) == len(d.ids) == 480
    assert d.info["class_counts"] == {
        "electronic_failure": 168,
        "leak": 68,
        "mechanical_failure": 204,
        "software_failure": 40,
    }
    assert d.info["rows_read"] == 480 and d.info["rows_dropped"] == 0
    assert d.info["duplicate_texts"] == 17  # rows whose text repeats an earlier row's
    assert d.info["file"] == "factoryReports.csv"
    assert d.ids[0] == "row-00001" and d.ids[-1] == "row-00480"
    assert any("," in t for t in d.texts)  # quoted descriptions with commas


def test_good_file_and_ids(tmp_path):
    d = load_text_csv(_write(tmp_path, GOOD_ROWS), CLASSES, LABEL_MAP)
    assert d.y.tolist() == [0, 1, 2, 3]
    assert list(d.ids) == ["row-00001", "row-00002", "row-00003", "row-00004"]
    path = tmp_path / "ids.csv"
    path.write_text("id,text,label\nA7,first text,leak\nB2,second text,software_failure\n", encoding="utf-8")
    d = load_text_csv(
        path, ["leak", "software_failure"], None, text_column="text", label_column="label", id_column="id"
    )
    assert list(d.ids) == ["A7", "B2"] and d.y.tolist() == [0, 1]


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="nope.csv.*no such file"):
        load_text_csv(tmp_path / "nope.csv", CLASSES, LABEL_MAP)


def test_empty_file_and_header_only(tmp_path):
    (tmp_path / "empty.csv").write_bytes(b"")
    with pytest.raises(DataError, match="empty.csv.*empty"):
        load_text_csv(tmp_path / "empty.csv", CLASSES, LABEL_MAP)
    with pytest.raises(DataError, match="no data rows"):
        load_text_csv(_write(tmp_path, ""), CLASSES, LABEL_MAP)


def test_misspelt_column_suggests_closest(tmp_path):
    with pytest.raises(DataError, match=r"'Descripton'.*\['Description'.*Did you mean 'Description'"):
        load_text_csv(_write(tmp_path, GOOD_ROWS), CLASSES, LABEL_MAP, text_column="Descripton")


def test_unknown_labels_listed_with_counts_and_rows(tmp_path):
    body = GOOD_ROWS + "Pipe burst,Flood,High,x,1\nHose split,Flood,High,x,1\nOdd,Unknown,Low,x,1\n"
    with pytest.raises(DataError, match=r"'Flood': 2, 'Unknown': 1; at rows 5, 6, 7"):
        load_text_csv(_write(tmp_path, body), CLASSES, LABEL_MAP)


def test_label_map_none_means_class_names(tmp_path):
    with pytest.raises(DataError, match="label_map is unset"):
        load_text_csv(_write(tmp_path, GOOD_ROWS), CLASSES, None)


def test_label_map_to_unknown_class_is_refused(tmp_path):
    """A direct call (no config check before it): a ValueError; a config is refused first (check_sources)."""
    with pytest.raises(ValueError, match="hydraulic"):
        load_text_csv(_write(tmp_path, GOOD_ROWS), CLASSES, {**LABEL_MAP, "Leak": "hydraulic"})


def test_class_without_texts(tmp_path):
    body = "".join(line + "\n" for line in GOOD_ROWS.splitlines() if "Software" not in line)
    with pytest.raises(DataError, match=r"no rows for class\(es\) \['software_failure'\].*Software Failure"):
        load_text_csv(_write(tmp_path, body), CLASSES, LABEL_MAP)


def test_non_utf8_bytes(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes((HEADER + GOOD_ROWS).encode("utf-8") + "Caf\u00e9 pump leaks,Leak,Low,x,1\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"byte 0xe9 at offset \d+ \(line 6\).*encoding="):
        load_text_csv(path, CLASSES, LABEL_MAP)
    d = load_text_csv(path, CLASSES, LABEL_MAP, encoding="latin-1")
    assert d.texts[-1] == "Caf\u00e9 pump leaks"


def test_empty_texts_error_or_drop(tmp_path):
    path = _write(tmp_path, GOOD_ROWS + ",Leak,Low,x,1\n   ,Leak,Low,x,1\n")
    with pytest.raises(DataError, match=r"2 row\(s\) have an empty 'Description' \(rows 5, 6\).*empty=drop"):
        load_text_csv(path, CLASSES, LABEL_MAP)
    d = load_text_csv(path, CLASSES, LABEL_MAP, empty="drop")
    assert len(d.texts) == 4 and d.info["rows_dropped"] == 2 and d.info["rows_read"] == 6
    with pytest.raises(ValueError, match="empty="):
        load_text_csv(path, CLASSES, LABEL_MAP, empty="skip")


def test_quoted_commas_and_newlines(tmp_path):
    body = (
        GOOD_ROWS + '"Hose cracked, fluid on floor",Leak,High,"Replace, then test",5\n'
        '"First line\nsecond line, with comma",Software Failure,Low,x,0\n'
        "Last row,Leak,Low,x,1\n"
    )
    d = load_text_csv(_write(tmp_path, body), CLASSES, LABEL_MAP)
    assert d.texts[4] == "Hose cracked, fluid on floor"
    assert d.texts[5] == "First line\nsecond line, with comma"
    assert d.y[5] == 3 and d.ids[6] == "row-00007" and d.texts[6] == "Last row"


def test_unquoted_comma_is_reported(tmp_path):
    with pytest.raises(DataError, match="row 5.*6 fields.*quote"):
        load_text_csv(_write(tmp_path, GOOD_ROWS + "Hose cracked, fluid on floor,Leak,High,x,5\n"), CLASSES, LABEL_MAP)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "latin-1"])
def test_bom_stripped_from_header(tmp_path, encoding):
    d = load_text_csv(_write(tmp_path, GOOD_ROWS, bom=True), CLASSES, LABEL_MAP, encoding=encoding)
    assert d.y.tolist() == [0, 1, 2, 3]
    d = load_text_csv(_write(tmp_path, GOOD_ROWS, name="nobom.csv", bom=False), CLASSES, LABEL_MAP, encoding=encoding)
    assert d.info["n"] == 4


def test_windows_line_endings(tmp_path):
    path = tmp_path / "crlf.csv"
    path.write_bytes((HEADER + GOOD_ROWS + '"two\r\nlines",Leak,Low,x,1\n').replace("\n", "\r\n").encode())
    d = load_text_csv(path, CLASSES, LABEL_MAP)
    assert d.texts[0] == "Relay clicks and power drops" and d.info["n"] == 5 and d.y[-1] == 1
