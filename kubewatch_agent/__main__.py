"""`python -m kubewatch_agent` runs the same program as the `kubewatch-agent` command."""

from kubewatch_agent.cli import main

raise SystemExit(main())
