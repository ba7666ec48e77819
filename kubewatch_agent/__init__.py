"""kubewatch-agent: registers with a kubewatch server and pushes container, node and pod metrics.

It never imports the server package: a host running only the agent needs none of Flask.
"""

__version__ = "0.1.0"
