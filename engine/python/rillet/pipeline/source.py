"""Where things are in a Python file: the text behind `ast` nodes.

`import` needs each snippet exactly as written, with the parentheses
and comments around it, which `ast` positions alone don't give.

>>> import ast
>>> from rillet.pipeline.source import SourceFile
>>> f = SourceFile("f(1, (\\n  lambda x: x  # twice\\n), key=len)\\n")
>>> call = f.tree.body[0].value
>>> f.arg_source(call.args[1], call)
'(\\n  lambda x: x  # twice\\n)'
>>> f.arg_source(call.keywords[0].value, call)
'len'
"""

from __future__ import annotations

import ast
import io
import tokenize
from typing import Any, List

from rillet.pipeline.snippets import source_lines


class SourceFile:
    """A parsed file (`tree`; raises `SyntaxError`), its `lines`, tokens and offsets."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.tree = ast.parse(source)
        self.lines = source_lines(source)
        self.line_starts = [0]
        for text in source_lines(source, keepends=True):
            self.line_starts.append(self.line_starts[-1] + len(text))
        self.tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))

    def offset(self, lineno: int, col: int) -> int:
        """Character offset of an ast position (1-based line, UTF-8 byte column)."""
        line = self.lines[lineno - 1] if lineno - 1 < len(self.lines) else ""
        return self.line_starts[lineno - 1] + len(line.encode()[:col].decode(errors="ignore"))

    def start(self, node: Any) -> int:
        return self.offset(node.lineno, node.col_offset)

    def end(self, node: Any) -> int:
        return self.offset(node.end_lineno, node.end_col_offset)

    def segment(self, node: ast.AST) -> str:
        return ast.get_source_segment(self.source, node) or ""

    def _tok_start(self, tok: tokenize.TokenInfo) -> int:
        return self.line_starts[tok.start[0] - 1] + tok.start[1]

    def _tok_end(self, tok: tokenize.TokenInfo) -> int:
        return self.line_starts[tok.end[0] - 1] + tok.end[1]

    def arg_source(self, node: Any, call: ast.Call) -> str:
        """Source of argument `node` of `call` as written: with the parentheses
        around it and the comments inside them, from its first token to its
        last before the separating comma (or the call's closing parenthesis)."""
        args = sorted([*call.args, *(k.value for k in call.keywords)], key=self.start)
        i = next(j for j, a in enumerate(args) if a is node)
        lo = self.end(args[i - 1]) if i else self.end(call.func)
        hi = self.start(args[i + 1]) if i + 1 < len(args) else self.end(call)
        toks = [t for t in self.tokens if lo <= self._tok_start(t) < hi]
        # Between two arguments there are only closing parentheses, comments,
        # one comma, opening parentheses and a keyword's `name =`.
        ops = [k for k, t in enumerate(toks) if t.type == tokenize.OP]
        left = next(k for k in ops if toks[k].string == ("," if i else "("))
        after = [k for k in ops if self._tok_start(toks[k]) >= self.end(node)]
        right = next((k for k in after if toks[k].string == ","), after[-1])
        arg: List[tokenize.TokenInfo] = toks[left + 1 : right]
        while arg[0].type in (tokenize.NL, tokenize.COMMENT):
            arg.pop(0)  # a comment after the comma belongs to the line before
        if any(k.value is node for k in call.keywords):
            arg = arg[2:]
        while arg[-1].type in (tokenize.NL, tokenize.NEWLINE):
            arg.pop()
        return self.source[self._tok_start(arg[0]) : self._tok_end(arg[-1])]

    def comment_block_start(self, line: int, stop: tuple = ()) -> int:
        """The first line of the comment lines right above `line` (or `line`);
        lines in `stop` are not part of it."""
        while (
            line > 1
            and self.lines[line - 2].lstrip().startswith("#")
            and self.lines[line - 2] not in stop
        ):
            line -= 1
        return line
