"""Allow `python -m orders.routing ...`."""

from orders.routing.cli import main

raise SystemExit(main())
