"""The labels of exported objects, escaped once and kept between scrapes while their descriptions stay the same.

Measured with bench/scrape.py, escaping and joining every label of 30,000 containers on each
scrape cost more than reading them; descriptions rarely change, so each agent's are kept with
the signature the repository gives them (repository/latest.py), and read again only when it changes.
"""

from array import array
from typing import NamedTuple

AGENT_LABELS = ("agent", "agent_id", "platform")
# Per kind: the labels after agent and agent_id (the repository's description columns, in its order).
KIND_LABELS = {
    "containers": ("container_id", "container", "image", "status"),
    "nodes": ("node", "status"),
    "pods": ("namespace", "pod", "node", "phase"),
}
# {(kind, agent_id): Kept}, emptied at the start of a scrape once it holds more than this many agents' labels.
kept_labels = {}
MOST_KEPT = 100_000


def escape(value):
    """Return a label value escaped for the text format: backslash, newline and double quote."""
    return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


def label_text(names, values):
    """Return the labels as the text format writes them, sorted by name as generate_latest sorts them (None as "")."""
    return ",".join(f'{name}="{escape(value or "")}"' for name, value in sorted(zip(names, values)))


class Chunk(NamedTuple):
    """One agent's objects of one kind in its latest push: their labels and, per metric, their values."""

    labels: tuple  # per object: its label values, in the order of the kind's label names
    texts: tuple  # per object: its labels as the text format writes them
    columns: list  # per metric of the kind: an array of values, NaN or -1 where not measured


class Kept:
    """One agent's labels of one kind: per object, and in the order of the latest push seen."""

    def __init__(self, name, signature, by_key):
        self.name, self.signature, self.by_key = name, signature, by_key  # by_key: {key: (labels, text)}
        self.last = ((), (), ())  # (keys, labels, texts) of the latest push seen

    def chunk(self, keys, columns):
        """Return the Chunk of a push's keys and columns (packing.unpack_columns)."""
        keys = tuple(keys)
        last = self.last
        if keys != last[0]:  # the push's objects, or their order, changed
            found = [self.by_key.get(key) for key in keys]
            if None in found:  # not described: its agent was deleted between two reads (PostgreSQL)
                present = [index for index, labelled in enumerate(found) if labelled is not None]
                columns = [array(column.typecode, [column[index] for index in present]) for column in columns]
                found = [found[index] for index in present]
                return Chunk(tuple(f[0] for f in found), tuple(f[1] for f in found), columns)
            last = self.last = (keys, tuple(f[0] for f in found), tuple(f[1] for f in found))
        return Chunk(last[1], last[2], columns)


def labels_for(kind, agent_id, name, signature, descriptions):
    """Return the Kept labels of an agent's objects of kind, made anew when they may have changed.

    descriptions: {key: description} read for this agent, or None when its signature was unchanged.
    """
    entry = (kind, agent_id)
    kept = kept_labels.get(entry)
    if kept is not None and kept.name == name and descriptions is None:
        return kept
    if descriptions is None:  # only the agent was renamed: its objects are described as before
        descriptions = {key: labels[2:] for key, (labels, _) in (kept.by_key.items() if kept else ())}
    names = ("agent", "agent_id") + KIND_LABELS[kind]
    by_key = {}
    for key, description in descriptions.items():
        labels = (name, agent_id) + description
        by_key[key] = (labels, label_text(names, labels))
    kept = kept_labels[entry] = Kept(name, signature, by_key)
    return kept


def known_signatures():
    """Return {(kind, agent_id): signature} of the labels kept, after emptying them when they grew too many."""
    if len(kept_labels) > MOST_KEPT:
        kept_labels.clear()
    return {entry: kept.signature for entry, kept in list(kept_labels.items())}
