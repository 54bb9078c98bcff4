"""Typed settings, read from `CHENGXIN_*` environment variables (and nothing at import time).

`Settings()` is built by `bootstrap.py`; nothing else reads the environment. Every setting has a comment
saying what it is for; `docs/settings.md` lists them and a test checks that it does.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

# The demo's log name. Signed notes name their log: two nodes both signing as this one could have their heads
# and proofs taken for each other's, so outside demo mode a node must name its own (`log_origin`).
DEMO_LOG_ORIGIN = "chengxin.local/credit-log"


class Settings(BaseSettings):
    """Everything configurable about a Chengxin node."""

    model_config = SettingsConfigDict(env_prefix="CHENGXIN_", extra="ignore")

    # Where the store lives: SQLite (embedded default) or `postgresql+psycopg://...`.
    database_url: str = "sqlite:///./var/chengxin.db"
    # `demo` generates missing keys into `keys_file`; `production` refuses to start without every key set.
    env: Literal["demo", "production"] = "demo"
    # Demo-mode key file (created with mode 0600 on first use). Ignored in production.
    keys_file: Path = Path("./var/demo-keys.json")
    # AES-256-GCM key (base64, 32 bytes) that encrypts resident ID numbers at rest.
    pii_key: str | None = None
    # HMAC-SHA256 key (base64, exactly 32 bytes) for keyed hashes: identity linking and event content hashes.
    index_key: str | None = None
    # Ed25519 private key (base64 of the 32-byte seed) that signs credit-log tree heads.
    signing_key: str | None = None
    # Name of this log in signed checkpoints (the first line of the signed note): unique to this node, such as
    # its domain and a path (`credit.example.gov.cn/log`). Production refuses the demo's name, its default.
    log_origin: str = Field(default=DEMO_LOG_ORIGIN, min_length=1)
    # Run Alembic migrations to head when a command opens the store.
    auto_migrate: bool = True
    # Lines per transaction in bulk ingestion: the unit that lands whole or not at all.
    batch_size: int = Field(default=5000, ge=1, le=100_000)
    # Most event lines one `POST /v1/events` may carry (documented API limit).
    api_max_lines: int = Field(default=10_000, ge=1)
    # Largest `POST /v1/events` body in bytes.
    api_max_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)
    # Address `chengxin serve` binds to.
    host: str = "127.0.0.1"
    # Port `chengxin serve` listens on.
    port: int = 8000
    # Server processes for `chengxin serve`: one per CPU core by default, at most 8 (each runs `threads`
    # requests at a time; reads run in parallel, writes still go through one log lock).
    workers: int = Field(default_factory=lambda: min(8, os.cpu_count() or 1), ge=1, le=64)
    # Threads per server process for blocking request work (reads, pages). One is fastest under load: the
    # database drivers hand the GIL back at every step, and each thread more made every request dearer
    # (shop page, 1M parties: 3.2 ms CPU alone, 4.4 ms with 2 threads, 5.7 ms with 4). Scale with `workers`.
    threads: int = Field(default=1, ge=1, le=256)
    # What runs the whole-store aggregates of a full score rebuild (`chengxin score`) on SQLite: `duckdb`
    # (DuckDB reads the SQLite file and joins whole columns: 9x faster on bench-10m's shipments) or `sql`
    # (SQLite itself, row by row). PostgreSQL always runs them itself.
    batch_engine: Literal["duckdb", "sql"] = "duckdb"
    # Processes `chengxin detect` uses on a store of 50,000 shipments or more: 2 reads and judges the waybills
    # in a second process while the first runs the other detectors; 1 keeps everything in one process.
    detect_processes: int = Field(default=2, ge=1, le=2)
    # `chengxin serve` runs every detector (`chengxin detect`: findings queued for review) in a process of its
    # own whenever the last full run is this many hours old; 0: never (run `chengxin detect` from cron instead).
    detect_every_hours: float = Field(default=0.0, ge=0.0)
    # Processes a bulk load of a file of ~20,000 lines or more uses (`chengxin ingest FILE`, `chengxin demo`):
    # 2 prepares each batch (parse, validate, project) in a second process while the first stores the one
    # before; 1 keeps everything in one process. Input from stdin always stays in one process.
    ingest_processes: int = Field(default=2, ge=1, le=2)
    # Connection pool size (PostgreSQL: this many, and as many more when busy; SQLite: at least 40, one kept
    # connection per server worker thread).
    pool_size: int = Field(default=8, ge=1)
    # NATS server for the measures feed (e.g. `nats://127.0.0.1:4222`); unset: changes are kept only in the
    # store's feed (`GET /v1/measures?changed_since=`), nothing is published.
    nats_url: str | None = None
    # JetStream stream that receives measure changes (created on first publish if missing).
    nats_stream: str = "CHENGXIN_MEASURES"
    # Subject prefix of measure-change messages: `<prefix>.<party token>` (a digest: subjects may not hold dots).
    nats_subject: str = "chengxin.measures"
    # The node's public address (`https://credit.example.gov.cn`), for absolute links (the risk notices'
    # Atom feed). Unset: the address a request came to, and the answer is then not cacheable (a `Host` header
    # of the caller's choosing must not reach a shared cache).
    public_url: str | None = Field(default=None, pattern=r"^https?://[^\s/?#]+(/[^\s?#]*)?$")
