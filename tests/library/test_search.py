"""Listing, filters, sorting, paging, FTS5 search, semantic and hybrid search, similar."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from desktop.library import SORTABLE_COLUMNS, FileQuery, Library, run_jobs
from desktop.library._query import fts_query
from desktop.library.errors import InvalidQueryError, NothingToSearchError
from tests.conftest import write_tone
from tests.library.fakes import FakeCaptioner


@pytest.fixture
def captioned(lib: Library, sound_tree: Path, fake: FakeCaptioner) -> Library:
    lib.add_root(sound_tree)
    lib.scan()
    lib.enqueue("uncaptioned")
    run_jobs(lib, fake)
    return lib


def _names(rows: list) -> list[str]:  # type: ignore[type-arg]
    return [r.name for r in rows]


NASTY = [
    '"',
    '""',
    "*",
    "-",
    "-dog",
    "NEAR(",
    "NEAR(dog rain, 2)",
    "AND",
    "dog OR",
    "OR NOT AND",
    "'; DROP TABLE files; --",
    'a"b',
    "(",
    ")",
    "^dog",
    "name:dog",
    "caption : rain",
    "🙂",
    "\x00",
    "dog*",
    "{name caption}: dog",
]


def test_any_typed_text_is_safe(captioned: Library) -> None:
    for text in NASTY:
        q = FileQuery(text=text)
        if text.strip() and not re.search(r"\w", text.replace("-dog", "")):
            # Only symbols: saying so beats listing the whole library as a "match".
            with pytest.raises(NothingToSearchError):
                captioned.search(text)
            with pytest.raises(NothingToSearchError):
                captioned.count_files(q)
            continue
        hits = captioned.search(text)
        assert all(isinstance(h.score, float) for h in hits), text
        assert captioned.count_files(q) == len(captioned.list_files(q, 0, 1000)), text
    assert captioned.count_files() > 0  # nothing was dropped


def test_search_syntax_of_sound_library_tools(tmp_path: Path) -> None:
    folder = tmp_path / "sfx"
    folder.mkdir()
    names = ["SFX_0001 rain.wav", "SFX_0002 rain.wav", "SFX_0003 thunder.wav", "heavy rain.wav"]
    for i, name in enumerate(names):
        write_tone(folder / name, seconds=0.05, freq=300.0 + 40 * i)
    with Library.open(tmp_path / "lib.db") as lib:
        lib.add_root(folder)
        lib.scan()

        def found(text: str) -> list[str]:
            return sorted(h.file.name for h in lib.search(text, limit=100))

        assert found("sfx -0001") == ["SFX_0002 rain.wav", "SFX_0003 thunder.wav"]
        assert found("thunder, heavy") == ["SFX_0003 thunder.wav", "heavy rain.wav"]
        assert found('"heavy rain"') == ["heavy rain.wav"]
        assert found('rain -"heavy rain"') == ["SFX_0001 rain.wav", "SFX_0002 rain.wav"]
        assert found("sfx rain, thunder -0002") == ["SFX_0001 rain.wav", "SFX_0003 thunder.wav"]
        with pytest.raises(NothingToSearchError, match="as well as what to leave out"):
            lib.search("-rain")


def test_ucs_thesaurus_finds_synonyms_when_asked(tmp_path: Path) -> None:
    """With the thesaurus, a word also matches its UCS names and synonyms; without, it does
    not; what is left out stays left out."""
    folder = tmp_path / "sfx"
    folder.mkdir()
    for i, name in enumerate(["chopper flyby.wav", "copter idle.wav", "car pass.wav"]):
        write_tone(folder / name, seconds=0.05, freq=300.0 + 40 * i)
    with Library.open(tmp_path / "lib.db") as lib:
        lib.add_root(folder)
        lib.scan()

        def found(text: str, thesaurus: bool) -> list[str]:
            hits = lib.search(text, limit=100, thesaurus=thesaurus)
            return sorted(h.file.name for h in hits)

        assert found("helicopter", thesaurus=False) == []
        assert found("helicopter", thesaurus=True) == ["chopper flyby.wav", "copter idle.wav"]
        assert found("helicopter -idle", thesaurus=True) == ["chopper flyby.wav"]
        assert "car pass.wav" in found("car", thesaurus=True)


def test_fts_query_quotes_every_word() -> None:
    assert fts_query('dog "AND" NEAR(rain*') == '"dog"* "AND" "NEAR"* "rain"*'
    assert fts_query(" - * ( ") is None
    assert fts_query("thunderstorm dist") == '"thunderstorm" "dist"*'
    assert fts_query("rain thunderst") == '"rain"* "thunderst"*'


def test_text_search_ranks_prefix_and_words(captioned: Library) -> None:
    lib = captioned
    assert _names([h.file for h in lib.search("thund")]) == ["line\nbreak thunder.wav"]
    assert _names([h.file for h in lib.search("dog bark")]) == ["dog bark.wav"]
    assert lib.search("dog rain") == []  # all words must match
    foley = _names([h.file for h in lib.search("foley")])  # the folder is searchable
    assert sorted(foley) == sorted(
        ["door slam.wav", "line\nbreak thunder.wav", "ünïcödé bird 鳥.wav"]
    )
    assert _names([h.file for h in lib.search("unicode")]) == ["ünïcödé bird 鳥.wav"]
    assert _names([h.file for h in lib.search("鳥")]) == ["ünïcödé bird 鳥.wav"]
    hits = lib.search("engine")
    assert hits and all(h.score > 0 for h in hits)
    # Captions and keywords are searched, and a caption edit reaches the index at once.
    file_id = hits[0].file.id
    assert lib.search("motorcyc") == [] and lib.search("and") != []
    lib.set_user_caption(file_id, "a vintage motorcycle revving", ["two stroke"])
    assert [h.file.id for h in lib.search("motorcyc")] == [file_id]
    assert [h.file.id for h in lib.search("stroke")] == [file_id]
    assert file_id not in [h.file.id for h in lib.search("and")]  # old caption left the index


def test_advanced_mode_passes_fts_syntax(captioned: Library) -> None:
    lib = captioned
    both = lib.search("dog OR rain", mode="advanced")
    assert sorted(_names([h.file for h in both])) == ["dog bark.wav", "rain on roof.flac"]
    assert _names([h.file for h in lib.search("caption: bird", mode="advanced")]) == [
        "ünïcödé bird 鳥.wav"
    ]
    with pytest.raises(ValueError, match="invalid search syntax"):
        lib.search("dog AND (", mode="advanced")


def test_filters(captioned: Library, sound_tree: Path) -> None:
    lib = captioned
    total = lib.count_files()
    assert _names(lib.list_files(FileQuery(formats=("flac",)))) == ["rain on roof.flac"]
    assert _names(lib.list_files(FileQuery(formats=(".AIFF",)))) == ["stereo wind.aiff"]
    long = lib.list_files(FileQuery(min_duration=1.5))
    assert long and all((r.duration_s or 0) >= 1.5 for r in long)
    short = lib.list_files(FileQuery(max_duration=0.3))
    assert {r.name for r in short} >= {"dog bark.wav", "truncated.wav"}
    uncaptioned = lib.count_files(FileQuery(captioned=False))
    assert uncaptioned == len(lib.broken_files())
    assert lib.count_files(FileQuery(captioned=True)) == total - uncaptioned
    assert _names(lib.list_files(FileQuery(keyword="BIRD"))) == ["ünïcödé bird 鳥.wav"]
    foley = lib.list_files(FileQuery(folder=str(sound_tree / "Foley")))
    assert len(foley) == 3 and all("Foley" in r.folder for r in foley)
    # A sibling folder that shares the prefix is not "inside".
    assert lib.count_files(FileQuery(folder=str(sound_tree / "Fol"))) == 0
    assert lib.count_files(FileQuery(root_id=lib.roots()[0].id)) == total
    assert lib.count_files(FileQuery(statuses=("error",))) == len(lib.broken_files())
    combined = FileQuery(text="dog", formats=("wav",), captioned=True)
    assert _names(lib.list_files(combined)) == ["dog bark.wav"]


def _fill(lib: Library, n: int) -> None:
    """Synthetic rows straight into SQL, with ties and NULLs in every sort column."""
    root = lib.connection.execute(
        "INSERT INTO roots(path, added_at) VALUES ('/synthetic', 0)"
    ).lastrowid
    rows = []
    for i in range(n):
        rows.append(
            (
                root,
                f"/synthetic/d{i % 7}/f{i:04d}.wav",
                f"/synthetic/d{i % 7}",
                f"d{i % 7}",
                f"f{(i * 37) % n:04d}.wav",
                "wav" if i % 3 else "flac",
                None if i % 11 == 0 else 1000 + (i % 13),
                float(i % 5),
                None if i % 4 == 0 else 0.5 * (i % 9),
                [44100, 48000, None][i % 3],
                1 + i % 2,
                None if i % 5 == 0 else 16,
                "WAV",
                "PCM_16",
                "ok",
                None if i % 6 == 0 else f"caption {i % 10}",
                None if i % 6 == 0 else float(i % 17),
            )
        )
    lib.connection.executemany(
        "INSERT INTO files(root_id, path, folder, relfolder, name, ext, size, mtime, duration_s, "
        "sample_rate, channels, bit_depth, format, subtype, status, caption, captioned_at) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        rows,
    )


@pytest.mark.parametrize("descending", [False, True])
def test_sequential_pages_match_one_big_page(lib: Library, descending: bool) -> None:
    n = 200
    _fill(lib, n)
    for column in SORTABLE_COLUMNS:
        q = FileQuery(sort=column, descending=descending)  # type: ignore[arg-type]
        everything = [r.id for r in lib.list_files(q, 0, n + 10)]
        assert len(everything) == n == lib.count_files(q)
        paged: list[int] = []
        while len(paged) < n:
            page = lib.list_files(q, len(paged), 17)  # sequential: keyset path
            assert page, column
            paged.extend(r.id for r in page)
        assert paged == everything, column
        # A jump back (not sequential) uses OFFSET and agrees too.
        assert [r.id for r in lib.list_files(q, 100, 20)] == everything[100:120], column
        values = [
            getattr(r, "name" if column == "rank" else column) for r in lib.list_files(q, 0, n)
        ]
        present = [v for v in values if v is not None]
        assert present == sorted(present, reverse=descending), column


def test_semantic_hybrid_and_similar(captioned: Library, fake: FakeCaptioner) -> None:
    lib = captioned
    with pytest.raises(InvalidQueryError, match="needs the audio-language model"):
        lib.search("rain", mode="semantic")
    hits = lib.search("rain", mode="semantic", embed_text=fake.embed_text, model_id="fake-clap")
    assert hits[0].file.name == "rain on roof.flac"
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert len(hits) == lib.count_files(FileQuery(captioned=True))  # only embedded files rank
    # The GUI path: a FileQuery in semantic mode, with filters, sorted by rank or a column.
    q = FileQuery(text="a door", mode="semantic", formats=("wav",))
    rows = lib.list_files(q, 0, 3)
    assert rows[0].name == "door slam.wav" and all(r.ext == "wav" for r in rows)
    assert lib.count_files(q) == len(lib.list_files(q, 0, 100))
    by_name = lib.list_files(dataclasses.replace(q, sort="name"), 0, 100)
    assert _names(by_name) == sorted(_names(by_name)) and all(r.score is not None for r in by_name)

    hybrid = lib.search("thunder", mode="hybrid")
    assert hybrid[0].file.name == "line\nbreak thunder.wav"

    dog = lib.search("dog bark")[0].file
    similar = lib.similar(dog.id, limit=3)
    assert len(similar) == 3 and dog.id not in [h.file.id for h in similar]
    assert similar[0].score >= similar[-1].score
    assert lib.similar(lib.broken_files()[0].id) == []  # no embedding: nothing similar


def test_semantic_index_follows_new_and_replaced_embeddings(
    captioned: Library, fake: FakeCaptioner, sound_tree: Path
) -> None:
    lib = captioned
    lib.set_text_embedder(fake.embed_text, "fake-clap")
    q = FileQuery(text="church bell tolling", mode="semantic")
    assert (lib.list_files(q, 0, 1)[0].score or 0) < 0.99
    dog_id = lib.file_id_for_path(sound_tree / "dog bark.wav")
    assert dog_id is not None
    caption = fake.caption(str(sound_tree / "dog bark.wav"))
    caption.audio_embedding = fake.embed_text(["church bell tolling"])[0]
    lib.save_caption(dog_id, caption, embedding_model_id="fake-clap", force=True)
    top = lib.list_files(q, 0, 1)[0]
    assert top.id == dog_id and top.score == pytest.approx(1.0, abs=1e-5)
    # A second library (another thread's connection) sees the same.
    with Library.open(lib.path) as other:
        hits = other.search("church bell tolling", mode="semantic", embed_text=fake.embed_text)
        assert hits[0].file.id == dog_id


def test_huge_result_sets_skip_ranking_and_counts_stay_exact(
    captioned: Library, sound_tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from desktop.library import _query

    lib = captioned
    q = FileQuery(text="a")  # every caption starts with "a"
    ranked = lib.list_files(q, 0, 100)
    assert [r.score for r in ranked] == sorted((r.score for r in ranked), reverse=True)
    monkeypatch.setattr(_query, "RANK_LIMIT", 2)
    newest_first = lib.list_files(q, 0, 100)
    assert [r.id for r in newest_first] == sorted((r.id for r in ranked), reverse=True)
    # The fast count (FTS only, minus hidden files) agrees with a join after files vanish.
    (sound_tree / "dog bark.wav").unlink()
    (sound_tree / "rain on roof.flac").unlink()
    lib.scan()
    for text in ("a", "dog", "rain", "foley", "wav"):
        q = FileQuery(text=text)
        assert lib.count_files(q) == len(lib.list_files(q, 0, 1000)), text
        everything = FileQuery(text=text, statuses=("ok", "error", "missing"))
        assert lib.count_files(everything) == len(lib.list_files(everything, 0, 1000)), text
    assert lib.count_files(FileQuery(text="dog")) == 0
    assert lib.count_files() == len(lib.list_files(FileQuery(), 0, 1000))


def test_thesaurus_queries_are_valid_fts(lib: Library) -> None:
    """Expanded words are grouped in parentheses; FTS5 must accept every shape of query."""
    for text in ("a dog barking", "helicopter door, rain -thunder", '"car door" helicopter'):
        assert isinstance(lib.search(text, thesaurus=True), list)
