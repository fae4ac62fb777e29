"""C{python -m fazt}: the operator and client CLI."""

from fazt.cli.main import main

raise SystemExit(main())
