from apm_tui.cli import main

raise SystemExit(main())
