from cmscan.entry import main

raise SystemExit(main())
