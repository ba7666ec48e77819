"""Every SQL statement of kubewatch: functions take plain values and return dicts."""
