"""What README.md and docs/*.md tell a reader to type, open or import exists as written: every
``turnmem ...`` command parses, every ``--flag`` is some parser's, every ``make`` target is in the
Makefile, every repository path and link resolves, every named Python object imports, and the
defaults the text quotes are the code's. The audit these checks belong to is docs/promises.md."""

from __future__ import annotations

import argparse
import ast
import importlib
import re
import shlex
from pathlib import Path

import pytest
import tomllib

from eval.answers import AnswerConfig
from eval.cli import build_parser
from eval.report import ANSWER_COLUMNS, SUMMARY_COLUMNS
from eval.strategies import get_strategy
from memory.read.config import AssembleConfig
from memory.read.reader import READ_WAIT_S
from memory.service.limits import MAX_BATCH, MAX_CANDIDATES, MAX_MMR_CANDIDATES, MAX_PAGE, ServiceLimits
from memory.stores import parse_location
from memory.stores.postgres.bm25 import K1, SCAN_BELOW, B
from memory.stores.postgres.vectors import HNSW_MIN_ROWS
from memory.write.chunking import Chunker
from memory.write.index_sync import IndexSync
from memory.write.indexer import BATCH_CHUNKS, EXIT_WAIT_S, NICENESS

ROOT = Path(__file__).resolve().parents[1]
# docs/promises.md is the audit itself: it quotes the other pages, placeholders and false lines included
DOCS = [ROOT / "README.md", *sorted(p for p in (ROOT / "docs").glob("*.md") if p.name != "promises.md")]
PACKAGES = ("memory", "indexers", "retrievers", "eval", "benchmarks", "tests", "docs", "examples", "notebooks")


def doc_text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def code_blocks(text: str, lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", text, flags=re.S)


def inline_code(text: str) -> list[str]:
    """Backticked spans outside fenced blocks."""
    prose = re.sub(r"```.*?```", "", text, flags=re.S)
    return re.findall(r"`([^`\n]+)`", prose)


def shell_lines(text: str) -> list[str]:
    """Each command of the bash blocks, continuation lines joined, comments and a trailing ``&`` dropped."""
    out: list[str] = []
    for block in code_blocks(text, "bash"):
        for line in block.replace("\\\n", " ").splitlines():
            line = re.sub(r"\s#.*$", "", line).strip().removesuffix("&").strip()
            if line and not line.startswith("#"):
                out.append(line)
    return out


def commands(prefix: str) -> list[tuple[str, str]]:
    """(document, command) for every command starting with ``prefix``, in blocks and in inline code."""
    found = []
    for path in DOCS:
        text = doc_text(path)
        for inline, lines in ((False, shell_lines(text)), (True, inline_code(text))):
            for line in lines:
                line = re.sub(r"^(OMP_NUM_THREADS=\S+\s+)", "", line).removeprefix(".venv/bin/")
                # inline, `turnmem <word>` is a command only when the word is one (not a strategy's label)
                if line.startswith(prefix) and not (inline and prefix == "turnmem " and line.split()[1] not in SUBS):
                    found.append((path.name, line))
    return found


SUBS = {"demo", "eval", "reindex", "serve", "namespace-indexes"}
TURNMEM = commands("turnmem ")


def test_the_docs_show_the_commands_these_checks_read() -> None:
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    assert set(sub.choices) == SUBS
    assert len(TURNMEM) >= 8 and {c.split()[1] for _, c in TURNMEM} >= {"serve", "eval", "reindex"}


@pytest.mark.parametrize(("doc", "command"), TURNMEM, ids=[f"{d}:{c[:40]}" for d, c in TURNMEM])
def test_every_turnmem_command_in_the_docs_parses(doc: str, command: str) -> None:
    argv = shlex.split(command)[1:]
    if len(argv) == 1 or "..." in argv:  # prose naming a subcommand (`turnmem eval`, `turnmem eval ... --out`)
        argv = [a for a in argv if a != "..."] + (["chat"] if argv[0] == "eval" else [])
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # argparse's way of refusing a command line
        pytest.fail(f"{doc}: `{command}` does not parse ({exc})")
    assert callable(args.func)


def parser_options() -> set[str]:
    """Every option string of the CLI's subcommands and of the benchmark scripts."""
    opts: set[str] = set()
    parser = build_parser()
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    for sub in subs:
        for p in sub.choices.values():
            opts.update(o for a in p._actions for o in a.option_strings)
    for script in (ROOT / "benchmarks").glob("*.py"):
        opts.update(re.findall(r"""["'](--[a-z][a-z0-9-]*)["']""", script.read_text(encoding="utf-8")))
    return opts


def test_every_flag_the_docs_name_is_a_real_option() -> None:
    opts = parser_options()
    named: set[tuple[str, str]] = set()
    for path in DOCS:
        text = doc_text(path)
        spans = inline_code(text) + shell_lines(text)
        for span in spans:
            if span.startswith(("pip ", "docker ", "make ", "pytest", "python -m pytest")):
                continue
            named.update((path.name, f) for f in re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", span))
    assert len(named) > 30
    missing = sorted((doc, f) for doc, f in named if f not in opts)
    assert not missing, f"flags the docs name that no parser has: {missing}"


def test_every_make_target_the_docs_name_is_in_the_makefile() -> None:
    makefile = doc_text(ROOT / "Makefile")
    targets = set(re.findall(r"^([a-z][a-z-]*):", makefile, flags=re.M))
    named = {c.split()[1] for _, c in commands("make ") if len(c.split()) > 1}
    assert named >= {"demo", "test", "test-fast", "install", "eval"}
    assert named <= targets, f"targets not in the Makefile: {named - targets}"
    # `make install TORCH_INDEX=...` sets a variable the recipe reads
    assert "TORCH_INDEX ?=" in makefile and "--index-url $(TORCH_INDEX)" in makefile


def test_every_benchmark_script_the_docs_run_exists_with_its_flags() -> None:
    runs = commands("python benchmarks/")
    assert len(runs) >= 10
    for doc, run in runs:
        script = ROOT / run.split()[1]
        assert script.is_file(), f"{doc}: {run}"
        source = doc_text(script)
        for flag in re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", run):
            assert f'"{flag}"' in source, f"{doc}: {script.name} has no {flag}"


def repo_paths(text: str) -> set[str]:
    links = re.findall(r"\]\(([^)#\s]+)", text)
    spans = inline_code(text)
    paths = {p for p in links if not p.startswith("http")}
    for span in spans:
        for token in re.findall(rf"(?:^|[\s(])((?:{'|'.join(PACKAGES)})/[\w./<>*-]*)", " " + span):
            paths.add(token)
    return paths


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_repository_path_and_link_resolves(doc: Path) -> None:
    missing = []
    for raw in sorted(repo_paths(doc_text(doc))):
        path = raw.rstrip(".,;:)")
        if "<" in path or "*" in path:  # a pattern (`~/.cache/turnmem/onnx/<hash>/`), not a file
            continue
        base = doc.parent if not path.startswith(PACKAGES) or doc.parent != ROOT / "docs" else ROOT
        target = (base / path) if (base / path).exists() else ROOT / path
        if not target.exists():
            missing.append(path)
    assert not missing, f"{doc.name} names paths that do not exist: {missing}"


NAMED_OBJECTS = [
    "memory.Memory.open",
    "memory.Memory.add",
    "memory.Memory.assemble",
    "memory.Memory.since",
    "memory.Memory.flush",
    "memory.Memory.close",
    "memory.Memory.rebuild_index",
    "memory.Memory.set_state",
    "memory.Memory.set_state_machine",
    "memory.Memory.transition",
    "memory.Memory.tool_calls",
    "memory.Memory.state_history",
    "memory.Memory.summarize",
    "memory.Client",
    "memory.AsyncClient",
    "memory.StateMachine",
    "memory.RollingSummary",
    "memory.ChatSummarizer",
    "memory.Context.to_openai",
    "memory.Context.to_anthropic",
    "memory.errors.Conflict",
    "memory.errors.IdempotencyConflict",
    "memory.errors.InvalidTransition",
    "memory.errors.IndexingFailed",
    "memory.errors.IndexMismatch",
    "memory.errors.BudgetTooSmall",
    "memory.errors.NotFound",
    "memory.errors.TimedOut",
    "memory.embedders.embedder_named",
    "memory.embedders.SentenceTransformerEmbedder",
    "memory.embedders.OpenAIEmbedder",
    "memory.embedders.CachedEmbedder",
    "memory.embedders.onnx.OnnxEmbedder",
    "memory.tokens.BpeOpenAICounter",
    "memory.tokens.HFTokenizerCounter",
    "memory.service.app.create_app",
    "memory.service.app.KeyRing",
    "memory.service.process.ServerProcess",
    "memory.integrations.langchain.TurnmemChatMessageHistory",
    "indexers.FaissIndex",
    "indexers.ChromaIndex",
    "indexers.open_index",
    "indexers.faiss_index.IndexFileWarning",
    "retrievers.query.QueryAnalysis",
    "eval.run",
    "eval.register",
    "eval.load_locomo",
    "eval.RunResult.plot",
    "eval.RunResult.misses",
    "eval.strategies.plain_config",
    "eval.answers.AnswerConfig",
    "eval.metrics.token_f1",
    "eval.metrics.exact_match",
    "eval.metrics.is_refusal",
    "eval.synthetic_chat.generate",
    "eval.synthetic_chat.GENERATOR_VERSION",
    # docs/architecture.md's module table
    "memory.tokens.count_message",
    "memory.write.chunking.Chunker",
    "memory.stores.base.Store",
    "memory.stores.postgres.PgVectorIndex",
    "memory.write.index_sync.IndexSync",
    "memory.service.common.NAME",
    "memory.service.common.Creds",
    "memory.service.common.ContextRequest",
    "memory.service.common.build_context",
    "memory.validation.check_budget",
    "memory.validation.check_query",
    "memory.validation.check_name",
    "memory.validation.apply_overrides",
    "memory.session.state.StateBlock",
    "memory.embedders.default_embedder",
    "retrievers.DenseRetriever",
    "retrievers.FTSRetriever",
    "retrievers.BM25sRetriever",
    "retrievers.HybridRetriever",
    "retrievers.RecencyScorer",
    "retrievers.base.TextSearcher",
]


def resolve(dotted: str) -> object:
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj: object = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(dotted)


@pytest.mark.parametrize("dotted", NAMED_OBJECTS)
def test_every_object_the_docs_name_imports(dotted: str) -> None:
    name = dotted.rsplit(".", 1)[-1]
    assert any(name in doc_text(p) for p in DOCS), f"{name} is no longer in the docs: drop it here"
    assert resolve(dotted) is not None


def test_the_service_defaults_the_readme_quotes_are_the_parsers() -> None:
    serve = build_parser().parse_args(["serve"])
    readme = doc_text(ROOT / "README.md")
    assert serve.port == 8080 and "http://127.0.0.1:8080" in readme and serve.host == "127.0.0.1"
    assert serve.max_request_bytes == 8 * 1024 * 1024 and "(default 8 MiB)" in readme
    assert serve.embed_batch == 128 and "`--embed-batch` texts (128)" in readme
    assert serve.embed_timeout == 60 and "`--embed-timeout` seconds (60)" in readme
    limits = ServiceLimits()
    assert (limits.max_request_bytes, limits.embed_batch, limits.embed_timeout) == (8 << 20, 128, 60)
    assert MAX_BATCH == 1000 and "at most 1,000 messages" in readme
    assert MAX_PAGE == 1000 and "(N <= 1000)" in readme
    assert (MAX_CANDIDATES, MAX_MMR_CANDIDATES) == (256, 128)
    assert "`candidates` <= 256, and <= 128 with `mmr_lambda`" in readme
    assert (limits.max_waiting, limits.max_waiting_per_namespace) == (64, 16)
    assert serve.max_waiting is None and "`--max-waiting` (64)" in readme  # None: the ServiceLimits default
    assert "`--max-waiting-per-namespace` (16)" in readme


def test_the_assembly_defaults_the_docs_quote_are_the_codes() -> None:
    c = AssembleConfig()
    readme, arch = doc_text(ROOT / "README.md"), doc_text(ROOT / "docs" / "architecture.md")
    assert c.window_gap_hours == 6 and "`window_gap_hours` (6 h)" in readme and "`window_gap_hours` (6 h)" in arch
    assert c.candidates_per_token == 0.25 and c.candidates == 64 and "a quarter of the\n  budget, at least 64" in readme
    assert c.neighbors == 0.35 and "`neighbors` (0.35)" in arch
    assert c.mmr_lambda is None and "(`mmr_lambda`, off)" in arch
    assert c.fusion == "weighted" and 'fusion="weighted"' in arch
    assert c.lexical_names is False and "(`lexical_names=False`)" in arch
    # docs/ablation.md section 7: the translated weights and the chosen person prior
    assert (c.recency_weight, c.time_weight, c.session_weight, c.speaker_weight, c.answer_type_weight) == (
        0.1,
        0.45,
        0.25,
        0.35,
        0.3,
    )
    assert c.person_weight == 1.0 and c.window_max_messages is None
    assert c.query_turns == 2 and c.query_turns_weight == 0.3  # "the last two turns ... (30 %" in ablation.md


def test_the_write_path_constants_the_docs_quote_are_the_codes() -> None:
    arch = doc_text(ROOT / "docs" / "architecture.md")
    readme = doc_text(ROOT / "README.md")
    assert BATCH_CHUNKS == 64 and "a\n   batch of up to 64" in arch
    assert IndexSync.__init__.__kwdefaults__["persist_every"] == 5000 and "every 5,000 chunks" in arch
    assert Chunker.__init__.__defaults__[0] == 200 and "`max_tokens` (200)" in arch
    assert NICENESS == 10 and "(niceness 10)" in readme
    assert EXIT_WAIT_S == 30 and "gives the indexer 30 s" in readme
    assert READ_WAIT_S == 2.0 and "read_wait_s=2.0)" in readme and "`--read-wait` seconds (2)" in readme


def test_the_postgres_thresholds_the_readme_quotes_are_the_codes() -> None:
    prose = re.sub(r"\s+", " ", doc_text(ROOT / "README.md"))
    assert HNSW_MIN_ROWS == 5000 and "searched exactly within a namespace below 5,000 messages" in prose
    assert (K1, B) == (1.2, 0.75) and "the same BM25 (k1 1.2, b 0.75" in prose
    assert SCAN_BELOW == 50_000 and "under 50,000 chunks" in prose and "hence the 50,000 threshold" in prose
    # `Memory.open("postgresql://...")  # or postgres://`; a folder path stays the embedded store
    assert parse_location("postgres://u@h/db").kind == parse_location("postgresql://u@h/db").kind == "postgres"
    assert parse_location("./memdata").kind == "sqlite"


def requirement_names(values: list[str]) -> set[str]:
    return {re.split(r"[<>=\[ ]", v, maxsplit=1)[0].lower() for v in values}


def test_why_each_dependency_names_exactly_the_distributions_pyproject_lists() -> None:
    project = tomllib.loads(doc_text(ROOT / "pyproject.toml"))["project"]
    declared = requirement_names(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        declared |= requirement_names(extra)
    readme = doc_text(ROOT / "README.md")
    table = readme.split("## Why each dependency\n", 1)[1].split("\n## ", 1)[0]
    named: set[str] = set()
    for row in re.findall(r"^\| ([^|]+) \|", table, flags=re.M)[1:]:  # after the header
        names = re.sub(r"\([^)]*\)", "", row).replace("`", "")
        named |= {re.sub(r"\[.*\]", "", n).strip().lower() for n in names.split(",") if n.strip()}
    assert declared - named == set(), "in pyproject.toml, not explained in the README"
    assert named - declared == set(), "explained in the README, not in pyproject.toml"


def test_the_inspector_page_loads_nothing_from_another_host() -> None:
    """README, "Inspector": no build step, no CDN, no web fonts, so it works offline."""
    static = ROOT / "memory" / "service" / "ui" / "static"
    files = sorted(static.iterdir())
    assert {f.suffix for f in files} == {".html", ".css", ".js"}
    for f in files:
        text = f.read_text(encoding="utf-8")
        assert not re.search(r"(?:src|href)\s*=\s*[\"'](?:https?:)?//", text), f.name
        assert not re.search(r"""(?:import|from)\s*\(?\s*["'](?:https?:)?//""", text), f.name
        assert "@font-face" not in text and "@import url(" not in text.replace(" ", ""), f.name


def test_the_inspector_keeps_the_key_in_the_tab_and_never_writes_html() -> None:
    """README, "Inspector": the key is kept "in that tab only, in `sessionStorage`", and "the page
    sets stored text as text (never as HTML)"."""
    static = ROOT / "memory" / "service" / "ui" / "static"
    scripts = {f.name: f.read_text(encoding="utf-8") for f in static.glob("*.js")}
    code = "\n".join(scripts.values())
    assert "sessionStorage.setItem(KEY" in code
    for sink in ("localStorage", "document.cookie", "indexedDB", "innerHTML", "outerHTML", "insertAdjacentHTML",
                 "document.write"):  # fmt: skip
        assert sink not in code, sink


def test_the_eval_defaults_the_docs_quote_are_the_parsers() -> None:
    ev = build_parser().parse_args(["eval", "chat"])
    answers, chatset = doc_text(ROOT / "docs" / "answers.md"), doc_text(ROOT / "docs" / "chatset.md")
    assert ev.concurrency == 8 and "| `--concurrency 8` |" in answers
    assert ev.retries == 4 and "(`--retries`, default 4)" in answers and "| `--retries 4` |" in answers
    assert (ev.answer_prompt, ev.judge_prompt) == ("answer_v1", "judge_v1")
    assert ev.images == "caption" and "LoCoMo's default `--images caption`" in answers
    assert ev.base_url == "https://api.openai.com/v1" and ev.api_key_env == "OPENAI_API_KEY"
    assert (ev.seed, ev.users, ev.sessions) == (7, 4, 30)
    assert "default 4" in chatset and "default 30 per user" in chatset
    assert ev.turns == 2000  # `turnmem eval synthetic --turns 2000` is the default spelled out
    cfg = AnswerConfig(answer_model="m", judge_model="m")
    assert cfg.answer_max_tokens == 100 and "(`max_tokens` 100)" in answers
    assert cfg.refusal_prompt == "judge_refusal_v1" and "eval/prompts/judge_refusal_v1.txt" in answers


def test_the_csv_columns_the_docs_list_are_the_reports() -> None:
    readme, answers = doc_text(ROOT / "README.md"), doc_text(ROOT / "docs" / "answers.md")
    assert f"(`{','.join(SUMMARY_COLUMNS)}`,\nplus ranking metrics)" in readme
    listed = re.findall(r"`(answer_\w+)`", readme.split("### Answer accuracy", 1)[1].split("\n## ", 1)[0])
    assert tuple(dict.fromkeys(c for c in listed if c != "answer_j_vs_tokens")) == ANSWER_COLUMNS
    table = answers.split("## Outputs", 1)[1].split("\n## ", 1)[0]
    assert tuple(re.findall(r"^\| `(\w+)` \|", table, flags=re.M)) == ANSWER_COLUMNS


def imports_of(package: str) -> set[tuple[str, str]]:
    """(module file, imported module) for every import in ``package``, function-level ones included."""
    found = set()
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found |= {(str(path.relative_to(ROOT)), a.name) for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add((str(path.relative_to(ROOT)), node.module))
    return found


def test_dependencies_point_one_way() -> None:
    """docs/architecture.md: `eval -> memory -> retrievers -> indexers`; `memory.models` and
    `memory.errors` everywhere; nothing in indexers/ or retrievers/ knows SQLite, HTTP or the eval."""
    shared = ("memory.errors", "memory.models")
    ours = ("memory", "indexers", "retrievers", "eval", "benchmarks", "tests")
    allowed = {
        "indexers": ("indexers",),
        "retrievers": ("retrievers", "indexers"),
        "memory": ("memory", "indexers", "retrievers"),
    }
    bad = []
    for package, may in allowed.items():
        for where, mod in imports_of(package):
            top = mod.split(".")[0]
            if top in ours and top not in may and mod not in shared:
                bad.append((where, mod))
            outside = top in ("sqlite3", "httpx", "fastapi", "psycopg") or mod.startswith("memory.stores")
            if package != "memory" and outside:
                bad.append((where, mod))
    assert not bad, bad


def test_turnmem_generic_is_the_default_without_the_locomo_shaped_priors() -> None:
    """README, "Retrieval results": `turnmem-generic` is the default "without the speaker prior,
    without taking names out of the lexical query and without the "when" prior"."""
    generic = get_strategy("turnmem-generic")
    assert generic.overrides == {"speaker_weight": 0.0, "lexical_names": True, "answer_type_weight": 0.0}
    assert "`turnmem without LoCoMo-shaped priors` (`turnmem-generic`)" in doc_text(ROOT / "README.md")


def test_every_extra_the_docs_install_is_in_pyproject() -> None:
    extras = set(tomllib.loads(doc_text(ROOT / "pyproject.toml"))["project"]["optional-dependencies"])
    named = {e for p in DOCS for e in re.findall(r"turnmem\[(\w+)\]", doc_text(p))}
    named |= set(re.findall(r"`(\w+)` extras?", doc_text(ROOT / "README.md")))
    assert {"postgres", "langchain"} <= named and named <= extras, named - extras
