"""``memdevd.records.record`` behaves as ``dataclasses.dataclass`` does.

Each test defines the same class twice, once with ``@record`` and once
with ``@dataclass`` and the same options, and checks that what a user of
the class sees (construction, errors, repr, equality, hash, order, frozen
fields, ``dataclasses.replace``/``fields``/``asdict``) is the same, for
the first instance (the generic ``__init__``) and for later ones (the
compiled one).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from memdevd.records import record


def make_pair(frozen: bool = False, order: bool = False) -> tuple[type, type]:
    def body() -> dict[str, Any]:
        return {
            "__annotations__": {"a": "int", "b": "str", "c": "list[int]", "d": "int"},
            "b": "x",
            "c": field(default_factory=list),
            "d": field(default=7, compare=False, repr=False),
        }

    rec = record(type("Point", (), body()), frozen=frozen, order=order)
    ref = dataclass(type("Point", (), body()), frozen=frozen, order=order)
    return rec, ref


def outcome(fn: Any) -> Any:
    """A call's result, or its exception's type (messages may differ in wording)."""
    try:
        return ("ok", fn())
    except Exception as exc:  # the type is the outcome
        return ("raised", type(exc))


def view(obj: Any) -> Any:
    if isinstance(obj, tuple) and obj[0] == "ok":
        inst = obj[1]
        return ("ok", repr(inst), dataclasses.asdict(inst))
    return obj


ARGS = st.lists(st.one_of(st.integers(), st.text(max_size=3)), max_size=5)
KWARGS = st.dictionaries(st.sampled_from(["a", "b", "c", "d", "e"]), st.integers(), max_size=4)


@given(args=ARGS, kwargs=KWARGS, frozen=st.booleans(), order=st.booleans())
def test_construction_matches_dataclass_first_and_later_instances(
    args: list[Any], kwargs: dict[str, int], frozen: bool, order: bool
) -> None:
    rec, ref = make_pair(frozen, order)
    for _ in range(3):  # generic __init__, then the compiled one, then it again
        got = outcome(lambda: rec(*args, **kwargs))
        want = outcome(lambda: ref(*args, **kwargs))
        assert view(got) == view(want)


@given(
    xs=st.lists(st.tuples(st.integers(0, 3), st.sampled_from("xy"), st.integers()), max_size=6),
    frozen=st.booleans(),
)
def test_equality_hash_and_order_match_dataclass(
    xs: list[tuple[int, str, int]], frozen: bool
) -> None:
    rec, ref = make_pair(frozen, order=True)
    recs = [rec(a, b, [a], d) for a, b, d in xs]
    refs = [ref(a, b, [a], d) for a, b, d in xs]
    for i, r in enumerate(recs):
        for j, s in enumerate(recs):
            assert (r == s) == (refs[i] == refs[j])
            assert (r < s) == (refs[i] < refs[j])
            assert (r <= s) == (refs[i] <= refs[j])
            assert (r > s) == (refs[i] > refs[j])
            assert (r >= s) == (refs[i] >= refs[j])
    if frozen:
        # Hashable by the compared fields (c is a list: hash a copy without it).
        a, b = rec(1, "x", (), 5), rec(1, "x", (), 6)  # type: ignore[arg-type]
        assert a == b and hash(a) == hash(b)


def test_mutable_record_is_unhashable_like_dataclass() -> None:
    rec, ref = make_pair()
    assert rec.__hash__ is None and ref.__hash__ is None
    with pytest.raises(TypeError):
        hash(rec(1))


def test_other_classes_do_not_compare_equal() -> None:
    rec, _ = make_pair(order=True)
    other, _ = make_pair(order=True)
    assert rec(1) != other(1)
    assert rec(1) != (1, "x", [])
    with pytest.raises(TypeError):
        _ = rec(1) < other(1)


def test_frozen_fields_cannot_be_set_or_deleted() -> None:
    rec, _ = make_pair(frozen=True)
    obj = rec(1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        obj.a = 2
    with pytest.raises(dataclasses.FrozenInstanceError):
        del obj.a
    assert obj.a == 1


def test_mutable_fields_go_through_setattr() -> None:
    seen: list[str] = []

    @record
    class Watched:
        x: int
        y: int = 0

        def __setattr__(self, name: str, value: Any) -> None:
            seen.append(name)
            object.__setattr__(self, name, value)

    Watched(1)
    Watched(2)  # the compiled __init__
    assert seen == ["x", "y", "x", "y"]


def test_default_factory_gives_each_instance_its_own_value() -> None:
    rec, _ = make_pair()
    first, second, third = rec(1), rec(2), rec(3)
    first.c.append(1)
    assert second.c == [] and third.c == []


def test_dataclass_helpers_work() -> None:
    rec, ref = make_pair(frozen=True)
    obj = rec(1, "y", [2], 3)
    assert dataclasses.is_dataclass(obj)
    assert [f.name for f in dataclasses.fields(obj)] == ["a", "b", "c", "d"]
    changed = dataclasses.replace(obj, b="z")
    assert (changed.a, changed.b, changed.c, changed.d) == (1, "z", [2], 3)
    assert repr(changed) == repr(ref(1, "z", [2], 3))
    assert rec.__match_args__ == ref.__match_args__


def test_post_init_runs_for_every_instance() -> None:
    calls: list[int] = []

    @record
    class WithPost:
        x: int

        def __post_init__(self) -> None:
            calls.append(self.x)

    WithPost(1)
    WithPost(2)
    WithPost(3)
    assert calls == [1, 2, 3]


def test_own_methods_are_kept() -> None:
    @record(frozen=True)
    class Custom:
        x: int

        def __repr__(self) -> str:
            return "custom"

        def __eq__(self, other: object) -> bool:
            return True

        def __hash__(self) -> int:
            return 42

    assert repr(Custom(1)) == "custom"
    assert Custom(1) == Custom(2)
    assert hash(Custom(1)) == 42


def test_recursive_repr_does_not_recurse_forever() -> None:
    @record
    class Node:
        child: Any = None

    node = Node()
    node.child = node
    assert repr(node).endswith(".Node(child=...)")


def test_frozen_and_mutable_records_do_not_mix_in_inheritance() -> None:
    @record(frozen=True)
    class Base:
        x: int

    with pytest.raises(TypeError):

        @record
        class Child(Base):
            y: int = 0


def test_subclass_record_adds_fields() -> None:
    @record
    class Base:
        x: int

    @record
    class Child(Base):
        y: int = 0

    Base(0)
    Base(0)  # Base's __init__ compiled: Child keeps its own
    assert repr(Child(1, 2)) == "test_subclass_record_adds_fields.<locals>.Child(x=1, y=2)"
    assert Child(1) == Child(1, 0)
    assert Child(1) != Base(1)


def test_memdevd_start_path_classes_are_records() -> None:
    """The classes made before the greeting compile nothing when defined."""
    from memdevd.machine.machine import MachineConfig
    from memdevd.releases.table import Release

    for cls in (Release, MachineConfig):
        assert "__record__" in cls.__dict__


def test_slotted_records_match_slotted_dataclasses() -> None:
    import copy

    for frozen in (False, True):
        rec, ref = (
            deco(type("Slot", (), {"__annotations__": {"a": "int", "b": "int"}, "b": 2}))
            for deco in (record(frozen=frozen, slots=True), dataclass(frozen=frozen, slots=True))
        )
        assert rec.__slots__ == ref.__slots__ == ("a", "b")
        for _ in range(2):
            obj = rec(1)
            assert repr(obj) == repr(ref(1))
            assert not hasattr(obj, "__dict__")
            assert copy.deepcopy(obj) == obj
        with pytest.raises((AttributeError, TypeError)):
            obj.c = 3  # type: ignore[attr-defined]


def test_frozen_slotted_record_survives_pickle() -> None:
    import pickle

    from memdevd.qmp.framing import JSONError

    err = JSONError("JSON parse error, premature EOI")
    assert pickle.loads(pickle.dumps(err)) == err


def test_compile_used_compiles_classes_made_once() -> None:
    from memdevd import records

    @record
    class Once:
        x: int = 0

    generic = Once.__init__
    Once()
    records.compile_used()
    assert Once.__init__ is not generic
    assert Once(3).x == 3 and Once().x == 0


def test_unsupported_and_misordered_fields_fail_when_the_class_is_made() -> None:
    with pytest.raises(TypeError, match="init=False"):

        @record
        class NotInit:
            a: int
            b: list[int] = field(init=False, default_factory=list)

    with pytest.raises(TypeError, match="kw_only"):

        @record
        class KwOnly:
            a: int = field(kw_only=True)

    @record
    class Base:
        a: int = 0

    with pytest.raises(TypeError, match="non-default argument 'c' follows default argument"):

        @record
        class Child(Base):
            c: int


def test_a_plain_subclass_of_a_frozen_record_may_add_attributes() -> None:
    @record(frozen=True)
    class Frozen:
        x: int

    class Plain(Frozen):
        pass

    for _ in range(2):
        obj = Plain(1)
        obj.extra = 2  # type: ignore[attr-defined]
        del obj.extra  # type: ignore[attr-defined]
        with pytest.raises(dataclasses.FrozenInstanceError):
            obj.x = 2
    with pytest.raises(dataclasses.FrozenInstanceError):
        Frozen(1).extra = 2  # type: ignore[attr-defined]


def test_post_init_is_the_records_own_as_in_dataclasses() -> None:
    calls: list[str] = []

    @record
    class Rec:
        x: int

    class Sub(Rec):
        def __post_init__(self) -> None:
            calls.append("sub")

    @dataclass
    class Ref:
        x: int

    class RefSub(Ref):
        def __post_init__(self) -> None:
            calls.append("refsub")

    for _ in range(2):
        Sub(1)
        RefSub(1)
    assert calls == []
