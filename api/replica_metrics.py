"""The streaming replica's figures for `/metrics` (see `engine.store.replica`): its lag,
whether reads may go to it now, and the reads served by each side and why."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from engine.store.replica import ReadReplica

__all__ = ["ReplicaCollector"]


class ReplicaCollector(Collector):
    def __init__(self, replica: ReadReplica) -> None:
        self.replica = replica

    def collect(self) -> Iterator[Metric]:
        state = self.replica.state()
        yield GaugeMetricFamily("hatchery_replica_up",
                                "1 when the read replica answers as a standby",
                                value=1 if state.lag_seconds is not None else 0)
        if state.lag_seconds is not None:
            yield GaugeMetricFamily("hatchery_replica_lag_seconds",
                                    "How far the read replica's replay is behind",
                                    value=state.lag_seconds)
        yield GaugeMetricFamily("hatchery_replica_max_lag_seconds",
                                "Beyond this lag reads go to the primary",
                                value=state.max_lag_seconds)
        reads = CounterMetricFamily("hatchery_replica_reads",
                                    "Auditors' reads by where they were served and why",
                                    labels=["target", "reason"])
        for (target, reason), count in sorted(self.replica.reads.items()):
            reads.add_metric([target, reason], count)
        yield reads
