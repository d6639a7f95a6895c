"""What can go wrong when student code runs, as the tests see it."""

from __future__ import annotations

STUB_MARK = "TODO: implement"  # the message of every generated stub's NotImplementedError


class StudentCodeError(Exception):
    """Student code did not return a value: it raised, hung, crashed or is missing."""


class StudentRaised(StudentCodeError):
    """Student code raised an exception (``types`` lists its class and bases by name)."""

    def __init__(self, target: str, info: dict) -> None:
        types = info.get("types")
        self.types = [str(t) for t in types][:10] if isinstance(types, list) else []
        self.detail = str(info.get("message", ""))[:2000]
        self.where = str(info.get("traceback", ""))[:3000]
        kind = self.types[0] if self.types else "an exception"
        if kind == "NotImplementedError":
            text = f"{target} is not implemented yet (it raises NotImplementedError)"
        elif kind == "SystemExit":
            text = f"{target} {self.detail}, which ends the program; return a value instead"
        else:
            text = f"{target} raised {kind}: {self.detail}"
        super().__init__(text + (f"\n{self.where.rstrip()}" if self.where else ""))

    @property
    def is_stub(self) -> bool:
        """An untouched generated stub: no need to call it again."""
        return self.types[:1] == ["NotImplementedError"] and self.detail.startswith(STUB_MARK)


class StudentTimeout(StudentCodeError):
    """Student code ran past its time limit (an infinite loop, far too slow, or its
    share of the grading time used up)."""


class StudentCrashed(StudentCodeError):
    """The process running student code died or broke the protocol."""
