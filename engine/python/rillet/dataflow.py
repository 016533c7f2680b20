"""The dataflow data model and the `operator` decorator.

A `Dataflow` is a tree of frozen `Operator` dataclasses. Every
operator function (see `rillet.operators`) appends one step to the
scope it is called in and returns handles (`Stream`s) to its outputs.
Operators built out of other operators ("composite" operators) keep
their inner steps in `Operator.substeps`, so a step's ID is the dotted
path from the dataflow down to it, like `"flow.step.substep"`.

>>> import rillet.operators as op
>>> from rillet.dataflow import Dataflow
>>> from rillet.testing import TestingSource
>>> flow = Dataflow("eg")
>>> s = op.input("inp", flow, TestingSource([1, 2]))
>>> s = op.map("add_one", s, lambda x: x + 1)
>>> flow.substeps[1].step_id
'eg.add_one'
>>> flow.substeps[1].substeps[0].step_id
'eg.add_one.flat_map_batch'

Write your own operators with the `operator` decorator; see its
docstring.
"""

import dataclasses
import functools
import inspect
import itertools
import typing
from dataclasses import dataclass, field
from inspect import Parameter, Signature
from types import FunctionType
from typing import (
    Any,
    Callable,
    ClassVar,
    Concatenate,
    Dict,
    Generic,
    Iterable,
    List,
    Optional,
    ParamSpec,
    Protocol,
    Self,
    Type,
    TypeVar,
    overload,
    runtime_checkable,
)

P = ParamSpec("P")
"""Parameters of an operator builder function."""

R = TypeVar("R")
"""What an operator builder function returns."""

N = TypeVar("N")
"""Names of the streams in a `MultiPort`.

`int` positions for a `*args` parameter, `str` names for `**kwargs`.
"""

X_co = TypeVar("X_co", covariant=True)
"""Type of the items flowing in a `Stream`."""

F = TypeVar("F", bound=Callable[..., Any])
"""Type of an operator builder function."""


def f_repr(f: Callable) -> str:
    """Describe a function by its qualified name and first line.

    The built-in `repr` of a function only shows a memory address,
    which doesn't help anyone find the code that failed. Use this in
    your operators' error messages.

    >>> from rillet.dataflow import f_repr
    >>> def parse(x):
    ...     return int(x)
    >>> f_repr(parse)
    "<function '....parse' line 1>"

    Anything that is not a plain Python function falls back to its
    `repr`:

    >>> f_repr(len)
    '<built-in function len>'

    :arg f: A callable.

    :returns: A short description of where `f` is defined.
    """
    if isinstance(f, FunctionType):
        where = f"{f.__module__}.{f.__qualname__}"
        return f"<function {where!r} line {f.__code__.co_firstlineno}>"
    return repr(f)


@runtime_checkable
class Port(Protocol):
    """What every port of an `Operator` looks like.

    Either a `SinglePort` or a `MultiPort`; both map names to the IDs
    of the streams connected to the port.

    >>> from rillet.dataflow import Port, SinglePort
    >>> isinstance(SinglePort("eg.step.up", "eg.inp.down"), Port)
    True
    """

    port_id: str
    stream_ids: Dict[str, str]


@dataclass(frozen=True)
class SinglePort:
    """One input or output of an `Operator`, connected to one stream.

    The `operator` decorator makes these for every parameter or return
    value typed as a `Stream`; you don't create them yourself.

    >>> from rillet.dataflow import SinglePort
    >>> port = SinglePort("eg.step.up", "eg.inp.down")
    >>> port.stream_ids
    {'stream': 'eg.inp.down'}
    """

    port_id: str
    stream_id: str

    @property
    def stream_ids(self) -> Dict[str, str]:
        """The connected stream, in the shape the `Port` protocol uses.

        >>> from rillet.dataflow import SinglePort
        >>> SinglePort("p", "s").stream_ids
        {'stream': 's'}
        """
        return {"stream": self.stream_id}


@dataclass(frozen=True)
class MultiPort(Generic[N]):
    """An input or output of an `Operator` connected to many streams.

    The `operator` decorator makes these for `*args` or `**kwargs`
    parameters typed as `Stream`s; you don't create them yourself.

    >>> from rillet.dataflow import MultiPort
    >>> port = MultiPort("eg.merge.ups", {0: "eg.a.down", 1: "eg.b.down"})
    >>> sorted(port.stream_ids.values())
    ['eg.a.down', 'eg.b.down']
    """

    port_id: str
    stream_ids: Dict[N, str]


@dataclass(frozen=True)
class Operator:
    """Base class of the data model of every operator.

    The `operator` decorator generates one subclass per operator
    function, with one field per parameter and output; you never
    subclass this by hand.

    >>> import rillet.operators as op
    >>> from rillet.dataflow import Dataflow, Operator
    >>> from rillet.testing import TestingSource
    >>> flow = Dataflow("eg")
    >>> _ = op.input("inp", flow, TestingSource([1]))
    >>> step = flow.substeps[0]
    >>> isinstance(step, Operator), step.step_name, step.step_id
    (True, 'inp', 'eg.inp')
    """

    step_name: str
    step_id: str
    substeps: List[Self]
    ups_names: ClassVar[List[str]]
    dwn_names: ClassVar[List[str]]


@dataclass(frozen=True)
class _CoreOperator(Operator):
    # Marks operators the runtime implements itself; they have no
    # substeps.
    core: ClassVar[bool] = True


@dataclass(frozen=True)
class _Scope:
    # Where new steps go: the substep list of the dataflow or operator
    # with this ID. Only `parent_id` takes part in equality, so two
    # handles on the same scope compare equal.
    parent_id: str
    substeps: List[Operator] = field(compare=False, repr=False)
    flow: "Dataflow" = field(compare=False, repr=False)


@runtime_checkable
class _HasScope(Protocol):
    def _get_scopes(self) -> Iterable[_Scope]: ...

    def _with_scope(self, scope: _Scope) -> Self: ...


@runtime_checkable
class _ToRef(Protocol):
    def _to_ref(self, port_id: str): ...


@dataclass(frozen=True)
class DataflowId:
    """What an operator stores in place of a `Dataflow` argument.

    >>> import rillet.operators as op
    >>> from rillet.dataflow import Dataflow
    >>> from rillet.testing import TestingSource
    >>> flow = Dataflow("eg")
    >>> _ = op.input("inp", flow, TestingSource([1]))
    >>> flow.substeps[0].flow
    DataflowId(flow_id='eg')
    """

    flow_id: str


@dataclass(frozen=True)
class Dataflow:
    """A dataflow: the root that all steps are added to.

    Create one, then start streams in it with
    `rillet.operators.input`.

    >>> import rillet.operators as op
    >>> from rillet.dataflow import Dataflow
    >>> from rillet.testing import TestingSource
    >>> flow = Dataflow("my_flow")
    >>> nums = op.input("nums", flow, TestingSource([1, 2, 3]))
    >>> nums.stream_id
    'my_flow.nums.down'

    The ID may not contain a period, since periods separate the parts
    of nested step IDs:

    >>> Dataflow("my.flow")
    Traceback (most recent call last):
    ...
    ValueError: dataflow ID 'my.flow' contains a period '.'; ...
    """

    flow_id: str
    substeps: List[Operator] = field(default_factory=list)
    _scope: _Scope = field(default=None, compare=False)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if not isinstance(self.flow_id, str):
            msg = (
                f"dataflow ID must be a `str`; got a {type(self.flow_id)!r}; "
                "pass a name like `Dataflow('my_flow')`"
            )
            raise TypeError(msg)
        if "." in self.flow_id:
            msg = (
                f"dataflow ID {self.flow_id!r} contains a period '.'; "
                "periods separate the parts of nested step IDs, so pick "
                "an ID without one (for example use '_' instead)"
            )
            raise ValueError(msg)
        if self._scope is None:
            # A fresh dataflow adds steps to its own substep list. The
            # dataclass is frozen, but this is part of construction.
            object.__setattr__(
                self, "_scope", _Scope(self.flow_id, self.substeps, self)
            )

    def _get_scopes(self) -> Iterable[_Scope]:
        return (self._scope,)

    def _with_scope(self, scope: _Scope) -> Self:
        return dataclasses.replace(self, _scope=scope)

    def _to_ref(self, _port_id: str) -> DataflowId:
        return DataflowId(self.flow_id)


@dataclass(frozen=True)
class Stream(Generic[X_co]):
    """A handle on a stream of items, to which you attach more steps.

    Operators return these; you don't create them yourself. Using the
    same stream as the upstream of several steps sends every item to
    each of them.

    >>> import rillet.operators as op
    >>> from rillet.dataflow import Dataflow
    >>> from rillet.testing import TestingSource
    >>> flow = Dataflow("eg")
    >>> s = op.input("inp", flow, TestingSource(range(3)))
    >>> evens = op.filter("evens", s, lambda x: x % 2 == 0)
    >>> odds = op.filter("odds", s, lambda x: x % 2 == 1)
    >>> s.flow().flow_id
    'eg'
    """

    stream_id: str
    _scope: _Scope = field(compare=False)

    def flow(self) -> Dataflow:
        """The dataflow this stream belongs to.

        Handy for steps that need the dataflow itself, like starting
        another `rillet.operators.input` next to this stream.

        >>> import rillet.operators as op
        >>> from rillet.dataflow import Dataflow
        >>> from rillet.testing import TestingSource
        >>> flow = Dataflow("eg")
        >>> s = op.input("inp", flow, TestingSource([1]))
        >>> s.flow() == flow
        True
        """
        return self._scope.flow

    def _get_scopes(self) -> Iterable[_Scope]:
        return (self._scope,)

    def _with_scope(self, scope: _Scope) -> Self:
        return dataclasses.replace(self, _scope=scope)

    def _to_ref(self, ref_id: str) -> SinglePort:
        return SinglePort(ref_id, self.stream_id)

    def then(
        self,
        op_fn: Callable[Concatenate[str, Self, P], R],
        step_id: str,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> R:
        """Add a step downstream of this stream, fluent style.

        `s.then(op.map, "step", f)` is the same as
        `op.map("step", s, f)`, which lets you write a pipeline as one
        chain of calls. It works with any operator whose first two
        parameters are the step ID and a single upstream stream.

        >>> import rillet.operators as op
        >>> from rillet.dataflow import Dataflow
        >>> from rillet.testing import TestingSource
        >>> flow = Dataflow("eg")
        >>> s = (
        ...     op.input("inp", flow, TestingSource(range(3)))
        ...     .then(op.map, "add_one", lambda x: x + 1)
        ...     .then(op.filter, "evens", lambda x: x % 2 == 0)
        ... )
        >>> [step.step_name for step in flow.substeps]
        ['inp', 'add_one', 'evens']

        :arg op_fn: Operator function taking `(step_id, stream, ...)`.

        :arg step_id: Unique ID of the new step.

        :arg *args: Further positional arguments for `op_fn`.

        :arg **kwargs: Further keyword arguments for `op_fn`.

        :returns: Whatever `op_fn` returns.
        """
        return op_fn(step_id, self, *args, **kwargs)


@dataclass(frozen=True)
class _MultiStream(Generic[N]):
    # Bundles the streams of a `*args` or `**kwargs` parameter while
    # an operator is being built, so they can be re-scoped and turned
    # into one `MultiPort`.
    streams: Dict[N, Stream[Any]]

    def _get_scopes(self) -> Iterable[_Scope]:
        return [stream._scope for stream in self.streams.values()]

    def _with_scope(self, scope: _Scope) -> Self:
        return dataclasses.replace(
            self,
            streams={k: s._with_scope(scope) for k, s in self.streams.items()},
        )

    def _to_ref(self, port_id: str) -> MultiPort[N]:
        return MultiPort(port_id, {k: s.stream_id for k, s in self.streams.items()})


# Field names every operator class already has; builder parameters
# and outputs may not reuse them.
_BASE_FIELD_NAMES = frozenset(typing.get_type_hints(_CoreOperator))


def _runtime_class(anno: Any) -> Optional[type]:
    """The class to use for `issubclass` checks on an annotation."""
    if anno is Any:
        return object
    if inspect.isclass(anno):
        return anno
    origin = typing.get_origin(anno)
    if origin is not None and inspect.isclass(origin):
        return origin
    return None


def _is_stream_anno(anno: Any) -> bool:
    cls = _runtime_class(anno)
    return cls is not None and issubclass(cls, Stream)


def _is_variadic(param: Parameter) -> bool:
    return param.kind in (Parameter.VAR_POSITIONAL, Parameter.VAR_KEYWORD)


def _input_field_types(sig: Signature, hints: Dict[str, Any]) -> Dict[str, Any]:
    """Field types for the builder's parameters, before port conversion."""
    types: Dict[str, Any] = {}
    for name, param in sig.parameters.items():
        anno = hints.get(name, Any)
        if _is_stream_anno(anno) and _is_variadic(param):
            args = typing.get_args(anno)
            item_type = args[0] if args else Any
            # `*ups: Stream[X]` is stored as one bundle of streams.
            types[name] = _MultiStream[item_type]  # type: ignore[valid-type]
        else:
            types[name] = anno
    return types


def _output_field_types(hints: Dict[str, Any]) -> Dict[str, Any]:
    """Field types for what the builder returns."""
    anno = hints.get("return", Any)
    cls = _runtime_class(anno)
    if cls is None:
        return {"down": anno}
    if issubclass(cls, (Stream, _MultiStream)):
        return {"down": anno}
    if issubclass(cls, type(None)):
        return {}
    if dataclasses.is_dataclass(cls):
        # A dataclass return value names several outputs; each of its
        # fields becomes a field of the operator.
        out_hints = typing.get_type_hints(cls)
        return {f.name: out_hints.get(f.name, Any) for f in dataclasses.fields(cls)}
    return {"down": anno}


def _stored_type(anno: Any) -> Any:
    """What a field holds once `Stream`s etc. are turned into refs."""
    cls = _runtime_class(anno)
    if cls is not None and issubclass(cls, _ToRef):
        return typing.get_type_hints(cls._to_ref).get("return", Any)
    return anno


def _is_port_type(anno: Any) -> bool:
    cls = _runtime_class(anno)
    return cls is not None and issubclass(cls, (SinglePort, MultiPort))


def _make_op_class(
    builder: FunctionType, sig: Signature, hints: Dict[str, Any], core: bool
) -> Type[Operator]:
    if "step_id" not in sig.parameters:
        msg = (
            f"operator builder {f_repr(builder)} needs a `step_id` "
            "parameter; add `step_id: str` as its first parameter"
        )
        raise TypeError(msg)

    inputs = _input_field_types(sig, hints)
    outputs = _output_field_types(hints)

    clash = sorted(set(inputs) & set(outputs))
    if clash:
        msg = (
            f"operator builder {f_repr(builder)} has parameters "
            f"{', '.join(map(repr, clash))} with the same names as fields "
            "of its returned dataclass; rename one of them"
        )
        raise TypeError(msg)

    fields = {name: _stored_type(anno) for name, anno in inputs.items()}
    fields.update({name: _stored_type(anno) for name, anno in outputs.items()})
    ups_names = [n for n in inputs if _is_port_type(fields[n])]
    dwn_names = [n for n in outputs if _is_port_type(fields[n])]

    # `step_id` comes from the base class.
    del fields["step_id"]
    shadowed = sorted(set(fields) & _BASE_FIELD_NAMES)
    if shadowed:
        msg = (
            f"operator builder {f_repr(builder)} uses the names "
            f"{', '.join(map(repr, shadowed))} for parameters or returned "
            "dataclass fields, but `rillet.dataflow.Operator` already has "
            "fields with those names; rename them"
        )
        raise TypeError(msg)

    cls = dataclasses.make_dataclass(
        builder.__name__,
        list(fields.items()),
        bases=(_CoreOperator if core else Operator,),
        frozen=True,
        namespace={
            "__doc__": f"Data model of the `{builder.__name__}` operator.",
            "ups_names": ups_names,
            "dwn_names": dwn_names,
        },
    )
    cls.__module__ = builder.__module__
    return cls


def _has_scope(val: Any) -> bool:
    return not isinstance(val, type) and isinstance(val, _HasScope)


def _check_upstreams(
    op_name: str, sig: Signature, args: Dict[str, Any], ups_names: List[str]
) -> None:
    for name in ups_names:
        param = sig.parameters[name]
        if param.kind == Parameter.VAR_POSITIONAL:
            vals = list(args[name])
            what = f"every `*{name}` argument"
        elif param.kind == Parameter.VAR_KEYWORD:
            vals = list(args[name].values())
            what = f"every `**{name}` argument"
        else:
            vals = [args[name]]
            what = f"argument {name!r}"
        for val in vals:
            if not isinstance(val, Stream):
                msg = (
                    f"{what} of operator {op_name!r} must be a `Stream`; "
                    f"got a {type(val)!r}; if the previous operator returns "
                    "several streams (like `branch`), pass one of them "
                    "(for example `.trues`)"
                )
                raise TypeError(msg)


def _check_step_id(step_id: Any) -> None:
    if not isinstance(step_id, str):
        msg = (
            f"'step_id' must be a `str`; got a {type(step_id)!r}; "
            "pass a short name like 'parse_json'"
        )
        raise TypeError(msg)
    if "." in step_id:
        msg = (
            f"'step_id' {step_id!r} contains a period '.'; periods separate "
            "the parts of nested step IDs, so pick an ID without one "
            "(for example use '_' instead)"
        )
        raise ValueError(msg)


def _make_op_function(
    builder: FunctionType, sig: Signature, hints: Dict[str, Any], cls: Type[Operator]
) -> Callable:
    variadic_streams = {
        name: param.kind
        for name, param in sig.parameters.items()
        if _is_variadic(param) and _is_stream_anno(hints.get(name, Any))
    }

    @functools.wraps(builder)
    def op_fn(*args, **kwargs):
        try:
            bound = sig.bind(*args, **kwargs)
        except TypeError as ex:
            msg = (
                f"operator {cls.__name__!r} called with arguments that don't "
                f"fit its signature {sig}; see the error above for which one"
            )
            raise TypeError(msg) from ex
        bound.apply_defaults()
        arguments = bound.arguments

        _check_upstreams(cls.__name__, sig, arguments, cls.ups_names)
        step_name = arguments["step_id"]
        _check_step_id(step_name)

        # Bundle `*ups` / `**ups` streams so they can be re-scoped.
        for name, kind in variadic_streams.items():
            val = arguments[name]
            bundle = dict(enumerate(val)) if kind == Parameter.VAR_POSITIONAL else val
            arguments[name] = _MultiStream(dict(bundle))

        outer_scopes = frozenset(
            itertools.chain.from_iterable(
                val._get_scopes() for val in arguments.values() if _has_scope(val)
            )
        )
        if not outer_scopes:
            msg = (
                f"operator {cls.__name__!r} step {step_name!r} got no `Stream` "
                "or `Dataflow` argument, so there is nowhere to add it; pass "
                "at least one upstream stream"
            )
            raise AssertionError(msg)
        if len(outer_scopes) != 1:
            msg = (
                f"operator {cls.__name__!r} step {step_name!r} got streams "
                f"from {len(outer_scopes)} different scopes "
                f"{sorted(s.parent_id for s in outer_scopes)!r}; all streams "
                "passed to one step must come from the same dataflow and "
                "the same level of nesting; in a custom operator, only use "
                "the streams passed in as arguments and return streams "
                "created inside it (see `rillet.dataflow.operator`)"
            )
            raise AssertionError(msg)
        (outer,) = outer_scopes

        # Steps added while the builder runs go into this step.
        inner_id = f"{outer.parent_id}.{step_name}"
        inner = _Scope(inner_id, [], outer.flow)
        inner = dataclasses.replace(inner, flow=inner.flow._with_scope(inner))
        for name, val in arguments.items():
            if _has_scope(val):
                arguments[name] = val._with_scope(inner)
        # The builder sees its fully qualified ID, for error messages.
        arguments["step_id"] = inner_id

        values: Dict[str, Any] = dict(arguments)
        values["step_name"] = step_name

        # Unbundle variadic streams for the builder call.
        for name, kind in variadic_streams.items():
            streams = arguments[name].streams
            if kind == Parameter.VAR_POSITIONAL:
                arguments[name] = tuple(streams.values())
            else:
                arguments[name] = dict(streams)

        out = builder(*bound.args, **bound.kwargs)

        if isinstance(out, (Stream, _MultiStream)):
            values["down"] = out
        elif out is None:
            pass
        elif dataclasses.is_dataclass(out) and not isinstance(out, type):
            for fld in dataclasses.fields(out):
                values[fld.name] = getattr(out, fld.name)
        else:
            values["down"] = out

        for name, val in values.items():
            if not isinstance(val, type) and isinstance(val, _ToRef):
                values[name] = val._to_ref(f"{inner_id}.{name}")

        step = cls(substeps=inner.substeps, **values)

        if any(s.step_id == step.step_id for s in outer.substeps):
            msg = (
                f"step ID {step.step_id!r} already exists at this level of "
                "the dataflow; two steps at the same level can't share an ID "
                f"because their streams would collide; give this {cls.__name__!r} step a "
                f"different `step_id` than {step_name!r}"
            )
            raise ValueError(msg)
        outer.substeps.append(step)

        # Handles returned to the caller add further steps to the
        # caller's scope, not inside this step.
        if _has_scope(out):
            return out._with_scope(outer)
        if dataclasses.is_dataclass(out) and not isinstance(out, type):
            rescoped = {
                fld.name: getattr(out, fld.name)._with_scope(outer)
                for fld in dataclasses.fields(out)
                if _has_scope(getattr(out, fld.name))
            }
            return dataclasses.replace(out, **rescoped)
        return out

    return op_fn


@overload
def operator(builder: F) -> F: ...


@overload
def operator(*, _core: bool = False) -> Callable[[F], F]: ...


def operator(builder=None, *, _core: bool = False) -> Callable:
    """Turn a builder function into an operator.

    The builder's first parameter must be `step_id: str`. Parameters
    typed `Stream` (or `*args` / `**kwargs` of `Stream`) become the
    step's input ports; a returned `Stream`, or a returned dataclass
    of `Stream`s, become its output ports. Inside the builder, call
    other operators on the streams you were given: those calls become
    substeps of the new step, with IDs nested under it.

    >>> import rillet.operators as op
    >>> from rillet.dataflow import Dataflow, Stream, operator
    >>> from rillet.testing import TestingSource
    >>> @operator
    ... def add_then_double(step_id: str, up: Stream[int], n: int) -> Stream[int]:
    ...     added = op.map("add", up, lambda x: x + n)
    ...     return op.map("double", added, lambda x: x * 2)
    >>> flow = Dataflow("eg")
    >>> s = op.input("inp", flow, TestingSource([1, 2]))
    >>> s = add_then_double("calc", s, 10)
    >>> [sub.step_id for sub in flow.substeps[1].substeps]
    ['eg.calc.add', 'eg.calc.double']

    Rules for custom operators:

    - Only use the streams passed in; don't capture streams from
      outside in a closure.
    - Return only streams created inside the builder.
    - Step IDs must be unique within the enclosing step or dataflow
      and may not contain a period.

    :arg builder: The function to decorate.

    :arg _core: Reserved for the built-in operators the runtime
        implements natively. Leave it `False`.

    :returns: The operator function, with the same signature as the
        builder.
    """

    def decorate(fn: FunctionType) -> Callable:
        sig = inspect.signature(fn)
        hints = typing.get_type_hints(fn)
        cls = _make_op_class(fn, sig, hints, _core)
        op_fn = _make_op_function(fn, sig, hints, cls)
        op_fn._op_cls = cls  # type: ignore[attr-defined]
        return op_fn

    if builder is not None:
        return decorate(builder)
    return decorate
