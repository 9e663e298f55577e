"""Finding native libraries as the seed host does (``internal/pluginhost/platform.go``): its directories in its
order, the platform's extension, names sorted, IDs checked, the first file of an ID winning."""

from __future__ import annotations

from pathlib import Path

from pluginkit.native._discovery import candidate_dirs, cpu_variant, extension, find_libraries, go_platform


def test_the_directories_are_the_seed_hosts_most_specific_first(tmp_path: Path) -> None:
    assert candidate_dirs(tmp_path, "linux", "amd64", "v3") == [
        tmp_path / "linux" / "amd64-v3", tmp_path / "linux" / "amd64", tmp_path,
    ]
    assert candidate_dirs(tmp_path, "darwin", "arm64", "") == [tmp_path / "darwin" / "arm64", tmp_path]
    assert extension("linux") == ".so" and extension("darwin") == ".dylib" and extension("windows") == ".dll"


def test_the_cpu_variant_is_the_best_x86_64_level_the_flags_allow() -> None:
    v3 = "flags\t\t: fpu pni ssse3 sse4_1 sse4_2 popcnt avx avx2 bmi1 bmi2 fma\n"
    assert cpu_variant("amd64", v3) == "v3"
    assert cpu_variant("amd64", v3.replace(" fma", "")) == "v2"
    assert cpu_variant("amd64", "flags : fpu\n") == "v1"
    assert cpu_variant("amd64", v3 + "x avx512f avx512bw avx512cd avx512dq avx512vl").startswith("v")
    assert cpu_variant("arm64", v3) == ""


def test_libraries_are_found_in_order_and_the_first_file_of_an_id_wins(tmp_path: Path) -> None:
    goos, goarch = go_platform()
    suffix = extension(goos)
    specific = tmp_path / goos / f"{goarch}-v9"
    general = tmp_path / goos / goarch
    for directory in (specific, general):
        directory.mkdir(parents=True)
    for path in (
        specific / f"scheduler{suffix}", general / f"scheduler{suffix}", general / f"b-usage{suffix}",
        tmp_path / f"a-auth{suffix}", tmp_path / f"-bad-id{suffix}", tmp_path / "notes.txt",
        tmp_path / f"Upper{suffix.upper()}",
    ):
        path.write_bytes(b"")
    (tmp_path / f"dir{suffix}").mkdir()
    found = [(f.id, f.path) for f in find_libraries(tmp_path, variant="v9")]
    assert found == [  # per directory, paths sorted bytewise as Go's sort.Strings does ("U" < "a")
        ("scheduler", specific / f"scheduler{suffix}"),
        ("b-usage", general / f"b-usage{suffix}"),
        ("Upper", tmp_path / f"Upper{suffix.upper()}"),
        ("a-auth", tmp_path / f"a-auth{suffix}"),
    ]
    assert find_libraries(tmp_path / "missing") == []
