"""The ``hopscout`` command line: ingest, search, eval, calibrate, bench, demo, collections, delete.

Built on Typer (typed options, help text and shell completion from the function signatures)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer
from typer.core import TyperGroup

from .errors import CollectionNotFoundError, HopscoutError, InvalidArgumentError, StoreNotFoundError

# hopscout.settings' vocabularies, written out: importing settings (pydantic) costs a one-shot command more than
# the quick lexical search itself (tests/unit/test_quick_search_settings.py checks they match)
SEARCH_MODES = ("dense", "lexical", "hybrid")
AUGMENT_POLICIES = ("never", "always", "auto")

app = typer.Typer(add_completion=False, no_args_is_help=True, help="hopscout: retrieval for LLM agents.")

CollectionOpt = typer.Option(
    None, "--collection", "-c", help="Collection (default: HOPSCOUT_COLLECTION or 'default')."
)
HomeOpt = typer.Option(None, "--home", help="Store location (default: HOPSCOUT_HOME or ~/.hopscout).")
JsonOpt = typer.Option(False, "--json", help="Print one JSON object instead of a table.")
_MODE_NAMES = f"{', '.join(SEARCH_MODES[:-1])} or {SEARCH_MODES[-1]}"  # "dense, lexical or hybrid"


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"hopscout {version('hopscout')}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print hopscout's version and exit."
    ),
) -> None:
    """hopscout: retrieval for LLM agents."""


def _err(message: str) -> None:
    typer.secho(message, fg=typer.colors.RED, err=True)


def _settings(home: Path | None = None) -> Any:
    from .settings import load_settings

    return load_settings() if home is None else load_settings(home=home)


def _scout(home: Path | None = None, *, existing: bool = False) -> Any:
    """A Scout on ``home``; ``existing``: the command only reads, so a home with no store is an error (rather
    than an empty store created there)."""
    from .scout import Scout

    settings = _settings(home)
    embedded = settings.store == "chroma" and settings.chroma_url is None
    if existing and embedded and not (settings.home / "chroma").exists():
        flag = f" --home {home}" if home is not None else ""
        raise StoreNotFoundError(
            f"no hopscout store at {settings.home}: index something first (`hopscout ingest PATH{flag}`), "
            "or point --home / HOPSCOUT_HOME at an existing one"
        )
    return Scout(settings)


def _where(text: str | None) -> Any:
    """A ``--where`` JSON filter, or a one-line error saying what is wrong with it."""
    if not text:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidArgumentError(
            f"--where is not valid JSON ({exc.msg} at character {exc.pos}): give an object such as "
            '\'{"lang": "en"}\''
        ) from None
    if not isinstance(value, dict):
        raise InvalidArgumentError(
            f'--where must be a JSON object such as \'{{"lang": "en"}}\', got {type(value).__name__}'
        )
    return value


@app.command()
def ingest(
    path: Path = typer.Argument(..., help="File or folder to index."),
    collection: str | None = CollectionOpt,
    home: Path | None = HomeOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Index a file or folder (text, Markdown, HTML, PDF, code). Re-runs skip unchanged files."""
    from tqdm import tqdm

    scout = _scout(home)
    quiet = as_json or not sys.stderr.isatty()
    with (
        tqdm(total=0, unit="file", desc="reading", disable=quiet) as files_bar,
        tqdm(total=0, unit="chunk", desc="embedding", disable=quiet) as chunks_bar,
    ):

        def follow(bar: Any) -> Any:
            def update(done: int, total: int) -> None:
                bar.total = total
                bar.n = done
                bar.refresh()

            return update

        report = scout.ingest(
            path, collection=collection, progress=follow(chunks_bar), parsed=follow(files_bar)
        )
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2))
        return
    typer.echo(
        f"added {len(report.added)}, replaced {len(report.replaced)}, unchanged {len(report.unchanged)}, "
        f"removed {len(report.removed)} files; {report.chunks} chunks written"
    )
    for failed, reason in report.failed.items():
        _err(f"failed {failed}: {reason}")
    for reason, paths in _by_reason(report.skipped).items():
        shown = ", ".join(Path(p).name for p in paths[:5]) + (
            f" and {len(paths) - 5} more" if len(paths) > 5 else ""
        )
        _err(f"skipped {len(paths)} file{'s' if len(paths) != 1 else ''}, {reason}: {shown}")
    seen = report.added or report.replaced or report.unchanged or report.removed or report.failed
    if not seen and not report.skipped:
        from .ingest.loaders import SUPPORTED_SUFFIXES

        _err(
            f"nothing to index in {path}: no files with a supported type ({' '.join(sorted(SUPPORTED_SUFFIXES))})"
        )


def _by_reason(skipped: Any) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for path, reason in skipped.items():
        grouped.setdefault(reason, []).append(path)
    return grouped


@app.command()
def search(
    query: str | None = typer.Argument(
        None, help="What to look for; - (or nothing, with text piped in) reads it from stdin."
    ),
    k: int = typer.Option(5, "--k", "-k", help="How many results."),
    mode: str | None = typer.Option(
        None,
        "--mode",
        help=f"{_MODE_NAMES} (default hybrid). lexical is BM25 alone: no model loaded, no confidence printed.",
    ),
    where: str | None = typer.Option(
        None, "--where", help='Metadata filter as JSON, e.g. \'{"lang": "en"}\'.'
    ),
    hops: int = typer.Option(1, "--hops", help="Multi-hop retrieval: 2 or more hops (no LLM call)."),
    operator: str | None = typer.Option(
        None, "--operator", help="Hop operator (default HOPSCOUT_HOP_OPERATOR)."
    ),
    collection: str | None = CollectionOpt,
    home: Path | None = HomeOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Search a collection."""
    query = _query(query)
    filters = _where(where)
    hits = None
    if mode == "lexical" and filters is None and hops == 1 and operator is None:
        from .lexical.quick_search import quick_lexical_search  # no Chroma, pydantic or model to import

        hits = quick_lexical_search(query, k, collection=collection, home=home)
    if hits is None:
        scout = _scout(home, existing=True)
        lexical = (mode or scout.settings.search_mode) == "lexical"
        hits = scout.search(
            query,
            k,
            where=filters,
            mode=mode,
            collection=collection,
            hops=hops,
            hop_operator=operator,
            confidence=not lexical,  # prints as the quick lexical search does, which computes no estimate
        )
    _print_hits(query, hits, as_json)


def _print_hits(query: str, hits: list[Any], as_json: bool) -> None:
    """A search's hits as a table (or one JSON object): the quick lexical search and the full one print here."""
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "query": query,
                    "confidence": hits[0].confidence if hits else None,
                    # metadata keys sorted: Chroma returns them in no fixed order (a hash map's)
                    "hits": [{**h.to_dict(), "metadata": dict(sorted(h.metadata.items()))} for h in hits],
                },
                indent=2,
                ensure_ascii=False,
            )
        )
        return
    if not hits:
        typer.echo("no results")
    elif hits[0].confidence is not None:
        level = (
            "likely"
            if hits[0].confidence >= 0.6
            else "uncertain"
            if hits[0].confidence >= 0.3
            else "unlikely"
        )
        typer.echo(f"confidence {hits[0].confidence:.2f}: the top hit is {level} to be relevant")
    for rank, hit in enumerate(hits, 1):
        where_from = hit.source or hit.id
        heading = hit.metadata.get("heading")
        hop = f" (hop {hit.hop} from {hit.parent})" if hit.hop > 1 else ""
        typer.secho(
            f"{rank}. [{hit.score:.3f}"
            + (f", relevance {hit.relevance:.2f}" if hit.relevance is not None else "")
            + f"] {where_from}"
            + (f" › {heading}" if heading else "")
            + hop,
            bold=True,
        )
        text = " ".join(hit.text.split())
        typer.echo(f"   {text[:300]}{'…' if len(text) > 300 else ''}")


def _query(query: str | None) -> str:
    """The query argument, or stdin's text for ``-`` (or no argument with text piped in)."""
    if query is not None and query != "-":
        return query
    if query is None and sys.stdin.isatty():
        raise InvalidArgumentError('give a query: hopscout search "what to look for" (or - to read stdin)')
    return sys.stdin.read().strip()


class _EvalGroup(TyperGroup):
    """``hopscout eval``: one command per suite, and the legacy form ``hopscout eval DIR [flags]`` routed to the
    suite its flags name (``--hops N>1``/``--hop-oracle``, ``--confidence``, ``--augment``, ``--tools``, else
    retrieval), so scripts written against the single command keep working."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:  # a (vendored) click Context
        if args and args[0] not in self.commands and args[0] not in ctx.help_option_names:
            args = _legacy_eval_args(args)
        return super().parse_args(ctx, args)


def _legacy_eval_args(args: list[str]) -> list[str]:
    """``DIR [flags]`` → ``SUITE DIR [flags]``: the suite the old single command ran for these flags (the same
    precedence), its selecting flag (``--tools``, ``--confidence``) dropped."""
    rest = [a for a in args if a not in ("--tools", "--confidence")]
    hops = next((a.split("=", 1)[1] for a in args if a.startswith("--hops=")), None)
    at = args.index("--hops") if "--hops" in args else -1
    if 0 <= at < len(args) - 1:
        hops = args[at + 1]
    if "--hop-oracle" in args or (hops is not None and (not hops.isdigit() or int(hops) > 1)):
        return ["multihop", *rest]
    if hops is not None:  # --hops 1 (the old default) means a single-shot suite: it has no such option
        rest = [
            a
            for i, a in enumerate(rest)
            if not a.startswith("--hops=") and a != "--hops" and not (i > 0 and rest[i - 1] == "--hops")
        ]
    if "--confidence" in args:
        return ["confidence", *rest]
    if any(a == "--augment" or a.startswith("--augment=") for a in args):
        return ["augment", *rest]
    if "--tools" in args:
        return ["tools", *rest]
    return ["retrieval", *rest]


eval_app = typer.Typer(
    cls=_EvalGroup,
    no_args_is_help=True,
    help="Measure quality and latency on a BEIR-like folder (corpus.jsonl, queries.jsonl, qrels.tsv), one "
    "command per suite. The legacy form `hopscout eval DIR [--tools|--confidence|--augment P|--hops N] ...` "
    "runs the suite its flags name.",
)
app.add_typer(eval_app, name="eval")

FolderArg = typer.Argument(..., help="BEIR-like folder: corpus.jsonl, queries.jsonl, qrels.tsv.")
LimitOpt = typer.Option(None, "--limit", help="Evaluate only the first N judged queries.")


def _eval_scout(home: Path | None) -> tuple[Any, Any]:
    """The settings and a Scout on ``HOME/eval``: evaluations never touch the user's collections."""
    base = _settings(home)
    return base, _scout(base.home / "eval")


def _log(msg: str) -> None:
    typer.echo(msg, err=True)


@eval_app.command("retrieval")
def eval_retrieval(
    folder: Path = FolderArg,
    modes: str = typer.Option(",".join(SEARCH_MODES), "--modes", help="Comma-separated search modes."),
    limit: int | None = LimitOpt,
    ingest_sample: int = typer.Option(
        256, "--ingest-sample", help="Docs timed for ingest throughput (0: skip)."
    ),
    poison: bool = typer.Option(
        False,
        "--poison",
        help="Add the attack suite: families of passages built from half the queries, measured on the other half "
        "(share of queries they reach in the top 5 / at rank 1).",
    ),
    home: Path | None = HomeOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Quality (nDCG@10, recall, all@10, MRR) and latency of each search mode, with baselines, in one run."""
    from .evaluation.harness import format_report, run_eval

    _, scout = _eval_scout(home)
    report = run_eval(
        folder,
        scout,
        modes=[m.strip() for m in modes.split(",") if m.strip()],
        limit=limit,
        ingest_sample=ingest_sample,
        log=_log,
    )
    if poison:
        from .evaluation.poison_eval import add_passage_poison, format_passage_poison

        add_passage_poison(report, folder, scout, limit, _log)
        if not as_json:
            typer.echo(format_passage_poison(report))
            report["results"].pop("poison")
            report["results"].pop("clean_flagged")
    typer.echo(json.dumps(report, indent=2) if as_json else format_report(report))


@eval_app.command("tools")
def eval_tools(
    folder: Path = FolderArg,
    views: Path | None = typer.Option(
        None,
        "--views",
        help='JSONL of {"_id": tool, "requests": [...]}: views of the tools, registered with them.',
    ),
    caller_queries: Path | None = typer.Option(
        None, "--caller-queries", help='JSONL of {"_id": qid, "queries": [...]} searched per query.'
    ),
    llm: bool = typer.Option(False, "--llm", help="Add LLM-generated queries (HOPSCOUT_LLM_BASE_URL)."),
    llm_limit: int = typer.Option(100, "--llm-limit", help="With --llm: queries given to the LLM (0: all)."),
    expand: bool = typer.Option(False, "--expand", help="Add LLM-written requests per tool."),
    poison: bool = typer.Option(
        False,
        "--poison",
        help="Add the attack suite: families of hostile tools built from half the queries, measured on the other "
        "half, each leave-one-family-out.",
    ),
    extra_tools: list[Path] = typer.Option(
        [],
        "--extra-tools",
        help="Another tool set's folder (corpus.jsonl) registered beside this one as honest servers, each tool "
        "under its metadata.server; repeatable.",
    ),
    pool: list[Path] = typer.Option(
        [],
        "--pool",
        help="Another tool set's folder whose tools (its queries ignored) join this set's catalog as untrusted "
        "servers; every row is reported pooled, beside results.alone (this set without the pool), with hit@5 and "
        "find_tools:any (an entry relevant when any of its grouped tools is gold); repeatable.",
    ),
    names: bool = typer.Option(
        False,
        "--names",
        help="Add results.names: each tool of the catalog (the pool's with --pool) asked for by its exact name "
        "and by a unique partial name, the share found at rank 1.",
    ),
    limit: int | None = typer.Option(
        None, "--limit", help="Evaluate only the first N judged queries (with --names: ask at most N tools)."
    ),
    home: Path | None = HomeOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Tool retrieval: find_tools beside dense and BM25 baselines."""
    from .evaluation.tools import format_tool_report, run_tool_eval
    from .llm import LLMClient

    base, scout = _eval_scout(home)
    client = LLMClient.from_settings(base) if (llm or expand) else None
    if (llm or expand) and client is None:
        raise typer.BadParameter("--llm and --expand need an LLM endpoint: set HOPSCOUT_LLM_BASE_URL")
    report = run_tool_eval(
        folder,
        scout,
        llm=client if llm else None,
        expand=expand,
        expand_llm=client,
        caller_queries=caller_queries,
        views=views,
        limit=limit,
        llm_limit=llm_limit or None,
        poison=poison,
        extra_tools=extra_tools,
        pool=pool,
        names=names,
        log=_log,
    )
    typer.echo(json.dumps(report, indent=2) if as_json else format_tool_report(report))


@eval_app.command("multihop")
def eval_multihop(
    folder: Path = FolderArg,
    hops: int = typer.Option(
        2, "--hops", help="Hops per search (at least 2): every hop operator beside single-shot modes."
    ),
    hop_oracle: bool = typer.Option(False, "--hop-oracle", help="The operator diagnostic (MRR, hit@10)."),
    operators: str | None = typer.Option(
        None, "--operators", help="Comma-separated operators (default: all)."
    ),
    fills: str = typer.Option("0.3", "--fills", help="Comma-separated shares of slots later hops fill."),
    lowercase: bool = typer.Option(
        False, "--lowercase", help="On a lower-cased copy of the set (no capitalisation cues)."
    ),
    limit: int | None = LimitOpt,
    home: Path | None = HomeOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Multi-hop: every hop operator beside single-shot modes, at K=10 and K=5."""
    from .evaluation.multihop_eval import format_multihop, run_multihop_eval

    _, scout = _eval_scout(home)
    report = run_multihop_eval(
        folder,
        scout,
        operators=[o.strip() for o in operators.split(",")] if operators else None,
        fills=[float(f) for f in fills.split(",")],
        hops=max(hops, 2),
        oracle=hop_oracle,
        limit=limit,
        lowercase=lowercase,
        log=_log,
    )
    typer.echo(json.dumps(report, indent=2) if as_json else format_multihop(report))


@eval_app.command("augment")
def eval_augment(
    folder: Path = FolderArg,
    policies: str = typer.Option(
        ",".join(AUGMENT_POLICIES),
        "--policies",
        "--augment",
        help=f"{'|'.join(AUGMENT_POLICIES)}, checked (all three, plus the oracle, are measured).",
    ),
    augmenters: list[str] | None = typer.Option(
        None, "--augmenter", help="Augmenter(s) to measure (default rocchio and rm3)."
    ),
    mode: str = typer.Option("hybrid", "--mode", "--augment-mode", help=f"{_MODE_NAMES}."),
    recorded: Path | None = typer.Option(
        None,
        "--recorded",
        help="Recorded LLM outputs (JSONL keyed by query id) replayed as the LLM, and as the agent's "
        "expansion= text for the expansion augmenter.",
    ),
    limit: int | None = LimitOpt,
    home: Path | None = HomeOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Query augmentation: never, always, the gate (auto) and the oracle, per augmenter."""
    from .augment import check_policy
    from .evaluation.augment_eval import format_augment_report, run_augment_eval
    from .llm import LLMClient

    for policy in policies.split(","):
        check_policy(policy.strip())
    base, scout = _eval_scout(home)
    names = [n.strip() for name in (augmenters or ["rocchio", "rm3"]) for n in name.split(",") if n.strip()]
    report = run_augment_eval(
        folder,
        scout,
        augmenters=names,
        mode=mode,
        limit=limit,
        llm=LLMClient.from_settings(base),
        recorded=recorded,
        log=_log,
    )
    typer.echo(json.dumps(report, indent=2) if as_json else format_augment_report(report))


@eval_app.command("confidence")
def eval_confidence(
    folder: Path = FolderArg,
    limit: int | None = LimitOpt,
    home: Path | None = HomeOpt,
    as_json: bool = JsonOpt,
) -> None:
    """How well the confidence estimates tell found from not found (AUROC, ECE)."""
    from .evaluation.confidence_eval import format_confidence_report, run_confidence_eval

    _, scout = _eval_scout(home)
    report = run_confidence_eval(folder, scout, limit=limit, log=_log)
    typer.echo(json.dumps(report, indent=2) if as_json else format_confidence_report(report))


def _gate_line(row: dict[str, Any]) -> str:
    ndcg, held, cascade = row["ndcg@10"], row["held_out_gain"], row.get("cascade")
    what = f"{row['augmenter']} {row['kind']} ({row['mode']}, {row['source']})"
    if cascade is not None:
        what += (
            f": augments below confidence {cascade['below']:.2f}, keeps the augmented list at margin "
            f"{cascade['keep_margin']:+.2f}, drops it at {cascade['drop_margin']:+.2f} below agreement "
            f"{cascade['drop_agreement']:.2f}"
        )
    line = (
        f"stored {what}; augments {100 * row['augmented']:.0f}% of {row['queries']} queries; nDCG@10 never "
        f"{100 * ndcg['never']:.1f}, always {100 * ndcg['always']:.1f}, {row['kind']} {100 * ndcg['gate']:.1f} "
        "(on the fit set)"
    )
    if held is not None:
        line += f"; held-out gain {100 * held:+.2f} per query"
        if row["never"]:
            line += f" (not above zero: the {row['kind']} never augments)"
    return line


@app.command()
def calibrate(
    folder: Path = typer.Argument(
        ..., help="Labelled dev set (BEIR-like) whose corpus is in the collection."
    ),
    augment: bool = typer.Option(
        False,
        "--augment",
        help="Also fit auto's augmentation decision (stored likewise): the cascade for the LLM augmenters "
        "(on the confidence models fitted first), the gate for PRF.",
    ),
    augmenters: list[str] | None = typer.Option(
        None,
        "--augmenter",
        help="With --augment: augmenter(s) to fit a gate for (default HOPSCOUT_AUGMENTER).",
    ),
    collection: str | None = CollectionOpt,
    home: Path | None = HomeOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Fit the hybrid fusion weight and the confidence estimates (with --augment also auto's augmentation
    decision: the cascade's threshold and margins for an LLM augmenter, the gate for PRF) on labelled queries;
    store them with the collection."""
    from .calibration import ConfidenceFit, calibrate_first_retrieval
    from .evaluation.datasets import load_dataset

    dataset = load_dataset(folder)
    scout = _scout(home)
    qids = dataset.judged_queries
    queries, qrels = [dataset.queries[q] for q in qids], [dataset.qrels[q] for q in qids]
    # the cascade's threshold is read on the collection's confidence: fit those first, then the cascade on them
    first = calibrate_first_retrieval(scout, queries, qrels, collection=collection)
    fit, conf, conf_lexical = first.fusion, first.confidence, first.confidence_lexical
    result: dict[str, Any] = {
        "collection": collection or scout.settings.collection,
        "fusion_weight": fit.weight,
        "queries": fit.queries,
        "ndcg@10_by_weight": {str(w): v for w, v in fit.ndcg_by_weight.items()},
        "confidence": {
            "calibrated": conf.calibrated,
            "held_out_brier": conf.held_out_brier,
            "default_brier": conf.default_brier,
        },
        "confidence_lexical": {
            "calibrated": conf_lexical.calibrated,
            "held_out_brier": conf_lexical.held_out_brier,
            "default_brier": conf_lexical.default_brier,
        },
        "dropped_gates": list(first.dropped_gates),
    }

    def kept(fit: ConfidenceFit, which: str) -> str:
        verdict = f"stored {which} fitted here" if fit.calibrated else f"kept the shipped {which}"
        return (
            f"{verdict} (held-out Brier {fit.held_out_brier:.3f} vs {fit.default_brier:.3f} for the defaults)"
        )

    lines = [
        (
            f"stored lexical weight {fit.weight} (nDCG@10 {100 * fit.ndcg_by_weight[fit.weight]:.1f} on "
            f"{fit.queries} queries); {kept(conf, 'confidence models')}; "
            f"{kept(conf_lexical, 'lexical search confidence models')}"
        )
    ]
    if augment:
        import dataclasses

        from .augment import Cascade
        from .calibration import calibrate_augment

        fits = [
            calibrate_augment(scout, queries, qrels, augmenter=name, collection=collection)
            for name in (augmenters or [scout.settings.augmenter])
        ]
        rows = [
            {
                "augmenter": f.augmenter,
                "mode": f.mode,
                "queries": f.queries,
                "augmented": f.augmented,
                "kind": "cascade" if isinstance(f.gate, Cascade) else "gate",
                "source": f.gate.source,
                "cascade": dataclasses.asdict(f.gate) if isinstance(f.gate, Cascade) else None,
                "held_out_gain": f.gate.held_out_gain,
                "never": f.never,
                "ndcg@10": {"never": f.ndcg_never, "always": f.ndcg_always, "gate": f.ndcg_gate},
            }
            for f in fits
        ]
        result["gates"] = rows
        lines.extend(_gate_line(r) for r in rows)
    from .augment.gate import gate_key

    refitted = {gate_key(r["augmenter"], r["mode"]) for r in result.get("gates", [])}
    if stale := [key for key in first.dropped_gates if key not in refitted]:
        lines.append(
            f"dropped the augmentation decisions fitted on the previous weight or confidence ({', '.join(stale)}): "
            "run `hopscout calibrate --augment --augmenter NAME` to refit them"
        )
    typer.echo(json.dumps(result, indent=2) if as_json else "\n".join(lines))


@app.command("train-hop")
def train_hop(
    folders: list[Path] = typer.Argument(
        ..., help="Folders with chains.jsonl + corpus.jsonl (multihop train sets)."
    ),
    arch: str = typer.Option("learned", "--arch", help="learned (residual MLP) or treehop (TreeHop's gate)."),
    epochs: int = typer.Option(8, "--epochs", help="Passes over the chains."),
    out: Path | None = typer.Option(
        None, "--out", help="Weights file (default: under HOPSCOUT_HOME/hop_weights)."
    ),
    home: Path | None = HomeOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Train a hop operator for the configured embedder on question chains (CPU, minutes)."""
    from .hop import train_hop as run_training
    from .hop import trained_weights_path

    scout = _scout(home)
    target = out or trained_weights_path(arch, scout.embedder.id, scout.settings.home)
    card = run_training(
        scout.embedder, folders, arch, target, epochs=epochs, log=lambda m: typer.echo(m, err=True)
    )
    typer.echo(
        json.dumps(card, indent=2)
        if as_json
        else f"saved {card['weights']} ({card['bytes'] / 1e6:.2f} MB) in {card['encode_seconds']} s encoding + "
        f"{card['train_seconds']} s training; held-out oracle MRR {card['held_out_oracle'][arch]['mrr']:.3f} "
        f"vs query alone {card['held_out_oracle']['query_alone']['mrr']:.3f}"
    )


@app.command("train-orders")
def train_orders(
    data: Path = typer.Option(
        Path("../shared/data"), "--data", help="Folder holding tools/ and text/ (the honest sets)."
    ),
    out: Path | None = typer.Option(
        None, "--out", help="Weights file (default: the one shipped in the package)."
    ),
    report: bool = typer.Option(
        False, "--report", help="Also fit leave-one-out: recall per held-out family and per held-out set."
    ),
    as_json: bool = JsonOpt,
) -> None:
    """Refit the detector of text addressed to the agent on every honest set and order family (CPU, a minute)."""
    from .evaluation.orders_train import fit_detector, leave_one_out
    from .orders import SHIPPED
    from .resources import package_path

    figures = leave_one_out(data, log=lambda m: typer.echo(m, err=True)) if report else {}
    detector = fit_detector(data)
    target = out or package_path("orders") / SHIPPED
    detector.save(target)
    summary = {"weights": str(target), "threshold": detector.threshold, **figures}
    typer.echo(
        json.dumps(summary, indent=2) if as_json else f"saved {target} (threshold {detector.threshold:.3f})"
    )


@app.command()
def collections(home: Path | None = HomeOpt, as_json: bool = JsonOpt) -> None:
    """List collections with their size (in chunks) and embedder."""
    scout = _scout(home, existing=True)
    infos = scout.collections()
    if as_json:
        typer.echo(json.dumps([info.to_dict() for info in infos], indent=2))
        return
    if not infos:
        _err(f"no collections in {scout.settings.home}: add some with `hopscout ingest PATH`")
    for info in infos:
        typer.echo(f"{info.name}\t{info.count} chunks\t{info.embedder}")


@app.command()
def delete(
    ids: list[str] = typer.Argument(None, help="Document (chunk) ids to delete."),
    where: str | None = typer.Option(None, "--where", help="Delete documents matching this JSON filter."),
    drop: bool = typer.Option(False, "--drop", help="Delete the whole collection (asks to confirm)."),
    yes: bool = typer.Option(False, "--yes", "-y", help="With --drop: do not ask to confirm."),
    collection: str | None = CollectionOpt,
    home: Path | None = HomeOpt,
) -> None:
    """Delete documents (by id or filter), or with --drop a whole collection."""
    filters = _where(where)
    if drop and (ids or filters):
        raise InvalidArgumentError(
            "--drop deletes the whole collection and takes no ids or --where; leave out --drop to delete "
            "only those documents"
        )
    if not drop and not ids and not filters:
        raise InvalidArgumentError(
            "say what to delete: document ids, --where FILTER, or --drop for the whole collection"
        )
    scout = _scout(home, existing=True)
    name = collection or scout.settings.collection
    if drop:
        info = next((i for i in scout.collections() if i.name == name), None)
        if info is None:
            raise CollectionNotFoundError(
                f"no collection {name!r} in {scout.settings.home}: `hopscout collections` lists them"
            )
        count = info.count
        if not yes:
            if not sys.stdin.isatty():
                raise InvalidArgumentError(
                    f"--drop deletes collection {name!r} ({count} chunks): add --yes to confirm"
                )
            typer.confirm(f"Delete collection {name!r} and its {count} chunks?", abort=True)
        scout.drop_collection(name)
        typer.echo(f"dropped collection {name!r} ({count} chunks)")
        return
    removed = scout.delete(ids or None, where=filters, collection=collection)
    missing = f" ({len(ids) - removed} of the {len(ids)} ids not found)" if ids and removed < len(ids) else ""
    typer.echo(f"deleted {removed} chunks from {name!r}{missing}")


@app.command()
def demo(home: Path | None = HomeOpt) -> None:
    """Index the bundled sample corpus into an embedded store and run a few searches."""
    from .demo import run_demo

    run_demo(_scout(home), echo=typer.echo)


@app.command()
def bench(
    sizes: str = typer.Option(
        "10000,100000,1000000",
        "--sizes",
        help="Comma-separated collection sizes (chunks) for the growth table.",
    ),
    queries: int = typer.Option(200, "--queries", help="Timed queries per size."),
    catchup: str = typer.Option(
        "10000,100000",
        "--catchup",
        help="Collection sizes for the two-process run on a `chroma run` server ('' skips it).",
    ),
    catchup_added: int = typer.Option(10_000, "--catchup-added", help="Chunks process A adds in that run."),
    write_load: float = typer.Option(
        0.0,
        "--write-load",
        help="Also time each size's searches while another process adds this many chunks a second, and how long a "
        "write takes to show in search (0 skips it).",
    ),
    write_seconds: float = typer.Option(30.0, "--write-seconds", help="How long that writer runs per size."),
    tools: str = typer.Option(
        "",
        "--tools",
        help="Comma-separated tool-catalog sizes: bench find_tools and registration over pooled real tools "
        "(DATA/tools) instead of the growth run.",
    ),
    data: Path = typer.Option(
        Path("../shared/data"), "--data", help="Folder of evaluation sets to draw texts from."
    ),
    home: Path | None = HomeOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Growth (build, search p50/p95 per mode, memory, disk per size), ingest throughput, and a second process's
    catch-up on a Chroma server; latency as ratios to the raw encoder measured in the same run. With --tools:
    find_tools p50/p95 per catalog size beside the plain hybrid search and the query encode, and registration
    time per 1,000 tools."""
    from .bench import format_bench, run_bench

    def sizes_of(text: str, option: str) -> list[int]:
        try:
            values = [int(s) for s in text.split(",") if s.strip()]
        except ValueError:
            raise InvalidArgumentError(
                f"{option} takes comma-separated whole numbers, got {text!r}"
            ) from None
        if any(v < 1 for v in values):
            raise InvalidArgumentError(f"{option} sizes must be positive, got {text!r}")
        return values

    if write_load < 0 or write_seconds <= 0:
        raise InvalidArgumentError("--write-load must be 0 or more and --write-seconds more than 0")
    base = _settings(home)
    if tools.strip():
        from .bench.tools_bench import format_tool_bench, run_tool_bench

        tool_report = run_tool_bench(
            base.home / "bench",
            data,
            sizes_of(tools, "--tools"),
            queries,
            log=lambda m: typer.echo(m, err=True),
        )
        typer.echo(json.dumps(tool_report, indent=2) if as_json else format_tool_bench(tool_report))
        return
    report = run_bench(
        base.home / "bench",
        data,
        sizes_of(sizes, "--sizes"),
        queries,
        catchup_bases=sizes_of(catchup, "--catchup"),
        catchup_added=catchup_added,
        log=lambda m: typer.echo(m, err=True),
        write_load=write_load,
        write_seconds=write_seconds,
    )
    typer.echo(json.dumps(report, indent=2) if as_json else format_bench(report))


# -- hopscout router review: the quarantine of the tool router (hopscout.tools.pins) ---------------------------

router_app = typer.Typer(
    no_args_is_help=True,
    help="The tool router's quarantine: upstream tools held for a person's review (`hopscout serve --upstream`).",
)
app.add_typer(router_app, name="router")


@router_app.command("review")
def router_review(
    action: str | None = typer.Argument(None, help="approve or reject (none: list the held tools)."),
    key: str | None = typer.Argument(None, help='The held tool, "server/tool".'),
    home: Path | None = HomeOpt,
    collection: str | None = typer.Option(
        None,
        "--collection",
        "-c",
        help="The router's tool catalog (default: HOPSCOUT_TOOLS_COLLECTION or 'tools').",
    ),
    as_json: bool = JsonOpt,
) -> None:
    """List the tools the router holds (orders to the agent, invisible characters, a definition changed since it
    was pinned), or approve one (its definition is pinned; the router offers it from its next request) or reject
    one (it stays out until its server sends another definition). A person's decision: the router offers no way
    for an agent to approve a tool, since the tools held are those that address the agent."""
    from .tools.pins import PinStore

    settings = _settings(home)
    name = collection or settings.tools_collection
    store = PinStore.under(settings.home)
    if action is None:
        held = store.held(name)
        if as_json:
            typer.echo(json.dumps([pin.to_dict() for pin in held.values()], indent=2))
            return
        if not held:
            typer.echo(f"no tools held for review in catalog {name!r} ({store.path})")
        for pin in held.values():
            typer.echo(_held_text(pin))
        return
    if action not in ("approve", "reject") or not key:
        raise InvalidArgumentError(
            "usage: hopscout router review [approve KEY | reject KEY] (without arguments: list the held tools)"
        )
    pin = store.review(name, key, approve=action == "approve")
    if as_json:
        typer.echo(json.dumps(pin.to_dict(), indent=2))
        return
    done = (
        "approved and pinned: the router offers it from its next request"
        if action == "approve"
        else ("rejected: it stays held until its server sends another definition")
    )
    typer.echo(f"{key}: {done}")


def _held_text(pin: Any) -> str:
    """One held tool for a reviewer: key, status, why, what changed, and the held definition (non-ASCII
    escaped, so an invisible character shows)."""
    lines = [f"{pin.key}\t{pin.status}\t{', '.join(pin.reasons)}"]
    if pin.definition is not None and pin.pending_definition is not None:
        old, new = pin.definition, pin.pending_definition
        fields = sorted(f for f in {*old, *new} if old.get(f) != new.get(f))
        lines.append(f"  changed since pinned: {', '.join(fields)}")
    held = json.dumps(pin.pending_definition, indent=2, ensure_ascii=True)
    lines += ["  " + line for line in held.splitlines()]
    lines.append(
        f"  approve: hopscout router review approve {pin.key}   reject: hopscout router review reject {pin.key}"
    )
    return "\n".join(lines)


COMMANDS_GROUP = "hopscout.commands"  # entry points of installed faces: a name → a main(argv, prog=...)


def _register_face_commands() -> None:
    """Add the commands installed faces declare (``serve``: the MCP server) without importing them: the core
    never imports a face, and a face's dependencies load only when its command runs."""
    from importlib.metadata import entry_points

    for entry in entry_points(group=COMMANDS_GROUP):
        app.command(
            entry.name,
            context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
            add_help_option=False,
            help=f"Run {entry.value} (`hopscout {entry.name} --help`: its flags).",
        )(_face_command(entry))


def _face_command(entry: Any) -> Any:
    def run(ctx: typer.Context) -> None:
        entry.load()(ctx.args, prog=f"hopscout {entry.name}")

    return run


_register_face_commands()


def main(argv: list[str] | None = None) -> None:
    """Console entry point. Every mistake a user can make (a bad option, a bad ``HOPSCOUT_*`` value, a missing
    store, any hopscout error) prints one ``error:`` line and exits 2; nothing is half-done."""
    try:
        code = app(args=argv, prog_name="hopscout", standalone_mode=False)
    except typer.Abort:
        _err("aborted: nothing was changed")
        sys.exit(1)
    except typer.TyperException as exc:  # Typer's (vendored Click's) usage errors: bad option, bad value
        if type(exc).__name__ == "NoArgsIsHelpError":
            exc.show()  # type: ignore[attr-defined]
            sys.exit(exc.exit_code)
        ctx = getattr(exc, "ctx", None)
        hint = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
        _err(f"error: {exc.format_message()}{hint}")
        sys.exit(getattr(exc, "exit_code", 2))
    except HopscoutError as exc:
        _err(f"error: {exc}")
        sys.exit(2)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
