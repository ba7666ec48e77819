"""The latest state as Prometheus series: one series per object and metric of each agent's latest push.

LatestState is a prometheus_client collector over what the database holds now: nothing is
registered per object, so an object gone from the latest push is simply not exported.
exposition_parts() writes the same series in the Prometheus text format (0.0.4) as prometheus_client's
generate_latest writes from the collector, but with each object's labels escaped once and kept
between scrapes (kubewatch/exported_labels.py), and each agent's values written from their packed
columns: measured with bench/scrape.py, generate_latest took about twenty times as long.
"""

import math
from typing import NamedTuple

from prometheus_client.core import Metric
from prometheus_client.samples import Sample

from kubewatch import packing
from kubewatch.kinds import KINDS
from kubewatch.exported_labels import AGENT_LABELS, KIND_LABELS, known_signatures, label_text, labels_for
from kubewatch.repository.latest import latest_state

MIB = 1024 * 1024


class Family(NamedTuple):
    """One exported metric of a kind: its name, type, help and where its value comes from."""

    name: str  # as exposed: a counter's ends in _total
    type: str  # "gauge" or "counter"
    help: str
    column: str  # the kind's metric (kubewatch/kinds.py)
    scale: float  # to base units: MB to bytes


def _families(prefix, noun, metrics):
    return tuple(Family(f"kubewatch_{prefix}_{name}", type_, help_.format(noun), column, scale)
                 for name, type_, help_, column, scale in metrics)


_CPU = ("cpu_percent", "gauge", "CPU used by the {}, in percent of one core.", "cpu_percent", 1)
_MEMORY = ("memory_bytes", "gauge", "Memory used by the {}, in bytes.", "memory_mb", MIB)
_LIMIT = ("memory_limit_bytes", "gauge", "Memory limit of the {}, in bytes.", "memory_limit_mb", MIB)
_RX = ("network_receive_bytes_total", "counter", "Bytes the {} received.", "network_rx_bytes", 1)
_TX = ("network_transmit_bytes_total", "counter", "Bytes the {} sent.", "network_tx_bytes", 1)
_RESTARTS = ("restarts_total", "counter", "Times the {} restarted.", "restart_count", 1)

KIND_FAMILIES = {
    "containers": _families("container", "container", (_CPU, _MEMORY, _LIMIT, _RX, _TX, _RESTARTS)),
    "nodes": _families("node", "node", (
        _CPU, _MEMORY,
        ("pods", "gauge", "Pods running on the {}.", "pod_count", 1),
        _RX, _TX,
        ("filesystem_used_bytes", "gauge", "Bytes used on the {}'s filesystem.", "fs_used_bytes", 1),
        ("filesystem_capacity_bytes", "gauge", "Size of the {}'s filesystem, in bytes.", "fs_capacity_bytes", 1),
    )),
    "pods": _families("pod", "pod", (_CPU, _MEMORY, _LIMIT, _RX, _TX, _RESTARTS)),
}
AGENT_FAMILIES = (
    Family("kubewatch_agent_up", "gauge", "1 while the agent is connected (pushed within three intervals), else 0.",
           "up", 1),
    Family("kubewatch_agent_last_seen_timestamp_seconds", "gauge", "When the agent last pushed, in Unix seconds.",
           "last_seen", 1),
)
# Per kind and family: the metric's index in the kind's columns, its scale, and whether it is an integer.
_PICK = {kind: tuple((index, family.scale, KINDS[kind].metrics[index].integer) for family in families
                     for index in [[m.column for m in KINDS[kind].metrics].index(family.column)])
         for kind, families in KIND_FAMILIES.items()}


class Latest(NamedTuple):
    """What a scrape exports of an organization."""

    agents: list  # [(label values, label text, up, last_seen or None)]
    chunks: dict  # {kind: [Chunk]}


def latest(org_id, connected_within, now):
    """Return the Latest of an organization's agents and of every object of their latest pushes."""
    agents, signatures, descriptions = latest_state(org_id, known_signatures())
    exported, chunks = [], {kind: [] for kind in KIND_FAMILIES}
    for agent_id, name, platform, last_seen, blobs in agents:
        labels = (name, agent_id, platform)
        up = int(last_seen is not None and now - last_seen <= connected_within)
        exported.append((labels, label_text(AGENT_LABELS, labels), up, last_seen))
        for kind, blob in blobs.items():
            if blob is not None:
                kept = labels_for(kind, agent_id, name, signatures[kind].get(agent_id),
                                  descriptions[kind].get(agent_id))
                chunks[kind].append(kept.chunk(*packing.unpack_columns(KINDS[kind].metrics, blob)))
    return Latest(exported, chunks)


# Lines of text encoded and handed on at a time: the whole text of 30,000 containers is tens of
# megabytes, which written as one string, then encoded, then sent, cost more than writing it.
LINES_PER_PART = 10_000


def exposition(found):
    """Return the text format (0.0.4) of a Latest: the series generate_latest writes, values as Python's repr."""
    return b"".join(exposition_parts(found)).decode()


def exposition_parts(found, lines_per_part=LINES_PER_PART):
    """Yield exposition()'s text as bytes, in parts of about lines_per_part lines, for a streamed answer."""
    out = []
    for lines in _lines(found):
        out.extend(lines)
        if len(out) >= lines_per_part:
            yield "".join(out).encode()
            out.clear()
    if out:
        yield "".join(out).encode()


def _lines(found):
    """Yield lists of the text format's lines of a Latest: each family's header, then its samples, object by object."""
    for family, index in zip(AGENT_FAMILIES, (2, 3)):
        yield [f"# HELP {family.name} {family.help}\n# TYPE {family.name} {family.type}\n"]
        yield [f"{family.name}{{{agent[1]}}} {agent[index]!r}\n" for agent in found.agents if agent[index] is not None]
    for kind, families in KIND_FAMILIES.items():
        for family, (index, scale, integer) in zip(families, _PICK[kind]):
            yield [f"# HELP {family.name} {family.help}\n# TYPE {family.name} {family.type}\n"]
            start = family.name + "{"
            for chunk in found.chunks[kind]:
                values = chunk.columns[index]
                if scale != 1:
                    values = [value * scale for value in values]  # NaN and -1 stay NaN and negative
                if integer and min(values, default=0) >= 0 or not integer and not any(map(math.isnan, values)):
                    yield [f"{start}{text}}} {value!r}\n" for text, value in zip(chunk.texts, values)]
                elif integer:  # -1 (scaled, still negative): not measured
                    yield [f"{start}{text}}} {value!r}\n" for text, value in zip(chunk.texts, values) if value >= 0]
                else:  # NaN, not equal to itself: not measured
                    yield [f"{start}{text}}} {value!r}\n" for text, value in zip(chunk.texts, values)
                           if value == value]


class LatestState:
    """A prometheus_client collector of an organization's latest state, read anew on every collect()."""

    def __init__(self, org_id, connected_within, clock):
        self.org_id, self.connected_within, self.clock = org_id, connected_within, clock

    def collect(self):
        """Yield one prometheus_client Metric per family, with the samples exposition() writes."""
        found = latest(self.org_id, self.connected_within, int(self.clock()))
        for family, index in zip(AGENT_FAMILIES, (2, 3)):
            metric = Metric(family.name, family.help, family.type)
            metric.samples = [Sample(family.name, dict(zip(AGENT_LABELS, (v or "" for v in agent[0]))),
                                     float(agent[index])) for agent in found.agents if agent[index] is not None]
            yield metric
        for kind, families in KIND_FAMILIES.items():
            names = ("agent", "agent_id") + KIND_LABELS[kind]
            for family, (index, scale, integer) in zip(families, _PICK[kind]):
                # A counter's Metric is named without _total, as prometheus_client names it.
                metric = Metric(family.name.removesuffix("_total") if family.type == "counter" else family.name,
                                family.help, family.type)
                metric.samples = [Sample(family.name, dict(zip(names, (v or "" for v in labels))), float(value * scale))
                                  for chunk in found.chunks[kind]
                                  for labels, value in zip(chunk.labels, chunk.columns[index])
                                  if (value != -1 if integer else value == value)]
                yield metric
