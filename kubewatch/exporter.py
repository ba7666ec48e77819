"""The latest state as Prometheus series: one series per object and metric of each agent's latest push.

LatestState is a prometheus_client collector over what the database holds now: nothing is
registered per object, so an object gone from the latest push is simply not exported.
exposition() writes the same series in the Prometheus text format (0.0.4) as prometheus_client's
generate_latest writes from the collector, but escapes each object's labels once for all its
metrics (and keeps them between scrapes) instead of once per sample: measured with
bench/scrape.py, generate_latest alone took twenty times the 250 ms a scrape of 30,000 containers may take.
"""

from typing import NamedTuple

from prometheus_client.core import Metric
from prometheus_client.samples import Sample

from kubewatch import packing
from kubewatch.kinds import KINDS
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

# Per kind: the labels after agent and agent_id (the repository's description columns, in its order), and the families.
KIND_LABELS = {
    "containers": ("container_id", "container", "image", "status"),
    "nodes": ("node", "status"),
    "pods": ("namespace", "pod", "node", "phase"),
}
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
AGENT_LABELS = ("agent", "agent_id", "platform")
AGENT_FAMILIES = (
    Family("kubewatch_agent_up", "gauge", "1 while the agent is connected (pushed within three intervals), else 0.",
           "up", 1),
    Family("kubewatch_agent_last_seen_timestamp_seconds", "gauge", "When the agent last pushed, in Unix seconds.",
           "last_seen", 1),
)
# Per kind: where each family's value sits in an unpacked row, and what scales it to base units.
_PICK = {kind: tuple(([m.column for m in KINDS[kind].metrics].index(f.column), f.scale) for f in families)
         for kind, families in KIND_FAMILIES.items()}
_PICK["agents"] = ((0, 1), (1, 1))
# {(kind, agent_id, key): (labels, label text)}, kept across scrapes: descriptions rarely change, and
# escaping every label of 30,000 objects on each scrape took longer than reading them. Emptied when
# it grows past a bound; shared by the organizations, whose agent ids differ.
_label_texts = {}
_MOST_LABEL_TEXTS = 200_000


def escape(value):
    """Return a label value escaped for the text format: backslash, newline and double quote."""
    return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


def _label_text(names, values):
    """Return the label text of an object, names sorted as generate_latest sorts them (None reads as "")."""
    return ",".join(f'{name}="{escape(value or "")}"' for name, value in sorted(zip(names, values)))


def _labelled(kind, agent_id, key, names, labels):
    """Return the object's (labels, label text), kept from the last scrape while its labels are the same."""
    entry = (kind, agent_id, key)
    kept = _label_texts.get(entry)
    if kept is None or kept[0] != labels:
        if len(_label_texts) >= _MOST_LABEL_TEXTS:
            _label_texts.clear()
        kept = _label_texts[entry] = (labels, _label_text(names, labels))
    return kept


class Rows(NamedTuple):
    """The series of one group of families: per object, its label values and text, and its unpacked row."""

    families: tuple
    labels: tuple  # the label names
    pick: tuple  # per family: (index in the row, scale to base units)
    objects: list  # [(label values, label text, row)]; a value None in a row was not measured


def latest_rows(org_id, connected_within, now):
    """Return [Rows] of an organization's agents and of every object of their latest pushes."""
    agents, descriptions = latest_state(org_id)
    agent_objects, kind_objects = [], {name: [] for name in KIND_FAMILIES}
    kind_labels = {kind: ("agent", "agent_id") + names for kind, names in KIND_LABELS.items()}
    for agent_id, name, platform, last_seen, blobs in agents:
        labels = (name, agent_id, platform)
        up = int(last_seen is not None and now - last_seen <= connected_within)
        agent_objects.append((*_labelled("agents", agent_id, 0, AGENT_LABELS, labels), (up, last_seen)))
        for kind, blob in blobs.items():
            if blob is None:
                continue
            described, names, objects = descriptions[kind], kind_labels[kind], kind_objects[kind]
            for key, row in packing.unpack(KINDS[kind].metrics, blob).items():
                description = described.get((agent_id, key))
                if description is not None:  # None: its agent was deleted between two reads (PostgreSQL)
                    objects.append((*_labelled(kind, agent_id, key, names, (name, agent_id) + description), row))
    return [Rows(AGENT_FAMILIES, AGENT_LABELS, _PICK["agents"], agent_objects)] + [
        Rows(KIND_FAMILIES[kind], kind_labels[kind], _PICK[kind], kind_objects[kind]) for kind in KIND_FAMILIES]


def exposition(groups):
    """Return the text format (0.0.4) of groups of Rows: what generate_latest writes, values as Python's repr."""
    out = []
    for group in groups:
        for family, (index, scale) in zip(group.families, group.pick):
            out.append(f"# HELP {family.name} {family.help}\n# TYPE {family.name} {family.type}\n")
            start = family.name + "{"
            if scale == 1:
                out.extend([f"{start}{text}}} {row[index]!r}\n"
                            for _, text, row in group.objects if row[index] is not None])
            else:
                out.extend([f"{start}{text}}} {row[index] * scale!r}\n"
                            for _, text, row in group.objects if row[index] is not None])
    return "".join(out)


class LatestState:
    """A prometheus_client collector of an organization's latest state, read anew on every collect()."""

    def __init__(self, org_id, connected_within, clock):
        self.org_id, self.connected_within, self.clock = org_id, connected_within, clock

    def collect(self):
        """Yield one prometheus_client Metric per family, its samples those of latest_rows()."""
        for group in latest_rows(self.org_id, self.connected_within, int(self.clock())):
            for family, (index, scale) in zip(group.families, group.pick):
                # A counter's Metric is named without _total, as prometheus_client names it.
                metric = Metric(family.name.removesuffix("_total") if family.type == "counter" else family.name,
                                family.help, family.type)
                metric.samples = [Sample(family.name, dict(zip(group.labels, (v or "" for v in labels))),
                                         float(row[index] * scale)) for labels, _, row in group.objects
                                  if row[index] is not None]
                yield metric
