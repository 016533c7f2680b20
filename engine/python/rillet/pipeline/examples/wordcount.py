"""Word count

The classic first dataflow: read a poem line by line, split each line
into lowercase words, and count every word once the input ends.
"""

import re
from importlib.resources import files

import rillet.operators as op
from rillet.connectors.files import FileSource
from rillet.connectors.stdio import StdOutSink
from rillet.dataflow import Dataflow

POEM = files("rillet.pipeline") / "examples" / "data" / "poem.txt"


def split_words(line):
    """The words of a line, lowercased, without punctuation."""
    return re.findall(r"[a-z']+", line.lower())


flow = Dataflow("wordcount")
lines = op.input("lines", flow, FileSource(POEM))
words = op.flat_map("words", lines, split_words)
counts = op.count_final("count", words, lambda word: word)
op.output("print", counts, StdOutSink())
