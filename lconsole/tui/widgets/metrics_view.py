"""Sparklines of one function's last five minutes, and what it cost.

The backend's CloudWatch-style metrics are used when it has them (they include concurrency,
which no list of invocations can tell); otherwise the figures come from the invocations seen.
"""

from __future__ import annotations

from collections.abc import Sequence

from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.widgets import Label, Sparkline, Static

from lconsole.backends.base import BackendError, Invocation, MetricSeries, NotAvailable
from lconsole.tui import format as fmt
from lconsole.tui.stats import buckets, summarise
from lconsole.tui.widgets.text import set_text

WINDOW_S = 300
PERIOD_S = 10
POLL_S = 5.0
# (CloudWatch metric, statistic, label, what the local fallback computes or None)
CHARTS = (
    ("Invocations", "Sum", "invocations", "invocations"),
    ("Errors", "Sum", "errors", "errors"),
    ("Throttles", "Sum", "throttles", "throttles"),
    ("Duration", "p50", "duration p50", "p50"),
    ("Duration", "p99", "duration p99", "p99"),
    ("ConcurrentExecutions", "Maximum", "concurrency", None),
    ("ColdStarts", "Sum", "cold starts", "cold"),
)


class MetricsLoaded(Message):
    def __init__(self, series: list[MetricSeries] | None) -> None:
        super().__init__()
        self.series = series


def _slug(name: str, stat: str) -> str:
    return f"{name}-{stat}".lower()


class MetricsView(VerticalScroll):
    def __init__(self, function: str, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.function = function
        self.remote: dict[tuple[str, str], MetricSeries] | None = None
        self.available = True
        self._last: tuple[Sequence[Invocation], int] = ((), 0)

    def compose(self) -> ComposeResult:
        for name, stat, label, _ in CHARTS:
            with Horizontal(classes="metric"):
                yield Label(label, classes="metric-label")
                yield Sparkline(
                    [0.0] * (WINDOW_S // PERIOD_S),
                    id=f"spark-{_slug(name, stat)}",
                    classes=f"spark-{name.lower()}",
                )
                yield Label("", id=f"last-{_slug(name, stat)}", classes="metric-value")
        yield Static("", id="metrics-source", classes="hint")
        yield Static("", id="cost", classes="cost")

    def on_mount(self) -> None:
        self.set_interval(POLL_S, self._poll)
        self._poll()

    def _poll(self) -> None:
        if self.available and self.is_on_screen:
            self.load()

    @work(exclusive=True, group="metrics")
    async def load(self) -> None:
        now_ms = self.app.now_ms()  # type: ignore[attr-defined]
        try:
            series = await self.app.backend.metrics(  # type: ignore[attr-defined]
                self.function, start_ms=now_ms - WINDOW_S * 1000, end_ms=now_ms, period_s=PERIOD_S
            )
        except NotAvailable:
            self.available = False
            self.post_message(MetricsLoaded(None))
        except BackendError:
            return  # the banner tells when the backend is gone; the next poll retries
        else:
            self.post_message(MetricsLoaded(series))

    def on_metrics_loaded(self, message: MetricsLoaded) -> None:
        message.stop()
        self.remote = (
            None if message.series is None else {(s.name, s.stat): s for s in message.series}
        )
        self.show(*self._last)

    def show(self, invocations: Sequence[Invocation], now_ms: int) -> None:
        self._last = (invocations, now_ms)
        for name, stat, _, local in CHARTS:
            remote = (self.remote or {}).get((name, stat))
            if remote is not None:
                values = list(remote.values)
            elif local is not None and self.remote is None:
                values = buckets(
                    invocations, now_ms, count=WINDOW_S // PERIOD_S, width_s=PERIOD_S, what=local
                )
            else:
                values = []
            spark = self.query_one(f"#spark-{_slug(name, stat)}", Sparkline)
            spark.data = values or [0.0] * (WINDOW_S // PERIOD_S)  # flat: nothing to show
            if not values:
                text = "-"
            elif name == "Duration":
                text = fmt.duration(max(values))
            elif stat == "Maximum":
                text = f"max {max(values):.0f}"
            else:
                text = f"{sum(values):.0f}"
            set_text(self.query_one(f"#last-{_slug(name, stat)}", Label), text)
        source = (
            "engine metrics, 10 s periods"
            if self.remote is not None
            else "from the invocations seen (this backend has no metrics)"
        )
        set_text(self.query_one("#metrics-source", Static), f"last 5 min · {source}")
        stats = summarise(invocations, now_ms)
        billed = sum(r.billed_ms for r in invocations)
        set_text(
            self.query_one("#cost", Static),
            f"cost, last 5 min: {fmt.usd(stats.cost_usd)} for {stats.invocations} invocations"
            f"\nall {len(invocations)} seen: {billed:,} ms billed, "
            f"{fmt.usd(sum(r.cost_usd for r in invocations))}",
        )
