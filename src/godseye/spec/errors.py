"""The one error type bad input produces, printed as a single `FILE:LINE: field: problem` line."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class InputProblem:
    """One problem found in one input file."""

    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


class InputError(Exception):
    """Bad input: carries every problem found, the first of which is the one shown."""

    def __init__(self, problems: list[InputProblem]) -> None:
        if not problems:
            raise ValueError("InputError needs at least one problem")
        self.problems = problems
        super().__init__(str(problems[0]))

    @classmethod
    def single(cls, file: str, message: str, line: int | None = None, field: str = "") -> InputError:
        return cls([InputProblem(file=file, line=line, field=field, message=message)])
