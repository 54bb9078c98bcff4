"""The `chengxin …` examples of README.md and docs/*.md name real commands and options, give every required
option and argument, and the read-only ones run on a store of the events-v1 sample and exit 0 (placeholders
given the sample's values, `[...]` left out).

Found by review: docs/scoring.md's first example named a shop its source does not hold (exit 66), and
README's `records file N --kind appeal|repair` left out the required `--grounds` (exit 2).

An example is read as its docs write it: `[...]` optional, `a|b` alternatives (of a subcommand, an option
or a value), ` | ` and ` ; ` and `&&` between commands (a command after ` | ` may leave out `chengxin`),
`# …` a comment, UPPER-CASE words and `...`/`…` placeholders. In fenced code blocks an example is a whole
command line, so its required options must be there; an inline `chengxin …` span may name just a command
and some of its options.
"""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import pytest
import typer
from tests.e2e.cli import run
from typer.core import TyperArgument, TyperGroup, TyperOption
from typer.testing import CliRunner

from chengxin.entrypoints.cli import app

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
CLI = typer.main.get_command(app)
assert isinstance(CLI, TyperGroup)  # typer carries its own click: these are its classes
# Text that reads `chengxin <word>` without being a command: the key rotation statement's header line.
NOT_COMMANDS = ("chengxin signing-key rotation",)


@dataclass(frozen=True)
class Example:
    where: str  # file:line
    tokens: tuple[str, ...]  # after `chengxin`
    whole: bool  # a full command line (from a code block), not a mention in prose

    def __str__(self) -> str:
        return f"{self.where}: chengxin {' '.join(self.tokens)}"


def _blocks(text: str) -> list[tuple[int, str, bool]]:
    """(line number, text, whole) of each line of a fenced shell block, and of each inline code span."""
    out: list[tuple[int, str, bool]] = []
    fence: str | None = None
    for number, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith("```"):
            fence = None if fence is not None else line.strip("` ")
            continue
        if fence is not None:
            if fence in ("", "sh", "bash", "console", "shell"):
                out.append((number, line.split(" #", 1)[0] if not line.startswith("#") else "", True))
        else:
            out.extend((number, span, False) for span in re.findall(r"`([^`]+)`", line))
    return out


def _segments(text: str) -> list[str]:
    """The commands of one line: split at ` | `, ` ; `, `&&` and redirections; each keeps what follows it."""
    parts = re.split(r"\s+(?:\|\||\||;|&&)\s+", text)
    return [re.split(r"\s+[>]", p, maxsplit=1)[0].strip() for p in parts]


def examples() -> list[Example]:
    found: list[Example] = []
    for doc in DOCS:
        for number, text, whole in _blocks(doc.read_text(encoding="utf-8")):
            if "chengxin " not in text or any(n in text for n in NOT_COMMANDS):
                continue
            in_cli = False  # after a `chengxin` segment, a ` | ` segment starting with a command is one too
            for seg in _segments(text):
                m = re.match(r"(?:.*?\s)?(?:\S*/)?chengxin\s+(.*)$", seg)
                rest = m.group(1) if m else (seg if in_cli and seg.split(" ", 1)[0] in CLI.commands else None)
                if rest is None or rest.startswith(("-", ".")):
                    in_cli = False
                    continue
                in_cli = True
                try:
                    tokens = tuple(shlex.split(rest))
                except ValueError:  # an unclosed quote in prose: take words
                    tokens = tuple(rest.split())
                found.append(Example(f"{doc.relative_to(ROOT)}:{number}", tokens, whole))
    return found


EXAMPLES = examples()


def _resolve(ex: Example) -> list[tuple[typer.core.TyperCommand | TyperGroup, list[str]]]:
    """Each command an example names (an alternation `a|b` of subcommands names several), with the tokens left."""
    tokens = [t.strip("[]()") for t in ex.tokens]
    name = tokens[0]
    cmd = CLI.commands.get(name)
    assert cmd is not None, f"{ex}: no command {name!r}"
    if not isinstance(cmd, TyperGroup):
        return [(cmd, tokens[1:])]
    if len(tokens) == 1 or not re.fullmatch(r"[a-z][a-z-]*(\|[a-z][a-z-]*)*", tokens[1]):
        assert not ex.whole, f"{ex}: the group {name!r} needs a subcommand"
        return []
    subs = []
    for sub in tokens[1].split("|"):
        assert sub in cmd.commands, f"{ex}: {name} has no subcommand {sub!r}"
        subs.append((cmd.commands[sub], tokens[2:]))
    return subs


def _options(cmd: typer.core.TyperCommand | TyperGroup) -> set[str]:
    return {o for p in cmd.params if isinstance(p, TyperOption) for o in (*p.opts, *p.secondary_opts)} | {"--help"}


def test_the_docs_have_examples_of_every_kind():
    """The reader found what it should: code-block lines and inline mentions, README's list among them."""
    wheres = {e.where.split(":")[0] for e in EXAMPLES}
    assert {"README.md", "docs/scoring.md", "docs/lists.md", "docs/credit-log.md"} <= wheres
    assert sum(e.whole for e in EXAMPLES) > 40 and sum(not e.whole for e in EXAMPLES) > 40
    assert any(e.tokens[:2] == ("records", "file") and e.where.startswith("README") for e in EXAMPLES)


@pytest.mark.parametrize("ex", EXAMPLES, ids=str)
def test_each_example_names_a_command_and_its_options(ex: Example):
    """A command and subcommand that exist, only options they take, and (a whole command line) every
    required option and argument."""
    for cmd, rest in _resolve(ex):
        known = _options(cmd)
        given = {alt.split("=", 1)[0] for t in rest for alt in t.strip("[]()").split("|") if re.match(r"--?[a-z]", alt)}
        assert given <= known, f"{ex}: no option {sorted(given - known)} (has {sorted(known)})"
        if ex.whole:
            required = [p.opts[0] for p in cmd.params if isinstance(p, TyperOption) and p.required]
            missing = [o for o in required if not set(next(p for p in cmd.params if o in p.opts).opts) & given]
            assert not missing, f"{ex}: required {missing} left out"
            arguments = [p.name for p in cmd.params if isinstance(p, TyperArgument) and p.required]
            assert len(_positionals(cmd, rest)) >= len(arguments), f"{ex}: needs arguments {arguments}"


def _positionals(cmd: typer.core.TyperCommand | TyperGroup, rest: list[str]) -> list[str]:
    """The words of an example that are arguments: not an option nor an option's value, nor inside `[...]`."""
    takes_value = {o: not p.is_flag for p in cmd.params if isinstance(p, TyperOption)
                   for o in (*p.opts, *p.secondary_opts)}
    found: list[str] = []
    depth, value_next = 0, False
    for token in rest:
        bare = token.strip("[]()")
        if value_next:
            value_next = False
        elif re.match(r"--?[a-z]", bare):  # an option, or alternatives `--all|--kind K`: the last one's value next
            last = bare.split("|")[-1]
            value_next = "=" not in last and takes_value.get(last, False)
        elif depth == 0 and not token.startswith("["):
            found.append(bare)
        depth += token.count("[") - token.count("]")
    return found


# --- the examples that run on a store of the events-v1 sample -------------------------------------
READ_ONLY = {("party", "show"), ("party", "search"), ("audit", "verify"), ("lists", "show"), ("records", "show"),
             ("measures", "show"), ("measures", "feed"), ("commitments", "templates"), ("scoring", "parked"),
             ("keys", "list"), ("review", "list"), ("log", "keys")}


# What a placeholder stands for on a store of the events-v1 sample (shop S1 of platform P1, its operator
# 上海示例食品有限公司, dishonesty record 1 from its penalty).
SAMPLE_VALUES = {"ID": "S1", "SOURCE": "urn:cx:platform:P1", "NAME": "上海示例", "N": "1"}


def _filled(ex: Example) -> tuple[str, ...] | None:
    """A whole, read-only example as a user would type it on the sample store: `[...]` left out, the first of
    `a|b` alternatives, placeholders given `SAMPLE_VALUES`; None when it cannot run there as written."""
    if not ex.whole or tuple(ex.tokens[:2]) not in READ_ONLY:
        return None
    words, depth = [], 0
    for token in ex.tokens:
        if depth == 0 and not token.startswith("["):
            words.append(token.split("|")[0])
        depth += token.count("[") - token.count("]")
    filled = tuple(SAMPLE_VALUES.get(w, w) for w in words)
    return None if any(re.fullmatch(r"[A-Z][A-Z_]*|\.\.\.|…", w) for w in filled) else filled


RUNNABLE = [e for e in EXAMPLES if _filled(e) is not None]


@pytest.fixture(scope="module")
def sample_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    tmp = tmp_path_factory.mktemp("docs-examples")
    env = {"CHENGXIN_DATABASE_URL": f"sqlite:///{tmp}/x.db", "CHENGXIN_KEYS_FILE": str(tmp / "keys.json")}
    run({**os.environ, **env}, "ingest", str(ROOT / "spec" / "sample-v1.jsonl"))  # as a user loads it
    return env


def test_the_examples_that_run_are_many():
    """The README's list of read-only commands runs, placeholders filled; nothing is left out by mistake."""
    ran = {e.tokens[:2] for e in RUNNABLE}
    assert {("party", "show"), ("party", "search"), ("records", "show"), ("measures", "show"),
            ("audit", "verify"), ("lists", "show")} <= ran


@pytest.mark.parametrize("ex", RUNNABLE, ids=str)
def test_each_runnable_example_runs_on_the_sample(ex: Example, sample_env: dict[str, str]):
    """In this process (typer's runner; a subprocess each took 2.5 s): as `chengxin ARGS` with the store's
    environment, exit 0 and no error."""
    args = _filled(ex)
    assert args is not None
    done = CliRunner().invoke(app, list(args), env=sample_env)
    assert done.exit_code == 0 and done.exception is None, f"{ex}: as `chengxin {' '.join(args)}`: " \
        f"exit {done.exit_code}: {done.exception!r} {done.output[-500:]}"
