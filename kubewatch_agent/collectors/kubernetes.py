"""The kubernetes collector: nodes and pods from the API server, usage from each kubelet's summary."""

import json
import os
from concurrent.futures import ThreadPoolExecutor

import urllib3
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException
from kubernetes.utils import parse_quantity

from kubewatch_agent.collectors import CollectorUnavailable, mib
from kubewatch_agent.outages import OutageLog, one_line
from kubewatch_agent.collectors.summary import dig, entries_of, pod_figures, pod_usage

TIMEOUT = (5, 15)
SUMMARY_WORKERS = 8
TERMINATED = frozenset({"Succeeded", "Failed"})
# What a cluster that cannot answer raises: an error status, no connection, or no configuration.
_CLUSTER_ERRORS = (ApiException, ConfigException, urllib3.exceptions.HTTPError, OSError)


class KubernetesCollector:
    """Read the cluster the agent runs in (its service account), else the one of the kubeconfig."""

    platform = "kubernetes"

    def __init__(self, environ=None, outages=None):
        self.environ = os.environ if environ is None else environ
        self.outages = outages or OutageLog()
        self._api = None

    def collect(self):
        """Return {"nodes": [...], "pods": [...]}; raise CollectorUnavailable when the API server is not there."""
        api = self._connect()
        try:
            nodes = _json(api.list_node(_preload_content=False, _request_timeout=TIMEOUT)).get("items") or []
            pods = _json(api.list_pod_for_all_namespaces(_preload_content=False, _request_timeout=TIMEOUT)).get(
                "items") or []
        except _CLUSTER_ERRORS as error:
            self.close()
            raise CollectorUnavailable(f"cannot list nodes and pods: {_reason(error)}") from None
        names = [node["metadata"]["name"] for node in nodes]
        # One summary request per node, through the API server: together, so a large cluster stays quick.
        with ThreadPoolExecutor(max_workers=min(SUMMARY_WORKERS, len(names) or 1)) as pool:
            summaries = dict(zip(names, pool.map(lambda name: self._summary(api, name), names)))
        usage = pod_usage(summaries)
        return {"nodes": [node_object(node, summaries[node["metadata"]["name"]], pods) for node in nodes],
                "pods": [pod_object(pod, entries_of(usage, pod)) for pod in pods]}

    def close(self):
        """Drop the connection to the API server; the next collect reads the configuration again."""
        if self._api is not None:
            self._api.api_client.close()
            self._api = None

    def namespace_uid(self, name="kube-system"):
        """Return the UID of namespace name, or None when the cluster does not allow reading it.

        Raises CollectorUnavailable when the cluster cannot be reached.
        """
        api = self._connect()
        try:
            found = _json(api.read_namespace(name, _preload_content=False, _request_timeout=TIMEOUT))
        except ApiException as error:
            if error.status in (401, 403, 404):
                return None
            raise CollectorUnavailable(f"cannot read namespace {name}: {_reason(error)}") from None
        except (*_CLUSTER_ERRORS, ValueError) as error:
            self.close()
            raise CollectorUnavailable(f"cannot read namespace {name}: {_reason(error)}") from None
        return dig(found, "metadata", "uid")

    def _connect(self):
        if self._api is None:
            configuration = client.Configuration()
            try:
                if self.environ.get("KUBERNETES_SERVICE_HOST"):
                    config.load_incluster_config(client_configuration=configuration)
                else:
                    path = self.environ.get("KUBECONFIG") or os.path.expanduser("~/.kube/config")
                    config.load_kube_config(config_file=path, client_configuration=configuration,
                                            persist_config=False)
            except (ConfigException, OSError) as error:
                raise CollectorUnavailable(f"no cluster to read: {one_line(error)}") from None
            configuration.retries = 0  # the agent's loop retries; urllib3 would log a warning for each retry
            self._api = client.CoreV1Api(client.ApiClient(configuration))
        return self._api

    def _summary(self, api, node):
        """Return the kubelet summary of node, or None (logged once) when its kubelet does not answer."""
        try:
            summary = _json(api.connect_get_node_proxy_with_path(node, "stats/summary", _preload_content=False,
                                                                 _request_timeout=TIMEOUT))
        except _CLUSTER_ERRORS as error:
            self.outages.failed(f"kubelet summary of {node}", f"{_reason(error)}; reporting the node without usage")
            return None
        self.outages.recovered(f"kubelet summary of {node}")
        return summary


def node_object(node, summary, pods):
    """Return the payload's node object from a Node, its kubelet summary (None: no usage) and the pod list."""
    name = node["metadata"]["name"]
    capacity = dig(node, "status", "capacity") or {}
    found = {"name": name, "status": {"True": "Ready", "False": "NotReady"}.get(_condition(node, "Ready"), "Unknown"),
             "kubeletVersion": dig(node, "status", "nodeInfo", "kubeletVersion"),
             # As `kubectl describe node` counts them: finished pods hold no slot of podCapacity.
             "podCount": sum(1 for pod in pods if dig(pod, "spec", "nodeName") == name
                             and dig(pod, "status", "phase") not in TERMINATED)}
    if "cpu" in capacity:
        found["cpuCores"] = float(parse_quantity(capacity["cpu"]))
    if "memory" in capacity:
        found["memoryCapacityMB"] = mib(float(parse_quantity(capacity["memory"])))
    if "pods" in capacity:
        found["podCapacity"] = int(parse_quantity(capacity["pods"]))
    usage = dig(summary, "node") or {}
    nano_cores = dig(usage, "cpu", "usageNanoCores")
    if nano_cores is not None and found.get("cpuCores"):
        # Never clamped: above 100 % is a glitch that kubewatch_agent.plausible leaves out as not measured.
        found["cpuPercent"] = round(nano_cores / (found["cpuCores"] * 1e9) * 100, 2)
    if dig(usage, "memory", "workingSetBytes") is not None:
        found["memoryMB"] = mib(usage["memory"]["workingSetBytes"])
    found.update(networkRxBytes=dig(usage, "network", "rxBytes"), networkTxBytes=dig(usage, "network", "txBytes"),
                 fsUsedBytes=dig(usage, "fs", "usedBytes"), fsCapacityBytes=dig(usage, "fs", "capacityBytes"))
    return _without_none(found)


def pod_object(pod, usage):
    """Return the payload's pod object from a Pod and its entries of the kubelet summaries (None: no usage).

    usage is {node name: the pod's summary entry}, as entries_of() gives it.
    """
    containers = dig(pod, "spec", "containers") or []
    statuses = dig(pod, "status", "containerStatuses")
    found = {"name": pod["metadata"]["name"], "namespace": pod["metadata"].get("namespace", ""),
             "uid": pod["metadata"].get("uid"), "nodeName": dig(pod, "spec", "nodeName"),
             "phase": dig(pod, "status", "phase"), "ready": _condition(pod, "Ready") == "True",
             # A pod not started yet has no container statuses: its containers exist, and none is ready.
             "containerCount": len(containers) if statuses is None else len(statuses),
             "readyContainers": sum(1 for status in statuses or () if status.get("ready")),
             "restartCount": sum(status.get("restartCount", 0) for status in statuses or ())}
    limits = [dig(container, "resources", "limits", "memory") for container in containers]
    if limits and None not in limits:  # one container without a limit, and the pod has none
        found["memoryLimitMB"] = mib(sum(float(parse_quantity(limit)) for limit in limits))
    if usage:
        found.update(pod_figures(usage.get(dig(pod, "spec", "nodeName")) or next(iter(usage.values()))))
    return _without_none(found)


def _condition(obj, kind):
    """Return the status ("True", "False", "Unknown") of the object's condition of kind, or None without one."""
    for condition in dig(obj, "status", "conditions") or ():
        if condition.get("type") == kind:
            return condition.get("status")
    return None


def _without_none(found):
    # Missing numbers mean "not measured", which the payload says by leaving the field out.
    return {key: value for key, value in found.items() if value is not None}


def _json(response):
    try:
        return json.loads(response.data)
    finally:
        response.release_conn()


def _reason(error):
    """Return one line: the API server's status and message for its errors, the OS reason for others."""
    if not isinstance(error, ApiException):
        return one_line(error)
    try:
        message = json.loads(error.body)["message"]
    except (TypeError, ValueError, KeyError):
        message = error.reason
    return one_line(f"{error.status} {message}")
