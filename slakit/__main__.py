from slakit.cli import main

raise SystemExit(main())
