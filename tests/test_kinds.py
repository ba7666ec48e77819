"""kubewatch/kinds.py: each kind's names agree with the push schema, the tables and the API's rate names."""

import re
from pathlib import Path

import pytest

from kubewatch.api.push_schema import ContainerSchema, NodeSchema, PodSchema
from kubewatch.kinds import COUNTER, GAUGE, KINDS, LAST, rate_field

SCHEMAS = {"containers": ContainerSchema, "nodes": NodeSchema, "pods": PodSchema}
SCHEMA_SQL = (Path(__file__).resolve().parent.parent / "kubewatch" / "schema.sql").read_text()


def _columns(table):
    found = re.search(rf"CREATE TABLE IF NOT EXISTS {table} \((.*?)\n\)", SCHEMA_SQL, re.S)
    assert found, table
    return {line.split()[0] for line in found.group(1).splitlines() if line.strip()}


@pytest.mark.parametrize("name", KINDS)
def test_every_metric_is_a_push_field_of_its_kind_under_its_api_name(name):
    kind, schema = KINDS[name], SCHEMAS[name]()
    for metric in kind.metrics:
        assert schema.fields[metric.column].data_key == metric.field


@pytest.mark.parametrize("name", KINDS)
def test_the_identity_and_description_are_push_fields_and_columns_of_the_kinds_table(name):
    kind = KINDS[name]
    assert set(kind.identity + kind.described) <= set(SCHEMAS[name]().fields)
    assert set(kind.identity + kind.described) <= _columns(kind.table)


@pytest.mark.parametrize("name", KINDS)
def test_the_rollup_table_keeps_what_each_way_of_summing_needs(name):
    kind, columns = KINDS[name], _columns(KINDS[name].rollups)
    for metric in kind.metrics:
        needed = {GAUGE: ("_avg", "_max", "_n"), COUNTER: ("_rate", "_n"), LAST: ("",)}[metric.how]
        assert {metric.column + suffix for suffix in needed} <= columns


def test_measured_lists_the_metrics_columns_in_order_and_rates_are_named_per_second():
    for kind in KINDS.values():
        assert kind.measured == tuple(metric.column for metric in kind.metrics)
    rx = next(metric for metric in KINDS["containers"].metrics if metric.column == "network_rx_bytes")
    assert rate_field(rx) == "networkRxBytesPerSec"
