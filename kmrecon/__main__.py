from kmrecon.cli import main

raise SystemExit(main())
