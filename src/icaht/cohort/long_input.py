"""A long table (:mod:`icaht.io.long_table`) as the input of a cohort run or of grading: it is
rewritten as a tabular set in a temporary folder next to the output, the set is planned and
assessed as any other, and every problem found in it is located back in the long table (its
file, row and column), so that errors name what the user gave, not the temporary set.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TypeVar

from icaht.cohort.batch import Rejection
from icaht.errors import Problem
from icaht.io.long_table import LongTable, Rewritten, write_tabular_set

Located = TypeVar("Located", Rejection, Problem)


@contextmanager
def long_table_set(path: Path, spec: LongTable, workroot: Path) -> Iterator[Rewritten]:
    """The long table at ``path`` rewritten in a temporary folder under ``workroot``, removed
    on leaving."""
    with tempfile.TemporaryDirectory(prefix="icaht-long-", dir=workroot) as folder:
        yield write_tabular_set(path, spec, Path(folder))


def located(item: Located, rewritten: Rewritten | None) -> Located:
    """A problem or rejection of the rewritten set, naming the long table's file, row and
    column instead (unchanged when the input was not a long table)."""
    if rewritten is None:
        return item
    source, row, field = rewritten.locate(item.source, item.row, item.field)
    return replace(item, source=source, row=row, field=field)
