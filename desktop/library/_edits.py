"""Edits a person makes from the app: captions, batch keywords, restores, removals, lone files.

Every edit that replaces a current caption returns :class:`CaptionChange` records (the caption
current before and after), which is what an undo puts back; nothing here deletes a caption,
so every replaced caption stays in the history and can be restored. Also here: natural name
keys for sorting (schema v7) and the figures a "remove from library?" question needs.
"""

from __future__ import annotations

import json
import logging
import os
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence

from desktop.library._base import LibraryBase, split_keywords
from desktop.library.errors import InvalidCaptionError, UnknownFileError
from desktop.library.types import CaptionChange, RemovalImpact

__all__ = ["NAME_KEY_MARK", "EditsMixin", "natural_name_key"]

log = logging.getLogger(__name__)

#: Ends every refined name key; a key without it is the triggers' plain ``lower(name)``.
NAME_KEY_MARK = "\x01"
_DIGIT_RUN = re.compile(r"[0-9]+")

_KeywordEdit = Callable[[list[str]], list[str]]


def natural_name_key(name: str) -> str:
    """The sort key of a file name: case-insensitive, digit runs compared by value.

    Each run of digits becomes its length (two digits) followed by the digits without leading
    zeros, so ``"kick 2"`` sorts before ``"Kick 10"``; accents fold next to their letters.

    Args:
        name: A file name.

    Returns:
        The key stored in ``files.name_key`` (ends with :data:`NAME_KEY_MARK`).
    """
    folded = unicodedata.normalize("NFKD", name).casefold()

    def pad(match: re.Match[str]) -> str:
        digits = match.group().lstrip("0") or "0"
        return f"{min(len(digits), 99):02d}{digits}"

    return _DIGIT_RUN.sub(pad, folded) + NAME_KEY_MARK


def _clean_keywords(keywords: Iterable[str]) -> list[str]:
    """Trimmed keywords, empty ones dropped, duplicates (ignoring case) removed."""
    seen: dict[str, str] = {}
    for keyword in keywords:
        word = " ".join(str(keyword).split())
        if word and word.casefold() not in seen:
            seen[word.casefold()] = word
    return list(seen.values())


def _ids_json(file_ids: Iterable[int]) -> str:
    return json.dumps([int(i) for i in file_ids])


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


class EditsMixin(LibraryBase):
    """User edits with undo records, removals with their impact, lone files, name keys."""

    # -- captions ------------------------------------------------------------------------------

    def save_user_edit(
        self, file_id: int, text: str, keywords: Sequence[str] | None = None
    ) -> CaptionChange:
        """Store the user's caption as current and keep queued re-captions from replacing it.

        A queued "caption again" job for this file is made non-forcing in the same
        transaction: words typed after a re-caption was queued are the newer wish. An edit
        equal to the current user caption changes nothing, so replaying it is harmless.

        Args:
            file_id: The file.
            text: The description (trimmed; must not be empty).
            keywords: The keywords, best first.

        Returns:
            The caption current before and after.

        Raises:
            UnknownFileError: No such file.
            InvalidCaptionError: Empty text.
        """
        cleaned = _clean_keywords(keywords or ())
        with self._txn() as conn:
            before = self._current_id(file_id)
            row = conn.execute(
                "SELECT caption, keywords, caption_source FROM files WHERE id = ?", (file_id,)
            ).fetchone()
            if (
                row is not None
                and row[2] == "user"
                and row[0] == text.strip()
                and list(split_keywords(row[1])) == cleaned
            ):
                return CaptionChange(file_id, before, before)
            after = self.set_user_caption(file_id, text, cleaned)  # type: ignore[attr-defined]
            self._unforce_jobs([file_id])
        return CaptionChange(file_id, before, int(after))

    def set_descriptions(self, file_ids: Sequence[int], text: str) -> list[CaptionChange]:
        """Give every file the same description, keeping each file's own keywords.

        Raises:
            InvalidCaptionError: Empty text.
        """
        text = text.strip()
        if not text:
            raise InvalidCaptionError("a description cannot be empty")
        changes: list[CaptionChange] = []
        with self._txn():
            for file_id, caption, stored in self._file_captions(file_ids):
                if caption == text:
                    continue
                before = self._current_id(file_id)
                keywords = list(split_keywords(stored))
                after = self.set_user_caption(file_id, text, keywords)  # type: ignore[attr-defined]
                changes.append(CaptionChange(file_id, before, int(after)))
            self._unforce_jobs([c.file_id for c in changes])
        return changes

    def add_keywords(self, file_ids: Sequence[int], keywords: Sequence[str]) -> list[CaptionChange]:
        """Add keywords to each file's current caption (files without a caption are skipped).

        Each changed file gets a new user caption with its description unchanged; files that
        already have every keyword are left alone.
        """
        wanted = _clean_keywords(keywords)
        return self._edit_keywords(file_ids, lambda old: old + wanted)

    def remove_keywords(
        self, file_ids: Sequence[int], keywords: Sequence[str]
    ) -> list[CaptionChange]:
        """Remove keywords (ignoring case) from each file's current caption."""
        unwanted = {k.casefold() for k in _clean_keywords(keywords)}
        return self._edit_keywords(
            file_ids, lambda old: [k for k in old if k.casefold() not in unwanted]
        )

    def restore_captions(self, targets: Mapping[int, int | None]) -> list[CaptionChange]:
        """Make the given captions current again (``None``: the file shows no caption).

        Used by undo and by the caption history. Queued re-captions of these files stop
        forcing, so a restored user caption is not replaced again behind the user's back.

        Args:
            targets: file id -> caption id of that file's history (or ``None``).

        Returns:
            One change per file whose current caption changed.

        Raises:
            UnknownFileError: A caption id does not belong to its file.
        """
        changes: list[CaptionChange] = []
        with self._txn() as conn:
            for file_id, caption_id in targets.items():
                before = self._current_id(file_id)
                if before == caption_id:
                    continue
                if caption_id is None:
                    conn.execute(
                        "UPDATE captions SET current = 0 WHERE file_id = ? AND current = 1",
                        (file_id,),
                    )
                    conn.execute(
                        "UPDATE files SET caption_id = NULL, caption = NULL, keywords = '', "
                        "caption_source = NULL, caption_model = NULL, captioned_at = NULL "
                        "WHERE id = ?",
                        (file_id,),
                    )
                else:
                    self._make_caption_current(file_id, caption_id)
                changes.append(CaptionChange(file_id, before, caption_id))
            self._unforce_jobs([c.file_id for c in changes])
        return changes

    def current_caption_ids(self, file_ids: Sequence[int]) -> dict[int, int | None]:
        """file id -> its current caption id (``None`` when uncaptioned); unknown ids absent."""
        return {
            int(row[0]): (None if row[1] is None else int(row[1]))
            for row in self._conn.execute(
                "SELECT id, caption_id FROM files WHERE id IN (SELECT value FROM json_each(?))",
                (_ids_json(file_ids),),
            )
        }

    def user_captioned(self, file_ids: Sequence[int]) -> dict[int, int]:
        """Of these files, those whose current caption the user wrote: file id -> caption id."""
        return {
            i: c for i, (c, source) in self.protected_captions(file_ids).items() if source == "user"
        }

    def protected_captions(self, file_ids: Sequence[int]) -> dict[int, tuple[int, str]]:
        """Of these files, those whose current caption a model must not replace unasked (a
        person wrote it, or it is the file's own description): file id -> (caption id,
        source)."""
        return {
            int(row[0]): (int(row[1]), str(row[2]))
            for row in self._conn.execute(
                "SELECT id, caption_id, caption_source FROM files "
                "WHERE caption_source IN ('user', 'file') "
                "AND caption_id IS NOT NULL AND id IN (SELECT value FROM json_each(?))",
                (_ids_json(file_ids),),
            )
        }

    # -- removing --------------------------------------------------------------------------------

    def removal_impact(self, file_ids: Sequence[int]) -> RemovalImpact:
        """What :meth:`remove_files` would forget, for a "remove from library?" question."""
        row = self._conn.execute(
            "SELECT count(*), count(caption_id), coalesce(sum(caption_source = 'user'), 0) "
            "FROM files WHERE id IN (SELECT value FROM json_each(?))",
            (_ids_json(file_ids),),
        ).fetchone()
        return RemovalImpact(int(row[0]), int(row[1]), int(row[2]))

    def root_removal_impacts(self) -> dict[int, RemovalImpact]:
        """root id -> what removing that library folder would forget."""
        impacts = {
            int(root_id): RemovalImpact()
            for (root_id,) in self._conn.execute("SELECT id FROM roots")
        }
        for root_id, files, captioned, user in self._conn.execute(
            "SELECT root_id, count(*), count(caption_id), "
            "coalesce(sum(caption_source = 'user'), 0) FROM files GROUP BY root_id"
        ):
            impacts[int(root_id)] = RemovalImpact(int(files), int(captioned), int(user))
        return impacts

    def remove_files(self, file_ids: Sequence[int]) -> int:
        """Forget files (their captions, embeddings and jobs); the files on disk stay.

        A rescan of their folder registers them again, without their captions.

        Returns:
            How many files were removed.
        """
        with self._txn() as conn:
            cur = conn.execute(
                "DELETE FROM files WHERE id IN (SELECT value FROM json_each(?))",
                (_ids_json(file_ids),),
            )
            return max(cur.rowcount, 0)

    def max_file_id(self) -> int:
        """The highest file id so far (0 for an empty library); see :meth:`file_ids_after`."""
        return int(self._conn.execute("SELECT coalesce(max(id), 0) FROM files").fetchone()[0])

    def file_ids_after(self, file_id: int) -> list[int]:
        """Readable files registered after ``file_id`` (what a scan added), by id."""
        return [
            int(row[0])
            for row in self._conn.execute(
                "SELECT id FROM files WHERE id > ? AND status = 'ok' ORDER BY id", (file_id,)
            )
        ]

    # -- name keys ---------------------------------------------------------------------------

    def refresh_name_keys(self, batch: int = 2000) -> int:
        """Refine the sort keys that SQL could only lower-case (names with digits or non-ASCII).

        Safe to call any time (short transactions); cheap when nothing is left to do.

        Returns:
            How many keys were refined.
        """
        total = 0
        while True:
            rows = self._conn.execute(
                "SELECT id, name FROM files WHERE substr(name_key, -1) != char(1) "
                "AND (name GLOB '*[0-9]*' OR name GLOB '*[^ -~]*') LIMIT ?",
                (max(1, batch),),
            ).fetchall()
            if not rows:
                return total
            with self._txn() as conn:
                conn.executemany(
                    "UPDATE files SET name_key = ? WHERE id = ?",
                    [(natural_name_key(str(name)), int(i)) for i, name in rows],
                )
            total += len(rows)

    # -- helpers -----------------------------------------------------------------------------

    def _current_id(self, file_id: int) -> int | None:
        row = self._conn.execute("SELECT caption_id FROM files WHERE id = ?", (file_id,)).fetchone()
        if row is None:
            raise UnknownFileError(
                f"the file (id {file_id}) is no longer in the library; it was removed meanwhile"
            )
        return None if row[0] is None else int(row[0])

    def _file_captions(self, file_ids: Sequence[int]) -> list[tuple[int, str | None, str]]:
        rows = self._conn.execute(
            "SELECT id, caption, keywords FROM files WHERE id IN (SELECT value FROM json_each(?))",
            (_ids_json(file_ids),),
        ).fetchall()
        order = {int(i): n for n, i in enumerate(file_ids)}
        return sorted(((int(r[0]), r[1], str(r[2] or "")) for r in rows), key=lambda r: order[r[0]])

    def _edit_keywords(self, file_ids: Sequence[int], edit: _KeywordEdit) -> list[CaptionChange]:
        changes: list[CaptionChange] = []
        with self._txn():
            for file_id, caption, stored in self._file_captions(file_ids):
                if not caption:
                    continue  # keywords need a description to hang on
                old = list(split_keywords(stored))
                new = _clean_keywords(edit(old))
                if new == old:
                    continue
                before = self._current_id(file_id)
                after = self.set_user_caption(file_id, caption, new)  # type: ignore[attr-defined]
                changes.append(CaptionChange(file_id, before, int(after)))
            self._unforce_jobs([c.file_id for c in changes])
        return changes

    def _make_caption_current(self, file_id: int, caption_id: int) -> None:
        self._adopt_caption(self._conn, file_id, caption_id)

    def _unforce_jobs(self, file_ids: Sequence[int]) -> None:
        if file_ids:
            self._conn.execute(
                "UPDATE jobs SET force = 0 WHERE force = 1 AND state = 'queued' "
                "AND file_id IN (SELECT value FROM json_each(?))",
                (_ids_json(file_ids),),
            )
