"""Problems found while validating an upload, and the exception that carries them.

Validation collects *every* problem before it gives up, so a user fixes a file in
one round. Each :class:`Problem` names the place: the file (as the user named it,
``archive.zip/de.json`` for a zip member), a 1-based line or row number where the
format has lines, and the field (a column, a JSON key, or a JSON path such as
``data[0].paragraphs[2].qas[1].question``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: Stop collecting after this many problems of one kind per file: a file with
#: 100,000 bad rows needs one message per kind, not 100,000.
MAX_PER_KIND = 20


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an upload."""

    file: str
    line: int | None
    field: str | None
    message: str
    kind: str = "invalid"  # short machine key: encoding, json, csv, missing-column, ...

    @property
    def where(self) -> str:
        parts = [self.file]
        if self.line is not None:
            parts.append(f"line {self.line}")
        if self.field:
            parts.append(f"field {self.field!r}")
        return ", ".join(parts)

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


class UploadRejected(ValueError):
    """The upload was refused; ``problems`` lists every reason, nothing was stored."""

    def __init__(self, problems: list[Problem], notices: list[str] | None = None) -> None:
        self.problems = list(problems)
        self.notices = list(notices or [])
        shown = "\n".join(f"  - {p}" for p in self.problems[:50])
        more = len(self.problems) - 50
        tail = f"\n  ... and {more} more" if more > 0 else ""
        n = len(self.problems)
        super().__init__(f"upload refused, {n} problem{'s' if n != 1 else ''}:\n{shown}{tail}")


@dataclass
class ProblemLog:
    """Collects problems (capped per file and kind) and notices."""

    problems: list[Problem] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    _counts: dict[tuple[str, str], int] = field(default_factory=dict)

    def add(
        self,
        file: str,
        line: int | None,
        field_name: str | None,
        message: str,
        kind: str = "invalid",
    ) -> None:
        key = (file, kind)
        count = self._counts.get(key, 0) + 1
        self._counts[key] = count
        if count <= MAX_PER_KIND:
            self.problems.append(Problem(file, line, field_name, message, kind))
        elif count == MAX_PER_KIND + 1:
            self.problems.append(
                Problem(file, None, None, f"more problems of kind {kind!r} not listed", kind)
            )

    def notice(self, message: str) -> None:
        if message not in self.notices:
            self.notices.append(message)

    def __bool__(self) -> bool:
        return bool(self.problems)

    def raise_if_any(self) -> None:
        if self.problems:
            raise UploadRejected(self.problems, self.notices)
