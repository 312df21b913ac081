"""The one error type for bad input, and the problems it carries."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = ["Problem", "DataError", "DataWarning", "MAX_ROW_IDS"]

MAX_ROW_IDS = 5


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a table.

    Attributes
    ----------
    table : str
        Table kind or name, e.g. ``"opportunities"``.
    column : str or None
        Offending column (None for table-level problems such as an empty table).
    message : str
        What is wrong, phrased for a sales-ops analyst.
    rows : tuple of str
        Up to :data:`MAX_ROW_IDS` offending row ids (or ``row N`` positions).
    n_rows : int
        How many rows have the problem in total.
    severity : {"error", "warning"}
        Errors stop loading; warnings are reported and loading goes on.
    """

    table: str
    column: str | None
    message: str
    rows: tuple[str, ...] = ()
    n_rows: int = 0
    severity: str = "error"

    def __str__(self) -> str:
        where = f"{self.table}.{self.column}" if self.column else self.table
        text = f"{where}: {self.message}"
        if self.rows:
            more = f" and {self.n_rows - len(self.rows)} more" if self.n_rows > len(self.rows) else ""
            text += f" (rows: {', '.join(self.rows)}{more})"
        return text


def problem(
    table: str,
    column: str | None,
    message: str,
    row_ids: Sequence | Iterable = (),
    severity: str = "error",
) -> Problem:
    """Make a :class:`Problem`, keeping the first few row ids and the count."""
    ids = [str(r) for r in row_ids]
    return Problem(table, column, message, tuple(ids[:MAX_ROW_IDS]), len(ids), severity)


class DataError(ValueError):
    """Input data that cannot be used: names the table, column, problem and rows.

    The CLI turns it into a message and exit code 2. ``problems`` holds every
    :class:`Problem` found, so a caller can list them all at once.

    Examples
    --------
    >>> err = DataError([problem("opportunities", "amount", "is negative", ["O-7"])])
    >>> str(err)
    'opportunities.amount: is negative (rows: O-7)'
    """

    def __init__(self, problems: Problem | Sequence[Problem] | str, table: str = "input"):
        if isinstance(problems, str):
            problems = [Problem(table, None, problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems: list[Problem] = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    @property
    def table(self) -> str:
        return self.problems[0].table if self.problems else ""

    @property
    def column(self) -> str | None:
        return self.problems[0].column if self.problems else None


class DataWarning(UserWarning):
    """A problem worth knowing that does not stop loading (e.g. approximate data)."""
