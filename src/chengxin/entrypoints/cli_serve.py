"""`chengxin serve | demo | score | scoring`: running the node. The API and portal with the scorer process
beside them, the demo marketplace, the full recount and rescore (`--follow`: what the scorer process runs), and
the scoring marks parked after failing (`scoring parked | release`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from chengxin.entrypoints.cli_common import FLAG, JsonOpt, _app, _print_json, err
from chengxin.exc import InvalidInput

if TYPE_CHECKING:
    from chengxin.bootstrap import Chengxin

serve_app = typer.Typer()  # added to the root without a name (`cli.py`): its commands are the root's
scoring_app = typer.Typer(help="Scoring marks parked after failing: list them, put them back in the queue.",
                          no_args_is_help=True)


@serve_app.command("serve")
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default CHENGXIN_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default CHENGXIN_PORT).")] = None,
    workers: Annotated[int | None, typer.Option(help="Server processes (default CHENGXIN_WORKERS).")] = None,
    scorer: Annotated[bool, typer.Option(help="Also run the scorer process that keeps points and scores "
                                              "current as events arrive (see `chengxin score --follow`).")] = True,
    detect_every: Annotated[float | None, typer.Option(
        help="Also run every detector (`chengxin detect`) whenever the last full run is this many hours old, "
             "queueing findings for review (default CHENGXIN_DETECT_EVERY_HOURS; 0: never).")] = None,
) -> None:
    """Serve the HTTP API (/v1, /docs) and the public portal (/)."""
    import uvicorn

    from chengxin.entrypoints.api.app import create_app

    cx = _app()
    cx.engine  # noqa: B018 - migrate before the first request, not during it
    _require_own_key(cx)
    bind: dict[str, Any] = {"host": host or cx.settings.host,
            # 0 is a port too (any free one): `port or …` served on the default 8000 instead
            "port": cx.settings.port if port is None else port, "log_level": "info",
            "access_log": False}
    count = workers or cx.settings.workers
    # its own process: scoring costs about as much CPU as ingesting, and beside the API it would halve it;
    # started again should it end while the server runs (it ended for good on its first error: found by review)
    follower = Supervised(_follow, name="chengxin-scorer")
    if scorer:
        follower.start()
    hours = cx.settings.detect_every_hours if detect_every is None else detect_every
    if hours < 0:
        raise InvalidInput(f"--detect-every: {hours} hours; give 0 (never) or more")
    detector = Supervised(_detect, name="chengxin-detector", args=(hours,), first_wait_s=60.0, most_wait_s=3600.0)
    if hours:
        detector.start()
    try:
        if count > 1:  # each process builds its own app from the same environment, and refuses a store gone
            uvicorn.run("chengxin.entrypoints.api.app:worker_app", factory=True, workers=count, **bind)
        else:
            uvicorn.run(create_app(cx), **bind)
    finally:
        follower.stop()  # a transaction cut short rolls back; its marks stay queued
        detector.stop()  # a run cut short stores nothing; its claim is released or goes stale


def _require_own_key(cx: Chengxin) -> None:
    """Refuse to serve a log whose newest head another signing key signed: the server would publish this key
    beside heads it did not sign (every signature check failing) and refuse every append (docs/credit-log.md)."""
    from chengxin.adapters.db.engine import read_connection
    from chengxin.services import credit_log

    with read_connection(cx.engine) as conn:
        credit_log.require_own_key(conn, cx.keys, cx.settings.log_origin)


def _follow() -> None:
    """The scorer process: keep standings current until terminated, in short transactions that give way
    to requests (`standing.follow`). At normal CPU priority: a scorer at low priority was preempted while
    it held the write lock, and requests waited for it (p99 34 ms against 16 ms at 1,000 events/s,
    `bench/bench_api.py`); its pauses bound its share of the cores when requests are arriving."""
    from chengxin.bootstrap import freeze_startup_objects
    from chengxin.services import standing

    app = _app()
    freeze_startup_objects()
    standing.follow(app, _UntilParentExits(), chunk=50)


def _detect(hours: float) -> None:
    """The detector process: every detector whenever the last full run is `hours` old (detect_schedule)."""
    from datetime import timedelta

    from chengxin.bootstrap import freeze_startup_objects
    from chengxin.services import detect_schedule

    app = _app()
    freeze_startup_objects()
    detect_schedule.follow(app, _UntilParentExits(), timedelta(hours=hours))


class Supervised:
    """A child process (spawned: a fresh interpreter) that a thread of this process starts again whenever it
    exits, until `stop`: after `first_wait_s`, twice as long after each next exit that came within a minute of
    its start (`most_wait_s` at most), at once again after one that ran longer."""

    def __init__(self, target: Any, *, name: str, args: tuple[Any, ...] = (), first_wait_s: float = 1.0,
                 most_wait_s: float = 60.0) -> None:
        import multiprocessing
        import threading

        self.target, self.name, self.args = target, name, args
        self.first_wait_s, self.most_wait_s = first_wait_s, most_wait_s
        self.starts = 0
        self._context = multiprocessing.get_context("spawn")
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._child: Any = None
        self._watcher = threading.Thread(target=self._watch, name=f"{name}-supervisor", daemon=True)

    def start(self) -> None:
        self._watcher.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop restarting, and end the child (SIGTERM)."""
        with self._lock:
            self._stopping.set()
            child = self._child
        if child is not None and child.is_alive():
            child.terminate()
            child.join(timeout)
        if self._watcher.is_alive():
            self._watcher.join(timeout)

    def _watch(self) -> None:
        import logging
        import time

        failures = 0
        while True:
            with self._lock:
                if self._stopping.is_set():
                    return
                child = self._context.Process(target=self.target, args=self.args, name=self.name, daemon=True)
                child.start()
                self._child, self.starts = child, self.starts + 1
            began = time.monotonic()
            child.join()
            if self._stopping.is_set():
                return
            failures = failures + 1 if time.monotonic() - began < 60 else 1
            wait = min(self.most_wait_s, self.first_wait_s * 2 ** (failures - 1))
            logging.getLogger("chengxin.serve").error("%s process exited (code %s); started again in %.0f s",
                                                      self.name, child.exitcode, wait)
            self._stopping.wait(wait)


class _UntilParentExits:
    """The scorer's stop signal: its parent (the server) is gone, however it ended (a killed server leaves
    no daemon child behind to clean up, so the child watches for itself)."""

    def __init__(self) -> None:
        import os

        self.parent = os.getppid()

    def is_set(self) -> bool:
        import os

        return os.getppid() != self.parent

    def wait(self, timeout: float) -> bool:
        import time

        time.sleep(timeout)
        return self.is_set()


@serve_app.command("demo")
def demo(
    port: Annotated[int | None, typer.Option(help="Port to serve on.")] = None,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Load the demo data and exit.")] = False,
) -> None:
    """Load the demo marketplace into the configured store, print demo API keys, and serve."""
    from chengxin.services.demo import load_demo

    cx = _app()
    summary = load_demo(cx)
    err.print(f"demo marketplace loaded: {summary['accepted']} new events ({summary['duplicates']} already there)")
    err.print(f"  simulated with planted dishonesty; ground truth in {summary['simulated']['truth']} "
              "(score detectors with `chengxin evaluate --truth` on it)", soft_wrap=True)
    err.print(f"  detectors found {summary['detected']['findings']:,} suspicions; "
              f"{summary['detected']['queued_for_review']:,} queued for review (`chengxin review list`)")
    members = ", ".join(f"{n} {name}" for name, n in summary["decided"]["list_members"].items())
    err.print(f"  a simulated case officer confirmed review items {summary['decided']['confirmed_items']}; "
              f"lists: {members} (`chengxin lists show black`, portal /lists/black)")
    for role, secret in summary["keys"].items():
        err.print(f"  {role} API key: {secret}", soft_wrap=True)
    if not no_serve:
        serve(host=None, port=port, workers=None)


@serve_app.command("score")
def score_cmd(
    follow: Annotated[bool, typer.Option("--follow", help="Instead: keep points and scores current as events "
                                                         "arrive, until interrupted (what `serve` runs).")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Recount every rating's credit points, refit rater reliability and rescore every party."""
    from chengxin.services import scoring, standing, standing_ledger

    cx = _app()
    if follow:
        import threading

        err.print("following the scoring queue; Ctrl-C to stop")
        try:
            standing.follow(cx, threading.Event())
        except KeyboardInterrupt:
            return
        return
    points = standing_ledger.rebuild(cx)
    scores = scoring.rebuild(cx)
    summary = {"ratings": points, "scores": scores}
    if as_json:
        _print_json(summary)
        return
    err.print(f"recounted {points['ratings']:,} ratings of {points['pairs']:,} buyer-seller pairs; "
              f"fitted {scores['raters']:,} raters; scored {scores['parties']:,} parties "
              f"({scores['changed']:,} changed): " + ", ".join(f"{g} {n:,}" for g, n in scores["grades"].items()))


@scoring_app.command("parked")
def scoring_parked_cmd(
    kind: Annotated[str | None, typer.Option(help="Only marks of this kind (pair, order, party, ...).")] = None,
    source: Annotated[str | None, typer.Option(help="Only marks naming an entity of this source.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """The scoring marks parked after failing alone: what each names, how often it failed, its last error.
    Exit 0 whether or not there are any (the count is on `/v1/health` too)."""
    from chengxin.services import scoring_failures

    rows = scoring_failures.parked(_app(), kind=kind, source=source)
    if as_json:
        _print_json(rows)
        return
    if not rows:
        err.print("no scoring marks are parked")
        return
    for r in rows:
        what = f"{r['a_source']} {r['a_id']}" + (f" by {r['b_source']} {r['b_id']}" if r["b_id"] else "")
        print(f"{r['failed_at']}  {r['kind']:<10} {what}  failed {r['failures']}x: {r['error']}")
    err.print(f"{len(rows):,} parked; `chengxin scoring release` puts them back in the queue once the cause is "
              "fixed")


@scoring_app.command("release")
def scoring_release_cmd(
    every: Annotated[bool, typer.Option("--all", metavar=FLAG, help="Release every parked mark.")] = False,
    kind: Annotated[str | None, typer.Option(help="Release the marks of this kind.")] = None,
    source: Annotated[str | None, typer.Option(help="Release the marks naming an entity of this source.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Put parked scoring marks back in the queue: the scorer (or `chengxin settle`) settles them, or parks
    them again after as many failures. Needs --all, --kind or --source."""
    from chengxin.services import scoring_failures

    if not (every or kind or source):
        raise InvalidInput("say which marks to release: --all, --kind or --source")
    released = scoring_failures.release(_app(), kind=kind, source=source)
    if as_json:
        _print_json({"released": released})
        return
    err.print(f"released {released:,} parked marks to the scoring queue; `chengxin settle` or the scorer settles "
              "them")

