"""benchmarks/table.py: the issue's table from the BENCH_RESULT lines the benchmarks print.

Pure functions on made-up results; no benchmark runs here (they are minutes long)."""

from benchmarks.common import bench_result
from benchmarks.table import format_table, parse_results, table_rows

ENGINE = {
    "figure": "engine_vs_tar",
    "mb": 2000,
    "ratio": 0.62,
    "engine_mb_s": 410.0,
    "tar_mb_s": 660.0,
    "sha256_mb_s": 480.0,
    "hashed_tar_mb_s": 350.0,
    "ratio_hashed_tar": 1.17,
}
DEDUP = [
    {"figure": "second_backup_new_bytes", "kind": "embedded", "total_bytes": 525_000_000,
     "new_bytes": 140_000, "percent": 0.0267},
    {"figure": "second_backup_new_bytes", "kind": "connected", "total_bytes": 209_715_200,
     "new_bytes": 105_000, "percent": 0.05},
]  # fmt: skip
SCALE = {
    "figure": "scale",
    "database": "postgresql",
    "issues": 1_000_000,
    "comments": 1_000_000,
    "gb": 21.47,
    "backup_s": 132.3,
    "file_s": 106.7,
    "restore_s": 162.3,
    "tar_s": 49.8,
    "peak_rss_mb": 112.0,
    "cache_dropped": True,
}


def by_figure(rows):
    return {row.figure.split(",")[0].split(" (")[0]: row for row in rows}


def test_the_lines_a_benchmark_prints_are_read_back(capsys):
    print("engine MB/s 410")
    bench_result("engine_vs_tar", **{k: v for k, v in ENGINE.items() if k != "figure"})
    print("| figure | now | target |")
    bench_result("second_backup_new_bytes", kind="embedded", percent=0.03)

    results = parse_results(capsys.readouterr().out)

    assert results == [ENGINE, {"figure": "second_backup_new_bytes", "kind": "embedded",
                                "percent": 0.03}]  # fmt: skip


def test_a_figure_below_its_target_says_what_was_measured_and_why():
    rows = by_figure(table_rows([ENGINE, *DEDUP], None, "not run (use --scale)"))

    engine = rows["backup engine vs `tar cf`"]
    assert engine.now == "0.55x / 0.58x"
    assert engine.measured.startswith("0.62x (2000 MB: 410 vs 660 MB/s; 1.17x hashed tar)")
    assert engine.met is False
    # The reason is the machine's own figures: sha256 alone and the hashed tar beside tar.
    assert "sha256 alone runs at 480 MB/s" in engine.reason
    assert "85% of sha256 alone" in engine.reason
    assert "(`tar cf && openssl dgst -sha256`, 350 MB/s)" in engine.reason
    assert "more free cores" in engine.reason

    dedup = rows["second backup of an unchanged site: new bytes stored"]
    assert dedup.met is True
    assert dedup.measured == "0.03% (embedded: 0.1 of 525 MB); 0.05% (connected: 0.1 of 210 MB)"
    assert dedup.reason == ""


def test_figures_not_measured_say_so_and_are_neither_met_nor_not():
    rows = table_rows([], None, "not run (use --scale)")

    assert len(rows) == 7  # the seven rows, in its order
    assert [r.met for r in rows] == [None] * 7
    assert rows[2].figure == "restore on PostgreSQL vs bulk_create"
    assert rows[2].measured.startswith("not measured: no BENCH_RESULT line from")
    assert rows[5].measured == "not run (use --scale)"
    text = format_table(rows, markdown=False)
    assert "restore on SQLite vs bulk_create: -" in text


def test_the_scale_row_from_a_saved_result():
    slow = by_figure(table_rows([], SCALE, ""))["1M issues + 20 GB attachments"]
    assert slow.measured.startswith("backup 132.3 s, restore 162.3 s (postgresql, 1,000,000 issues")
    assert slow.met is False
    assert "431 MB/s from this disk (50 s); 90 s for 21.5 GB needs 239 MB/s" in slow.reason

    fast = by_figure(table_rows([], {**SCALE, "backup_s": 80, "restore_s": 85}, ""))
    assert fast["1M issues + 20 GB attachments"].met is True
    cached = {**SCALE, "backup_s": 80, "restore_s": 85, "cache_dropped": False}
    row = by_figure(table_rows([], cached, ""))["1M issues + 20 GB attachments"]
    assert row.met is False  # measured from the cache is not "on disk, not cached"
    assert "could not be dropped" in row.reason

    small = {**SCALE, "issues": 2000, "gb": 0.05, "backup_s": 0.1, "restore_s": 0.2}
    row = by_figure(table_rows([], small, ""))["1M issues + 20 GB attachments"]
    assert row.met is None  # fast, but not the size: no verdict either way
    assert row.measured.startswith("backup 0.1 s, restore 0.2 s (postgresql, 2,000 issues, 0.05 GB")
    assert "no verdict" in format_table([row], markdown=False)


def test_markdown_has_one_row_per_figure_and_escapes_pipes():
    rows = table_rows([ENGINE], SCALE, "")
    rows[0].reason = "tar cf - | sha256sum"  # a pipe inside a cell
    lines = format_table(rows, markdown=True).splitlines()

    assert lines[0] == "| figure | now (issue) | measured | target | met? | reason when not met |"
    assert lines[1] == "|---|---|---|---|---|---|"
    assert len(lines) == 2 + 7
    for line in lines[2:]:
        assert line.replace("\\|", "").count("|") == 7  # six cells each
    assert lines[2].endswith("| NOT met | tar cf - \\| sha256sum |")


FILE = {
    "figure": "backup_file_vs_tar",
    "mb": 1052,
    "ratio_tar": 0.84,
    "ratio_zip0": 3.3,
    "file_mb_s": 1304.0,
    "tar_mb_s": 1552.0,
    "zip0_mb_s": 395.0,
    "hashed_tar_mb_s": 772.0,
    "ratio_hashed_tar": 1.69,
    "sha256_mb_s": 1968.0,
    "sha256_both_mb_s": 1700.0,
}


def test_a_backup_file_below_tar_says_what_its_two_hashes_take_of_tars_time():
    rows = by_figure(table_rows([FILE], None, "not run (use --scale)"))

    file = rows["backup file vs `tar cf`"]
    assert file.measured == "0.84x (1052 MB; 3.30x `zip -0`, 1.69x hashed tar)"
    # 1000 / 1700 = 0.59 s per GB of hashing on both cores; tar cf 1000 / 1552 = 0.64 s.
    assert "on both cores at once (1700 MB/s each) that alone takes 0.59 s per GB" in file.reason
    assert "91% of tar cf's 0.64 s" in file.reason
    # 0.9x tar is 0.716 s per GB: 0.13 s left for the reads, writes and zip.
    assert "0.9x leaves 0.13 s per GB on both cores" in file.reason
    assert "the file is at 1.69x" in file.reason
