"""Running one hidden check: the student's function against the reference, case by case.

An :class:`Exercise` describes one graded function: its points, the outputs to compare, how to
draw seeded test cases, and the mistakes students typically make (each a broken variant of the
reference with a hint). :func:`grade` calls the student's function on a private copy of each
case's inputs, converts what it returns to plain arrays, checks shapes before values with the
tolerance of the returned dtype, notices inputs modified in place, and names the likely mistake
when the wrong output matches a known broken variant. It prints feedback and returns the score:
whole passes scaled to the exercise's points, so the reference earns exactly full marks.

A function that calls other graded functions of the student's (a sequence function and its
step) is handed those too (:class:`OwnHelpers`): a case it fails against the reference still
passes if it agrees with the reference run over the student's own helpers, so one mistake is
charged to one part, and the feedback says when a part kept or lost points because of another.

The feedback names outputs, sizes and likely mistakes; it never prints the hidden inputs, the
reference outputs, or a traceback through this code.
"""
from __future__ import annotations

import contextlib
import copy
import inspect
import io
import re
import types
import warnings
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from autograder.checks.reference import load_reference
from rnncourse._grading.wire import digest, encode
from rnncourse.compare import CheckFailure, as_array, shape_problem, value_problem

LIKELY = ". Likely mistake: "
# a number in an error message: masked before the message reaches the feedback, since it could
# carry a hidden input (notebook/remote.py), and so before two messages are compared here
NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+(?=[eE]))(?:[eE][-+]?\d+)?")


@dataclass(frozen=True)
class Output:
    """One compared output: its name, its position in a returned tuple, its dimension letters.

    ``index`` is ``None`` when the function returns the array itself rather than a tuple.
    ``letters`` is ``""`` for a scalar.
    """

    name: str
    index: int | None
    letters: str


@dataclass(frozen=True)
class Case:
    """One set of inputs. ``label`` (sizes only, never values) appears in feedback."""

    label: str
    args: tuple
    dims: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Mistake:
    """A typical mistake: ``make(reference_module)`` returns a function that commits it."""

    hint: str
    make: Callable


def rebind(fn: Callable, **names: Callable) -> Callable:
    """``fn`` with some of the global names it calls replaced, e.g. by a broken helper."""
    return types.FunctionType(fn.__code__, {**fn.__globals__, **names}, fn.__name__,
                              fn.__defaults__, fn.__closure__)


def replace_output(index: int, new: Callable) -> Callable:
    """A change of a backward variant's gradients: output ``index`` becomes new(grads, da)."""
    def change(grads, da):
        grads = list(grads)
        grads[index] = new(grads, da)
        return grads
    return change


def through(mistake: Mistake, outer: str, helper: str) -> Mistake:
    """``mistake`` of the function ``helper``, as it shows through ``outer``, which calls it.

    A student's sequence function calls their own step function, so a bug in the step fails
    the sequence's cases too; the hint then says where to look first.
    """
    hint = f"{mistake.hint} ({outer} calls your {helper}: make its checks pass first)"
    return Mistake(hint, lambda ref: rebind(getattr(ref, outer), **{helper: mistake.make(ref)}))


def state_before_step(name: str) -> Callable:
    """A mistake maker: the sequence forward ``name`` of the reference, storing at position t
    the state before step t (h0 first) instead of the state after it."""
    def make(ref):
        def forward(x, h0, *params):
            h, _ = getattr(ref, name)(x, h0, *params)
            return np.concatenate([h0[:, None], h[:, :-1]], axis=1), None
        return forward
    return make


LARGE = 100.0  # an input this large saturates a sigmoid or overflows an unguarded exp


def edge_features(names: Sequence[str], args: tuple) -> set[str]:
    """The edge cases one call's inputs hold, named by argument: sizes and values, never values'
    digits, e.g. ``{"x: axis 0 of size 1", "mask: all False", "n = 1", "Wx: very large"}``.

    A hidden check's edge cases must also be in the visible check (DESIGN.md); a test compares
    these features of the calls each makes. Arrays give an axis of size 1, emptiness, all zeros,
    very large values, a bool array (a mask) all False or with a row all False, and integer ids
    all equal; lists give lengths 0 and 1; numbers give 0 and 1.
    """
    features: set[str] = set()
    for name, value in zip(names, args):
        _edges(name, value, features)
    return features


def _edges(path: str, value, features: set[str]) -> None:
    if hasattr(value, "detach") and hasattr(value, "numpy"):  # a torch tensor
        value = value.detach().cpu().numpy()
    if hasattr(value, "to_data"):  # a course object that crosses to the kernel as its data
        value = value.to_data()
    if isinstance(value, dict):
        for key, item in value.items():
            _edges(f"{path}[{key!r}]", item, features)
    elif isinstance(value, (list, tuple)):
        if len(value) < 2:
            features.add(f"{path}: length {len(value)}")
        for k, item in enumerate(value[:1]):  # one element stands for a list of alike elements
            _edges(f"{path}[{k}]", item, features)
        for k, item in enumerate(value[1:], start=1):
            if not isinstance(value, list):  # a tuple's elements differ in kind: each its own
                _edges(f"{path}[{k}]", item, features)
    elif isinstance(value, (bool, np.bool_, int, np.integer, float, np.floating)):
        if value in (0, 1):
            features.add(f"{path} = {int(value)}")
    elif isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
        features.update(f"{path}: axis {k} of size 1" for k, size in enumerate(value.shape) if size == 1)
        if value.size == 0:
            features.add(f"{path}: empty")
        elif value.dtype.kind == "b":
            if not value.any():
                features.add(f"{path}: all False")
            elif value.ndim >= 2 and not value.reshape(len(value), -1).any(axis=1).all():
                features.add(f"{path}: a row all False")
        elif value.dtype.kind in "iu":
            if value.size > 1 and (value == value.flat[0]).all():
                features.add(f"{path}: all equal")
        elif not value.any():
            features.add(f"{path}: all zeros")
        elif np.max(np.abs(value)) >= LARGE:
            features.add(f"{path}: very large")


@dataclass(frozen=True)
class Exercise:
    """Everything the grader needs to know about one graded function."""

    assignment: str
    name: str
    points: float
    outputs: tuple[Output, ...]
    make_cases: Callable[[np.random.Generator], list[Case]]
    mistakes: tuple[Mistake, ...] = ()
    # What the function returns, as the docstring says it, for messages: "(h, cache)".
    returns: str = ""
    # Call the function under test on a case; replaced for properties such as reproducibility.
    call: Callable = staticmethod(lambda fn, args: fn(*args))
    # Must the function be computed by hand (no PyTorch, autograd, ...)? None: the notebook's
    # default (autograder/integrity.py); a by-hand function that delegates earns nothing.
    by_hand: bool | None = None
    # A student-side wrapper, imported by the notebook's setup cell, that the grade cell applies
    # in the kernel before the grader calls the function, e.g. "on_plain_data" for a function
    # that takes a PyTorch model, which cannot cross to the kernel; only arrays do.
    adapter: str = ""
    # The student's own graded functions this one calls, in order: the grade cell hands them
    # to the check after the function, and a case also passes when the function agrees with
    # the reference run over them (see OwnHelpers), so a helper's mistake costs its own part.
    calls: tuple[str, ...] = ()
    # For an exercise whose ``call`` checks properties computed with a helper (01's sample: the
    # distribution of its draws, from the step): the same call, the properties computed with
    # the student's own helpers instead, ``(fn, args, helpers by name) -> outputs``.
    call_over_own: Callable | None = None
    # For a ``call`` that calls the function more than once on inputs known before any answer
    # (01's sample: the case twice, for reproducibility, then many runs twice): the inputs of
    # every call of one case, in order, ``args -> [args, ...]``. The grader sends them to the
    # kernel ahead, in one request with the other cases'; without it, only each case's first call.
    calls_ahead: Callable[[tuple], list[tuple]] | None = None

    @property
    def seed(self) -> int:
        """A fixed seed per exercise, so the same submission always gets the same cases."""
        return zlib.crc32(f"{self.assignment}/{self.name}".encode())


class _Remembered:
    """A student's helper that answers the same inputs once: the reference run over it calls it
    again on inputs it has already seen (01's sampler runs twice with one seed, and once more
    to explain a failure), and each call is a round trip to the kernel.

    An answer is kept only for inputs that are plain data and that the call left as they were
    (a helper drawing from an ``rng`` it was given moves it on, and is called every time).
    """

    def __init__(self, fn: Callable):
        self.fn = fn
        self.__name__ = getattr(fn, "__name__", "helper")
        self.answers: dict[str, object] = {}

    def __call__(self, *args, **kwargs):
        key = _inputs_key(args, kwargs)
        if key in self.answers:
            return copy.deepcopy(self.answers[key])
        value = self.fn(*args, **kwargs)
        if key is not None and _inputs_key(args, kwargs) == key:
            self.answers[key] = copy.deepcopy(value)
        return value


def _inputs_key(args: tuple, kwargs: dict) -> str | None:
    """A digest of a call's inputs; None if any of them is not plain data (an object of which
    only the type would count)."""
    arrays: dict = {}
    tree = encode((args, kwargs), arrays)
    return None if _opaque(tree) else digest(tree, arrays)


def _opaque(node) -> bool:
    """Does a tree of ``encode`` hold an object that crossed as its type name only?"""
    if isinstance(node, dict):
        return "o" in node or any(_opaque(value) for value in node.values())
    return isinstance(node, list) and any(_opaque(item) for item in node)


@dataclass
class OwnHelpers:
    """The student's own functions that the graded function calls, and what grading over
    them found.

    A case the function fails against the reference is tried again against the reference
    run over these helpers (``rebind``): a correct sequence function over a wrong step then
    earns its points, and the step's mistake is charged to the step's part only. The helpers
    are called as the grader calls the function under test (in the sandbox: the kernel, on
    plain data), and everything is compared here. Nothing extra runs for a case that passes.
    """

    functions: dict[str, Callable]
    passed_over: int = 0  # cases passed only against the reference run over these helpers
    wrong: set[str] = field(default_factory=set)  # helpers seen to differ from the reference's

    def __post_init__(self):
        self.functions = {name: _Remembered(fn) for name, fn in self.functions.items()}

    def composed(self, exercise: Exercise, reference, case: Case, names: Sequence[str]) -> list | None:
        """The outputs of the reference run over the helpers ``names``; None if that fails
        (a helper that raises or returns garbage)."""
        ref_fn = rebind(getattr(reference, exercise.name), **{n: self.functions[n] for n in names})
        try:
            with _Quiet():
                return _pick(exercise, exercise.call(ref_fn, copy.deepcopy(case.args)))
        except Exception:
            return None

    def blame(self, exercise: Exercise, reference, case: Case, expected: list) -> None:
        """Note the helpers that, alone in the reference, make it go wrong on ``case``."""
        for name in self.functions:
            if name not in self.wrong and not _agree(
                    exercise, self.composed(exercise, reference, case, [name]), expected, case):
                self.wrong.add(name)

    def explains(self, exercise: Exercise, reference, case: Case, got: list, expected: list) -> bool:
        """Do the wrong outputs ``got`` agree with the reference run over the student's own
        helpers? Notes the helpers to blame either way."""
        composed = self.composed(exercise, reference, case, list(self.functions))
        if not _agree(exercise, composed, expected, case):  # some helper is wrong: which?
            if len(self.functions) > 1:
                self.blame(exercise, reference, case, expected)
            else:
                self.wrong.update(self.functions)
        if not _agree(exercise, got, composed, case):
            return False
        self.passed_over += 1
        if not self.wrong & set(self.functions):  # wrong only together: name them all
            self.wrong.update(self.functions)
        return True

    def explains_failure(self, exercise: Exercise, fn: Callable, reference, case: Case,
                         expected: list) -> bool:
        """Does ``fn``, failing a property of the case, pass it measured with the student's own
        helpers, as the reference run over them does? (Only with ``exercise.call_over_own``.)"""
        self.blame(exercise, reference, case, expected)
        if exercise.call_over_own is None or not self.wrong:
            return False
        ref_fn = rebind(getattr(reference, exercise.name), **self.functions)
        try:
            with _Quiet():
                want = _pick(exercise, exercise.call_over_own(ref_fn, copy.deepcopy(case.args), self.functions))
                got = _pick(exercise, exercise.call_over_own(fn, copy.deepcopy(case.args), self.functions))
        except Exception:
            return False
        if _agree(exercise, got, want, case):
            self.passed_over += 1
            return True
        return False

    def feedback(self, failed: bool) -> list[str]:
        """What the helpers did to this part's score, for ``Report.feedback``."""
        wrong = [n for n in self.functions if n in self.wrong]
        if not wrong:
            return []
        names = " and ".join(wrong)
        its, has = ("their", "have") if len(wrong) > 1 else ("its", "has")
        lines = []
        if self.passed_over:
            cases = f"{self.passed_over} case{'s' * (self.passed_over > 1)}"
            lines.append(f"  - {cases} graded over your own {names}, which {has} {its} own "
                         f"mistakes: see {its} part{'s' * (len(wrong) > 1)}; this part keeps "
                         "the points of those cases")
        if failed:
            lines.append(f"  - this part may also have lost points because of your {names}: "
                         f"see {its} part{'s' * (len(wrong) > 1)}")
        return lines


@dataclass
class Report:
    """The outcome of grading one function: passes out of cases, and what went wrong."""

    exercise: Exercise
    passed: int = 0
    total: int = 0
    problems: list[str] = field(default_factory=list)
    own: OwnHelpers | None = None  # the student's helpers it was also graded over, if handed

    @property
    def score(self) -> float:
        """Whole passes scaled to the exercise's points (the reference scores exactly full)."""
        if self.total == 0:
            return 0.0
        return round(self.exercise.points * self.passed / self.total, 2)

    def feedback(self) -> str:
        """A few lines for the student: the score, then each kind of problem once.

        The same mistake usually fails many cases; it is said once, with the first case's
        sizes and how many more cases failed the same way.
        """
        name = self.exercise.name
        lines = [f"{name}: {self.passed} of {self.total} hidden cases passed, "
                 f"{self.score:g} of {self.exercise.points:g} points."]
        groups: dict[tuple[str, str], list] = {}
        for problem in self.problems:
            text, _, hint = problem.partition(LIKELY)
            kind = (re.sub(r"\[[^\]]*\]$|\d+", "#", text.strip()), hint)  # sizes and indices vary
            groups.setdefault(kind, [text.strip(), hint, 0])[2] += 1
        for text, hint, count in list(groups.values())[:5]:
            more = f", and the same in {count - 1} more case{'s' * (count > 2)}" if count > 1 else ""
            lines.append(f"  - {text}{more}" + (f"{LIKELY}{hint}" if hint else ""))
        if len(groups) > 5:
            lines.append(f"  - ... and {len(groups) - 5} more kinds of problem")
        if self.own is not None:
            lines += self.own.feedback(failed=self.passed < self.total)
        return "\n".join(lines)


class _Quiet:
    """Swallow what the code under test prints or warns: output costs no points."""

    def __enter__(self):
        self._stack = contextlib.ExitStack()
        self._stack.enter_context(contextlib.redirect_stdout(io.StringIO()))
        self._stack.enter_context(contextlib.redirect_stderr(io.StringIO()))
        self._stack.enter_context(warnings.catch_warnings())
        warnings.simplefilter("ignore")
        self._stack.enter_context(np.errstate(all="ignore"))
        return self

    def __exit__(self, *exc):
        return self._stack.__exit__(*exc)


def _pick(exercise: Exercise, result) -> list:
    """The compared outputs of a returned value, or CheckFailure if it has the wrong form."""
    indexed = [o.index for o in exercise.outputs if o.index is not None]
    if not indexed:
        return [result]
    if not isinstance(result, (tuple, list)) or len(result) <= max(indexed):
        raise CheckFailure(f"{exercise.name} should return a tuple {exercise.returns}, "
                           f"got {type(result).__name__}")
    return [result[o.index] for o in exercise.outputs]


def _compare(outputs: Sequence[Output], got: list, expected: list, dims: dict) -> str | None:
    """The first problem with ``got`` against ``expected``, or None if every output matches."""
    for spec, value, want in zip(outputs, got, expected):
        array = as_array(spec.name, value)
        want = np.asarray(want, dtype=np.float64)
        problem = shape_problem(spec.name, array.shape, want.shape, spec.letters or None)
        if problem:
            sizes = ", ".join(f"{k}={dims[k]}" for k in spec.letters if k in dims)
            return problem + (f" [{sizes}]" if sizes and "=" not in problem else "")
        problem = value_problem(spec.name, array, want)
        if problem:
            return problem
    return None


def _agree(exercise: Exercise, got: list | None, want: list | None, case: Case) -> bool:
    """Do two sets of outputs agree (None, an output that could not be had, agrees with nothing)?"""
    if got is None or want is None:
        return False
    try:
        return _compare(exercise.outputs, got, want, case.dims) is None
    except CheckFailure:
        return False


def _diagnose(exercise: Exercise, reference, case: Case, got: list) -> str | None:
    """The hint of the first known mistake whose outputs match the student's, if any."""
    for mistake in exercise.mistakes:
        try:
            with _Quiet():
                wrong = _pick(exercise, exercise.call(mistake.make(reference), copy.deepcopy(case.args)))
            if _compare(exercise.outputs, got, wrong, case.dims) is None:
                return mistake.hint
        except Exception:  # a variant that cannot run on this case tells us nothing
            continue
    return None


def _diagnose_raise(exercise: Exercise, reference, case: Case, err: Exception) -> str | None:
    """The hint of the first known mistake that raises the same error on this case, if any."""
    for mistake in exercise.mistakes:
        try:
            with _Quiet():
                exercise.call(mistake.make(reference), copy.deepcopy(case.args))
        except Exception as wrong:
            same_text = NUMBER.sub("…", str(wrong))[:200] == NUMBER.sub("…", str(err))[:200]
            if type(wrong).__name__ == type(err).__name__ and same_text:
                return mistake.hint
    return None


def _named_arrays(names: Sequence[str], args: tuple) -> list[tuple[str, object]]:
    """Every argument by name, with a dict of parameters opened up into its entries."""
    named = []
    for name, value in zip(names, args):
        if isinstance(value, dict):
            named += [(f"{name}[{key!r}]", item) for key, item in value.items()]
        else:
            named.append((name, value))
    return named


def _modified_inputs(names: Sequence[str], given: tuple, pristine: tuple) -> list[str]:
    """The names of the array inputs that differ, after the call, from the inputs drawn."""
    after = dict(_named_arrays(names, given))
    return [
        name for name, before in _named_arrays(names, pristine)
        if isinstance(before, np.ndarray)
        and not (isinstance(after.get(name), np.ndarray) and after[name].shape == before.shape
                 and np.array_equal(after[name], before, equal_nan=True))
    ]


def run_case(exercise: Exercise, fn: Callable, reference, case: Case,
             own: OwnHelpers | None = None) -> str | None:
    """Grade one case: None if it passes, else a message for the student.

    With ``own``, a case whose outputs are wrong passes if they agree with the reference run
    over the student's own helpers.
    """
    ref_fn = getattr(reference, exercise.name)
    expected = _pick(exercise, exercise.call(ref_fn, copy.deepcopy(case.args)))
    given = copy.deepcopy(case.args)
    try:
        with _Quiet():
            result = exercise.call(fn, given)
    except NotImplementedError:
        return f"{exercise.name} is not implemented yet"
    except CheckFailure as failure:  # a property of the call itself failed (see Exercise.call)
        if own is not None and own.explains_failure(exercise, fn, reference, case, expected):
            return None
        return f"{failure} [{case.label}]"
    except Exception as err:  # the student's code raised: report it, never its traceback here
        if own is not None:
            own.blame(exercise, reference, case, expected)
        hint = _diagnose_raise(exercise, reference, case, err)
        return (f"{exercise.name} raised {type(err).__name__}: {str(err)[:200]} [{case.label}]"
                + (f"{LIKELY}{hint}" if hint else ""))
    names = list(inspect.signature(ref_fn).parameters)
    modified = _modified_inputs(names, given, case.args)
    if modified:
        return (f"{exercise.name} modified its input {', '.join(modified)} in place; "
                "compute new arrays instead of writing into the inputs")
    try:
        got = _pick(exercise, result)
        problem = _compare(exercise.outputs, got, expected, case.dims)
    except CheckFailure as failure:
        return str(failure)
    if problem is None or (own is not None and own.explains(exercise, reference, case, got, expected)):
        return None
    hint = _diagnose(exercise, reference, case, got)
    return f"{problem} [{case.label}]" + (f"{LIKELY}{hint}" if hint else "")


class _Recorded(BaseException):
    """Raised by :class:`_FirstCall` to stop a call as soon as its inputs are known."""


class _FirstCall:
    """Stands in for the function under test and records the inputs of its first call.

    A callable object, not a function, so that ``Exercise.call`` treats it as it treats the
    grader's stand-in for a student's function (no wrapping that a plain function gets).
    """

    def __init__(self, name: str):
        self.__name__ = name
        self.inputs: tuple[tuple, dict] | None = None

    def __call__(self, *args, **kwargs):
        self.inputs = (copy.deepcopy(args), copy.deepcopy(kwargs))
        raise _Recorded


def _first_calls(exercise: Exercise, cases: list[Case]) -> list[tuple[tuple, dict]]:
    """The inputs each case first calls the function with, in order (what can be sent ahead),
    or every call of the case when the exercise declares them (``Exercise.calls_ahead``).

    A call that depends on an earlier call's result (the next chunk) is not known ahead; it
    is sent when the check makes it.
    """
    calls = []
    for case in cases:
        if exercise.calls_ahead is not None:
            calls += [(copy.deepcopy(args), {}) for args in exercise.calls_ahead(case.args)]
            continue
        recorder = _FirstCall(exercise.name)
        try:
            with _Quiet():
                exercise.call(recorder, copy.deepcopy(case.args))
        except (_Recorded, Exception):  # stopped at the function, or failed before reaching it
            pass
        if recorder.inputs is not None:
            calls.append(recorder.inputs)
    return calls


def own_helpers(exercise: Exercise, helpers: Sequence[Callable]) -> OwnHelpers | None:
    """The student's helpers handed by a grade cell, by the names ``exercise.calls`` gives.

    None without helpers (a grade cell written before the exercise declared them, or a test
    grading the function alone): the function is then compared with the reference only.
    """
    if not helpers:
        return None
    if len(helpers) != len(exercise.calls):
        raise TypeError(f"{exercise.name} is graded with the functions it calls, "
                        f"{', '.join(exercise.calls) or 'none'}; the grade cell hands "
                        f"{len(helpers)} (run `python -m autograder release`)")
    return OwnHelpers(dict(zip(exercise.calls, helpers)))


def check(exercise: Exercise, fn: Callable, helpers: Sequence[Callable] = ()) -> Report:
    """Run every case of ``exercise`` on ``fn`` and return the report (prints nothing).

    ``helpers``: the student's own functions named by ``exercise.calls``, in that order.
    """
    report = Report(exercise, own=own_helpers(exercise, helpers))
    if not callable(fn):
        report.total = 1
        report.problems.append(f"{exercise.name} is not a function")
        return report
    reference = load_reference(exercise.assignment)
    cases = exercise.make_cases(np.random.default_rng(exercise.seed))
    prefetch = getattr(type(fn), "prefetch", None)  # the grader's stand-in for a kernel's function
    if prefetch is not None:  # every case's first call in one request, not one each
        prefetch(fn, _first_calls(exercise, cases))
    for case in cases:
        report.total += 1
        problem = run_case(exercise, fn, reference, case, report.own)
        if problem is None:
            report.passed += 1
        else:
            report.problems.append(problem)
    return report


def grade(exercise: Exercise, fn: Callable, *helpers: Callable) -> float:
    """Print the feedback for ``fn`` and return its score, for the last line of a grade cell.

    nbgrader records a number shown as a grade cell's result as that cell's partial credit.
    """
    report = check(exercise, fn, helpers)
    print(report.feedback())
    return report.score
