"""The push body of push-payload.md, field by field; unknown fields are ignored."""

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

from kubewatch.api.fields import StoredBoolean, name_in_url, non_negative_integer, non_negative_number, text
from kubewatch.kinds import CONTAINERS, NODES, PODS


def measured(kind, column):
    """Return the field of one of kind's metrics, under the API name kinds.py gives it; null means not measured."""
    metric = next(metric for metric in kind.metrics if metric.column == column)
    return (non_negative_integer if metric.integer else non_negative_number)(data_key=metric.field)


class _Lenient(Schema):
    class Meta:
        unknown = EXCLUDE  # a newer agent may push fields this server does not know


class ContainerSchema(_Lenient):
    # Identities are in the object's series URL, as one path segment each.
    runtime_id = name_in_url(128, data_key="id")
    name = text(255, required=True)
    image = text(512)
    status = text(32)
    cpu_percent = measured(CONTAINERS, "cpu_percent")
    memory_mb = measured(CONTAINERS, "memory_mb")
    memory_limit_mb = measured(CONTAINERS, "memory_limit_mb")
    network_rx_bytes = measured(CONTAINERS, "network_rx_bytes")
    network_tx_bytes = measured(CONTAINERS, "network_tx_bytes")
    restart_count = measured(CONTAINERS, "restart_count")
    # From the Engine's inspect State; older agents do not send them.
    health = fields.String(allow_none=True, validate=validate.OneOf(["healthy", "unhealthy", "starting"]))
    exit_code = fields.Integer(strict=True, allow_none=True, data_key="exitCode",
                               validate=validate.Range(min=-(2**31), max=2**31 - 1))
    oom_killed = StoredBoolean(allow_none=True, truthy={True}, falsy={False}, data_key="oomKilled")


class NodeSchema(_Lenient):
    name = name_in_url(253)
    status = fields.String(allow_none=True, validate=validate.OneOf(["Ready", "NotReady", "Unknown"]))
    kubelet_version = text(64, data_key="kubeletVersion")
    cpu_cores = non_negative_number(data_key="cpuCores")
    cpu_percent = measured(NODES, "cpu_percent")
    memory_mb = measured(NODES, "memory_mb")
    memory_capacity_mb = non_negative_number(data_key="memoryCapacityMB")
    pod_count = measured(NODES, "pod_count")
    pod_capacity = non_negative_integer(data_key="podCapacity")
    network_rx_bytes = measured(NODES, "network_rx_bytes")
    network_tx_bytes = measured(NODES, "network_tx_bytes")
    fs_used_bytes = measured(NODES, "fs_used_bytes")
    fs_capacity_bytes = measured(NODES, "fs_capacity_bytes")


class PodSchema(_Lenient):
    name = name_in_url(253)
    namespace = name_in_url(253)
    uid = text(128)
    node_name = text(253, data_key="nodeName")
    phase = fields.String(allow_none=True, validate=validate.OneOf(
        ["Pending", "Running", "Succeeded", "Failed", "Unknown"]))
    ready = StoredBoolean(allow_none=True, truthy={True}, falsy={False})
    container_count = non_negative_integer(data_key="containerCount")
    ready_containers = non_negative_integer(data_key="readyContainers")
    restart_count = measured(PODS, "restart_count")
    cpu_percent = measured(PODS, "cpu_percent")
    memory_mb = measured(PODS, "memory_mb")
    memory_limit_mb = measured(PODS, "memory_limit_mb")
    network_rx_bytes = measured(PODS, "network_rx_bytes")
    network_tx_bytes = measured(PODS, "network_tx_bytes")


def _duplicates(items, identity, field, what):
    """Return errors for items whose identity repeats an earlier item's."""
    seen, errors = set(), {}
    for index, item in enumerate(items):
        key = identity(item)
        if key in seen:
            errors[index] = {field: [f"Duplicate {what} in this push."]}
        seen.add(key)
    return errors


class PushSchema(_Lenient):
    timestamp = fields.AwareDateTime(required=True, format="iso")
    containers = fields.List(fields.Nested(ContainerSchema), required=True)
    nodes = fields.List(fields.Nested(NodeSchema), load_default=list)
    pods = fields.List(fields.Nested(PodSchema), load_default=list)

    @validates_schema
    def _unique_objects(self, data, **kwargs):
        errors = {
            "containers": _duplicates(data.get("containers", []), lambda c: c["runtime_id"],
                                      "id", "container id"),
            "nodes": _duplicates(data.get("nodes", []), lambda n: n["name"], "name", "node name"),
            "pods": _duplicates(data.get("pods", []), lambda p: (p["namespace"], p["name"]),
                                "name", "pod namespace and name"),
        }
        errors = {field: found for field, found in errors.items() if found}
        if errors:
            raise ValidationError(errors)
