from cmscan.cli import main

raise SystemExit(main())
