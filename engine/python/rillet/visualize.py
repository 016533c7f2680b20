"""Draw the structure of a dataflow.

From the command line:

```console
$ python -m rillet.visualize my_module:flow               # Mermaid
$ python -m rillet.visualize my_module:flow -o plantuml -r
$ python -m rillet.visualize my_module:flow -o json
```

Paste Mermaid output into any Mermaid renderer (https://mermaid.js.org/)
and PlantUML output into PlantUML (https://plantuml.com/). JSON output
uses Rillet's own format, meant for debugging and tests.

>>> import rillet.operators as op
>>> from rillet.dataflow import Dataflow
>>> from rillet.testing import TestingSource
>>> from rillet.visualize import to_mermaid
>>> flow = Dataflow("eg")
>>> s = op.input("inp", flow, TestingSource([1]))
>>> _ = op.map("double", s, lambda x: x * 2)
>>> print(to_mermaid(flow))
flowchart TD
subgraph "eg (Dataflow)"
eg.inp["inp (input)"]
eg.double["double (map)"]
eg.inp -- "down → up" --> eg.double
end
"""

import argparse
import json
import typing
from collections import ChainMap
from dataclasses import dataclass
from functools import singledispatch
from typing import Any, Dict, List, Literal, Self

from rillet.dataflow import Dataflow, Operator
from rillet.run import _locate_dataflow, _prepare_import


@dataclass(frozen=True)
class RenderedPort:
    """A port, with the ports and streams that feed it resolved.

    `from_port_ids` are the IDs of the ports the connected streams
    come from; draw an edge from each of them to `port_id`.

    >>> from rillet.visualize import RenderedPort
    >>> RenderedPort("up", "eg.double.up", ["eg.inp.down"], ["eg.inp.down"]).port_name
    'up'
    """

    port_name: str
    port_id: str
    from_port_ids: List[str]
    from_stream_ids: List[str]


@dataclass(frozen=True)
class RenderedOperator:
    """A step with its ports resolved, and its substeps.

    >>> import rillet.operators as op
    >>> from rillet.dataflow import Dataflow
    >>> from rillet.testing import TestingSource
    >>> from rillet.visualize import to_rendered
    >>> flow = Dataflow("eg")
    >>> _ = op.input("inp", flow, TestingSource([1]))
    >>> step = to_rendered(flow).substeps[0]
    >>> step.op_type, step.step_id, [p.port_id for p in step.out_ports]
    ('input', 'eg.inp', ['eg.inp.down'])
    """

    op_type: str
    step_name: str
    step_id: str
    inp_ports: List[RenderedPort]
    out_ports: List[RenderedPort]
    substeps: List[Self]


@dataclass(frozen=True)
class RenderedDataflow:
    """A dataflow with all of its steps' ports resolved.

    >>> from rillet.dataflow import Dataflow
    >>> from rillet.visualize import to_rendered
    >>> to_rendered(Dataflow("empty"))
    RenderedDataflow(flow_id='empty', substeps=[])
    """

    flow_id: str
    substeps: List[RenderedOperator]


def _render_step(step: Operator, origin_of: ChainMap) -> RenderedOperator:
    """Render `step`; `origin_of` maps stream IDs to their source ports.

    Inside a step, the step's own input ports stand in as the origins
    of the streams it receives; that is what the child scope of
    `origin_of` records.
    """
    inp = {name: getattr(step, name) for name in step.ups_names}
    out = {name: getattr(step, name) for name in step.dwn_names}

    inp_ports = [
        RenderedPort(
            name,
            port.port_id,
            [origin_of[sid] for sid in port.stream_ids.values()],
            list(port.stream_ids.values()),
        )
        for name, port in inp.items()
    ]

    for port in out.values():
        for sid in port.stream_ids.values():
            origin_of[sid] = port.port_id

    inner = origin_of.new_child(
        {sid: port.port_id for port in inp.values() for sid in port.stream_ids.values()}
    )
    substeps = [_render_step(sub, inner) for sub in step.substeps]

    # Output ports only have inner origins if there are substeps.
    out_ports = [
        RenderedPort(
            name,
            port.port_id,
            [inner[sid] for sid in port.stream_ids.values()] if substeps else [],
            list(port.stream_ids.values()) if substeps else [],
        )
        for name, port in out.items()
    ]

    return RenderedOperator(
        type(step).__name__,
        step.step_name,
        step.step_id,
        inp_ports,
        out_ports,
        substeps,
    )


def to_rendered(flow: Dataflow) -> RenderedDataflow:
    """Resolve every port of a dataflow to the ports that feed it.

    Drawing the dataflow is then just connecting each
    `RenderedPort.port_id` with its `RenderedPort.from_port_ids`.

    >>> import rillet.operators as op
    >>> from rillet.dataflow import Dataflow
    >>> from rillet.testing import TestingSource
    >>> from rillet.visualize import to_rendered
    >>> flow = Dataflow("eg")
    >>> s = op.input("inp", flow, TestingSource([1]))
    >>> _ = op.map("double", s, lambda x: x * 2)
    >>> to_rendered(flow).substeps[1].inp_ports[0].from_port_ids
    ['eg.inp.down']

    :arg flow: The dataflow.

    :returns: Its rendered form.
    """
    origin_of: ChainMap = ChainMap()
    return RenderedDataflow(
        flow.flow_id, [_render_step(step, origin_of) for step in flow.substeps]
    )


@singledispatch
def _json_for(obj) -> Any:
    """JSON-ready form of the rendered types; extend with `.register`."""
    raise TypeError()


@_json_for.register
def _json_for_df(df: RenderedDataflow) -> Dict:
    return {"typ": "RenderedDataflow", "flow_id": df.flow_id, "substeps": df.substeps}


@_json_for.register
def _json_for_op(step: RenderedOperator) -> Dict:
    return {
        "typ": "RenderedOperator",
        "op_type": step.op_type,
        "step_name": step.step_name,
        "step_id": step.step_id,
        "inp_ports": step.inp_ports,
        "out_ports": step.out_ports,
        "substeps": step.substeps,
    }


@_json_for.register
def _json_for_port(port: RenderedPort) -> Dict:
    return {
        "typ": "RenderedPort",
        "port_name": port.port_name,
        "port_id": port.port_id,
        "from_port_ids": port.from_port_ids,
        "from_stream_ids": port.from_stream_ids,
    }


class _Encoder(json.JSONEncoder):
    def default(self, o):
        try:
            return _json_for(o)
        except TypeError:
            return super().default(o)


def to_json(flow: Dataflow) -> str:
    """Describe a dataflow's structure, substeps included, as JSON.

    >>> import json
    >>> import rillet.operators as op
    >>> from rillet.dataflow import Dataflow
    >>> from rillet.testing import TestingSource
    >>> from rillet.visualize import to_json
    >>> flow = Dataflow("eg")
    >>> _ = op.input("inp", flow, TestingSource([1]))
    >>> json.loads(to_json(flow))["substeps"][0]["op_type"]
    'input'

    :arg flow: The dataflow.

    :returns: Indented JSON text.
    """
    return json.dumps(to_rendered(flow), cls=_Encoder, indent=2)


def _plantuml_lines(step: RenderedOperator, recursive: bool) -> List[str]:
    body = [f"portin {port.port_id}" for port in step.inp_ports]
    body += [f"portout {port.port_id}" for port in step.out_ports]
    for port in step.inp_ports:
        for src, sid in zip(port.from_port_ids, port.from_stream_ids):
            body.append(f"{src} --> {port.port_id} : {sid}")
    if recursive:
        for sub in step.substeps:
            body += _plantuml_lines(sub, recursive)
        # Connect the inner outputs to this step's output ports.
        for port in step.out_ports:
            for src, sid in zip(port.from_port_ids, port.from_stream_ids):
                body.append(f"{src} --> {port.port_id} : {sid}")
    return [
        f"component {step.step_id} [",
        f"    {step.step_id} ({step.op_type})",
        "]",
        f"component {step.step_id} {{",
        *("    " + line for line in body),
        "}",
    ]


def to_plantuml(flow: Dataflow, recursive: bool = False) -> str:
    """Draw a dataflow as a PlantUML component diagram.

    >>> import rillet.operators as op
    >>> from rillet.dataflow import Dataflow
    >>> from rillet.testing import TestingSource
    >>> from rillet.visualize import to_plantuml
    >>> flow = Dataflow("eg")
    >>> _ = op.input("inp", flow, TestingSource([1]))
    >>> print(to_plantuml(flow))
    @startuml
    component eg.inp [
        eg.inp (input)
    ]
    component eg.inp {
        portout eg.inp.down
    }
    @enduml

    :arg flow: The dataflow.

    :arg recursive: Also draw the substeps inside each step. Defaults
        to `False`.

    :returns: PlantUML source.
    """
    lines = ["@startuml"]
    for step in to_rendered(flow).substeps:
        lines += _plantuml_lines(step, recursive)
    lines.append("@enduml")
    return "\n".join(lines)


def to_mermaid(flow: Dataflow) -> str:
    """Draw the top-level steps of a dataflow as a Mermaid flowchart.

    Substeps are not shown. See the module docstring for an example
    of the output.

    >>> from rillet.dataflow import Dataflow
    >>> from rillet.visualize import to_mermaid
    >>> print(to_mermaid(Dataflow("empty")))
    flowchart TD
    subgraph "empty (Dataflow)"
    end

    :arg flow: The dataflow.

    :returns: Mermaid source.
    """
    rendered = to_rendered(flow)
    port_owner: Dict[str, RenderedOperator] = {}
    port_by_id: Dict[str, RenderedPort] = {}
    for step in rendered.substeps:
        for port in step.inp_ports + step.out_ports:
            port_owner[port.port_id] = step
            port_by_id[port.port_id] = port

    lines = ["flowchart TD", f'subgraph "{flow.flow_id} (Dataflow)"']
    for step in rendered.substeps:
        lines.append(f'{step.step_id}["{step.step_name} ({step.op_type})"]')
        for port in step.inp_ports:
            for src in port.from_port_ids:
                src_step = port_owner[src].step_id
                src_name = port_by_id[src].port_name
                lines.append(
                    f'{src_step} -- "{src_name} → {port.port_name}" --> {step.step_id}'
                )
    lines.append("end")
    return "\n".join(lines)


_Formats = Literal[
    "json",
    "mermaid",
    "plantuml",
]


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m rillet.visualize",
        description="""Print a diagram of a dataflow's structure.

        Redirect the output to a file and render it with Mermaid
        (https://mermaid.js.org/) or PlantUML (https://plantuml.com/).
        JSON output uses Rillet's own format, for debugging.""",
    )
    parser.add_argument(
        "import_str",
        type=str,
        help="Where the dataflow is: 'module' or 'path/to/file.py', optionally "
        "followed by ':name' for a Dataflow variable (default 'flow') or "
        "':factory(args)' for a function returning one, e.g. "
        "\"my_pkg.flows:build('in.txt')\"",
    )
    parser.add_argument(
        "-o",
        "--output-format",
        choices=typing.get_args(_Formats),
        default="mermaid",
        help="Output format; defaults to 'mermaid'",
    )
    parser.add_argument(
        "-r",
        "--recursive",
        action="store_true",
        help="""Show the substeps inside each step (PlantUML only; Mermaid
        never shows them and JSON always does)""",
    )
    return parser.parse_args()


def _visualize_main(import_str: str, output_format: _Formats, recursive: bool) -> None:
    mod_str, attr_str = _prepare_import(import_str)
    flow = _locate_dataflow(mod_str, attr_str)
    if output_format == "json":
        print(to_json(flow))
    elif output_format == "mermaid":
        print(to_mermaid(flow))
    elif output_format == "plantuml":
        print(to_plantuml(flow, recursive))
    else:
        msg = (
            f"unknown output format {output_format!r}; use one of "
            f"{typing.get_args(_Formats)!r}"
        )
        raise ValueError(msg)


if __name__ == "__main__":
    _visualize_main(**vars(_parse_args()))
