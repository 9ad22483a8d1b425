from edgetx.cli import main

raise SystemExit(main())
