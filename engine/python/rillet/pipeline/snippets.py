"""Static checks of Python snippets: syntax, names, literals.

Nothing here runs the snippets; they are compiled or parsed only.
Lines and columns are 1-based and count characters inside the snippet.

>>> from rillet.pipeline.snippets import expr_error, free_names
>>> expr_error("lambda x: x *").msg
'invalid syntax'
>>> sorted(free_names("lambda x: round(x, digits)", "eval"))
['digits', 'round']
"""

from __future__ import annotations

import ast
import builtins
import io
import json
import re
import symtable
import tokenize
from typing import Any, List, Optional, Set, Tuple

MODULE_NAMES = frozenset(
    {"__name__", "__file__", "__doc__", "__spec__", "__loader__", "__package__", "__builtins__"}
)
"""Names every module has."""

BUILTIN_NAMES = (frozenset(dir(builtins)) - {"_"}) | MODULE_NAMES
"""Names Python defines in every module (`_` only exists after the
interactive prompt or a doctest printed something)."""


def source_lines(code: str, keepends: bool = False) -> List[str]:
    """The lines of Python source as Python counts them (`str.splitlines`
    also breaks at form feeds and other characters that don't end a line).

    >>> from rillet.pipeline.snippets import source_lines
    >>> source_lines("a = '\\x0c'\\r\\nb")
    ["a = '\\x0c'", 'b']
    """
    parts = re.split(r"(\r\n|\r|\n)", code)
    lines = [a + b for a, b in zip(parts[::2], parts[1::2] + [""])] if keepends else parts[::2]
    return lines if lines[-1] or len(lines) == 1 else lines[:-1]


def _brackets_balanced(code: str) -> bool:
    depth = 0
    try:
        for tok in tokenize.generate_tokens(io.StringIO(code).readline):
            if tok.type == tokenize.OP and tok.string in "([{":
                depth += 1
            elif tok.type == tokenize.OP and tok.string in ")]}":
                depth -= 1
                if depth < 0:
                    return False
    except (tokenize.TokenError, SyntaxError, IndentationError):
        pass
    return True


def _clamped(code: str, err: SyntaxError, col_shift: int = 0) -> SyntaxError:
    """`err` with a line and column inside `code` (errors at the end of
    input point just past the last character)."""
    lines = source_lines(code) or [""]
    line = min(max(err.lineno or 1, 1), len(lines))
    col = (err.offset or 0) - (col_shift if line == 1 else 0)
    if line != err.lineno or col < 1:
        col = len(lines[line - 1]) + 1
    err.lineno, err.offset = line, col
    return err


def expr_error(code: str) -> Optional[SyntaxError]:
    """Why `code` is not one Python expression, or `None`.

    An expression may span lines, as it may inside a call's
    parentheses (where export writes it).
    """
    if not code.strip():
        return SyntaxError("the expression is empty", ("<snippet>", 1, 1, code))
    try:
        compile(code, "<snippet>", "eval", dont_inherit=True)
        return _argument_error(code)
    except SyntaxError as ex:
        first = ex
        if "\n" not in code or not _brackets_balanced(code):
            return _clamped(code, first)
    try:
        compile(f"({code}\n)", "<snippet>", "eval", dont_inherit=True)
        return _argument_error(code)
    except SyntaxError as ex:
        if (ex.lineno, ex.offset) == (1, 1):  # about the parenthesis added here
            return _clamped(code, first)
        return _clamped(code, ex, col_shift=1)


def _argument_error(code: str) -> Optional[SyntaxError]:
    """Why a valid expression can't be written as one argument of a call
    (a tuple without parentheses), or `None`."""
    call = ast.parse(f"f(\n{code}\n, _)", mode="eval").body if _parses_as_call(code) else None
    if isinstance(call, ast.Call) and len(call.args) == 2 and not call.keywords:
        return None
    return SyntaxError("a tuple needs parentheses here, like (a, b)", ("<snippet>", 1, 1, code))


def _parses_as_call(code: str) -> bool:
    try:
        ast.parse(f"f(\n{code}\n, _)", mode="eval")
    except SyntaxError:
        return False
    return True


def has_trailing_comment(code: str) -> bool:
    """Does the last line of `code` end in a `#` comment?

    >>> from rillet.pipeline.snippets import has_trailing_comment
    >>> has_trailing_comment("lambda x: x  # twice"), has_trailing_comment("'#'")
    (True, False)
    """
    last = None
    try:
        for tok in tokenize.generate_tokens(io.StringIO(code).readline):
            if tok.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.ENDMARKER, tokenize.DEDENT):
                last = tok
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return False
    return last is not None and last.type == tokenize.COMMENT


def function_error(code: str, name: str) -> Optional[Tuple[str, int, int]]:
    """Why `code` is not one top-level `def name(...)`, as `(message, line, column)`.

    >>> from rillet.pipeline.snippets import function_error
    >>> function_error("def twice(x):\\n    return 2 * x", "double")[0]
    "the function is named 'twice' but the param says 'double'; make the two names the same"
    """
    try:
        tree = ast.parse(code)
    except SyntaxError as ex:
        ex = _clamped(code, ex)
        return (f"Python syntax error: {ex.msg}", ex.lineno, ex.offset)
    defs = tree.body
    if len(defs) != 1 or not isinstance(defs[0], (ast.FunctionDef, ast.AsyncFunctionDef)):
        line = defs[1].lineno if len(defs) > 1 else 1
        return (
            "the code must be exactly one top-level `def`; move other statements to the prelude",
            line,
            1,
        )
    if defs[0].name != name:
        return (
            f"the function is named {defs[0].name!r} but the param says {name!r}; "
            "make the two names the same",
            defs[0].lineno,
            defs[0].col_offset + 1,
        )
    return None


def free_names(code: str, mode: str, nested: bool = True) -> Set[str]:
    """Global names `code` reads (mode `"eval"` or `"exec"`); empty if it
    doesn't compile. With `nested=False`, only those its top level reads."""
    try:
        table = symtable.symtable(code if mode == "exec" else f"({code}\n)", "<snippet>", mode)
    except SyntaxError:
        return set()
    out: Set[str] = set()

    def visit(t: symtable.SymbolTable) -> None:
        for s in t.get_symbols():
            if t.get_type() == "module":
                if s.is_referenced() and not (s.is_assigned() or s.is_imported()):
                    out.add(s.get_name())
            elif s.is_referenced() and s.is_global():
                out.add(s.get_name())
        for child in t.get_children() if nested else ():
            visit(child)

    visit(table)
    return out


def bound_names(code: str) -> Optional[Set[str]]:
    """Names the top level of `code` binds, or `None` if that can't be known
    (a `from x import *`, or a syntax error)."""
    try:
        tree = ast.parse(code)
        table = symtable.symtable(code, "<prelude>", "exec")
    except SyntaxError:
        return None
    if any(isinstance(n, ast.ImportFrom) and n.names[0].name == "*" for n in ast.walk(tree)):
        return None
    return {s.get_name() for s in table.get_symbols() if s.is_assigned() or s.is_imported()}


def first_use(code: str, name: str, mode: str) -> Tuple[int, int]:
    """Line and column where `code` (mode `"eval"` or `"exec"`) first reads `name`."""
    wrapped = mode == "eval" and "\n" in code
    try:
        tree = ast.parse(f"(\n{code}\n)" if wrapped else code)
    except SyntaxError:
        return 1, 1
    found = [n for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id == name]
    if not found:
        return 1, 1
    node = min(found, key=lambda n: (n.lineno, n.col_offset))
    line = node.lineno - wrapped
    lines = source_lines(code)
    text = lines[line - 1] if 0 < line <= len(lines) else ""
    return line, len(text.encode()[: node.col_offset].decode(errors="ignore")) + 1


def _is_json(value: Any) -> bool:
    if value is None or isinstance(value, (bool, int, str)):
        return True
    if isinstance(value, float):
        return value == value and abs(value) != float("inf")
    if isinstance(value, list):
        return all(_is_json(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_json(v) for k, v in value.items())
    return False


def literal_value(code: str) -> Tuple[bool, Any]:
    """`(True, value)` if `code` is a Python literal of a JSON value, else `(False, None)`.

    >>> from rillet.pipeline.snippets import literal_value
    >>> literal_value('"utf-8"'), literal_value("(1, 2)"), literal_value("-1")
    ((True, 'utf-8'), (False, None), (True, -1))
    """
    try:
        value = ast.literal_eval(code.strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return False, None
    return (True, value) if _is_json(value) else (False, None)


def literal_source(value: Any) -> str:
    """Python source of a JSON value.

    >>> from rillet.pipeline.snippets import literal_source
    >>> literal_source({"a": [1, None, True]})
    "{'a': [1, None, True]}"
    """
    return repr(value)


def json_text(value: Any) -> str:
    """A short JSON rendering of a value for messages."""
    text = json.dumps(value, default=repr)
    return text if len(text) <= 40 else text[:37] + "..."
