"""Count the words of a text file, one line of output per distinct word.

Run it with:

    .venv/bin/python -m rillet.run examples/wordcount.py:flow
"""

import re
from pathlib import Path

import rillet.operators as op
from rillet.connectors.files import FileSource
from rillet.connectors.stdio import StdOutSink
from rillet.dataflow import Dataflow

TEXT = Path(__file__).resolve().parent / "data" / "rillets.txt"


def words(line):
    return re.findall(r"[a-z']+", line.lower())


def show(word_count):
    word, count = word_count
    return f"{word}: {count}"


flow = Dataflow("wordcount")
lines = op.input("lines", flow, FileSource(TEXT))
tokens = op.flat_map("words", lines, words)
counts = op.count_final("count", tokens, lambda word: word)
op.output("out", op.map("show", counts, show), StdOutSink())
