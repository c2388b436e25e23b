"""User edits with undo records, restores, removals with impact, lone files, natural name order."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from desktop.library import FileQuery, Library, RemovalImpact, run_jobs
from desktop.library._edits import NAME_KEY_MARK, natural_name_key
from desktop.library.errors import UnknownFileError
from tests.conftest import write_tone
from tests.library.fakes import FakeCaptioner


@pytest.fixture
def captioned(lib: Library, sound_tree: Path, fake: FakeCaptioner) -> Library:
    lib.add_root(sound_tree)
    lib.scan()
    lib.enqueue("uncaptioned")
    run_jobs(lib, fake)
    return lib


def _readable(lib: Library) -> list[int]:
    return [r.id for r in lib.list_files(FileQuery(statuses=("ok",)), 0, 100)]


def test_save_user_edit_reports_before_and_after_and_undo_restores(captioned: Library) -> None:
    file_id = _readable(captioned)[0]
    model_caption = captioned.current_caption(file_id)
    assert model_caption is not None and model_caption.source == "model"
    change = captioned.save_user_edit(file_id, "  a dog barks twice ", ["dog", "Dog", " bark "])
    assert change.before == model_caption.id and change.after is not None
    record = captioned.current_caption(file_id)
    assert (record.text, record.source) == ("a dog barks twice", "user")
    assert [k for k, _ in record.keywords] == ["dog", "bark"]
    # The same edit again (a replayed journal entry) adds nothing to the history.
    again = captioned.save_user_edit(file_id, "a dog barks twice", ["dog", "bark"])
    assert again.before == again.after == change.after
    assert len(captioned.caption_history(file_id)) == 2
    # Undo: the model caption is current again, the user's stays in the history.
    undone = captioned.restore_captions({file_id: change.before})
    assert [(c.before, c.after) for c in undone] == [(change.after, change.before)]
    assert captioned.current_caption(file_id).id == model_caption.id
    assert captioned.get_file(file_id).caption == model_caption.text
    assert {r.text for r in captioned.caption_history(file_id)} >= {"a dog barks twice"}


def test_restore_to_no_caption_and_foreign_caption_refused(captioned: Library) -> None:
    a, b = _readable(captioned)[:2]
    lib = captioned
    first = lib.save_user_edit(a, "typed on an uncaptioned file")
    lib.restore_captions({a: None})
    assert lib.get_file(a).caption is None and lib.current_caption(a) is None
    assert lib.count_files(FileQuery(captioned=False)) >= 1
    with pytest.raises(UnknownFileError):
        lib.restore_captions({b: first.after})
    # Nothing was half done: b kept its caption.
    assert lib.current_caption(b) is not None


def test_user_words_outrank_a_recaption_queued_earlier(captioned: Library) -> None:
    lib = captioned
    file_id = _readable(lib)[0]
    assert lib.enqueue([file_id], force=True) == 1
    lib.save_user_edit(file_id, "my own description")
    run_jobs(lib, FakeCaptioner())
    record = lib.current_caption(file_id)
    assert (record.text, record.source) == ("my own description", "user")


def test_batch_keywords_and_descriptions_keep_other_fields(captioned: Library) -> None:
    lib = captioned
    ids = _readable(lib)[:3]
    before = {i: lib.get_file(i) for i in ids}
    added = lib.add_keywords(ids, ["Foley", "  foley ", "close"])
    assert {c.file_id for c in added} == set(ids)
    for i in ids:
        row = lib.get_file(i)
        assert row.caption == before[i].caption and row.caption_source == "user"
        assert list(row.keywords) == [*before[i].keywords, "Foley", "close"]
    assert lib.add_keywords(ids, ["foley"]) == []  # already there: no new captions
    removed = lib.remove_keywords(ids, ["FOLEY"])
    assert len(removed) == 3 and all("Foley" not in lib.get_file(i).keywords for i in ids)
    described = lib.set_descriptions(ids, "one description for all")
    assert len(described) == 3
    assert {lib.get_file(i).caption for i in ids} == {"one description for all"}
    assert all("close" in lib.get_file(i).keywords for i in ids)
    lib.restore_captions({c.file_id: c.before for c in described})
    assert [lib.get_file(i).caption for i in ids] == [before[i].caption for i in ids]
    with pytest.raises(ValueError):
        lib.set_descriptions(ids, "   ")


def test_keywords_skip_files_without_a_description(lib: Library, sound_tree: Path) -> None:
    lib.add_root(sound_tree)
    lib.scan()
    ids = _readable(lib)
    assert lib.add_keywords(ids, ["rain"]) == []
    assert lib.count_files(FileQuery(captioned=True)) == 0


def test_removal_impact_counts_user_captions_and_remove_files(captioned: Library) -> None:
    lib = captioned
    ids = _readable(lib)[:2]
    lib.save_user_edit(ids[0], "mine")
    assert lib.removal_impact(ids) == RemovalImpact(files=2, captioned=2, user_captions=1)
    (root,) = lib.roots()
    impact = lib.root_removal_impacts()[root.id]
    assert impact.files == lib.stats()["files"] and impact.user_captions == 1
    assert lib.remove_files(ids) == 2
    assert all(lib.get_file(i) is None for i in ids)
    assert lib.user_captioned(ids) == {}


def test_a_lone_file_is_added_without_its_folder(lib: Library, tmp_path: Path) -> None:
    downloads = tmp_path / "Downloads"
    downloads.mkdir()
    wanted = write_tone(downloads / "door.wav")
    for i in range(3):
        write_tone(downloads / f"other_{i}.wav")
    (file_id,) = lib.add_paths([wanted, downloads / "notes.txt"])
    assert lib.get_file(file_id).path == str(wanted)
    lib.scan()  # a rescan reads the file and nothing beside it
    assert [r.name for r in lib.list_files(None, 0, 100)] == ["door.wav"]
    # Adding the folder later takes the lone file in, with its id (and captions).
    lib.add_paths([downloads])
    assert lib.file_id_for_path(wanted) == file_id
    assert lib.count_files() == 4 and len(lib.roots()) == 1


def test_file_ids_after_lists_what_a_scan_added(lib: Library, tmp_path: Path) -> None:
    folder = tmp_path / "s"
    folder.mkdir()
    write_tone(folder / "a.wav")
    lib.add_root(folder)
    lib.scan()
    mark = lib.max_file_id()
    write_tone(folder / "b.wav")
    lib.scan()
    assert [lib.get_file(i).name for i in lib.file_ids_after(mark)] == ["b.wav"]


def test_natural_key_orders_numbers_by_value_and_ignores_case() -> None:
    names = ["kick 10.wav", "Kick 2.wav", "kick 1.wav", "Kick_01b.wav", "Ähre.wav", "apple.wav"]
    ordered = sorted(names, key=natural_name_key)
    assert ordered.index("kick 1.wav") < ordered.index("Kick 2.wav") < ordered.index("kick 10.wav")
    # Accents fold next to their letter, not after "z".
    assert ordered.index("apple.wav") < ordered.index("Ähre.wav") < ordered.index("kick 1.wav")
    assert natural_name_key("A7.WAV").endswith(NAME_KEY_MARK)


def test_name_sort_is_natural_and_case_insensitive(lib: Library, tmp_path: Path) -> None:
    folder = tmp_path / "hits"
    folder.mkdir()
    names = ["kick 10.wav", "Kick 2.wav", "kick 1.wav", "Snare.wav", "apple.wav", "Zebra.wav"]
    for name in names:
        write_tone(folder / name, seconds=0.1)
    lib.add_root(folder)
    lib.scan()
    # Before refinement SQL has lower-cased every key: case is already ignored.
    plain = [r.name for r in lib.list_files(FileQuery(sort="name"), 0, 100)]
    assert plain.index("apple.wav") < plain.index("Snare.wav") < plain.index("Zebra.wav")
    assert lib.refresh_name_keys() == 3  # only names with digits needed refining
    assert lib.refresh_name_keys() == 0
    expected = ["apple.wav", "kick 1.wav", "Kick 2.wav", "kick 10.wav", "Snare.wav", "Zebra.wav"]
    assert [r.name for r in lib.list_files(FileQuery(sort="name"), 0, 100)] == expected
    desc = lib.list_files(FileQuery(sort="name", descending=True), 0, 100)
    assert [r.name for r in desc] == expected[::-1]
    # Keyset paging (page after page) follows the same order.
    paged = [r.name for off in range(0, 6, 2) for r in lib.list_files(FileQuery(), off, 2)]
    assert paged == expected


def test_migration_fills_name_keys_of_an_existing_library(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    conn = sqlite3.connect(db)
    from desktop.library.schema import MIGRATIONS, _split

    for version, script in enumerate(MIGRATIONS[:4]):
        for statement in _split(script):
            conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {version + 1}")
    conn.execute("INSERT INTO roots(path, added_at) VALUES ('/x', 0)")
    conn.execute(
        "INSERT INTO files(root_id, path, folder, name, ext) VALUES (1, '/x/B.wav', '/x', 'B.wav', 'wav')"
    )
    conn.commit()
    conn.close()
    with Library.open(db) as lib:
        key = lib.connection.execute("SELECT name_key FROM files").fetchone()[0]
        assert key == "b.wav"


def test_status_source_and_duration_filters(captioned: Library) -> None:
    lib = captioned
    ids = _readable(lib)
    lib.save_user_edit(ids[0], "written by me")
    mine = lib.list_files(FileQuery(caption_source="user"), 0, 100)
    assert [r.id for r in mine] == [ids[0]]
    assert lib.count_files(FileQuery(caption_source="user")) == 1
    assert lib.count_files(FileQuery(caption_source="model")) == len(ids) - 1
    assert lib.count_files(FileQuery(statuses=("error",))) == len(lib.broken_files())
    longest = max(lib.get_file(i).duration_s for i in ids)
    assert lib.count_files(FileQuery(min_duration=longest)) >= 1
    assert lib.count_files(FileQuery(min_duration=longest + 1)) == 0


def test_a_files_own_description_is_protected_like_mine(tmp_path: Path) -> None:
    from tests.metadata._fixtures import library_wav

    folder = tmp_path / "lib"
    folder.mkdir()
    (folder / "harbour.wav").write_bytes(library_wav())
    write_tone(folder / "plain.wav")
    with Library.open(tmp_path / "l.db") as library:
        library.add_root(folder)
        library.scan()
        ids = {r.name: r.id for r in library.list_files()}
        protected = library.protected_captions(list(ids.values()))
        assert list(protected) == [ids["harbour.wav"]]
        assert protected[ids["harbour.wav"]][1] == "file"
        assert library.user_captioned(list(ids.values())) == {}
